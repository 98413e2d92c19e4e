"""Taint-based eviction (Kubernetes' pkg/controller/tainteviction): pods leave nodes with NoExecute taints.

A pod bound to a node that carries NoExecute taints is deleted

* at once, if some NoExecute taint is not tolerated by any of the pod's tolerations;
* after the smallest ``tolerationSeconds`` among the tolerations that matched (one per taint, the first that
  tolerates it, as GetMatchingTolerations), counted from when the taints were added (their ``timeAdded``);
* never, if every matching toleration tolerates forever (no tolerationSeconds).

When the taint goes away before the time is up, nothing happens: reconcile simply finds nothing to do.
Before deleting, the pod gets the DisruptionTarget condition (reason DeletionByTaintManager), and an Event
TaintManagerEviction is recorded. Keys are pods; a node whose taints change enqueues all its pods.

This is its own controller class (as ``taint-eviction-controller`` in Kubernetes ≥ 1.29); the node lifecycle
controller builds and runs it, so ``--controllers=nodelifecycle`` gives both.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apimachinery import errors
from client.events import NORMAL
from client.informer import Handler, Informer
from client.store import object_key
from controller_manager.controller import Controller, ControllerContext
from controller_manager.podutil import format_time, parse_time

Object = dict[str, Any]
PODS_BY_NODE = "spec.nodeName"
NO_EXECUTE = "NoExecute"


def ensure_pods_by_node(pods: Informer) -> None:
    """Index the pod cache by spec.nodeName (shared by the node lifecycle and taint-eviction controllers)."""
    if PODS_BY_NODE not in pods.store._indexers:
        pods.store.add_indexer(PODS_BY_NODE, lambda pod: [n] if (n := (pod.get("spec") or {}).get("nodeName"))
                               else [])


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """Kubernetes' Toleration.ToleratesTaint."""
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    if toleration.get("key") and toleration.get("key") != taint.get("key"):
        return False
    if toleration.get("operator") == "Exists":
        return True
    return (toleration.get("value") or "") == (taint.get("value") or "")


def matching_tolerations(taints: Iterable[Mapping[str, Any]],
                         tolerations: list[Mapping[str, Any]]) -> list[Mapping[str, Any]] | None:
    """The first toleration matching each taint; None when some taint is not tolerated."""
    used = []
    for taint in taints:
        match = next((t for t in tolerations if tolerates(t, taint)), None)
        if match is None:
            return None
        used.append(match)
    return used


def min_toleration_seconds(used: Iterable[Mapping[str, Any]]) -> float | None:
    """The smallest tolerationSeconds (negative counts as 0); None when all tolerate forever."""
    seconds = [max(0.0, float(t["tolerationSeconds"])) for t in used if t.get("tolerationSeconds") is not None]
    return min(seconds) if seconds else None


@dataclass(frozen=True)
class EvictionDecision:
    evict_now: bool = False
    evict_in: float | None = None  # seconds from now; None: not scheduled


def compute_eviction(pod: Mapping[str, Any], taints: Sequence[Mapping[str, Any]], tainted_since: float,
                     now: float) -> EvictionDecision:
    """What to do with ``pod`` on a node carrying the NoExecute ``taints`` since ``tainted_since``."""
    if not taints:
        return EvictionDecision()
    used = matching_tolerations(taints, list((pod.get("spec") or {}).get("tolerations") or []))
    if used is None:
        return EvictionDecision(evict_now=True)
    seconds = min_toleration_seconds(used)
    if seconds is None:
        return EvictionDecision()
    remaining = tainted_since + seconds - now
    return EvictionDecision(evict_now=True) if remaining <= 0 else EvictionDecision(evict_in=remaining)


def no_execute_taints(node: Mapping[str, Any]) -> list[Object]:
    return [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("effect") == NO_EXECUTE]


def disruption_condition(now: float) -> Object:
    return {"type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
            "message": "Taint manager: deleting due to NoExecute taint", "lastTransitionTime": format_time(now)}


class TaintEvictionController(Controller):
    name = "taint-eviction-controller"
    event_source = "taint-eviction-controller"

    def __init__(self, ctx: ControllerContext, clock: Callable[[], float] = time.time) -> None:
        super().__init__(ctx)
        self.clock = clock
        self.pods = ctx.informers.informer("pods")
        self.nodes = ctx.informers.informer("nodes")
        ensure_pods_by_node(self.pods)
        self._first_seen: dict[tuple[str, str, str], float] = {}  # taints without timeAdded: when first seen
        self.pods.add_handler(Handler(on_add=self._pod_changed, on_update=lambda old, new: self._pod_changed(new)))
        self.nodes.add_handler(Handler(on_add=self._node_changed, on_update=self._node_updated))

    # -- event handlers: only enqueue ---------------------------------------------------------

    def _pod_changed(self, pod: Object) -> None:
        node_name = (pod.get("spec") or {}).get("nodeName")
        node = self.nodes.store.get(node_name) if node_name else None
        if node is not None and no_execute_taints(node):
            self.enqueue(pod)

    def _node_changed(self, node: Object) -> None:
        if no_execute_taints(node):
            for pod in self.pods.store.by_index(PODS_BY_NODE, node["metadata"]["name"]):
                self.enqueue(pod)

    def _node_updated(self, old: Object, new: Object) -> None:
        if no_execute_taints(old) != no_execute_taints(new):
            self._node_changed(new)

    # -- reconcile ----------------------------------------------------------------------------

    def tainted_since(self, node_name: str, taints: list[Object], now: float) -> float:
        """When the pod's node got its current NoExecute taints (the earliest timeAdded)."""
        times = []
        for taint in taints:
            added = parse_time(taint.get("timeAdded"))
            if added is None:
                added = self._first_seen.setdefault((node_name, str(taint.get("key")), NO_EXECUTE), now)
            times.append(added)
        return min(times)

    async def reconcile(self, key: str) -> None:
        pod = self.pods.store.get(key)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return
        node_name = str((pod.get("spec") or {}).get("nodeName") or "")
        node = self.nodes.store.get(node_name) if node_name else None
        if node is None:
            return
        taints = no_execute_taints(node)
        now = self.clock()
        decision = compute_eviction(pod, taints, self.tainted_since(node_name, taints, now) if taints else now, now)
        if decision.evict_in is not None:
            self.requeue_after(key, decision.evict_in)
        elif decision.evict_now:
            await self.evict(pod, now)

    async def evict(self, pod: Object, now: float) -> None:
        meta = pod["metadata"]
        self.recorder.event(pod, NORMAL, "TaintManagerEviction", f"Marking for deletion Pod {object_key(pod)}")
        try:
            await self.client.patch("pods", meta["name"], {"status": {"conditions": [disruption_condition(now)]}},
                                    meta["namespace"], patch_type="strategic", subresource="status")
            await self.client.delete("pods", meta["name"], meta["namespace"], preconditions={"uid": meta["uid"]})
        except errors.NotFound:
            return
