"""A Deployment's status and conditions, pure (Kubernetes' deployment_util.go and progress.go decisions).

Status is summed over its ReplicaSets: ``replicas`` (pods that exist), ``updatedReplicas`` (of the new ReplicaSet),
``readyReplicas``, ``availableReplicas``, ``unavailableReplicas`` (wanted minus available, never negative).

Conditions:

* ``Available``: True/MinimumReplicasAvailable while at least replicas - maxUnavailable pods are available, else
  False/MinimumReplicasUnavailable.
* ``Progressing`` (only with a progressDeadlineSeconds): NewReplicaSetCreated / FoundNewReplicaSet when a rollout
  starts, ReplicaSetUpdated (lastUpdateTime bumped) each time a sync sees progress, NewReplicaSetAvailable when
  complete, ProgressDeadlineExceeded (False) when no progress was seen for progressDeadlineSeconds;
  DeploymentPaused / DeploymentResumed (Unknown) while pausing.
* ``ReplicaFailure``: copied from the ReplicaSets (the new one's first).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from controller_manager import deployment_util as util
from controller_manager.podutil import format_time, get_condition, parse_time

Object = dict[str, Any]
AVAILABLE, PROGRESSING, REPLICA_FAILURE = "Available", "Progressing", "ReplicaFailure"
MINIMUM_REPLICAS_AVAILABLE = "MinimumReplicasAvailable"
MINIMUM_REPLICAS_UNAVAILABLE = "MinimumReplicasUnavailable"
NEW_RS_REASON = "NewReplicaSetCreated"
FOUND_NEW_RS_REASON = "FoundNewReplicaSet"
RS_UPDATED_REASON = "ReplicaSetUpdated"
NEW_RS_AVAILABLE_REASON = "NewReplicaSetAvailable"
TIMED_OUT_REASON = "ProgressDeadlineExceeded"
FAILED_RS_CREATE_REASON = "ReplicaSetCreateError"
PAUSED_REASON = "DeploymentPaused"
RESUMED_REASON = "DeploymentResumed"
MAX_INT32 = 2**31 - 1


def new_condition(kind: str, status: str, reason: str, message: str, now: float) -> Object:
    stamp = format_time(now)
    return {"type": kind, "status": status, "lastUpdateTime": stamp, "lastTransitionTime": stamp,
            "reason": reason, "message": message}


def set_condition(status: Object, condition: Object) -> None:
    """SetDeploymentCondition: same status and reason -> unchanged; same status -> keep lastTransitionTime."""
    current = get_condition({"status": status}, condition["type"])
    if current is not None and current.get("status") == condition["status"] \
            and current.get("reason") == condition["reason"]:
        return
    if current is not None and current.get("status") == condition["status"]:
        condition = {**condition, "lastTransitionTime": current.get("lastTransitionTime")}
    status["conditions"] = [*remove_condition(status, condition["type"]), condition]


def remove_condition(status: Mapping[str, Any], kind: str) -> list[Object]:
    return [c for c in status.get("conditions") or [] if c.get("type") != kind]


def has_progress_deadline(d: Mapping[str, Any]) -> bool:
    deadline = (d.get("spec") or {}).get("progressDeadlineSeconds")
    return deadline is not None and int(deadline) != MAX_INT32


def calculate_status(all_rss: list[Object | None], new_rs: Object | None, d: Mapping[str, Any],
                     now: float) -> Object:
    """The status the Deployment should have (conditions carried over, Available recomputed)."""
    available = util.sum_status(all_rss, "availableReplicas")
    status: Object = {
        "observedGeneration": (d.get("metadata") or {}).get("generation", 0),
        "replicas": util.sum_status(all_rss, "replicas"),
        "updatedReplicas": util.sum_status([new_rs], "replicas"),
        "readyReplicas": util.sum_status(all_rss, "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": max(0, util.sum_spec_replicas(all_rss) - available),
        "conditions": copy.deepcopy((d.get("status") or {}).get("conditions") or []),
    }
    collisions = (d.get("status") or {}).get("collisionCount")
    if collisions is not None:
        status["collisionCount"] = collisions
    if available >= util.replicas(d) - util.max_unavailable(d):
        set_condition(status, new_condition(AVAILABLE, "True", MINIMUM_REPLICAS_AVAILABLE,
                                            "Deployment has minimum availability.", now))
    else:
        set_condition(status, new_condition(AVAILABLE, "False", MINIMUM_REPLICAS_UNAVAILABLE,
                                            "Deployment does not have minimum availability.", now))
    return status


def deployment_complete(d: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    want = util.replicas(d)
    return (int(status.get("updatedReplicas") or 0) == want and int(status.get("replicas") or 0) == want
            and int(status.get("availableReplicas") or 0) == want
            and int(status.get("observedGeneration") or 0) >= int((d.get("metadata") or {}).get("generation", 0)))


def deployment_progressing(d: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    old = d.get("status") or {}

    def count(status: Mapping[str, Any], field: str) -> int:
        return int(status.get(field) or 0)

    old_old = count(old, "replicas") - count(old, "updatedReplicas")
    new_old = count(new, "replicas") - count(new, "updatedReplicas")
    return (count(new, "updatedReplicas") > count(old, "updatedReplicas") or new_old < old_old
            or count(new, "readyReplicas") > count(old, "readyReplicas")
            or count(new, "availableReplicas") > count(old, "availableReplicas"))


def deployment_timed_out(d: Mapping[str, Any], status: Mapping[str, Any], now: float) -> bool:
    if not has_progress_deadline(d):
        return False
    condition = get_condition({"status": status}, PROGRESSING)
    if condition is None or condition.get("reason") == NEW_RS_AVAILABLE_REASON:
        return False
    if condition.get("reason") == TIMED_OUT_REASON:
        return True
    since = parse_time(condition.get("lastUpdateTime")) or 0.0
    return since + int(d["spec"]["progressDeadlineSeconds"]) < now


def compute_rollout_status(all_rss: list[Object | None], new_rs: Object | None, d: Mapping[str, Any],
                           now: float) -> Object:
    """syncRolloutStatus's decision: the status with Progressing and ReplicaFailure brought up to date."""
    status = calculate_status(all_rss, new_rs, d, now)
    if not has_progress_deadline(d):
        status["conditions"] = remove_condition(status, PROGRESSING)
    current = get_condition(d, PROGRESSING)
    complete_before = (status["replicas"] == status["updatedReplicas"] and current is not None
                       and current.get("reason") == NEW_RS_AVAILABLE_REASON)
    if has_progress_deadline(d) and not complete_before:
        _progress(status, d, new_rs, current, now)
    failure = replica_failure(all_rss, new_rs)
    if failure is not None:
        set_condition(status, failure)
    else:
        status["conditions"] = remove_condition(status, REPLICA_FAILURE)
    return status


