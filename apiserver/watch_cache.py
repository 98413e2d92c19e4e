"""The watch cache: one etcd watch per resource, fanned out to every client.

For each resource the cache holds (1) the current state of every object, (2) a window of recent
events, and (3) the revision it is fresh up to. It is filled by one etcd watch on the resource's
key prefix and serves every Watch, and every List that accepts a cached answer
(resourceVersion="0" or "at least N"), without touching etcd.

Guarantees, which the chaos tests check:
- every watcher sees the resource's changes in etcd revision order, each exactly once, from the
  revision it asked for; asking for one older than the window answers Gone (410) and the client
  relists;
- a watcher asking for a revision newer than the cache waits (up to `fresh_timeout`) until the
  cache has caught up. The cache proves it has by writing a marker key inside its own prefix
  (`<prefix>\\0`, which no object name can produce) and seeing that write arrive through its own
  watch: everything before it has then arrived too. (etcd's progress requests would be cheaper,
  but etcd before 3.4.26 answers them before a catching-up watcher has been sent everything —
  etcd issue #15220 — and Debian ships 3.4.23.);
- on start the cache can rebuild its window from etcd history (from the last compaction point),
  so after an apiserver restart clients resume their watches where they were instead of relisting.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections import deque
from collections.abc import Iterable

import orjson

from apimachinery import errors
from apimachinery.fields import object_fields
from apimachinery.kinds import ResourceType
from apiserver.cache_watcher import (
    ADDED,
    DELETED,
    MODIFIED,
    CachedObject,
    CacheEvent,
    CacheWatcher,
    Filter,
    bookmark_raw,
)
from apiserver.etcd_watch import Change, EtcdWatch, WatchBatch
from apiserver.storage import Compacted, EtcdStorage, prefix_end

log = logging.getLogger(__name__)
MARKER_SUFFIX = "\0"  # <prefix>\0: the cache's freshness marker; never a valid object key


NATURAL_WAIT_SECONDS = 0.05  # a revision of this resource usually arrives by itself within this


def is_marker_key(key: str) -> bool:
    return key.endswith(MARKER_SUFFIX)


class WatchCache:
    """State + recent history of one resource, kept current by one etcd watch."""

    def __init__(self, storage: EtcdStorage, rt: ResourceType, *, capacity: int = 100_000,
                 bookmark_interval: float = 5.0, fresh_timeout: float = 3.0,
                 max_pending: int = 10_000) -> None:
        self.storage = storage
        self.rt = rt
        self.prefix = rt.key_prefix()
        self.revision = 0
        self.oldest = 0
        self.state: dict[str, CachedObject] = {}
        self._events: deque[CacheEvent] = deque()
        self._capacity = capacity
        self._watchers: set[CacheWatcher] = set()
        self._fresh = asyncio.Condition()
        self._bookmark_interval = bookmark_interval
        self._fresh_timeout = fresh_timeout
        self._max_pending = max_pending
        self._etcd_watch: EtcdWatch | None = None
        self._tasks: builtins.list[asyncio.Task[None]] = []
        self.ready = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, history_from: int = 0) -> None:
        """Load the state (at `history_from` if etcd still has it, else now) and follow etcd."""
        try:
            await self._load(history_from)
        except Compacted:
            await self._load(0)
        self._tasks = [asyncio.create_task(self._follow(), name=f"watch-cache-{self.rt.plural}"),
                       asyncio.create_task(self._bookmarks(), name=f"bookmarks-{self.rt.plural}")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._etcd_watch is not None:
            self._etcd_watch.cancel()
        for watcher in list(self._watchers):
            watcher.close()

    async def _load(self, revision: int) -> None:
        result = await self.storage.range(self.prefix, prefix_end(self.prefix), revision=revision)
        self.state = {kv.key: self.decode(kv.key, kv.value, kv.mod_revision) for kv in result.kvs
                      if not is_marker_key(kv.key)}
        self._events.clear()
        self.revision = self.oldest = result.revision
        log.info("watch cache %s loaded %d objects at revision %d", self.rt.plural,
                 len(self.state), result.revision)

    async def _follow(self) -> None:
        """Apply etcd changes forever; reconnect from where we were, reload if compacted away."""
        delay = 0.1
        while True:
            self._etcd_watch = EtcdWatch(self.storage.channel, self.prefix, self.revision + 1)
            try:
                async for batch in self._etcd_watch:
                    await self._apply(batch)
                    self.ready.set()
                    delay = 0.1
            except asyncio.CancelledError:
                raise
            except Compacted:
                log.warning("watch cache %s fell behind compaction; reloading", self.rt.plural)
                self._drop_watchers()
                await self._reload()
            except Exception as e:  # etcd restarted or the connection broke: resume from revision
                log.warning("watch cache %s: etcd watch broke (%s); resuming from %d",
                            self.rt.plural, e, self.revision + 1)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _reload(self) -> None:
        while True:
            try:
                await self._load(0)
                return
            except Exception as e:
                log.warning("watch cache %s reload failed: %s", self.rt.plural, e)
                await asyncio.sleep(1.0)

    def _drop_watchers(self) -> None:
        for watcher in list(self._watchers):
            watcher.fail(errors.gone("watch cache was reset; re-list"))

    async def _bookmarks(self) -> None:
        while True:
            await asyncio.sleep(self._bookmark_interval)
            raw = bookmark_raw(self.rt.api_version, self.rt.kind, self.revision)
            for watcher in list(self._watchers):
                if watcher.sent_revision < self.revision:
                    watcher.push_bookmark(raw, self.revision)

    # -- applying changes ------------------------------------------------------------------

    def decode(self, key: str, value: bytes, revision: int) -> CachedObject:
        """A stored value as the cache holds it: parsed, with its resourceVersion, serialized once."""
        obj = orjson.loads(value)
        obj["metadata"]["resourceVersion"] = str(revision)
        return CachedObject(key, obj, orjson.dumps(obj), revision,
                            object_fields(obj, self.rt.selectable_fields))

    async def _apply(self, batch: WatchBatch) -> None:
        for change in batch.changes:
            if not is_marker_key(change.key):
                self._record(self._to_event(change))
        if batch.revision > self.revision:
            async with self._fresh:
                self.revision = batch.revision
                self._fresh.notify_all()

    def _to_event(self, change: Change) -> CacheEvent:
        prev = self.state.get(change.key)
        if change.value is None:
            last = prev.obj if prev is not None else (orjson.loads(change.prev.value) if change.prev else {})
            gone = self.decode(change.key, orjson.dumps(last), change.revision)
            self.state.pop(change.key, None)
            return CacheEvent(DELETED, gone, prev, change.revision)
        cached = self.decode(change.key, change.value, change.revision)
        self.state[change.key] = cached
        return CacheEvent(MODIFIED if prev is not None else ADDED, cached, prev, change.revision)

    def _record(self, event: CacheEvent) -> None:
        self._events.append(event)
        if len(self._events) > self._capacity:
            self.oldest = self._events.popleft().revision
        for watcher in list(self._watchers):
            watcher.push(event)

    # -- serving ---------------------------------------------------------------------------

    async def wait_fresh(self, revision: int, timeout: float | None = None) -> None:
        """Return once the cache has seen `revision`; 504 Timeout if it does not within `timeout` (default: the
        cache's fresh_timeout)."""
        if revision <= self.revision or await self._caught_up(revision, NATURAL_WAIT_SECONDS):
            return
        marker = await self.storage.put(self.prefix + MARKER_SUFFIX, b"")
        if marker <= revision:
            raise errors.ApiError(504, errors.REASON_TIMEOUT,
                                  f"Too large resource version: {revision}, current: {marker - 1}")
        if not await self._caught_up(marker, self._fresh_timeout if timeout is None else timeout):
            raise errors.ApiError(504, errors.REASON_TIMEOUT, f"the watch cache of {self.rt.plural} did not "
                                  f"catch up with revision {revision} in time")

    async def _caught_up(self, revision: int, timeout: float) -> bool:
        async with self._fresh:
            try:
                await asyncio.wait_for(self._fresh.wait_for(lambda: self.revision >= revision), timeout)
                return True
            except TimeoutError:
                return False

    def list(self, filter_: Filter) -> tuple[builtins.list[CachedObject], int]:
        """Matching objects sorted by key, and the revision the answer is at."""
        prefix = self.rt.key_prefix(filter_.namespace)
        items = [c for k, c in self.state.items() if k.startswith(prefix) and filter_.matches(c)]
        items.sort(key=lambda c: c.key)
        return items, self.revision

    def watch(self, filter_: Filter, from_revision: int | None, *, allow_bookmarks: bool = False,
              send_initial_events: bool = False) -> CacheWatcher:
        """A watcher from `from_revision` (None: the current state as ADDED, then changes)."""
        if from_revision is not None and from_revision < self.oldest:
            raise errors.gone(f"too old resource version: {from_revision} ({self.oldest})")
        watcher = CacheWatcher(filter_, allow_bookmarks=allow_bookmarks, max_pending=self._max_pending,
                               on_close=self._watchers.discard)
        if from_revision is None or send_initial_events:
            for cached in self._initial(filter_):
                watcher.push_initial(cached)
            if send_initial_events:
                raw = bookmark_raw(self.rt.api_version, self.rt.kind, self.revision, initial_events_end=True)
                watcher.push_bookmark(raw, self.revision)
        else:
            for event in self._events_after(from_revision):
                watcher.push(event)
        self._watchers.add(watcher)
        return watcher

    def _initial(self, filter_: Filter) -> Iterable[CachedObject]:
        items, _ = self.list(filter_)
        return items

    def _events_after(self, revision: int) -> builtins.list[CacheEvent]:
        later: builtins.list[CacheEvent] = []
        for event in reversed(self._events):
            if event.revision <= revision:
                break
            later.append(event)
        later.reverse()
        return later

    @property
    def watcher_count(self) -> int:
        return len(self._watchers)
