"""The service account controller (Kubernetes' pkg/controller/serviceaccount): every namespace has ``default``.

Keys are namespace names. A namespace that is active (not being deleted) and has no ServiceAccount named
``default`` gets one; deleting it brings it back. Pods that name no service account run as ``default``, so
this is what lets them be admitted in a new namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apimachinery import errors
from client.informer import Handler
from controller_manager.controller import Controller, ControllerContext

Object = dict[str, Any]
DEFAULT_NAMES = ("default",)


def is_active(namespace: Mapping[str, Any]) -> bool:
    return not namespace["metadata"].get("deletionTimestamp") and (
        (namespace.get("status") or {}).get("phase") != "Terminating")


def compute_missing(namespace: Mapping[str, Any], existing: set[str]) -> list[Object]:
    """The ServiceAccounts to create in ``namespace`` (none when it is terminating)."""
    if not is_active(namespace):
        return []
    name = namespace["metadata"]["name"]
    return [{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa, "namespace": name}}
            for sa in DEFAULT_NAMES if sa not in existing]


class ServiceAccountController(Controller):
    name = "serviceaccount-controller"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.namespaces = ctx.informers.informer("namespaces")
        self.service_accounts = ctx.informers.informer("serviceaccounts")
        self.namespaces.add_handler(Handler(on_add=self.enqueue, on_update=lambda old, new: self.enqueue(new)))
        self.service_accounts.add_handler(Handler(on_delete=self._service_account_deleted))

    def _service_account_deleted(self, sa: Object) -> None:
        if sa["metadata"].get("name") in DEFAULT_NAMES:
            self.enqueue_key(str(sa["metadata"].get("namespace")))

    async def reconcile(self, key: str) -> None:
        namespace = self.namespaces.store.get(key)
        if namespace is None:
            return
        existing = {sa["metadata"]["name"] for sa in self.service_accounts.store.list(key)}
        for sa in compute_missing(namespace, existing):
            try:
                await self.client.create(sa)
            except errors.AlreadyExists:
                continue  # our cache was behind
            except errors.Forbidden:
                return  # the namespace started terminating meanwhile