def _progress(status: Object, d: Mapping[str, Any], new_rs: Object | None, current: Mapping[str, Any] | None,
              now: float) -> None:
    name = d["metadata"]["name"]
    subject = f'ReplicaSet "{new_rs["metadata"]["name"]}"' if new_rs is not None else f'Deployment "{name}"'
    if deployment_complete(d, status):
        set_condition(status, new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE_REASON,
                                            f"{subject} has successfully progressed.", now))
    elif deployment_progressing(d, status):
        condition = new_condition(PROGRESSING, "True", RS_UPDATED_REASON, f"{subject} is progressing.", now)
        if current is not None:
            if current.get("status") == "True":
                condition["lastTransitionTime"] = current.get("lastTransitionTime")
            status["conditions"] = remove_condition(status, PROGRESSING)
        set_condition(status, condition)
    elif deployment_timed_out(d, status, now):
        set_condition(status, new_condition(PROGRESSING, "False", TIMED_OUT_REASON,
                                            f"{subject} has timed out progressing.", now))


def replica_failure(all_rss: list[Object | None], new_rs: Object | None) -> Object | None:
    """The first ReplicaFailure condition of the new ReplicaSet, else of any, as a Deployment condition."""
    for rs in [new_rs, *all_rss]:
        condition = get_condition(rs or {}, REPLICA_FAILURE)
        if condition is not None:
            stamp = condition.get("lastTransitionTime")
            return {"type": REPLICA_FAILURE, "status": condition.get("status"), "lastUpdateTime": stamp,
                    "lastTransitionTime": stamp, "reason": condition.get("reason"),
                    "message": condition.get("message")}
    return None


def requeue_for_progress_after(d: Mapping[str, Any], status: Mapping[str, Any], now: float) -> float | None:
    """requeueStuckDeployment: seconds until the progress deadline should be checked, or None."""
    current = get_condition(d, PROGRESSING)
    if not has_progress_deadline(d) or current is None:
        return None
    if deployment_complete(d, status) or current.get("reason") == TIMED_OUT_REASON:
        return None
    since = parse_time(current.get("lastUpdateTime")) or now
    after = since + int(d["spec"]["progressDeadlineSeconds"]) - now
    return 0.0 if after < 1 else after + 1


def status_equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    def norm(status: Mapping[str, Any]) -> Object:
        return {k: v for k, v in status.items() if v not in (None, 0, [], {})}
    return norm(a) == norm(b)
