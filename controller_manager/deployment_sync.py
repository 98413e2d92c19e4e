"""The Deployment controller's shared steps (Kubernetes' pkg/controller/deployment/sync.go and progress.go).

* ``get_all_replica_sets_and_sync_revision``: split the owned ReplicaSets into the new one (template equal to the
  Deployment's) and the old ones; give the new one revision max(old) + 1 (rollback included: the restored
  ReplicaSet's revision is bumped) and copy that revision onto the Deployment; optionally create the new one,
  named ``<deployment>-<pod-template-hash>``.
* ``scale_replica_set``: set a ReplicaSet's replicas and its desired-/max-replicas annotations; ScalingReplicaSet
  event.
* ``scale``: a Deployment resized while paused or mid-rollout: one active ReplicaSet takes it all; several share it
  in proportion (``deployment_util.compute_proportional_sizes``).
* ``cleanup_deployment``: delete the oldest fully scaled-down ReplicaSets beyond revisionHistoryLimit.
* ``sync_rollout_status`` / ``sync_deployment_status``: write the status (``deployment_conditions``) if it
  changed; schedule the progress-deadline check.

Every function takes the controller (``dc``) the way Kubernetes' are methods of DeploymentController, and ``d``, a
private copy of the Deployment that the writes here keep current (resourceVersion, status, annotations).
"""

from __future__ import annotations

import contextlib
import copy
import time
from typing import TYPE_CHECKING, Any

from apimachinery import errors
from client.events import NORMAL, WARNING
from client.store import object_key
from controller_manager import deployment_conditions as cond
from controller_manager import deployment_util as util
from controller_manager.podutil import get_condition, is_controlled_by, new_controller_ref

if TYPE_CHECKING:
    from controller_manager.deployment import DeploymentController

Object = dict[str, Any]
RS = "replicasets.apps"
DEPLOYMENTS = "deployments.apps"
MAX_REV_HISTORY_CHARS = 2000  # Kubernetes' maxRevHistoryLengthInChars
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
SKIPPED_ANNOTATIONS = {LAST_APPLIED, util.REVISION, util.REVISION_HISTORY, util.DESIRED_REPLICAS,
                       util.MAX_REPLICAS, ROLLBACK_TO}


# -- annotations (pure) ------------------------------------------------------------------------------


def set_replicas_annotations(rs: Object, desired: int, max_replicas: int) -> bool:
    annotations = rs["metadata"].setdefault("annotations", {})
    wanted = {util.DESIRED_REPLICAS: str(desired), util.MAX_REPLICAS: str(max_replicas)}
    changed = any(annotations.get(k) != v for k, v in wanted.items())
    annotations.update(wanted)
    return changed


def set_new_replica_set_annotations(d: Object, rs: Object, new_revision: int, exists: bool) -> bool:
    """Copy the Deployment's annotations, raise the revision (keeping the old one in revision-history)."""
    annotations = rs["metadata"].setdefault("annotations", {})
    changed = False
    for key, value in (d["metadata"].get("annotations") or {}).items():
        if key not in SKIPPED_ANNOTATIONS and annotations.get(key) != value:
            annotations[key] = value
            changed = True
    old_text = annotations.get(util.REVISION)
    old = util.revision(rs)
    if old_text and str(old) != old_text:
        return changed  # an unparsable revision: leave it alone, as Kubernetes does
    if old < new_revision:
        annotations[util.REVISION] = str(new_revision)
        changed = True
        if old_text:
            _append_revision_history(annotations, old_text)
    if not exists and set_replicas_annotations(rs, util.replicas(d), util.replicas(d) + util.max_surge(d)):
        changed = True
    return changed


def _append_revision_history(annotations: dict[str, str], old_revision: str) -> None:
    history = [r for r in annotations.get(util.REVISION_HISTORY, "").split(",") if r]
    history.append(old_revision)
    while len(",".join(history)) > MAX_REV_HISTORY_CHARS and len(history) > 1:
        history.pop(0)
    annotations[util.REVISION_HISTORY] = ",".join(history)


# -- writes -------------------------------------------------------------------------------------------


