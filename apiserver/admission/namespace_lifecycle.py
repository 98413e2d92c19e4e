"""NamespaceLifecycle admission: no objects in a missing or terminating namespace, and the system
namespaces cannot be deleted.

As in Kubernetes: creating in a namespace that does not exist is NotFound (`namespaces "x" not
found`), creating in one that is being deleted is Forbidden, and deleting `default`,
`kube-system`, `kube-public` (and kubeling's `kube-node-lease`, which every node's heartbeat
lives in) is Forbidden.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from apimachinery import errors
from apiserver.admission import CREATE, DELETE, AdmissionRequest

SYSTEM_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})

NamespaceGetter = Callable[[str], Awaitable[dict[str, Any] | None]]


class NamespaceLifecycle:
    name = "NamespaceLifecycle"

    def __init__(self, get_namespace: NamespaceGetter) -> None:
        self._get_namespace = get_namespace

    async def admit(self, request: AdmissionRequest) -> None:
        rt = request.rt
        if request.operation == DELETE and rt.group == "" and rt.kind == "Namespace":
            if request.name in SYSTEM_NAMESPACES:
                raise errors.forbidden("namespaces", request.name, "this namespace may not be deleted")
            return
        if request.operation != CREATE or not rt.namespaced:
            return
        namespace = await self._get_namespace(request.namespace)
        if namespace is None:
            raise errors.not_found("namespaces", request.namespace)
        if namespace["metadata"].get("deletionTimestamp") or (
                (namespace.get("status") or {}).get("phase") == "Terminating"):
            raise errors.forbidden(
                rt.group_resource, request.name,
                f"unable to create new content in namespace {request.namespace} because it is being "
                f"terminated")
