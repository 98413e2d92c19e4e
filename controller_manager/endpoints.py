"""The Endpoints controller (pkg/controller/endpoint): one Endpoints object per Service with a selector.

Keys are Services ("namespace/name"). Events only enqueue:

* a Service added, changed or deleted → that Service;
* a Pod added, changed or deleted → every Service in its namespace whose selector matches its
  labels (before and after a change, so a pod that stops matching is removed);
* an Endpoints object deleted → the Service of the same name (to recreate it); an Endpoints that
  carries our trigger-time annotation, when first seen → its Service (so Endpoints left behind by a
  Service deleted while the controller was down get cleaned up, Kubernetes' checkLeftoverEndpoints).

`reconcile` reads the caches. No Service: delete the Endpoints of that name. A Service without a
selector (or of type ExternalName): leave its Endpoints alone — someone else writes them. Otherwise
compute the subsets (`endpoints_compute`), and create or update the Endpoints only when the subsets
or labels differ from what is stored. The `kubernetes` Service in `default` has no selector, so it
is not this controller's either.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from apimachinery import errors
from client.informer import Handler
from client.store import object_key, split_key
from controller_manager import endpoints_compute as compute
from controller_manager.controller import Controller, ControllerContext
from controller_manager.endpoints_trigger_time import ANNOTATION, TriggerTimeTracker, stamp

log = logging.getLogger(__name__)
Object = dict[str, Any]


class EndpointsController(Controller):
    name = "endpoints"
    event_source = "endpoint-controller"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.workers = int(ctx.option("concurrent_endpoint_syncs", 5))
        self.services = ctx.informers.informer("services").store
        self.pods = ctx.informers.informer("pods").store
        self.endpoints = ctx.informers.informer("endpoints").store
        self.trigger_times = TriggerTimeTracker()
        ctx.informers.informer("services").add_handler(Handler(
            on_add=self.enqueue, on_update=lambda old, new: self.enqueue(new), on_delete=self.enqueue))
        ctx.informers.informer("pods").add_handler(Handler(
            on_add=self._pod_changed, on_update=self._pod_updated, on_delete=self._pod_changed))
        ctx.informers.informer("endpoints").add_handler(Handler(
            on_add=self._endpoints_added, on_delete=self.enqueue))

    # -- event handlers: enqueue only --------------------------------------------------------------

    def _pod_changed(self, pod: Object) -> None:
        for key in compute.services_selecting(self.services.list(_namespace(pod)), pod):
            self.enqueue_key(key)

    def _pod_updated(self, old: Object, new: Object) -> None:
        for key in compute.services_selecting(self.services.list(_namespace(new)), old) | compute.services_selecting(
                self.services.list(_namespace(new)), new):
            self.enqueue_key(key)

    def _endpoints_added(self, endpoints: Object) -> None:
        if ANNOTATION in ((endpoints.get("metadata") or {}).get("annotations") or {}):
            self.enqueue(endpoints)

    # -- reconcile -----------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        namespace, name = split_key(key)
        service = self.services.get(key)
        if service is None:
            self.trigger_times.forget(key)
            await self._delete_endpoints(namespace, name)
            return
        if not compute.service_selects_pods(service):
            return
        pods = compute.selected_pods(service, self.pods.list(namespace))
        when = self.trigger_times.compute(key, service, pods)
        subsets = compute.compute_subsets(service, pods)
        current = self.endpoints.get(key)
        if current is not None and compute.endpoints_up_to_date(current, service, subsets):
            return
        desired = compute.compute_endpoints(service, subsets, current)
        stamp(desired["metadata"].setdefault("annotations", {}), when)
        await self._write(service, desired, create=current is None)

    async def _write(self, service: Object, endpoints: Object, *, create: bool) -> None:
        try:
            if create:
                await self.client.create(endpoints)
            else:
                await self.client.update(endpoints)
        except errors.AlreadyExists:
            raise errors.conflict("endpoints", object_key(endpoints), "the object was created meanwhile") from None
        except errors.ApiError as e:
            if not isinstance(e, errors.Conflict):
                reason, verb = ("FailedToCreateEndpoint", "create") if create else ("FailedToUpdateEndpoint", "update")
                self.recorder.event(service, "Warning", reason,
                                    f"Failed to {verb} endpoint {object_key(service)}: {e}")
            raise

    async def _delete_endpoints(self, namespace: str, name: str) -> None:
        if self.endpoints.get_by_name(namespace, name) is None:
            return
        with contextlib.suppress(errors.NotFound):
            await self.client.delete("endpoints", name, namespace)


def _namespace(obj: Object) -> str:
    return str((obj.get("metadata") or {}).get("namespace", ""))