async def update_status(dc: DeploymentController, d: Object) -> None:
    updated = await dc.client.update_status(d)
    d["metadata"]["resourceVersion"] = updated["metadata"]["resourceVersion"]


async def set_deployment_revision(dc: DeploymentController, d: Object, revision: str) -> None:
    """The revision annotation lives in metadata, which a status update does not write: patch it."""
    if (d["metadata"].get("annotations") or {}).get(util.REVISION) == revision:
        return
    meta = d["metadata"]
    patched = await dc.client.patch(DEPLOYMENTS, meta["name"], {"metadata": {"annotations": {util.REVISION: revision}}},
                                    meta.get("namespace", ""))
    meta.setdefault("annotations", {})[util.REVISION] = revision
    meta["resourceVersion"] = patched["metadata"]["resourceVersion"]


async def scale_replica_set(dc: DeploymentController, rs: Object, new_scale: int, d: Object,
                            operation: str) -> tuple[bool, Object]:
    """Write ``rs`` with ``new_scale`` replicas and current replica annotations; (scaled?, the ReplicaSet)."""
    size_changed = util.replicas(rs) != new_scale
    updated = copy.deepcopy(rs)
    annotations_changed = set_replicas_annotations(updated, util.replicas(d), util.replicas(d) + util.max_surge(d))
    if not size_changed and not annotations_changed:
        return False, rs
    old_scale = util.replicas(rs)
    updated["spec"]["replicas"] = new_scale
    written = await dc.client.update(updated)
    if size_changed:
        dc.recorder.event(d, NORMAL, "ScalingReplicaSet",
                          f"Scaled {operation} replica set {rs['metadata']['name']} from {old_scale} to {new_scale}")
    return size_changed, written


async def scale_replica_set_and_record_event(dc: DeploymentController, rs: Object, new_scale: int,
                                             d: Object) -> tuple[bool, Object]:
    if util.replicas(rs) == new_scale:
        return False, rs
    operation = "up" if util.replicas(rs) < new_scale else "down"
    return await scale_replica_set(dc, rs, new_scale, d, operation)


# -- the new and old ReplicaSets ------------------------------------------------------------------------


async def get_all_replica_sets_and_sync_revision(dc: DeploymentController, d: Object, rs_list: list[Object],
                                                 create: bool) -> tuple[Object | None, list[Object]]:
    old_rss = util.find_old_replica_sets(d, rs_list)
    new_rs = await get_new_replica_set(dc, d, rs_list, old_rss, create)
    return new_rs, old_rss


async def get_new_replica_set(dc: DeploymentController, d: Object, rs_list: list[Object], old_rss: list[Object],
                              create: bool) -> Object | None:
    existing = util.find_new_replica_set(d, rs_list)
    new_revision = util.max_revision(old_rss) + 1
    if existing is not None:
        synced = await _sync_existing_new_rs(dc, d, existing, new_revision)
        rs_list[rs_list.index(existing)] = synced  # later steps of this sync must not write a stale copy
        return synced
    if not create:
        return None
    return await _create_new_rs(dc, d, old_rss, new_revision)


async def _sync_existing_new_rs(dc: DeploymentController, d: Object, existing: Object, new_revision: int) -> Object:
    rs = copy.deepcopy(existing)
    annotations_changed = set_new_replica_set_annotations(d, rs, new_revision, exists=True)
    min_ready = int(d["spec"].get("minReadySeconds") or 0)
    if annotations_changed or int(rs["spec"].get("minReadySeconds") or 0) != min_ready:
        rs["spec"]["minReadySeconds"] = min_ready
        return await dc.client.update(rs)
    await set_deployment_revision(dc, d, rs["metadata"].get("annotations", {}).get(util.REVISION, ""))
    if cond.has_progress_deadline(d) and get_condition(d, cond.PROGRESSING) is None:
        status = d.setdefault("status", {})
        cond.set_condition(status, cond.new_condition(cond.PROGRESSING, "True", cond.FOUND_NEW_RS_REASON,
                                                      f'Found new replica set "{rs["metadata"]["name"]}"', time.time()))
        await update_status(dc, d)
    return rs


