"""A sample-controller style fixture: given these objects in the caches, reconcile(key) makes these API calls.

    h = Harness(ReplicaSetController, [rs, pod1, pod2])
    await h.reconcile("default/web")
    assert h.writes() == [("create", "pods", "default", ""), ...]

The controller is built for real over a :class:`FakeApi` (an in-memory apiserver) and a real
SharedInformerFactory whose informer stores are filled directly from the API's objects (no watch runs):
``sync_caches()`` copies the fake API's current objects into every informer store, the way the informers would
after the writes arrived. Events go to ``h.events`` as (type, reason, message).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from typing import Any

import jsonpatch

from apimachinery import errors
from apimachinery.kinds import ResourceType, default_registry
from client.informer_factory import SharedInformerFactory
from client.store import object_key
from controller_manager.controller import Controller, ControllerContext
from tests.unit.client.fakes import FakeClient

Object = dict[str, Any]
WRITE_VERBS = ("create", "update", "update_status", "patch", "delete", "bind")


class FakeApi(FakeClient):
    """FakeClient plus what controllers use: resource_type, update_status, patch, delete options, bind."""

    def __init__(self) -> None:
        super().__init__()
        self.kinds = default_registry()
        self.delete_options: list[Mapping[str, Any]] = []

    def resource_type(self, resource: str | ResourceType) -> ResourceType:
        return resource if isinstance(resource, ResourceType) else self.kinds.resolve(resource)

    def _name(self, resource: str | ResourceType) -> str:
        return self.resource_type(resource).group_resource

    async def get(self, resource: str, name: str, namespace: str = "", **_: Any) -> Object:
        return await super().get(self._name(resource), name, namespace)

    async def list(self, resource: str, namespace: str = "", **_: Any) -> Object:
        return await super().list(self._name(resource), namespace)

    async def update_status(self, obj: Object) -> Object:
        return await self.update(obj)

    async def patch(self, resource: str, name: str, patch: Any, namespace: str = "", *,
                    patch_type: str = "merge", subresource: str = "", dry_run: bool = False) -> Object:
        key = (self._name(resource), namespace, name)
        await self._enter("patch", key[0], namespace, name)
        current = self.objects.get(key)
        if current is None:
            raise errors.not_found(key[0], name)
        body = json.loads(patch) if isinstance(patch, bytes | str) else patch
        if patch_type == "json":
            patched = jsonpatch.apply_patch(current, body)
        else:
            patched = _merge(copy.deepcopy(current), body)
        patched["metadata"]["resourceVersion"] = self._bump()
        self.objects[key] = patched
        return copy.deepcopy(patched)

    async def delete(self, resource: str, name: str, namespace: str = "", **options: Any) -> Object:
        self.delete_options.append(options)
        return await super().delete(self._name(resource), name, namespace)

    async def bind(self, namespace: str, name: str, node_name: str, uid: str = "") -> Object:
        key = ("pods", namespace, name)
        await self._enter("bind", "pods", namespace, name)
        pod = self.objects[key]
        pod.setdefault("spec", {})["nodeName"] = node_name
        pod["metadata"]["resourceVersion"] = self._bump()
        return copy.deepcopy(pod)


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = _merge(target.get(key), value)
    return target


class FakeRecorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def event(self, obj: Mapping[str, Any], type: str, reason: str, message: str, field_path: str = "") -> None:
        self.events.append((type, reason, message))

    def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class Harness:
    def __init__(self, controller_cls: type[Controller], objects: Iterable[Object] = (),
                 options: Mapping[str, Any] | None = None) -> None:
        self.api = FakeApi()
        for obj in objects:
            self.put(obj)
        self.recorder = FakeRecorder()
        self.informers = SharedInformerFactory(self.api)  # type: ignore[arg-type]
        ctx = ControllerContext(client=self.api, informers=self.informers,  # type: ignore[arg-type]
                                recorder=self.recorder, options=dict(options or {}))  # type: ignore[arg-type]
        self.controller = controller_cls(ctx)
        self.sync_caches()
        self.api.calls.clear()

    @property
    def events(self) -> list[tuple[str, str, str]]:
        return self.recorder.events

    def put(self, obj: Object) -> None:
        """Store an object in the fake API as-is (uid/resourceVersion filled in if missing)."""
        resource = self.api.kinds.for_object(obj).group_resource
        stored = copy.deepcopy(obj)
        meta = stored.setdefault("metadata", {})
        meta.setdefault("uid", f"uid-{meta.get('name', '')}")
        meta.setdefault("resourceVersion", self.api._bump())
        meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
        self.api.objects[(resource, str(meta.get("namespace") or ""), meta["name"])] = stored

    def sync_caches(self) -> None:
        """Make every informer store equal the fake API's objects of its resource (as after a watch caught up)."""
        for (resource, namespace, _field), informer in self.informers._informers.items():
            for key in list(informer.store.keys()):
                informer.store.remove(key)
            for (res, ns, _name), obj in self.api.objects.items():
                if res == resource and (not namespace or ns == namespace):
                    informer.store.upsert(copy.deepcopy(obj))
            informer._synced.set()

    async def reconcile(self, key: str) -> None:
        await self.controller.reconcile(key)

    def writes(self) -> list[tuple[str, str, str, str]]:
        return [call for call in self.api.calls if call[0] in WRITE_VERBS]

    def stored(self, resource: str, name: str, namespace: str = "") -> Object | None:
        return self.api.stored(self.api._name(resource), name, namespace)

    def all(self, resource: str, namespace: str | None = None) -> list[Object]:
        resource = self.api._name(resource)
        return [copy.deepcopy(o) for (res, ns, _), o in sorted(self.api.objects.items())
                if res == resource and (namespace is None or ns == namespace)]


def key_of(obj: Object) -> str:
    return object_key(obj)
