"""The Recreate strategy (Kubernetes' pkg/controller/deployment/recreate.go).

1. scale every old ReplicaSet to 0;
2. wait until none of their pods is left (terminal pods do not count);
3. only then create the new ReplicaSet (if it does not exist yet) and scale it to ``replicas``;
4. once complete, clean up old ReplicaSets beyond revisionHistoryLimit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from controller_manager import deployment_conditions as cond
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


def old_pods_running(new_rs: Mapping[str, Any] | None, old_rss: list[Object],
                     pods_by_rs_uid: Mapping[str, list[Object]]) -> bool:
    """Any old ReplicaSet still reports pods, or any non-terminal pod of an old ReplicaSet is still there."""
    if util.sum_status(old_rss, "replicas") > 0:
        return True
    new_uid = (new_rs or {}).get("metadata", {}).get("uid")
    for uid, pods in pods_by_rs_uid.items():
        if uid == new_uid:
            continue
        if any((p.get("status") or {}).get("phase") not in ("Failed", "Succeeded") for p in pods):
            return True
    return False


async def rollout_recreate(dc: DeploymentController, d: Object, rs_list: list[Object],
                           pods_by_rs_uid: Mapping[str, list[Object]]) -> None:
    new_rs, old_rss = await get_all_replica_sets_and_sync_revision(dc, d, rs_list, False)
    all_rss: list[Object | None] = [*old_rss, new_rs]
    scaled_down = False
    for rs in util.active(old_rss):
        scaled, _ = await scale_replica_set_and_record_event(dc, rs, 0, d)
        scaled_down = scaled_down or scaled
    if scaled_down or old_pods_running(new_rs, old_rss, pods_by_rs_uid):
        await sync_rollout_status(dc, all_rss, new_rs, d)
        return
    if new_rs is None:
        new_rs, old_rss = await get_all_replica_sets_and_sync_revision(dc, d, rs_list, True)
        all_rss = [*old_rss, new_rs]
    assert new_rs is not None
    await scale_replica_set_and_record_event(dc, new_rs, util.replicas(d), d)
    if cond.deployment_complete(d, d.get("status") or {}):
        await cleanup_deployment(dc, old_rss, d)
    await sync_rollout_status(dc, all_rss, new_rs, d)
