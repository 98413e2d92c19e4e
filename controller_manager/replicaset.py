"""The ReplicaSet loop: keep exactly ``spec.replicas`` pods matching the selector (pkg/controller/replicaset).

reconcile(key), top to bottom:

1. Read the ReplicaSet from the cache. Gone: forget its expectations, done.
2. Claim pods (``replicaset_claims``): active pods of the namespace it controls; matching orphans are adopted,
   owned pods that stopped matching are released.
3. Manage replicas, unless it is being deleted or earlier creates/deletes are still unobserved by the informer
   (``expectations``): too few pods -> create the difference (at most ``burst_replicas`` per sync) in slow-start
   batches 1, 2, 4...; too many -> delete the least valuable (``replicaset_pods.pods_to_delete``).
4. Write the status computed from the claimed pods (``replicaset_status``); when pods are ready but not yet
   available for ``minReadySeconds``, look again once they should be.

Event handlers only find the ReplicaSet(s) a pod event concerns and enqueue them, lowering expectations on the way:
a pod add is an observed creation, a pod delete (or deletionTimestamp) an observed deletion.

Options: ``concurrent_replicaset_syncs`` (5), ``replicaset_burst_replicas`` (500),
``expectations_timeout`` (300 s).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from apimachinery import errors
from client.events import NORMAL, WARNING
from client.informer import Handler
from client.store import object_key, split_key
from controller_manager.controller import Controller, ControllerContext
from controller_manager.expectations import EXPECTATIONS_TIMEOUT, ControllerExpectations
from controller_manager.podutil import controller_ref, is_pod_active, is_pod_ready, owner_selector, pod_from_template
from controller_manager.replicaset_claims import claim
from controller_manager.replicaset_pods import SLOW_START_INITIAL_BATCH_SIZE, pods_to_delete, slow_start_batch
from controller_manager.replicaset_status import compute_status, status_needs_update

log = logging.getLogger(__name__)
Object = dict[str, Any]
BURST_REPLICAS = 500  # Kubernetes' BurstReplicas


class ReplicaSetController(Controller):
    name = "replicaset"
    event_source = "replicaset-controller"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.workers = int(ctx.option("concurrent_replicaset_syncs", 5))
        self.burst_replicas = int(ctx.option("replicaset_burst_replicas", BURST_REPLICAS))
        self.expectations = ControllerExpectations(float(ctx.option("expectations_timeout", EXPECTATIONS_TIMEOUT)))
        self.rs_informer = ctx.informers.informer("replicasets.apps")
        self.pod_informer = ctx.informers.informer("pods")
        self.rs_informer.add_handler(Handler(on_add=self.enqueue, on_update=self._update_rs, on_delete=self._delete_rs))
        self.pod_informer.add_handler(Handler(on_add=self._add_pod, on_update=self._update_pod,
                                              on_delete=self._delete_pod))

    # -- event handlers: find the ReplicaSet, lower expectations, enqueue ---------------------------------

    def _update_rs(self, old: Object, new: Object) -> None:
        if old["metadata"].get("uid") != new["metadata"].get("uid"):
            self._delete_rs(old)
        self.enqueue(new)

    def _delete_rs(self, rs: Object) -> None:
        self.expectations.delete_expectations(object_key(rs))
        self.enqueue(rs)

    def _resolve(self, pod: Object, ref: Any) -> Object | None:
        """The cached ReplicaSet a controllerRef points to, if it is that very object."""
        if ref is None or ref.get("kind") != "ReplicaSet":
            return None
        rs = self.rs_informer.store.get_by_name(pod["metadata"].get("namespace", ""), ref.get("name", ""))
        return rs if rs is not None and rs["metadata"].get("uid") == ref.get("uid") else None

    def _matching_rs(self, pod: Object) -> list[Object]:
        labels = pod["metadata"].get("labels") or {}
        namespace = pod["metadata"].get("namespace", "")
        return [rs for rs in self.rs_informer.store.list(namespace) if _selects(rs, labels)]

    def _add_pod(self, pod: Object) -> None:
        if pod["metadata"].get("deletionTimestamp"):
            self._delete_pod(pod)
            return
        ref = controller_ref(pod)
        if ref is not None:
            rs = self._resolve(pod, ref)
            if rs is not None:
                self.expectations.creation_observed(object_key(rs))
                self.enqueue(rs)
            return
        for rs in self._matching_rs(pod):
            self.enqueue(rs)

    def _update_pod(self, old: Object, new: Object) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        labels_changed = old["metadata"].get("labels") != new["metadata"].get("labels")
        if new["metadata"].get("deletionTimestamp"):
            self._delete_pod(new)
            if labels_changed:
                self._delete_pod(old)
            return
        old_ref, new_ref = controller_ref(old), controller_ref(new)
        ref_changed = old_ref != new_ref
        if ref_changed and old_ref is not None and (old_rs := self._resolve(old, old_ref)) is not None:
            self.enqueue(old_rs)
        if new_ref is not None:
            rs = self._resolve(new, new_ref)
            if rs is not None:
                self.enqueue(rs)
                min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
                if min_ready > 0 and not is_pod_ready(old) and is_pod_ready(new):
                    self.requeue_after(object_key(rs), float(min_ready))
            return
        if labels_changed or ref_changed:
            for rs in self._matching_rs(new):
                self.enqueue(rs)

    def _delete_pod(self, pod: Object) -> None:
        rs = self._resolve(pod, controller_ref(pod))
        if rs is not None:
            self.expectations.deletion_observed(object_key(rs), object_key(pod))
            self.enqueue(rs)

    # -- reconcile --------------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        rs = self.rs_informer.store.get(key)
        if rs is None:
            self.expectations.delete_expectations(key)
            return
        needs_sync = self.expectations.satisfied(key)
        namespace, _ = split_key(key)
        active = [p for p in self.pod_informer.store.list(namespace) if is_pod_active(p)]
        pods = await claim(self.client, rs, owner_selector(rs), active, "pods")
        manage_error: errors.ApiError | None = None
        if needs_sync and not rs["metadata"].get("deletionTimestamp"):
            try:
                await self.manage_replicas(key, rs, pods)
            except errors.ApiError as e:
                manage_error = e
        status = compute_status(rs, pods, manage_error, time.time())
        updated = await self._write_status(rs, status)
        self._requeue_for_availability(key, updated, manage_error)
        if manage_error is not None:
            raise manage_error

    async def manage_replicas(self, key: str, rs: Object, pods: list[Object]) -> None:
        """Create or delete pods to make ``len(pods)`` equal ``spec.replicas``; raises the first write error."""
        diff = len(pods) - int(rs["spec"].get("replicas", 1))
        if diff < 0:
            await self._create_pods(key, rs, min(-diff, self.burst_replicas))
        elif diff > 0:
            victims = pods_to_delete(pods, self._related_pods(rs, pods), min(diff, self.burst_replicas))
            await self._delete_pods(key, rs, victims)

    async def _create_pods(self, key: str, rs: Object, count: int) -> None:
        self.expectations.expect_creations(key, count)

        async def create_one() -> None:
            pod = pod_from_template(rs["spec"].get("template") or {}, rs)
            try:
                created = await self.client.create(pod)
            except errors.ApiError as e:
                self.recorder.event(rs, WARNING, "FailedCreate", f"Error creating: {e}")
                raise
            self.recorder.event(rs, NORMAL, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")

        successes, error = await slow_start_batch(count, SLOW_START_INITIAL_BATCH_SIZE, create_one)
        for _ in range(count - successes):
            self.expectations.creation_observed(key)  # never created: the informer will not see these
        if error is not None:
            raise error

    async def _delete_pods(self, key: str, rs: Object, victims: list[Object]) -> None:
        """Delete ``victims`` concurrently; raises the first error other than NotFound."""
        self.expectations.expect_deletions(key, [object_key(p) for p in victims])
        results = await asyncio.gather(*(self._delete_pod_of(key, rs, pod) for pod in victims))
        failures = [e for e in results if e is not None]
        if failures:
            raise failures[0]

    async def _delete_pod_of(self, key: str, rs: Object, pod: Object) -> errors.ApiError | None:
        name = pod["metadata"]["name"]
        try:
            await self.client.delete("pods", name, pod["metadata"].get("namespace", ""))
        except errors.ApiError as e:
            self.expectations.deletion_observed(key, object_key(pod))  # the informer will not see this one
            if isinstance(e, errors.NotFound):
                return None
            self.recorder.event(rs, WARNING, "FailedDelete", f"Error deleting: {e}")
            return e
        self.recorder.event(rs, NORMAL, "SuccessfulDelete", f"Deleted pod: {name}")
        return None

    def _related_pods(self, rs: Object, pods: list[Object]) -> list[Object]:
        """Active pods of every ReplicaSet sharing this one's controller (its Deployment's other ReplicaSets)."""
        owner = controller_ref(rs)
        if owner is None:
            return pods
        namespace = rs["metadata"].get("namespace", "")
        siblings = {s["metadata"]["uid"] for s in self.rs_informer.store.list(namespace)
                    if (controller_ref(s) or {}).get("uid") == owner.get("uid")}
        return [p for p in self.pod_informer.store.list(namespace)
                if is_pod_active(p) and (controller_ref(p) or {}).get("uid") in siblings]

    async def _write_status(self, rs: Object, status: Object) -> Object:
        if not status_needs_update(rs, status):
            return rs
        updated = {**rs, "status": {**status, "observedGeneration": rs["metadata"].get("generation", 0)}}
        return await self.client.update_status(updated)

    def _requeue_for_availability(self, key: str, rs: Object, manage_error: BaseException | None) -> None:
        spec, status = rs.get("spec") or {}, rs.get("status") or {}
        min_ready = int(spec.get("minReadySeconds") or 0)
        replicas = int(spec.get("replicas", 1))
        if (manage_error is None and min_ready > 0 and int(status.get("readyReplicas") or 0) == replicas
                and int(status.get("availableReplicas") or 0) != replicas):
            self.requeue_after(key, float(min_ready))


def _selects(rs: Object, labels: dict[str, str]) -> bool:
    try:
        selector = owner_selector(rs)
    except ValueError:
        return False
    return not selector.empty and selector.matches(labels)
