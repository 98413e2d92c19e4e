"""Priority admission: resolve a pod's `spec.priorityClassName` into `spec.priority`.

As Kubernetes' plugin/pkg/admission/priority does it:
- a pod naming a class gets that class's value (and its preemptionPolicy); an unknown class is
  Forbidden: `no PriorityClass with name x was found`;
- a pod naming no class gets the class marked `globalDefault` (if any), else priority 0;
- the built-in classes `system-cluster-critical` and `system-node-critical` always exist;
- a pod that states a priority different from its class's is Forbidden;
- at most one PriorityClass may be `globalDefault`.

Classes are read from the apiserver's own watch cache; on a miss the cache is first brought up to
the current etcd revision, so a class created just before its first pod is found.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apimachinery import errors
from apimachinery.api.scheduling import SYSTEM_PRIORITY_CLASSES
from apiserver.admission import CREATE, UPDATE, AdmissionRequest
from apiserver.storage import EtcdStorage
from apiserver.watch_cache import WatchCache

Object = dict[str, Any]
RESOURCE = "priorityclasses.scheduling.k8s.io"


class Priority:
    name = "Priority"

    def __init__(self, caches: Mapping[str, WatchCache], storage: EtcdStorage) -> None:
        self._caches = caches
        self._storage = storage

    async def admit(self, request: AdmissionRequest) -> None:
        rt = request.rt
        if request.object is None or request.subresource:
            return
        if rt.group == "" and rt.kind == "Pod" and request.operation == CREATE:
            await self._admit_pod(request.object, request.name)
        elif rt.group == "scheduling.k8s.io" and rt.kind == "PriorityClass" and request.operation in (CREATE,
                                                                                                      UPDATE):
            self._admit_priority_class(request.object)

    # -- pods --------------------------------------------------------------------------------

    async def _admit_pod(self, pod: Object, name: str) -> None:
        spec = pod.setdefault("spec", {})
        class_name = spec.get("priorityClassName") or ""
        if class_name in SYSTEM_PRIORITY_CLASSES:
            value, policy = SYSTEM_PRIORITY_CLASSES[class_name], None
        elif class_name:
            found = await self._find(class_name)
            if found is None:
                raise errors.forbidden("pods", name, f"no PriorityClass with name {class_name} was found")
            value, policy = int(found.get("value") or 0), found.get("preemptionPolicy")
        else:
            default = self._global_default()
            if default is None:
                return  # defaulting already gave priority 0
            spec["priorityClassName"] = class_name = default["metadata"]["name"]
            value, policy = int(default.get("value") or 0), default.get("preemptionPolicy")
            spec["priority"] = value
        stated = spec.get("priority")
        if stated is not None and stated != value:
            raise errors.forbidden("pods", name, f"the integer value of priority ({stated}) must not be provided "
                                                 f"in pod spec; priority admission controller computed {value} "
                                                 "from the given PriorityClass name")
        spec["priority"] = value
        if policy:
            spec["preemptionPolicy"] = policy

    # -- priority classes --------------------------------------------------------------------

    def _admit_priority_class(self, obj: Object) -> None:
        if not obj.get("globalDefault"):
            return
        name = (obj.get("metadata") or {}).get("name", "")
        default = self._global_default()
        if default is not None and default["metadata"]["name"] != name:
            raise errors.forbidden("priorityclasses", name, f"PriorityClass {default['metadata']['name']} is "
                                   "already marked as default. Only one default can exist", "scheduling.k8s.io")

    # -- lookups -----------------------------------------------------------------------------

    def _classes(self) -> list[Object]:
        cache = self._caches.get(RESOURCE)
        return [] if cache is None else [c.obj for c in cache.state.values()]

    def _global_default(self) -> Object | None:
        defaults = [c for c in self._classes() if c.get("globalDefault")]
        # Kubernetes picks the lowest value when several claim to be the default.
        return min(defaults, key=lambda c: int(c.get("value") or 0), default=None)

    async def _find(self, name: str) -> Object | None:
        for attempt in range(2):
            for obj in self._classes():
                if obj["metadata"]["name"] == name:
                    return obj
            cache = self._caches.get(RESOURCE)
            if attempt or cache is None:
                break
            await cache.wait_fresh(await self._storage.current_revision())
        return None
