"""The DaemonSet controller: one pod on every eligible node (pkg/controller/daemon).

Which nodes are eligible (nodeSelector, required node affinity, taints against tolerations) is in
``daemonset_placement``; what to create, delete and roll is decided in ``daemonset_sync``. This module is the loop
around them. One reconcile of ``namespace/name``:

1. read the DaemonSet, the nodes and its (claimed) pods from the caches;
2. find the current ControllerRevision (the one whose data is today's template; created when the template is new
   and re-numbered to be the newest on a rollback); its ``controller-revision-hash`` marks updated pods;
3. unless earlier creations/deletions have not yet shown up in the pod cache (*expectations*), make the writes of
   ``compute_daemon_set_plan``: new pods pinned to their node with a required node affinity ``matchFields
   metadata.name In [node]`` (the scheduler binds them, as in Kubernetes >= 1.12), deletions of pods that must go
   or are replaced by a rolling update;
4. delete old revisions beyond ``spec.revisionHistoryLimit`` that no pod uses, and write the status.

Node events re-enqueue every DaemonSet: a node added, relabelled, tainted or removed changes where daemons run.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from typing import Any

from apimachinery import errors
from client.informer import Handler
from client.store import object_key, split_key
from controller_manager import history
from controller_manager.controller import Controller, ControllerContext
from controller_manager.daemonset_placement import pin_to_node, with_daemon_tolerations
from controller_manager.daemonset_sync import DaemonPlan, compute_daemon_set_plan, compute_daemon_set_status
from controller_manager.podutil import controller_ref, owner_selector, pod_from_template

log = logging.getLogger(__name__)
Object = dict[str, Any]
KIND = "DaemonSet"
REVISIONS = "controllerrevisions.apps"
TEMPLATE_GENERATION_LABEL = "pod-template-generation"
EXPECTATIONS_TIMEOUT = 300.0  # ExpectationsTimeout: stale expectations never block a controller forever


class _Expectations:
    """A minimal ControllerExpectations (kept private until the shared controller_manager/expectations.py lands):
    how many pod creations and deletions of each DaemonSet the pod cache has yet to show."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self.clock = clock
        self._pending: dict[str, tuple[int, int, float]] = {}

    def expect(self, key: str, adds: int, deletes: int) -> None:
        self._pending[key] = (adds, deletes, self.clock())

    def observed(self, key: str, adds: int = 0, deletes: int = 0) -> None:
        if key in self._pending:
            pending_adds, pending_deletes, since = self._pending[key]
            self._pending[key] = (pending_adds - adds, pending_deletes - deletes, since)

    def satisfied(self, key: str) -> bool:
        if key not in self._pending:
            return True
        adds, deletes, since = self._pending[key]
        return (adds <= 0 and deletes <= 0) or self.clock() - since > EXPECTATIONS_TIMEOUT

    def forget(self, key: str) -> None:
        self._pending.pop(key, None)


