"""The EndpointSlice controller (pkg/controller/endpointslice): a Service's endpoints as EndpointSlices.

Keys are Services ("namespace/name"). Events only enqueue:

* a Service added, changed or deleted → that Service;
* a Pod added, changed or deleted → every Service whose selector matches it (before or after);
* an EndpointSlice we manage added, changed or deleted → the Service named by its
  `kubernetes.io/service-name` label (someone may have edited or deleted it).

`reconcile` reads the caches: the Service, the pods its selector matches, the nodes they run on and
the slices labelled with the Service's name and `endpointslice.kubernetes.io/managed-by:
endpointslice-controller.k8s.io`. It computes the desired endpoints (`endpointslice_compute`),
plans the fewest writes (`endpointslice_reconciler`) and applies them: creates (named by
generateName `<service>-`), then updates, then deletes. A deleted Service's slices are left to the
garbage collector, through their ownerReference to the Service.

The slice cache can lag behind our own writes, and a slice created by generateName is invisible
until its watch event arrives: acting on that cache would create the same endpoints twice. So the
controller remembers the resourceVersion of every slice it wrote (and the slices it deleted) and
refuses to plan while the cache has not caught up (`SliceExpectations`, Kubernetes'
EndpointSliceTracker); the key is retried with back-off.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from apimachinery import errors
from client.informer import Handler
from client.store import split_key
from controller_manager import endpoints_compute as ep
from controller_manager.controller import Controller, ControllerContext
from controller_manager.endpoints_trigger_time import TriggerTimeTracker, stamp
from controller_manager.endpointslice_compute import (
    CONTROLLER_NAME,
    LABEL_MANAGED_BY,
    LABEL_SERVICE_NAME,
    desired_endpoints,
)
from controller_manager.endpointslice_reconciler import (
    DEFAULT_MAX_ENDPOINTS_PER_SLICE,
    SliceChanges,
    compute_slice_changes,
)

log = logging.getLogger(__name__)
Object = dict[str, Any]
RESOURCE = "endpointslices.discovery.k8s.io"


class StaleInformerCache(Exception):
    """The slice cache does not show our last writes yet; retry later."""


class NodeNotFound(Exception):
    """Some selected pods run on a Node the cache does not know; they were left out; retry later."""


class SliceExpectations:
    """The slices each Service's last sync wrote: name → resourceVersion written, or None if deleted."""

    def __init__(self) -> None:
        self._expected: dict[str, dict[str, int | None]] = {}

    def wrote(self, service_key: str, slice_: Object) -> None:
        meta = slice_.get("metadata") or {}
        self._expected.setdefault(service_key, {})[meta["name"]] = _rv(slice_)

    def deleted(self, service_key: str, name: str) -> None:
        self._expected.setdefault(service_key, {})[name] = None

    def observed_deletion(self, service_key: str, name: str) -> None:
        self._expected.get(service_key, {}).pop(name, None)

    def forget(self, service_key: str) -> None:
        self._expected.pop(service_key, None)

    def stale(self, service_key: str, cached: Iterable[Object]) -> bool:
        """Whether `cached` misses a write we made; expectations the cache meets are dropped."""
        by_name = {(s.get("metadata") or {}).get("name"): s for s in cached}
        expected = self._expected.get(service_key, {})
        for name, rv in list(expected.items()):
            seen = by_name.get(name)
            met = seen is None if rv is None else seen is not None and (_rv(seen) or 0) >= rv
            if not met:
                return True
            del expected[name]
        return False


def _rv(obj: Object) -> int | None:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion", ""))
    except ValueError:
        return None


