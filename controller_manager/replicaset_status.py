"""A ReplicaSet's status from the pods it owns (Kubernetes' replica_set_utils.go calculateStatus), pure.

* ``replicas``: active pods owned (not terminal, not being deleted);
* ``fullyLabeledReplicas``: of those, the ones whose labels include all of the template's labels;
* ``readyReplicas``: Ready ones; ``availableReplicas``: Ready for at least ``minReadySeconds``;
* ``observedGeneration``: the generation this status was computed for;
* condition ``ReplicaFailure`` (reason FailedCreate / FailedDelete, the error as message) while creating or deleting
  pods fails; removed at the first sync that succeeds.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from apimachinery.labels import selector_from_set
from controller_manager.podutil import format_time, is_pod_available, is_pod_ready

Object = dict[str, Any]
REPLICA_FAILURE = "ReplicaFailure"
_COUNTED = ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas")


def compute_status(rs: Mapping[str, Any], pods: list[Object], manage_error: BaseException | None,
                   now: float) -> Object:
    """The status ``rs`` should have given its active, owned ``pods`` and the error of this sync's writes."""
    spec = rs.get("spec") or {}
    status: Object = copy.deepcopy(rs.get("status") or {})
    template_labels = selector_from_set(((spec.get("template") or {}).get("metadata") or {}).get("labels"))
    min_ready = int(spec.get("minReadySeconds") or 0)
    labeled = sum(1 for p in pods if template_labels.matches((p.get("metadata") or {}).get("labels") or {}))
    ready = [p for p in pods if is_pod_ready(p)]
    available = sum(1 for p in ready if is_pod_available(p, min_ready, now))
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != REPLICA_FAILURE]
    failure = next((c for c in status.get("conditions") or [] if c.get("type") == REPLICA_FAILURE), None)
    if manage_error is not None:
        failure = failure or _failure_condition(len(pods) - int(spec.get("replicas", 1)), manage_error, now)
        conditions.append(failure)
    status.update(replicas=len(pods), fullyLabeledReplicas=labeled, readyReplicas=len(ready),
                  availableReplicas=available)
    if conditions:
        status["conditions"] = conditions
    else:
        status.pop("conditions", None)
    return status


def _failure_condition(diff: int, error: BaseException, now: float) -> Object:
    reason = "FailedCreate" if diff < 0 else "FailedDelete" if diff > 0 else ""
    return {"type": REPLICA_FAILURE, "status": "True", "lastTransitionTime": format_time(now), "reason": reason,
            "message": str(error)}


def status_needs_update(rs: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """False when the stored status already says this and was computed for the current generation."""
    current = rs.get("status") or {}
    generation = (rs.get("metadata") or {}).get("generation", 0)
    same = all(int(current.get(k) or 0) == int(status.get(k) or 0) for k in _COUNTED)
    return not (same and current.get("conditions") == status.get("conditions")
                and current.get("observedGeneration") == generation)
