"""The node lifecycle controller (Kubernetes' pkg/controller/nodelifecycle): notices dead nodes and evicts.

The kubelet proves it is alive by renewing its Lease ``kube-node-lease/<node>`` and posting Node status.
This controller works in two kinds of passes, both reconcile keys on the same work queue:

* the **monitor pass** (key ``@monitor``, every ``node_monitor_period``, 5 s) — monitorNodeHealth:
  for every node it updates the node's health record (:mod:`node_lifecycle_health`); a node silent for
  longer than ``node_monitor_grace_period`` (40 s; ``node_startup_grace_period``, 60 s, before its first
  Ready) gets its Ready/MemoryPressure/DiskPressure/PIDPressure conditions written as Unknown
  ("Kubelet stopped posting node status."). Then it computes each zone's disruption state and the eviction
  rates (:mod:`node_lifecycle_zones`) and enqueues every node.
* the **node pass** (key ``<node name>``), level-triggered from the node as cached:
  1. NoSchedule taints follow the node's conditions (TaintNodesByCondition);
  2. the NoExecute taint follows Ready: ``unreachable`` for Unknown, ``not-ready`` for False, none for True.
     Adding one waits for the zone's rate limiter (``node_eviction_rate`` 0.1 nodes/s, ...); swapping or
     removing one does not. When every zone is fully disrupted no node is tainted and existing NoExecute
     taints are removed;
  3. pods on a node that is not Ready get their Ready condition set to False (MarkPodsNotReady).

The NoExecute taint is what evicts: the taint-eviction controller (:mod:`controller_manager.taint_eviction`,
built and run by this one) deletes the pods that do not tolerate it, or after their tolerationSeconds.

The health records, zone states and limiters live in memory, as in Kubernetes: a restarted controller gives
every node a fresh grace period, then converges on the same taints.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import Callable
from typing import Any

from apimachinery import errors
from client.events import NORMAL, WARNING
from client.informer import Handler
from controller_manager.controller import Controller, ControllerContext
from controller_manager.node_lifecycle_health import (
    NodeHealth,
    compute_node_health,
    compute_unknown_conditions,
    grace_period,
    is_stale,
)
from controller_manager.node_lifecycle_taints import (
    NO_EXECUTE,
    NO_EXECUTE_KEYS,
    compute_no_execute_change,
    compute_no_execute_key,
    compute_no_schedule_change,
    has_taint,
)
from controller_manager.node_lifecycle_zones import (
    EvictionRates,
    ZoneTracker,
    compute_zone_sizes,
    compute_zone_states,
    is_ready,
    zone_key,
)
from controller_manager.podutil import format_time, get_condition
from controller_manager.taint_eviction import PODS_BY_NODE, TaintEvictionController, ensure_pods_by_node

log = logging.getLogger(__name__)
Object = dict[str, Any]
MONITOR_KEY = "@monitor"  # not a valid node name
LEASE_NAMESPACE = "kube-node-lease"


class NodeLifecycleController(Controller):
    name = "node-lifecycle-controller"
    event_source = "node-controller"

    def __init__(self, ctx: ControllerContext, clock: Callable[[], float] = time.time) -> None:
        super().__init__(ctx)
        self.clock = clock
        self.monitor_period = float(ctx.option("node_monitor_period", 5.0))
        self.monitor_grace = float(ctx.option("node_monitor_grace_period", 40.0))
        self.startup_grace = float(ctx.option("node_startup_grace_period", 60.0))
        self.unhealthy_zone_threshold = float(ctx.option("unhealthy_zone_threshold", 0.55))
        self.zones = ZoneTracker(EvictionRates(
            rate=float(ctx.option("node_eviction_rate", 0.1)),
            secondary_rate=float(ctx.option("secondary_node_eviction_rate", 0.01)),
            large_cluster_threshold=int(ctx.option("large_cluster_size_threshold", 50))))
        self.health: dict[str, NodeHealth] = {}
        self.nodes = ctx.informers.informer("nodes")
        self.leases = ctx.informers.informer("leases.coordination.k8s.io", namespace=LEASE_NAMESPACE)
        self.pods = ctx.informers.informer("pods")
        ensure_pods_by_node(self.pods)
        self.taint_eviction = TaintEvictionController(ctx, clock)
        self.nodes.add_handler(Handler(on_add=self._node_added, on_update=self._node_updated,
                                       on_delete=self._node_added))
        self.pods.add_handler(Handler(on_add=self._pod_changed, on_update=lambda old, new: self._pod_changed(new)))
        self.enqueue_key(MONITOR_KEY)

    # -- event handlers: only enqueue ---------------------------------------------------------

    def _node_added(self, node: Object) -> None:
        self.enqueue_key(MONITOR_KEY)
        self.enqueue(node)

    def _node_updated(self, old: Object, new: Object) -> None:
        if is_ready(old) != is_ready(new):
            self.enqueue_key(MONITOR_KEY)
        self.enqueue(new)

    def _pod_changed(self, pod: Object) -> None:
        node_name = str((pod.get("spec") or {}).get("nodeName") or "")
        node = self.nodes.store.get(node_name) if node_name else None
        if node is not None and not is_ready(node):
            self.enqueue_key(node_name)

    async def run(self) -> None:
        """Run this controller's workers and the taint-eviction controller's, until cancelled."""
        await asyncio.gather(super().run(), self.taint_eviction.run())

    async def reconcile(self, key: str) -> None:
        if key == MONITOR_KEY:
            await self.monitor()
            self.requeue_after(MONITOR_KEY, self.monitor_period)
        else:
            await self.reconcile_node(key)

    # -- the monitor pass ---------------------------------------------------------------------

    async def monitor(self) -> None:
        now = self.clock()
        observed = []
        for node in list(self.nodes.store):
            observed.append(await self.update_node_health(node, now))
        names = {node["metadata"]["name"] for node in observed}
        for name in set(self.health) - names:
            del self.health[name]
        change = self.zones.update(compute_zone_states(observed, self.unhealthy_zone_threshold),
                                   compute_zone_sizes(observed), now)
        if change.entering_full:
            log.warning("all nodes are not Ready: entering master disruption mode, evictions stop")
        if change.exiting_full:
            log.info("some nodes are Ready again: exiting master disruption mode")
            self.health = {name: NodeHealth(h.ready, now, now, h.lease_renew_time) for name, h in self.health.items()}
        for name in sorted(names):
            self.enqueue_key(name)

    async def update_node_health(self, node: Object, now: float) -> Object:
        """Observe one node; write its conditions as Unknown when it has been silent too long."""
        name = node["metadata"]["name"]
        lease = self.leases.store.get(f"{LEASE_NAMESPACE}/{name}")
        health = compute_node_health(self.health.get(name), node, lease, now)
        self.health[name] = health
        if not is_stale(health, grace_period(node, self.monitor_grace, self.startup_grace), now):
            return node
        conditions = compute_unknown_conditions(node, now)
        if conditions is None:
            return node
        was_ready = is_ready(node)
        updated = copy.deepcopy(node)
        updated.setdefault("status", {})["conditions"] = conditions
        try:
            updated = await self.client.update_status(updated)
        except errors.NotFound:
            return node
        log.info("node %s: no status for %.0fs, conditions set to Unknown", name, now - health.probe_timestamp)
        if was_ready:
            self.recorder.event(updated, NORMAL, "NodeNotReady", f"Node {name} status is now: NodeNotReady")
        self.health[name] = NodeHealth(get_condition(updated, "Ready"), health.probe_timestamp, now,
                                       health.lease_renew_time)
        return updated

    # -- the node pass ------------------------------------------------------------------------

    async def reconcile_node(self, name: str) -> None:
        node = self.nodes.store.get(name)
        if node is None:
            return
        now = self.clock()
        taints = compute_no_schedule_change(node, now)
        if taints is not None:
            node = await self.write_taints(node, taints)
        await self.reconcile_no_execute(node, now)
        if get_condition(node, "Ready") is not None and not is_ready(node):
            await self.mark_pods_not_ready(node, now)

    async def reconcile_no_execute(self, node: Object, now: float) -> None:
        """Keep the NoExecute not-ready/unreachable taint in line with Ready, adding it at the zone's rate."""
        if not self.zones.known or get_condition(node, "Ready") is None:
            return  # no monitor pass yet, or the kubelet never posted status: nothing to decide
        wanted = None if self.zones.all_fully_disrupted() else compute_no_execute_key(node)
        present = [key for key in NO_EXECUTE_KEYS if has_taint(node, key, NO_EXECUTE)]
        if present == ([wanted] if wanted else []):
            return
        if wanted is not None and not present:
            allowed, wait = self.zones.try_taint(zone_key(node), now)
            if not allowed:
                self.requeue_after(node["metadata"]["name"], wait if wait is not None else self.monitor_period)
                return
        taints = compute_no_execute_change(node, wanted, now)
        if taints is not None:
            await self.write_taints(node, taints)

    async def write_taints(self, node: Object, taints: list[Object]) -> Object:
        meta = node["metadata"]
        patch = {"metadata": {"resourceVersion": meta["resourceVersion"]}, "spec": {"taints": taints or None}}
        return await self.client.patch("nodes", meta["name"], patch)

    async def mark_pods_not_ready(self, node: Object, now: float) -> None:
        """MarkPodsNotReady: every pod on the node whose Ready condition is not False gets Ready=False."""
        for pod in self.pods.store.by_index(PODS_BY_NODE, node["metadata"]["name"]):
            ready = get_condition(pod, "Ready")
            if ready is None or ready.get("status") == "False":
                continue
            meta = pod["metadata"]
            condition = {"type": "Ready", "status": "False", "lastTransitionTime": format_time(now)}
            try:
                await self.client.patch("pods", meta["name"], {"status": {"conditions": [condition]}},
                                        meta["namespace"], patch_type="strategic", subresource="status")
            except errors.NotFound:
                continue
            self.recorder.event(pod, WARNING, "NodeNotReady", "Node is not ready")
