"""The node's liveness: registration, the Lease heartbeat and node status posting.

Modelled on ``pkg/kubelet/kubelet_node_status.go`` (``registerWithAPIServer``, ``tryRegisterWithAPIServer``,
``syncNodeStatus``, ``tryUpdateNodeStatus``) and ``pkg/kubelet/nodelease`` (the lease controller).

- ``register()`` creates the Node (labels, taints and an initial status from :mod:`kubelet.node_status`); if it
  exists it re-applies the labels and taints this kubelet owns and keeps everything else. It retries with
  backoff (100 ms doubling to 7 s, as the kubelet) until the apiserver answers.
- ``run()`` runs two loops until ``stop()``:
  * the Lease ``kube-node-lease/<node>``: holderIdentity = node name, leaseDurationSeconds, renewTime
    (MicroTime) and an ownerReference to the Node once its uid is known. It is created when missing (after
    making sure the namespace exists) and renewed every ``renew_interval`` (Kubernetes: a quarter of the
    40 s lease duration); a Conflict re-reads the lease and retries, up to 5 times (maxUpdateRetries);
  * the node status: every ``status_update_frequency`` (10 s) the status is computed from a fresh
    observation and the Node as the apiserver has it, and written with ``update_status`` only if it
    changed (heartbeat times aside) or ``status_report_frequency`` (5 min) passed since the last write.
    Each condition whose status changed is recorded as an Event (NodeReady, NodeHasSufficientMemory, ...)
    when a ``recorder`` is given, and so is a change of ``spec.unschedulable`` (NodeNotSchedulable after a
    cordon, NodeSchedulable after an uncordon). The Node is registered without conditions (Kubernetes'
    initialNode): the first sync adds them.
    ``request_status_update()`` runs a sync at once. A Node found deleted is registered again (the real
    kubelet would need a restart).
- Any failure (apiserver down, timeouts, conflicts) is logged and retried with backoff (200 ms doubling to
  7 s); the loops never end on their own, so a node comes back as soon as the apiserver does. Each call is
  bounded so a hung apiserver cannot stall a loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from apimachinery import errors
from client.backoff import Backoff
from client.client import Client
from client.events import NORMAL, EventRecorder
from client.leaderelection import lease_duration_seconds
from kubelet.node_status import (
    NodeConfig,
    NodeObservation,
    compute_node_for_registration,
    compute_node_status,
    condition_events,
    node_status_changed,
    reconcile_existing_node,
)

log = logging.getLogger(__name__)
Object = dict[str, Any]

LEASE_NAMESPACE = "kube-node-lease"
LEASE_RESOURCE = "leases.coordination.k8s.io"
MAX_UPDATE_RETRIES = 5  # nodelease maxUpdateRetries; also nodeStatusUpdateRetry


def micro_time(seconds: float) -> str:
    """Kubernetes MicroTime: 2026-01-01T00:00:00.000000Z."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class NodeAgent:
    """Registers one node and keeps its Lease and status fresh."""

    def __init__(self, client: Client, config: NodeConfig, observe: Callable[[], Awaitable[NodeObservation]], *,
                 lease_duration: float = 40, renew_interval: float = 10.0, status_update_frequency: float = 10.0,
                 status_report_frequency: float = 300.0, clock: Callable[[], float] = time.time,
                 recorder: EventRecorder | None = None) -> None:
        self.client = client
        self.config = config
        self.observe = observe
        self.lease_duration = lease_duration
        self.renew_interval = renew_interval
        self.status_update_frequency = status_update_frequency
        self.status_report_frequency = status_report_frequency
        self.clock = clock
        self.recorder = recorder
        self.node_uid = ""
        self.registered = False
        self.status_writes = 0  # successful update_status calls
        self.lease_renewals = 0  # successful lease creates/updates
        self._lease: Object | None = None
        self._last_report = float("-inf")  # loop time of the last status write
        self._last_unschedulable = False  # Kubernetes' lastNodeUnschedulable: spec.unschedulable last seen
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()

    @property
    def name(self) -> str:
        return self.config.node_name

    # -- lifecycle ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Heartbeat and post status until stop(); registers first (the lease loop runs meanwhile)."""
        self._stop.clear()
        lease = asyncio.create_task(self._lease_loop(), name=f"lease:{self.name}")
        status = asyncio.create_task(self._status_loop(), name=f"node-status:{self.name}")
        try:
            await self._stop.wait()
        finally:
            for task in (lease, status):
                task.cancel()
            await asyncio.gather(lease, status, return_exceptions=True)

    async def stop(self) -> None:
        self._stop.set()

    def request_status_update(self) -> None:
        """Sync node status now rather than at the next tick (e.g. after the runtime's health changed)."""
        self._wake.set()

    # -- registration ---------------------------------------------------------------------------

    async def register(self) -> Object:
        """Create or reconcile the Node; retries until the apiserver answers. Returns the Node."""
        backoff = Backoff(initial=0.1, factor=2.0, cap=7.0)
        while True:
            try:
                async with asyncio.timeout(max(self.status_update_frequency, 5.0)):
                    node = await self._try_register()
            except (errors.ApiError, TimeoutError) as e:
                delay = backoff.next()
                log.warning("unable to register node %s with the apiserver (retrying in %.1fs): %s",
                            self.name, delay, e)
                await asyncio.sleep(delay)
                continue
            self.node_uid = str(node["metadata"].get("uid", ""))
            self.registered = True
            log.info("node %s registered (uid %s)", self.name, self.node_uid)
            return node

    async def _try_register(self) -> Object:
        # As Kubernetes' initialNode: no conditions yet; the first status sync adds them (and their Events).
        node = compute_node_for_registration(self.config, await self.observe())
        with contextlib.suppress(errors.AlreadyExists):
            return await self.client.create(node)
        for attempt in range(MAX_UPDATE_RETRIES):
            existing = await self.client.get("nodes", self.name)
            reconciled = reconcile_existing_node(self.config, existing)
            if reconciled is None:
                return existing
            try:
                return await self.client.update(reconciled)
            except errors.Conflict:
                if attempt == MAX_UPDATE_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    # -- the lease ------------------------------------------------------------------------------

    async def _lease_loop(self) -> None:
        backoff = Backoff(initial=0.2, factor=2.0, cap=7.0)
        while not self._stop.is_set():
            try:
                async with asyncio.timeout(max(self.renew_interval, 5.0)):
                    await self.renew_lease()
                backoff.reset()
                delay = self.renew_interval
            except asyncio.CancelledError:
                raise
            except Exception as e:
                delay = min(backoff.next(), self.renew_interval)
                log.warning("failed to renew lease %s/%s (retrying in %.2fs): %s", LEASE_NAMESPACE, self.name,
                            delay, e)
            await asyncio.sleep(delay)

    async def renew_lease(self) -> Object:
        """One renewal: create the lease if missing, else update it (re-reading it on Conflict)."""
        for attempt in range(MAX_UPDATE_RETRIES):
            if self._lease is None:
                self._lease, created = await self._get_or_create_lease()
                if created:
                    self.lease_renewals += 1
                    return self._lease
            try:
                self._lease = await self.client.update(self._renewed(self._lease))
                self.lease_renewals += 1
                return self._lease
            except (errors.Conflict, errors.NotFound):
                self._lease = None
                if attempt == MAX_UPDATE_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    async def _get_or_create_lease(self) -> tuple[Object, bool]:
        """The lease as stored, and whether this call created it."""
        with contextlib.suppress(errors.NotFound):
            return await self.client.get(LEASE_RESOURCE, self.name, LEASE_NAMESPACE), False
        await self._ensure_namespace()
        created = await self.client.create(self._renewed({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": self.name, "namespace": LEASE_NAMESPACE}, "spec": {}}))
        return created, True

    async def _ensure_namespace(self) -> None:
        with contextlib.suppress(errors.AlreadyExists):
            await self.client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": LEASE_NAMESPACE}})

    def _renewed(self, lease: Object) -> Object:
        spec = {**(lease.get("spec") or {}), "holderIdentity": self.name,
                "leaseDurationSeconds": lease_duration_seconds(self.lease_duration),
                "renewTime": micro_time(self.clock())}
        metadata = dict(lease.get("metadata") or {})
        if self.node_uid and not metadata.get("ownerReferences"):
            metadata["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": self.name,
                                            "uid": self.node_uid}]
        return {**lease, "metadata": metadata, "spec": spec}

    # -- node status ----------------------------------------------------------------------------

    async def _status_loop(self) -> None:
        backoff = Backoff(initial=0.2, factor=2.0, cap=7.0)
        if not self.registered:
            await self.register()
        while not self._stop.is_set():
            self._wake.clear()
            try:
                async with asyncio.timeout(max(self.status_update_frequency, 5.0)):
                    await self.sync_node_status()
                backoff.reset()
                delay = self.status_update_frequency
            except asyncio.CancelledError:
                raise
            except Exception as e:
                delay = min(backoff.next(), self.status_update_frequency)
                log.warning("error updating node status for %s (retrying in %.2fs): %s", self.name, delay, e)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def sync_node_status(self) -> bool:
        """One status sync (tryUpdateNodeStatus); True when a status was written."""
        if not self.registered:
            await self.register()
        for attempt in range(MAX_UPDATE_RETRIES):
            try:
                return await self._try_update_status()
            except errors.Conflict:
                if attempt == MAX_UPDATE_RETRIES - 1:
                    raise
            except errors.NotFound:
                log.warning("node %s is gone from the apiserver; registering it again", self.name)
                self.registered = False
                self._lease = None
                await self.register()
        return False

    async def _try_update_status(self) -> bool:
        node = await self.client.get("nodes", self.name)
        self.node_uid = str(node["metadata"].get("uid", "")) or self.node_uid
        self._record_schedulable(node)
        observation = await self.observe()
        old = node.get("status") or {}
        new = compute_node_status(self.config, observation, old, rfc3339(self.clock()))
        loop_now = asyncio.get_running_loop().time()
        if not node_status_changed(old, new) and loop_now < self._last_report + self.status_report_frequency:
            return False
        written = await self.client.update_status({**node, "status": new})
        self._last_report = loop_now
        self.status_writes += 1
        for reason in condition_events(old, new):
            self._record(written, reason, f"Node {self.name} status is now: {reason}")
        return True

    def _record_schedulable(self, node: Object) -> None:
        """recordNodeSchedulableEvent: NodeNotSchedulable / NodeSchedulable when ``spec.unschedulable`` (kubectl
        cordon / uncordon) changed since the last status sync."""
        unschedulable = bool((node.get("spec") or {}).get("unschedulable"))
        if unschedulable != self._last_unschedulable:
            self._last_unschedulable = unschedulable
            reason = "NodeNotSchedulable" if unschedulable else "NodeSchedulable"
            self._record(node, reason, f"Node {self.name} status is now: {reason}")

    def _record(self, node: Object, reason: str, message: str) -> None:
        if self.recorder is not None:
            self.recorder.event(node, NORMAL, reason, message)