class DaemonSetController(Controller):
    name = "daemonset"
    event_source = "daemonset-controller"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.workers = int(ctx.option("concurrent_daemonset_syncs", 2))
        self.clock = time.time
        self.expectations = _Expectations()
        self.sets = ctx.informers.informer("daemonsets.apps")
        self.nodes = ctx.informers.informer("nodes")
        self.pods = ctx.informers.informer("pods")
        self.revisions = ctx.informers.informer(REVISIONS)
        self.sets.add_handler(Handler(on_add=self.enqueue, on_update=lambda _old, new: self.enqueue(new),
                                      on_delete=self._on_set_deleted))
        self.nodes.add_handler(Handler(on_add=self._enqueue_all, on_update=self._on_node_update,
                                       on_delete=self._enqueue_all))
        self.pods.add_handler(Handler(on_add=self._on_pod_add, on_update=self._on_pod_update,
                                      on_delete=self._on_pod_delete))
        self.revisions.add_handler(Handler(on_add=self._on_owned, on_update=lambda _o, new: self._on_owned(new),
                                           on_delete=self._on_owned))

    # -- event handlers: only enqueue (and count what the cache has shown) -----------------------

    def _enqueue_all(self, _obj: Object | None = None) -> None:
        for ds in self.sets.store.list():
            self.enqueue(ds)

    def _on_node_update(self, old: Object, new: Object) -> None:
        """Heartbeats (status-only changes) do not move daemons; labels, taints and spec do."""
        if (old["metadata"].get("labels"), old.get("spec")) != (new["metadata"].get("labels"), new.get("spec")):
            self._enqueue_all()

    def _on_set_deleted(self, ds: Object) -> None:
        self.expectations.forget(object_key(ds))
        self.enqueue(ds)

    def _owner_key(self, obj: Object) -> str | None:
        ref = controller_ref(obj)
        if ref is None or ref.get("kind") != KIND:
            return None
        return f"{obj['metadata'].get('namespace', '')}/{ref['name']}"

    def _on_owned(self, obj: Object) -> None:
        key = self._owner_key(obj)
        if key is not None:
            self.enqueue_key(key)
        elif controller_ref(obj) is None:
            labels = obj["metadata"].get("labels") or {}
            for ds in self.sets.store.list(obj["metadata"].get("namespace", "")):
                if owner_selector(ds).matches(labels):
                    self.enqueue(ds)

    def _on_pod_add(self, pod: Object) -> None:
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.observed(key, adds=1)
        self._on_owned(pod)

    def _on_pod_update(self, old: Object, new: Object) -> None:
        if new["metadata"].get("deletionTimestamp") and not old["metadata"].get("deletionTimestamp"):
            self._on_pod_delete(new)
            return
        if controller_ref(old) != controller_ref(new):
            self._on_owned(old)
        self._on_owned(new)

    def _on_pod_delete(self, pod: Object) -> None:
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.observed(key, deletes=1)
        self._on_owned(pod)

    # -- reconcile -----------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        namespace, name = split_key(key)
        ds = self.sets.store.get_by_name(namespace, name)
        if ds is None:
            self.expectations.forget(key)
            return
        nodes = sorted(self.nodes.store.list(), key=lambda n: n["metadata"]["name"])
        pods = await history.claim(self.client, ds, self.pods.store.list(namespace), "pods")
        revisions = await history.claim(self.client, ds, self.revisions.store.list(namespace), REVISIONS)
        current, old, collision_count = await self._construct_history(ds, revisions)
        hash_ = history.revision_hash(current)
        if self.expectations.satisfied(key):
            await self._execute(key, ds, compute_daemon_set_plan(ds, nodes, pods, hash_, self.clock()), hash_)
        await self._cleanup_history(ds, pods, old)
        await self._update_status(key, ds, nodes, pods, hash_, collision_count)

    async def _construct_history(self, ds: Object, revisions: list[Object]) -> tuple[Object, list[Object], int]:
        """(current revision, old revisions, collision count): constructHistory."""
        collision_count = int((ds.get("status") or {}).get("collisionCount") or 0)
        data = history.template_patch(ds)
        matching = history.sort_revisions(r for r in revisions if r.get("data") == data)
        old = [r for r in revisions if r.get("data") != data]
        newest = history.next_revision_number(old)
        if not matching:
            template = ds["spec"]["template"]
            revision = history.new_controller_revision(ds, data, newest, collision_count,
                                                       hash_=history.hash_object(template, collision_count))
            current, collision_count = await history.create_controller_revision(self.client, ds, revision,
                                                                                collision_count, hash_of=template)
        else:
            current = matching[-1]
            old += matching[:-1]  # duplicates from a race: left to history cleanup
            if history.revision_number(current) < newest:
                current = await self.client.update({**copy.deepcopy(current), "revision": newest})
        return current, old, collision_count

    def _new_pod(self, ds: Object, node_name: str, hash_: str) -> Object:
        pod = pod_from_template(ds["spec"]["template"], ds, generate_name=f"{ds['metadata']['name']}-")
        pod["metadata"]["labels"][history.CONTROLLER_REVISION_HASH_LABEL] = hash_
        pod["metadata"]["labels"][TEMPLATE_GENERATION_LABEL] = str(ds["metadata"].get("generation", 1))
        pin_to_node(with_daemon_tolerations(pod["spec"]), node_name)
        return pod

    async def _execute(self, key: str, ds: Object, plan: DaemonPlan, hash_: str) -> None:
        """syncNodes: record the expectations first, then create and delete concurrently."""
        if plan.empty():
            return
        self.expectations.expect(key, len(plan.create_on), len(plan.delete))
        results = await asyncio.gather(*(self._create(key, ds, node, hash_) for node in plan.create_on),
                                       *(self._delete(key, ds, pod) for pod in plan.delete), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise failures[0]

    async def _create(self, key: str, ds: Object, node_name: str, hash_: str) -> None:
        try:
            created = await self.client.create(self._new_pod(ds, node_name, hash_))
        except errors.ApiError as e:
            self.expectations.observed(key, adds=1)
            self.recorder.event(ds, "Warning", "FailedCreate", f"Error creating: {e}")
            raise
        self.recorder.event(ds, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")

    async def _delete(self, key: str, ds: Object, pod: Object) -> None:
        name = pod["metadata"]["name"]
        try:
            await self.client.delete("pods", name, pod["metadata"].get("namespace", ""))
        except errors.NotFound:
            self.expectations.observed(key, deletes=1)
            return
        except errors.ApiError as e:
            self.expectations.observed(key, deletes=1)
            self.recorder.event(ds, "Warning", "FailedDelete", f"Error deleting: {e}")
            raise
        self.recorder.event(ds, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")

    async def _cleanup_history(self, ds: Object, pods: list[Object], old: list[Object]) -> None:
        live_hashes = {(p["metadata"].get("labels") or {}).get(history.CONTROLLER_REVISION_HASH_LABEL) for p in pods}
        live = {r["metadata"]["name"] for r in old if history.revision_hash(r) in live_hashes}
        limit = int((ds.get("spec") or {}).get("revisionHistoryLimit", 10))
        await history.delete_revisions(self.client, history.compute_revisions_to_truncate(old, live, limit))

    async def _update_status(self, key: str, ds: Object, nodes: list[Object], pods: list[Object], hash_: str,
                             collision_count: int) -> None:
        status = compute_daemon_set_status(ds, nodes, pods, hash_, collision_count, self.clock())
        old = ds.get("status") or {}
        if any(old.get(k, 0) != v for k, v in status.items()):
            await self.client.update_status({**copy.deepcopy(ds), "status": {**old, **status}})
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
        if min_ready > 0 and status["numberReady"] != status["numberAvailable"]:
            self.requeue_after(key, float(min_ready))