def new_replica_set(d: Object, old_rss: list[Object], new_revision: int) -> Object:
    """The ReplicaSet a Deployment's current template needs (pure): named and labelled by its template hash."""
    template = copy.deepcopy(d["spec"]["template"])
    pod_hash = util.compute_hash(template, (d.get("status") or {}).get("collisionCount"))
    template.setdefault("metadata", {}).setdefault("labels", {})[util.HASH_LABEL] = pod_hash
    selector = copy.deepcopy(d["spec"]["selector"])
    selector.setdefault("matchLabels", {})[util.HASH_LABEL] = pod_hash
    rs: Object = {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"{d['metadata']['name']}-{pod_hash}", "namespace": d["metadata"].get("namespace"),
                     "ownerReferences": [new_controller_ref(d)], "labels": dict(template["metadata"]["labels"])},
        "spec": {"replicas": 0, "minReadySeconds": int(d["spec"].get("minReadySeconds") or 0),
                 "selector": selector, "template": template},
    }
    rs["spec"]["replicas"] = util.new_rs_new_replicas(d, [*old_rss, rs], rs)
    set_new_replica_set_annotations(d, rs, new_revision, exists=False)
    return rs


async def _create_new_rs(dc: DeploymentController, d: Object, old_rss: list[Object], new_revision: int) -> Object:
    rs = new_replica_set(d, old_rss, new_revision)
    already_exists = False
    try:
        created = await dc.client.create(rs)
    except errors.AlreadyExists:
        already_exists = True
        created = await _existing_or_collision(dc, d, rs)
    except errors.ApiError as e:
        await _report_create_failure(dc, d, rs, e)
        raise
    replicas = util.replicas(rs)
    if not already_exists and replicas > 0:
        dc.recorder.event(d, NORMAL, "ScalingReplicaSet",
                          f"Scaled up replica set {created['metadata']['name']} from 0 to {replicas}")
    await set_deployment_revision(dc, d, str(new_revision))
    if not already_exists and cond.has_progress_deadline(d):
        cond.set_condition(d.setdefault("status", {}), cond.new_condition(
            cond.PROGRESSING, "True", cond.NEW_RS_REASON, f'Created new replica set "{created["metadata"]["name"]}"',
            time.time()))
        await update_status(dc, d)
    return created


async def _existing_or_collision(dc: DeploymentController, d: Object, rs: Object) -> Object:
    """The name is taken: ours with our template (a stale cache) is fine; anything else is a hash collision."""
    existing = await dc.client.get(RS, rs["metadata"]["name"], rs["metadata"]["namespace"])
    if is_controlled_by(existing, d) and util.equal_ignore_hash(d["spec"]["template"], existing["spec"]["template"]):
        return existing
    status = d.setdefault("status", {})
    status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
    await update_status(dc, d)
    raise errors.already_exists("replicasets", rs["metadata"]["name"], "apps")


async def _report_create_failure(dc: DeploymentController, d: Object, rs: Object, error: errors.ApiError) -> None:
    message = f'Failed to create new replica set "{rs["metadata"]["name"]}": {error}'
    if cond.has_progress_deadline(d):
        cond.set_condition(d.setdefault("status", {}), cond.new_condition(
            cond.PROGRESSING, "False", cond.FAILED_RS_CREATE_REASON, message, time.time()))
        with contextlib.suppress(errors.ApiError):  # the bigger problem is reported by the event
            await update_status(dc, d)
    dc.recorder.event(d, WARNING, cond.FAILED_RS_CREATE_REASON, message)


# -- scaling, cleanup, status ---------------------------------------------------------------------------


async def scale(dc: DeploymentController, d: Object, new_rs: Object | None, old_rss: list[Object]) -> None:
    only = util.find_active_or_latest(new_rs, old_rss)
    if only is not None:
        if util.replicas(only) != util.replicas(d):
            await scale_replica_set_and_record_event(dc, only, util.replicas(d), d)
        return
    if util.is_saturated(d, new_rs):
        for old in util.active(old_rss):
            await scale_replica_set_and_record_event(dc, old, 0, d)
        return
    if not util.is_rolling_update(d):
        return
    sizes = util.compute_proportional_sizes(d, util.active([*old_rss, new_rs]))
    total = sum(size for _, size in sizes) - util.sum_spec_replicas(rs for rs, _ in sizes)
    operation = "up" if total > 0 else "down"
    for rs, size in sizes:
        await scale_replica_set(dc, rs, size, d, operation)


