"""In-memory stand-ins for `client.client.Client`, for unit tests that need no apiserver.

`FakeClient` keeps objects in a dict and behaves like the apiserver on the paths tests exercise:
a cluster-wide resourceVersion counter bumped on every write, NotFound / AlreadyExists, and
Conflict when an update carries a stale metadata.resourceVersion (an update without one is
unconditional, as Kubernetes allows). Objects are deep-copied in and out. Every call yields to
the event loop once (like real I/O), so concurrent callers interleave; `hook` (an async callable
given verb, resource, namespace, name) runs before each call and may sleep or raise to inject
latency or failures; `calls` records every call.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from apimachinery import errors

Object = dict[str, Any]
Hook = Callable[[str, str, str, str], Awaitable[None]]

_IRREGULAR_PLURALS = {"endpoints": "endpoints"}


def resource_of(obj: Object) -> str:
    """`leases.coordination.k8s.io`, `pods`: the group-qualified plural for an object's kind."""
    api_version = str(obj.get("apiVersion") or "")
    kind = str(obj.get("kind") or "")
    if not api_version or not kind:
        raise errors.bad_request("Object 'apiVersion' and 'kind' are required")
    group = api_version.rpartition("/")[0]
    return _qualify(_plural(kind), group)


def normalize_resource(resource: str) -> str:
    """`Lease.coordination.k8s.io` / `lease.coordination.k8s.io` -> `leases.coordination.k8s.io`."""
    name, _, group = resource.partition(".")
    name = name.lower()
    plural = name if name.endswith("s") else _plural(name)
    return _qualify(plural, group)


def _plural(kind: str) -> str:
    lowered = kind.lower()
    if lowered in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[lowered]
    if lowered.endswith("s"):
        return lowered + "es"
    if lowered.endswith("y") and lowered[-2:-1] not in "aeiou":
        return lowered[:-1] + "ies"
    return lowered + "s"


def _qualify(plural: str, group: str) -> str:
    return f"{plural}.{group}" if group else plural


class FakeClient:
    """get / create / update / delete / list over a dict; see the module docstring."""

    def __init__(self, hook: Hook | None = None) -> None:
        self.objects: dict[tuple[str, str, str], Object] = {}  # (resource, namespace, name) -> object
        self.revision = 0
        self.hook = hook
        self.calls: list[tuple[str, str, str, str]] = []

    async def _enter(self, verb: str, resource: str, namespace: str, name: str) -> None:
        self.calls.append((verb, resource, namespace, name))
        if self.hook is not None:
            await self.hook(verb, resource, namespace, name)
        await asyncio.sleep(0)

    def _bump(self) -> str:
        self.revision += 1
        return str(self.revision)

    @staticmethod
    def _split(resource: str) -> tuple[str, str]:
        plural, _, group = resource.partition(".")
        return plural, group

    async def get(self, resource: str, name: str, namespace: str = "") -> Object:
        resource = normalize_resource(resource)
        await self._enter("get", resource, namespace, name)
        stored = self.objects.get((resource, namespace, name))
        if stored is None:
            plural, group = self._split(resource)
            raise errors.not_found(plural, name, group)
        return copy.deepcopy(stored)

    async def create(self, obj: Object, *, namespace: str = "") -> Object:
        resource = resource_of(obj)
        metadata = obj.get("metadata") or {}
        namespace = namespace or str(metadata.get("namespace") or "")
        name = str(metadata.get("name") or "")
        await self._enter("create", resource, namespace, name)
        plural, group = self._split(resource)
        if not name:
            raise errors.bad_request("metadata.name is required")
        if (resource, namespace, name) in self.objects:
            raise errors.already_exists(plural, name, group)
        stored = copy.deepcopy(obj)
        meta = stored.setdefault("metadata", {})
        if namespace:
            meta["namespace"] = namespace
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        meta["resourceVersion"] = self._bump()
        self.objects[(resource, namespace, name)] = stored
        return copy.deepcopy(stored)

    async def update(self, obj: Object) -> Object:
        resource = resource_of(obj)
        metadata = obj.get("metadata") or {}
        namespace = str(metadata.get("namespace") or "")
        name = str(metadata.get("name") or "")
        await self._enter("update", resource, namespace, name)
        plural, group = self._split(resource)
        current = self.objects.get((resource, namespace, name))
        if current is None:
            raise errors.not_found(plural, name, group)
        sent_rv = str(metadata.get("resourceVersion") or "")
        if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
            raise errors.conflict(plural, name, errors.STALE_OBJECT_TEXT, group)
        stored = copy.deepcopy(obj)
        meta = stored.setdefault("metadata", {})
        meta["uid"] = current["metadata"]["uid"]
        meta["creationTimestamp"] = current["metadata"]["creationTimestamp"]
        meta["resourceVersion"] = self._bump()
        self.objects[(resource, namespace, name)] = stored
        return copy.deepcopy(stored)

    async def delete(self, resource: str, name: str, namespace: str = "") -> Object:
        resource = normalize_resource(resource)
        await self._enter("delete", resource, namespace, name)
        plural, group = self._split(resource)
        stored = self.objects.pop((resource, namespace, name), None)
        if stored is None:
            raise errors.not_found(plural, name, group)
        self._bump()
        return copy.deepcopy(stored)

    async def list(self, resource: str, namespace: str = "") -> Object:
        resource = normalize_resource(resource)
        await self._enter("list", resource, namespace, "")
        items = [copy.deepcopy(obj) for (res, ns, _), obj in sorted(self.objects.items())
                 if res == resource and (not namespace or ns == namespace)]
        return {"kind": "List", "metadata": {"resourceVersion": str(self.revision)}, "items": items}

    def stored(self, resource: str, name: str, namespace: str = "") -> Object | None:
        """The stored object, synchronously and without recording a call (for assertions)."""
        found = self.objects.get((normalize_resource(resource), namespace, name))
        return copy.deepcopy(found) if found is not None else None