class EndpointSliceController(Controller):
    name = "endpointslice"
    event_source = "endpoint-slice-controller"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.workers = int(ctx.option("concurrent_service_endpoint_syncs", 5))
        self.max_per_slice = int(ctx.option("max_endpoints_per_slice", DEFAULT_MAX_ENDPOINTS_PER_SLICE))
        self.services = ctx.informers.informer("services").store
        self.pods = ctx.informers.informer("pods").store
        self.nodes = ctx.informers.informer("nodes").store
        self.slices = ctx.informers.informer(RESOURCE).store
        self.trigger_times = TriggerTimeTracker()
        self.expectations = SliceExpectations()
        ctx.informers.informer("services").add_handler(Handler(
            on_add=self.enqueue, on_update=lambda old, new: self.enqueue(new), on_delete=self.enqueue))
        ctx.informers.informer("pods").add_handler(Handler(
            on_add=self._pod_changed, on_update=self._pod_updated, on_delete=self._pod_changed))
        ctx.informers.informer(RESOURCE).add_handler(Handler(
            on_add=self._slice_changed, on_update=lambda old, new: self._slice_changed(new),
            on_delete=self._slice_deleted))

    # -- event handlers: enqueue only --------------------------------------------------------------

    def _pod_changed(self, pod: Object) -> None:
        for key in ep.services_selecting(self.services.list(_namespace(pod)), pod):
            self.enqueue_key(key)

    def _pod_updated(self, old: Object, new: Object) -> None:
        services = self.services.list(_namespace(new))
        for key in ep.services_selecting(services, old) | ep.services_selecting(services, new):
            self.enqueue_key(key)

    def _slice_changed(self, slice_: Object) -> None:
        key = _service_key(slice_)
        if key:
            self.enqueue_key(key)

    def _slice_deleted(self, slice_: Object) -> None:
        key = _service_key(slice_)
        if key:
            self.expectations.observed_deletion(key, str(slice_["metadata"].get("name", "")))
            self.enqueue_key(key)

    # -- reconcile -----------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        namespace, name = split_key(key)
        service = self.services.get(key)
        if service is None:
            self.trigger_times.forget(key)
            self.expectations.forget(key)
            return
        if not ep.service_selects_pods(service):
            return
        slices = self._managed_slices(namespace, name)
        if self.expectations.stale(key, slices):
            raise StaleInformerCache(f"EndpointSlice cache for {key} is out of date")
        pods = ep.selected_pods(service, self.pods.list(namespace))
        when = self.trigger_times.compute(key, service, pods)
        nodes = {n: node for n in {(p.get("spec") or {}).get("nodeName") or "" for p in pods}
                 if (node := self.nodes.get(n)) is not None}
        desired = desired_endpoints(service, pods, nodes)
        changes = compute_slice_changes(service, slices, desired, self.max_per_slice)
        await self._apply(key, service, changes, when)
        if desired.skipped_pods:
            raise NodeNotFound(f"skipped pods {desired.skipped_pods} of Service {key}: their Node is not found")

    def _managed_slices(self, namespace: str, service_name: str) -> list[Object]:
        return [s for s in self.slices.list(namespace)
                if ((s.get("metadata") or {}).get("labels") or {}).get(LABEL_SERVICE_NAME) == service_name
                and s["metadata"]["labels"].get(LABEL_MANAGED_BY) == CONTROLLER_NAME]

    async def _apply(self, key: str, service: Object, changes: SliceChanges, when: float | None) -> None:
        try:
            if not (service.get("metadata") or {}).get("deletionTimestamp"):
                for slice_ in changes.create:
                    stamp(slice_["metadata"].setdefault("annotations", {}), when)
                    self.expectations.wrote(key, await self.client.create(slice_))
            for slice_ in changes.update:
                stamp(slice_["metadata"].setdefault("annotations", {}), when)
                self.expectations.wrote(key, await self.client.update(slice_))
            for slice_ in changes.delete:
                await self._delete(key, slice_)
        except errors.ApiError as e:
            if not isinstance(e, errors.Conflict | errors.NotFound):
                self.recorder.event(service, "Warning", "FailedToUpdateEndpointSlices",
                                    f"Error updating Endpoint Slices for Service {key}: {e}")
            raise

    async def _delete(self, key: str, slice_: Object) -> None:
        name = str(slice_["metadata"]["name"])
        with contextlib.suppress(errors.NotFound):
            await self.client.delete(RESOURCE, name, str(slice_["metadata"].get("namespace", "")))
        self.expectations.deleted(key, name)


def _service_key(slice_: Object) -> str:
    meta = slice_.get("metadata") or {}
    labels = meta.get("labels") or {}
    if labels.get(LABEL_MANAGED_BY) != CONTROLLER_NAME or not labels.get(LABEL_SERVICE_NAME):
        return ""
    return f"{meta.get('namespace', '')}/{labels[LABEL_SERVICE_NAME]}"


def _namespace(obj: Object) -> str:
    return str((obj.get("metadata") or {}).get("namespace", ""))

