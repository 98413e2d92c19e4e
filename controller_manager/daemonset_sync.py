"""What a DaemonSet's reconcile must do next, and its status: pure decisions (Kubernetes' daemon_controller.go
``manage``/``podsShouldBeOnNode``, update.go ``rollingUpdate`` and ``updateDaemonSetStatus``).

* **manage**: every node that should run the daemon and has no live pod gets one; a node that must not run it
  (label, affinity or an untolerated NoExecute taint changed) loses its pods; failed and succeeded pods are
  deleted (and replaced); extra pods on a node are deleted keeping the oldest; pods pinned to a node that no
  longer exists and never scheduled are deleted.
* **rollingUpdate** (only once manage has nothing to do): with ``maxSurge: 0``, old pods are deleted so that at
  most ``maxUnavailable`` nodes lack an available pod (manage re-creates them from the new revision); with
  ``maxSurge > 0`` a new pod is started next to the old one on up to ``maxSurge`` nodes, and the old one is deleted
  once the new one is available.

A pod is *updated* when its ``controller-revision-hash`` label equals the hash of the current revision.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apimachinery.api.common import percent_value
from controller_manager.daemonset_placement import node_should_run_daemon_pod, target_node_name
from controller_manager.history import CONTROLLER_REVISION_HASH_LABEL
from controller_manager.podutil import is_pod_available, is_pod_ready

Object = dict[str, Any]


@dataclass
class DaemonPlan:
    create_on: list[str] = field(default_factory=list)  # node names that get a new pod
    delete: list[Object] = field(default_factory=list)  # pods to delete

    def empty(self) -> bool:
        return not self.create_on and not self.delete

    def deleted_names(self) -> list[str]:
        return [p["metadata"]["name"] for p in self.delete]


def _created(pod: Mapping[str, Any]) -> tuple[str, str]:
    return str(pod["metadata"].get("creationTimestamp") or ""), pod["metadata"]["name"]


def is_updated(pod: Mapping[str, Any], hash_: str) -> bool:
    return bool(hash_) and ((pod["metadata"].get("labels") or {}).get(CONTROLLER_REVISION_HASH_LABEL) == hash_)


def _terminating(pod: Mapping[str, Any]) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def _phase(pod: Mapping[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def nodes_to_daemon_pods(pods: Iterable[Object]) -> dict[str, list[Object]]:
    """The daemon pods by the node they run on or are pinned to, oldest first (terminal deleted pods left out)."""
    by_node: dict[str, list[Object]] = {}
    for pod in pods:
        if _terminating(pod) and _phase(pod) in ("Failed", "Succeeded"):
            continue
        node = target_node_name(pod)
        if node:
            by_node.setdefault(node, []).append(pod)
    return {node: sorted(found, key=_created) for node, found in by_node.items()}


def scaled(value: Any, total: int) -> int:
    """An int-or-percent field scaled to ``total``, rounding up (GetScaledValueFromIntOrPercent(..., true))."""
    percent = percent_value(value)
    return math.ceil(percent * total / 100) if percent is not None else int(value or 0)


def max_surge_and_unavailable(ds: Mapping[str, Any], nodes: Iterable[Object]) -> tuple[int, int]:
    """updatedDesiredNodeCounts: the rolling-update bounds scaled to the nodes that should run the daemon."""
    desired = sum(1 for node in nodes if node_should_run_daemon_pod(ds, node)[0])
    rolling = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {}
    surge, unavailable = scaled(rolling.get("maxSurge", 0), desired), scaled(rolling.get("maxUnavailable", 1), desired)
    if surge == 0 and unavailable == 0:
        unavailable = 1  # never stall an update
    return surge, unavailable


# -- manage -------------------------------------------------------------------------------------


def compute_manage(ds: Mapping[str, Any], nodes: Iterable[Object], pods: Iterable[Object], hash_: str) -> DaemonPlan:
    plan = DaemonPlan()
    pods = list(pods)
    by_node = nodes_to_daemon_pods(pods)
    surge = max_surge_and_unavailable(ds, nodes)[0] > 0 if _is_rolling(ds) else False
    names = set()
    for node in nodes:
        names.add(node["metadata"]["name"])
        _pods_should_be_on_node(ds, node, by_node.get(node["metadata"]["name"], []), hash_, surge, plan)
    for pod in pods:  # getUnscheduledPodsWithoutNode: the scheduler can never place these
        if not (pod.get("spec") or {}).get("nodeName") and target_node_name(pod) not in names \
                and not _terminating(pod):
            plan.delete.append(pod)
    return plan


def _pods_should_be_on_node(ds: Mapping[str, Any], node: Object, daemon_pods: list[Object], hash_: str,
                            surge: bool, plan: DaemonPlan) -> None:
    should_run, should_continue = node_should_run_daemon_pod(ds, node)
    name = node["metadata"]["name"]
    if should_run and not daemon_pods:
        plan.create_on.append(name)
        return
    if not should_continue:
        plan.delete.extend(p for p in daemon_pods if not _terminating(p))
        return
    running = []
    for pod in daemon_pods:
        if _terminating(pod):
            continue
        if _phase(pod) in ("Failed", "Succeeded"):
            plan.delete.append(pod)
        else:
            running.append(pod)
    if not running and should_run:
        plan.create_on.append(name)
    plan.delete.extend(_excess(running, hash_, surge))


def _excess(running: list[Object], hash_: str, surge: bool) -> list[Object]:
    """More than one live pod on a node: keep the oldest (with surge, the oldest updated and oldest old one)."""
    if not surge:
        return running[1:]
    kept_new = kept_old = False
    excess = []
    for pod in running:
        if is_updated(pod, hash_) and not kept_new:
            kept_new = True
        elif not is_updated(pod, hash_) and not kept_old:
            kept_old = True
        else:
            excess.append(pod)
    return excess


# -- rolling update -------------------------------------------------------------------------------


def _is_rolling(ds: Mapping[str, Any]) -> bool:
    return ((ds.get("spec") or {}).get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"


def _updated_and_old(pods: list[Object], hash_: str) -> tuple[Object | None, Object | None, bool]:
    """findUpdatedPodsOnNode: (new pod, old pod, ok); not ok when a node has two of either kind."""
    new = old = None
    for pod in pods:
        if _terminating(pod):
            continue
        if is_updated(pod, hash_):
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


def compute_rolling_update(ds: Mapping[str, Any], nodes: list[Object], pods: Iterable[Object], hash_: str,
                           now: float) -> DaemonPlan:
    by_node = nodes_to_daemon_pods(pods)
    surge, unavailable = max_surge_and_unavailable(ds, nodes)
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    if surge == 0:
        return _roll_by_deleting(by_node, hash_, unavailable, min_ready, now)
    return _roll_by_surging(ds, nodes, by_node, hash_, surge, min_ready, now)


def _roll_by_deleting(by_node: dict[str, list[Object]], hash_: str, max_unavailable: int, min_ready: int,
                      now: float) -> DaemonPlan:
    unavailable = 0
    replace_now: list[Object] = []
    candidates: list[Object] = []
    for node in sorted(by_node):
        new, old, ok = _updated_and_old(by_node[node], hash_)
        if not ok or (new is None) == (old is None):
            unavailable += 1  # manage sorts this node out first
        elif new is not None:
            unavailable += not is_pod_available(new, min_ready, now)
        elif old is not None and not is_pod_available(old, min_ready, now):
            replace_now.append(old)  # already unavailable: replacing it costs nothing
        elif old is not None:
            candidates.append(old)
    budget = min(max(max_unavailable - unavailable, 0), len(candidates))
    return DaemonPlan(delete=replace_now + candidates[:budget])


def _roll_by_surging(ds: Mapping[str, Any], nodes: list[Object], by_node: dict[str, list[Object]], hash_: str,
                     max_surge: int, min_ready: int, now: float) -> DaemonPlan:
    plan = DaemonPlan()
    surging = 0
    candidates: list[str] = []
    should_run = {n["metadata"]["name"] for n in nodes if node_should_run_daemon_pod(ds, n)[0]}
    for node in sorted(by_node):
        new, old, ok = _updated_and_old(by_node[node], hash_)
        if not ok or old is None:
            continue
        if new is not None:
            if is_pod_available(new, min_ready, now):
                plan.delete.append(old)  # the new pod took over
            else:
                surging += 1
        elif not is_pod_available(old, min_ready, now):
            plan.create_on.append(node)  # nothing to protect: start the new pod right away
        elif node in should_run:
            candidates.append(node)
    plan.create_on += candidates[:max(max_surge - surging, 0)]
    return plan


def compute_daemon_set_plan(ds: Mapping[str, Any], nodes: list[Object], pods: list[Object], hash_: str,
                            now: float) -> DaemonPlan:
    """manage; then, when manage has nothing left to do, one step of the rolling update."""
    if (ds.get("metadata") or {}).get("deletionTimestamp"):
        return DaemonPlan()
    plan = compute_manage(ds, nodes, pods, hash_)
    if plan.empty() and _is_rolling(ds):
        return compute_rolling_update(ds, nodes, pods, hash_, now)
    return plan


# -- status ---------------------------------------------------------------------------------------


def compute_daemon_set_status(ds: Mapping[str, Any], nodes: Iterable[Object], pods: Iterable[Object], hash_: str,
                              collision_count: int, now: float) -> Object:
    """updateDaemonSetStatus: counted per node, from the oldest daemon pod on it."""
    by_node = nodes_to_daemon_pods(pods)
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    counts = dict.fromkeys(("desiredNumberScheduled", "currentNumberScheduled", "numberMisscheduled",
                            "numberReady", "numberAvailable", "updatedNumberScheduled"), 0)
    for node in nodes:
        should_run = node_should_run_daemon_pod(ds, node)[0]
        daemon_pods = by_node.get(node["metadata"]["name"], [])
        if not should_run:
            counts["numberMisscheduled"] += bool(daemon_pods)
            continue
        counts["desiredNumberScheduled"] += 1
        if not daemon_pods:
            continue
        counts["currentNumberScheduled"] += 1
        pod = daemon_pods[0]
        if is_pod_ready(pod):
            counts["numberReady"] += 1
            counts["numberAvailable"] += is_pod_available(pod, min_ready, now)
        counts["updatedNumberScheduled"] += is_updated(pod, hash_)
    return {**counts, "numberUnavailable": counts["desiredNumberScheduled"] - counts["numberAvailable"],
            "observedGeneration": (ds.get("metadata") or {}).get("generation", 0), "collisionCount": collision_count}
