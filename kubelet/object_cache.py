"""ConfigMaps and Secrets the kubelet's pods reference, fetched on demand and kept for a short TTL.

Kubernetes' kubelet has several strategies for this (Get, Cache with TTL, Watch). kubeling uses a TTL cache: a
pod sync reads the objects its env and volumes name; after ``ttl`` seconds the next sync fetches them again, so a
changed ConfigMap reaches its volume within ``ttl`` plus the pod's resync period. A missing object is cached as
``None`` (the pod sync then reports the Kubernetes error for it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from apimachinery import errors
from client.client import Client

Object = dict[str, Any]


class ObjectCache:
    def __init__(self, client: Client, *, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.ttl = ttl
        self.clock = clock
        self._entries: dict[tuple[str, str, str], tuple[float, Object | None]] = {}

    async def get(self, resource: str, namespace: str, name: str) -> Object | None:
        key = (resource, namespace, name)
        entry = self._entries.get(key)
        if entry is not None and self.clock() - entry[0] < self.ttl:
            return entry[1]
        try:
            obj: Object | None = await self.client.get(resource, name, namespace)
        except errors.NotFound:
            obj = None
        self._entries[key] = (self.clock(), obj)
        return obj

    async def get_many(self, resource: str, namespace: str, names: Iterable[str]) -> dict[str, Object | None]:
        return {name: await self.get(resource, namespace, name) for name in sorted(names)}