async def cleanup_deployment(dc: DeploymentController, old_rss: list[Object], d: Object) -> None:
    limit = d["spec"].get("revisionHistoryLimit")
    if limit is None:
        return
    alive = [rs for rs in old_rss if not rs["metadata"].get("deletionTimestamp")]
    diff = len(alive) - int(limit)
    if diff <= 0:
        return
    oldest_first = sorted(util.by_creation(alive), key=util.revision)
    for rs in oldest_first[:diff]:
        if (util.status_int(rs, "replicas") != 0 or util.replicas(rs) != 0
                or rs["metadata"].get("generation", 0) > util.status_int(rs, "observedGeneration")):
            continue
        with contextlib.suppress(errors.NotFound):
            await dc.client.delete(RS, rs["metadata"]["name"], rs["metadata"].get("namespace", ""))


async def sync_deployment_status(dc: DeploymentController, all_rss: list[Object | None], new_rs: Object | None,
                                 d: Object) -> None:
    status = cond.calculate_status(all_rss, new_rs, d, time.time())
    if not cond.status_equal(d.get("status") or {}, status):
        d["status"] = status
        await update_status(dc, d)


async def sync_rollout_status(dc: DeploymentController, all_rss: list[Object | None], new_rs: Object | None,
                              d: Object) -> None:
    now = time.time()
    status = cond.compute_rollout_status(all_rss, new_rs, d, now)
    if cond.status_equal(d.get("status") or {}, status):
        after = cond.requeue_for_progress_after(d, status, now)
        if after is not None:
            dc.requeue_after(object_key(d), after)
        return
    d["status"] = status
    await update_status(dc, d)


async def check_paused_conditions(dc: DeploymentController, d: Object) -> None:
    """A Progressing condition with reason DeploymentPaused / DeploymentResumed, so pausing is no lack of progress."""
    if not cond.has_progress_deadline(d):
        return
    current = get_condition(d, cond.PROGRESSING)
    if current is not None and current.get("reason") == cond.TIMED_OUT_REASON:
        return
    paused_shown = current is not None and current.get("reason") == cond.PAUSED_REASON
    paused = bool(d["spec"].get("paused"))
    if paused and not paused_shown:
        condition = cond.new_condition(cond.PROGRESSING, "Unknown", cond.PAUSED_REASON, "Deployment is paused",
                                       time.time())
    elif not paused and paused_shown:
        condition = cond.new_condition(cond.PROGRESSING, "Unknown", cond.RESUMED_REASON, "Deployment is resumed",
                                       time.time())
    else:
        return
    cond.set_condition(d.setdefault("status", {}), condition)
    await update_status(dc, d)


async def is_scaling_event(dc: DeploymentController, d: Object, rs_list: list[Object]) -> bool:
    """A ReplicaSet recorded another desired size than the Deployment's: the Deployment was resized."""
    new_rs, old_rss = await get_all_replica_sets_and_sync_revision(dc, d, rs_list, False)
    for rs in util.active([*old_rss, new_rs]):
        desired = util.annotation_int(rs, util.DESIRED_REPLICAS)
        if desired is not None and desired != util.replicas(d):
            return True
    return False


async def sync(dc: DeploymentController, d: Object, rs_list: list[Object]) -> None:
    """Scaling while paused or mid-rollout: no new ReplicaSet, only sizes, cleanup and status."""
    new_rs, old_rss = await get_all_replica_sets_and_sync_revision(dc, d, rs_list, False)
    await scale(dc, d, new_rs, old_rss)
    if d["spec"].get("paused") and not d["spec"].get("rollbackTo"):
        await cleanup_deployment(dc, old_rss, d)
    await sync_deployment_status(dc, [*old_rss, new_rs], new_rs, d)
