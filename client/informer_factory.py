"""Shared informers: one list+watch per resource for a whole process (client-go's SharedInformerFactory).

Every controller of the controller-manager (and the scheduler's plugins) asks the factory for the informers it
needs; they share one watch and one cache per resource. ``start()`` runs every informer created so far;
``wait_for_sync()`` returns once all have listed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from client.client import Client, Resource
from client.informer import Informer


class SharedInformerFactory:
    def __init__(self, client: Client, *, resync_period: float = 0.0) -> None:
        self.client = client
        self.resync_period = resync_period
        self._informers: dict[tuple[str, str, str], Informer] = {}
        self._tasks: dict[tuple[str, str, str], asyncio.Task[Any]] = {}

    def informer(self, resource: Resource, *, namespace: str = "", field_selector: str = "") -> Informer:
        plural = self.client.resource_type(resource).group_resource
        key = (plural, namespace, field_selector)
        if key not in self._informers:
            self._informers[key] = Informer(self.client, resource, namespace=namespace,
                                            field_selector=field_selector, resync_period=self.resync_period)
        return self._informers[key]

    def start(self) -> None:
        for key, informer in self._informers.items():
            if key not in self._tasks:
                self._tasks[key] = asyncio.create_task(informer.run(), name=f"informer:{key[0]}")

    async def wait_for_sync(self, timeout: float | None = None) -> None:
        await asyncio.gather(*(i.wait_for_sync(timeout) for i in self._informers.values()))

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self._tasks.clear()
