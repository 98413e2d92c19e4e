"""The pod garbage collector (Kubernetes' pkg/controller/podgc): removes pods nobody else will.

Every ``gc_check_period`` (20 s) one pass (key ``podgc``) over the pod cache:

1. **terminated pods**: when more than ``terminated_pod_gc_threshold`` (12500) pods are Succeeded or Failed,
   the oldest are deleted (evicted pods first, then by creationTimestamp) down to the threshold;
2. **terminating pods on out-of-service nodes**: a pod being deleted on a node that is not Ready and carries
   the ``node.kubernetes.io/out-of-service`` taint is force-deleted (its kubelet will never confirm);
3. **orphaned pods**: pods bound to a node that does not exist. A node missing from the cache is quarantined
   for ``pod_gc_quarantine_time`` (40 s, in case the cache is behind), then looked up on the apiserver; if it is
   really gone its pods are marked Failed (DisruptionTarget, DeletionByPodGC) and force-deleted;
4. **unscheduled terminating pods**: pods being deleted that were never bound are force-deleted.

Force deletion is a delete with gracePeriodSeconds 0.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from apimachinery import errors
from controller_manager.controller import Controller, ControllerContext
from controller_manager.podutil import format_time, get_condition, parse_time

log = logging.getLogger(__name__)
Object = dict[str, Any]
KEY = "podgc"
OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"


def is_terminated(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") not in ("Pending", "Running", "Unknown", None)


def node_name(pod: Mapping[str, Any]) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


def compute_terminated_to_delete(pods: Iterable[Mapping[str, Any]], threshold: int) -> list[Mapping[str, Any]]:
    """The terminated pods over the threshold: evicted first, then oldest first."""
    if threshold <= 0:
        return []
    terminated = [p for p in pods if is_terminated(p)]
    excess = len(terminated) - threshold
    if excess <= 0:
        return []

    def order(pod: Mapping[str, Any]) -> tuple[bool, float, str]:
        evicted = (pod.get("status") or {}).get("reason") == "Evicted"
        created = parse_time((pod.get("metadata") or {}).get("creationTimestamp")) or 0.0
        return (not evicted, created, str(pod["metadata"].get("name")))

    return sorted(terminated, key=order)[:excess]


def is_out_of_service(node: Mapping[str, Any]) -> bool:
    ready = get_condition(node, "Ready")
    not_ready = ready is None or ready.get("status") != "True"
    tainted = any(t.get("key") == OUT_OF_SERVICE for t in (node.get("spec") or {}).get("taints") or [])
    return not_ready and tainted


def compute_quarantine(pods: Iterable[Mapping[str, Any]], known_nodes: set[str], missing_since: Mapping[str, float],
                       now: float, quarantine: float) -> tuple[dict[str, float], list[str]]:
    """(the nodes still missing → since when, those missing for longer than the quarantine)."""
    missing = {name for p in pods if (name := node_name(p)) and name not in known_nodes}
    since = {name: missing_since.get(name, now) for name in missing}
    return since, sorted(name for name, t in since.items() if now - t >= quarantine)


def failed_status_patch(now: float) -> Object:
    return {"status": {"phase": "Failed", "conditions": [{
        "type": "DisruptionTarget", "status": "True", "reason": "DeletionByPodGC",
        "message": "PodGC: node no longer exists", "lastTransitionTime": format_time(now)}]}}


class PodGCController(Controller):
    name = "pod-garbage-collector"
    workers = 1

    def __init__(self, ctx: ControllerContext, clock: Callable[[], float] = time.time) -> None:
        super().__init__(ctx)
        self.clock = clock
        self.period = float(ctx.option("gc_check_period", 20.0))
        self.threshold = int(ctx.option("terminated_pod_gc_threshold", 12500))
        self.quarantine = float(ctx.option("pod_gc_quarantine_time", 40.0))
        self.pods = ctx.informers.informer("pods")
        self.nodes = ctx.informers.informer("nodes")
        self.missing_since: dict[str, float] = {}
        self.enqueue_key(KEY)

    async def reconcile(self, key: str) -> None:
        pods = list(self.pods.store)
        await self.gc_terminated(pods)
        await self.gc_terminating_out_of_service(pods)
        await self.gc_orphaned(pods)
        await self.gc_unscheduled_terminating(pods)
        self.requeue_after(KEY, self.period)

    async def gc_terminated(self, pods: list[Object]) -> None:
        for pod in compute_terminated_to_delete(pods, self.threshold):
            await self.force_delete(pod)

    async def gc_terminating_out_of_service(self, pods: list[Object]) -> None:
        for pod in pods:
            node = self.nodes.store.get(node_name(pod)) if node_name(pod) else None
            if pod["metadata"].get("deletionTimestamp") and node is not None and is_out_of_service(node):
                await self.force_delete(pod)

    async def gc_orphaned(self, pods: list[Object]) -> None:
        now = self.clock()
        known = {n["metadata"]["name"] for n in self.nodes.store}
        self.missing_since, expired = compute_quarantine(pods, known, self.missing_since, now, self.quarantine)
        for name in expired:
            try:
                await self.client.get("nodes", name)
                continue  # the cache was behind: the node exists
            except errors.NotFound:
                pass
            for pod in pods:
                if node_name(pod) == name:
                    await self.mark_failed_and_delete(pod, now)
        pending = [since for name, since in self.missing_since.items() if name not in expired]
        if pending:
            self.requeue_after(KEY, min(self.period, min(pending) + self.quarantine - now))

    async def gc_unscheduled_terminating(self, pods: list[Object]) -> None:
        for pod in pods:
            if pod["metadata"].get("deletionTimestamp") and not node_name(pod):
                await self.force_delete(pod)

    async def mark_failed_and_delete(self, pod: Object, now: float) -> None:
        meta = pod["metadata"]
        log.info("pod %s/%s: node %s no longer exists, deleting", meta.get("namespace"), meta["name"], node_name(pod))
        if not is_terminated(pod):
            try:
                await self.client.patch("pods", meta["name"], failed_status_patch(now), meta["namespace"],
                                        patch_type="strategic", subresource="status")
            except errors.NotFound:
                return
        await self.force_delete(pod)

    async def force_delete(self, pod: Mapping[str, Any]) -> None:
        meta = pod["metadata"]
        try:
            await self.client.delete("pods", meta["name"], meta["namespace"], grace_period_seconds=0,
                                     preconditions={"uid": meta["uid"]})
        except (errors.NotFound, errors.Conflict):
            return
