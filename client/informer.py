"""The informer: a local, eventually consistent copy of one resource, with change handlers.

It is client-go's Reflector + Indexer + handlers. It lists, then watches from the list's
resourceVersion; when the watch ends it watches again from the last resourceVersion it saw; when
that is too old (Gone) or the list never completed, it relists and turns the difference between
its store and the new list into add/update/delete calls.

Guarantees (what the chaos tests hold it to):
- eventually consistent: after the apiserver is quiet, the store equals the server's state;
- per object, handlers see changes in resourceVersion order, and never the same resourceVersion
  twice (an update is only delivered when the resourceVersion changed — resyncs aside);
- across an apiserver restart or a broken stream, no change is lost: the watch resumes from the
  last resourceVersion seen, and if it cannot, the relist diff delivers what was missed (several
  changes to one object may then arrive as one update);
- a resync (if `resync_period` > 0) calls on_update(obj, obj) for every object, to let level-
  triggered controllers re-check the world.

Handlers run on the event loop and must not block: they should only enqueue keys.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apimachinery import errors
from client.backoff import Backoff
from client.client import Client, Resource
from client.store import IndexFunc, Store, object_key

log = logging.getLogger(__name__)
Object = dict[str, Any]
LIST_PAGE_SIZE = 500


@dataclass
class Handler:
    on_add: Callable[[Object], None] | None = None
    on_update: Callable[[Object, Object], None] | None = None
    on_delete: Callable[[Object], None] | None = None


class Informer:
    """List+watch one resource (optionally one namespace / selector) into an indexed Store."""

    def __init__(self, client: Client, resource: Resource, *, namespace: str = "", label_selector: str = "",
                 field_selector: str = "", resync_period: float = 0.0,
                 indexers: dict[str, IndexFunc] | None = None) -> None:
        self.client = client
        self.resource = client.resource_type(resource)
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.resync_period = resync_period
        self.store = Store(indexers)
        self.resource_version = ""
        self._handlers: list[Handler] = []
        self._synced = asyncio.Event()
        self.relists = 0

    def add_handler(self, handler: Handler) -> None:
        self._handlers.append(handler)

    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_for_sync(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._synced.wait(), timeout)

    async def run(self) -> None:
        """List and watch until cancelled."""
        resync = asyncio.create_task(self._resync_loop()) if self.resync_period > 0 else None
        backoff = Backoff(initial=0.1, factor=2.0, cap=5.0)
        try:
            while True:
                try:
                    if not self.resource_version:
                        await self._relist()
                    await self._watch()
                    backoff.reset()
                except errors.Gone:
                    log.info("%s: resourceVersion %s is too old; relisting", self.resource.plural,
                             self.resource_version)
                    self.resource_version = ""
                except (errors.ApiError, OSError) as e:
                    delay = backoff.next()
                    log.info("%s: list/watch failed (%s); retrying in %.1fs", self.resource.plural, e, delay)
                    await asyncio.sleep(delay)
        finally:
            if resync is not None:
                resync.cancel()

    async def _relist(self) -> None:
        items, revision, token = [], "", ""
        while True:
            page = await self.client.list(self.resource, self.namespace, label_selector=self.label_selector,
                                          field_selector=self.field_selector, limit=LIST_PAGE_SIZE,
                                          continue_=token)
            items.extend(page["items"])
            revision = revision or page["metadata"]["resourceVersion"]
            token = page["metadata"].get("continue", "")
            if not token:
                break
        self._replace(items)
        self.resource_version = revision
        self.relists += 1
        self._synced.set()

    def _replace(self, items: list[Object]) -> None:
        """Make the store equal `items`, delivering the difference to the handlers."""
        fresh = {object_key(obj): obj for obj in items}
        for key in self.store.keys():  # noqa: SIM118 -- Store.keys() returns a copy; removing is safe
            if key not in fresh:
                gone = self.store.remove(key)
                if gone is not None:
                    self._notify_delete(gone)
        for obj in fresh.values():
            self._apply_upsert(obj)

    async def _watch(self) -> None:
        async for event in self.client.watch(self.resource, self.namespace, resource_version=self.resource_version,
                                             label_selector=self.label_selector,
                                             field_selector=self.field_selector, allow_bookmarks=True,
                                             timeout_seconds=300):
            if event.type == "DELETED":
                gone = self.store.remove(object_key(event.object))
                if gone is not None:
                    self._notify_delete(event.object)
            elif event.type in ("ADDED", "MODIFIED"):
                self._apply_upsert(event.object)
            self.resource_version = event.resource_version or self.resource_version

    def _apply_upsert(self, obj: Object) -> None:
        old = self.store.get(object_key(obj))
        if old is not None and _rv(old) == _rv(obj):
            return
        self.store.upsert(obj)
        for handler in self._handlers:
            if old is None and handler.on_add:
                handler.on_add(obj)
            elif old is not None and handler.on_update:
                handler.on_update(old, obj)

    def _notify_delete(self, obj: Object) -> None:
        for handler in self._handlers:
            if handler.on_delete:
                handler.on_delete(obj)

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(self.resync_period)
            for obj in self.store:
                for handler in self._handlers:
                    if handler.on_update:
                        handler.on_update(obj, obj)


def _rv(obj: Object) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))
