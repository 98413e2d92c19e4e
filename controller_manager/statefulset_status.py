"""A StatefulSet's status, computed from its pods and revisions (Kubernetes' updateStatefulSet status part and
completeRollingUpdate).

* ``replicas``: pods that exist; ``readyReplicas``: Running and Ready; ``availableReplicas``: Ready for at least
  ``minReadySeconds``;
* ``currentReplicas`` / ``updatedReplicas``: live pods on the current / update revision;
* ``currentRevision`` rolls forward to ``updateRevision`` once a RollingUpdate is complete (every pod updated
  and Ready). With OnDelete it stays where it was, as in Kubernetes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from controller_manager.statefulset_pods import (
    is_created,
    is_running_and_available,
    is_running_and_ready,
    is_terminating,
    pod_revision,
)
from controller_manager.statefulset_sync import rolling_update

Object = dict[str, Any]


def compute_stateful_set_status(sts: Mapping[str, Any], pods: Iterable[Object], current: str, update: str,
                                collision_count: int, now: float) -> Object:
    min_ready = int((sts.get("spec") or {}).get("minReadySeconds") or 0)
    status: Object = {"observedGeneration": (sts.get("metadata") or {}).get("generation", 0), "replicas": 0,
                      "readyReplicas": 0, "currentReplicas": 0, "updatedReplicas": 0, "availableReplicas": 0,
                      "currentRevision": current, "updateRevision": update, "collisionCount": collision_count}
    for pod in pods:
        if not is_created(pod):
            continue
        status["replicas"] += 1
        if is_running_and_ready(pod):
            status["readyReplicas"] += 1
            if is_running_and_available(pod, min_ready, now):
                status["availableReplicas"] += 1
        if not is_terminating(pod):
            status["currentReplicas"] += pod_revision(pod) == current
            status["updatedReplicas"] += pod_revision(pod) == update
    return complete_rolling_update(sts, status)


def complete_rolling_update(sts: Mapping[str, Any], status: Object) -> Object:
    if (rolling_update(sts) is not None and status["updatedReplicas"] == status["replicas"]
            and status["readyReplicas"] == status["replicas"]):
        status["currentReplicas"] = status["updatedReplicas"]
        status["currentRevision"] = status["updateRevision"]
    return status


def status_changed(sts: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    old = sts.get("status") or {}
    return any(old.get(key, 0 if isinstance(value, int) else "") != value for key, value in status.items())
