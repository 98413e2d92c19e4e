"""The RollingUpdate strategy (Kubernetes' pkg/controller/deployment/rolling.go).

One sync does one step, then writes the status; the ReplicaSet controller and the pods' readiness drive the next:

1. scale the new ReplicaSet up as far as maxSurge allows: total pods <= replicas + maxSurge;
2. otherwise scale old ReplicaSets down as far as maxUnavailable allows: first their unhealthy (unavailable)
   replicas, which costs no availability, then available ones while more than replicas - maxUnavailable pods
   stay available, counting the new ReplicaSet's not-yet-available pods as missing;
3. when neither moves, clean up old ReplicaSets beyond revisionHistoryLimit.

The pure ``compute_*`` functions decide the sizes; ``rollout_rolling`` writes them.

Stricter than Kubernetes (which sums spec.replicas and status.availableReplicas): while a ReplicaSet controller has
not caught up with a resize, a ReplicaSet counts as max(spec, status.replicas) pods against the surge bound and
as min(spec, status.availableReplicas) available pods against the availability bound. Kubernetes can briefly
exceed replicas + maxSurge pods or drop below replicas - maxUnavailable available ones in that window; kubeling
holds both bounds at every instant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from controller_manager import deployment_util as util
from controller_manager.deployment_sync import (
    cleanup_deployment,
    get_all_replica_sets_and_sync_revision,
    scale_replica_set_and_record_event,
    sync_rollout_status,
)

if TYPE_CHECKING:
    from controller_manager.deployment import DeploymentController

Object = dict[str, Any]


def compute_new_rs_replicas(d: Mapping[str, Any], all_rss: list[Object | None], new_rs: Object) -> int:
    """reconcileNewReplicaSet: the new ReplicaSet's size for this step."""
    if util.replicas(new_rs) >= util.replicas(d):
        return util.replicas(d)
    return util.new_rs_new_replicas(d, all_rss, new_rs, current=util.pods_upper_bound(all_rss))


def compute_max_scaled_down(d: Mapping[str, Any], all_rss: list[Object | None], new_rs: Object) -> int:
    """How many old replicas may go now: all pods - minAvailable - new pods not yet available."""
    min_available = util.replicas(d) - util.max_unavailable(d)
    new_unavailable = util.replicas(new_rs) - util.status_int(new_rs, "availableReplicas")
    return util.sum_spec_replicas(all_rss) - min_available - new_unavailable


def compute_unhealthy_cleanup(old_rss: list[Object], max_cleanup: int) -> list[tuple[Object, int]]:
    """cleanupUnhealthyReplicas: (old ReplicaSet, new size) removing unavailable replicas, oldest first."""
    plan: list[tuple[Object, int]] = []
    total = 0
    for rs in util.by_creation(old_rss):
        if total >= max_cleanup:
            break
        unhealthy = util.replicas(rs) - util.status_int(rs, "availableReplicas")
        if util.replicas(rs) == 0 or unhealthy <= 0:
            continue
        count = min(max_cleanup - total, unhealthy)
        plan.append((rs, util.replicas(rs) - count))
        total += count
    return plan


def compute_old_scale_down(d: Mapping[str, Any], all_rss: list[Object | None],
                           old_rss: list[Object]) -> list[tuple[Object, int]]:
    """scaleDownOldReplicaSetsForRollingUpdate: (old ReplicaSet, new size) keeping minAvailable available."""
    min_available = util.replicas(d) - util.max_unavailable(d)
    available = util.available_lower_bound(all_rss)
    if available <= min_available:
        return []
    budget = available - min_available
    plan: list[tuple[Object, int]] = []
    for rs in util.by_creation(old_rss):
        if budget <= 0:
            break
        if util.replicas(rs) == 0:
            continue
        count = min(util.replicas(rs), budget)
        plan.append((rs, util.replicas(rs) - count))
        budget -= count
    return plan


async def rollout_rolling(dc: DeploymentController, d: Object, rs_list: list[Object]) -> None:
    new_rs, old_rss = await get_all_replica_sets_and_sync_revision(dc, d, rs_list, True)
    assert new_rs is not None  # created when missing
    all_rss: list[Object | None] = [*old_rss, new_rs]
    scaled, _ = await scale_replica_set_and_record_event(dc, new_rs, compute_new_rs_replicas(d, all_rss, new_rs), d)
    if scaled:
        await sync_rollout_status(dc, all_rss, new_rs, d)
        return
    if await reconcile_old_replica_sets(dc, d, all_rss, util.active(old_rss), new_rs):
        await sync_rollout_status(dc, all_rss, new_rs, d)
        return
    await cleanup_deployment(dc, old_rss, d)
    await sync_rollout_status(dc, all_rss, new_rs, d)


async def reconcile_old_replica_sets(dc: DeploymentController, d: Object, all_rss: list[Object | None],
                                     old_rss: list[Object], new_rs: Object) -> bool:
    if util.sum_spec_replicas(old_rss) == 0:
        return False
    max_scaled_down = compute_max_scaled_down(d, all_rss, new_rs)
    if max_scaled_down <= 0:
        return False
    by_uid = {rs["metadata"]["uid"]: rs for rs in old_rss}
    cleaned = 0
    for rs, size in compute_unhealthy_cleanup(old_rss, max_scaled_down):
        cleaned += util.replicas(rs) - size
        _, by_uid[rs["metadata"]["uid"]] = await scale_replica_set_and_record_event(dc, rs, size, d)
    old_now = list(by_uid.values())
    scaled_down = 0
    for rs, size in compute_old_scale_down(d, [*old_now, new_rs], old_now):
        scaled_down += util.replicas(rs) - size
        await scale_replica_set_and_record_event(dc, rs, size, d)
    return cleaned + scaled_down > 0
