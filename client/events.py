"""Events for what a user looks for in `kubectl describe`: client-go's tools/record, in asyncio.

`EventRecorder.event(obj, type, reason, message)` never blocks and never raises: it stamps the event and
puts it on a bounded queue (a full queue drops the event with a log line). A background task
(`start()` / `stop()`) runs each event through an `EventCorrelator` and writes the result as a core/v1
Event in the object's namespace ("default" for cluster-scoped objects), named `<name>.<hex unix nanos>`.

The correlator is client-go's `EventCorrelator`, as pure state machines fed an explicit `now`:

- aggregation (`EventAggregator`): events with the same source, object, type and reason but different
  messages are counted per 10-minute window (sliding: each event extends it); from the 10th distinct
  message on (client-go's maxEvents = 10, compared with >=) they collapse into one event with message
  "(combined from similar events): <latest message>";
- observation (`eventLogger`): an event identical in source, object, type, reason and message to one
  written within the last 10 minutes (a window client-go does not have; its cache is only LRU-bounded)
  becomes a merge patch of the existing Event's count, lastTimestamp and message;
- spam filter (`EventSourceObjectSpamFilter`): a token bucket per source + object, burst 25, refilled one
  token per 5 minutes; an event finding the bucket empty is dropped.

Writes follow client-go's recordToSink: a patch that finds the Event gone falls back to a create; an error
the apiserver answered with (Invalid, AlreadyExists, Forbidden...) drops the event at once; an unavailable
or slow apiserver is retried `max_tries` times `retry_interval` apart (client-go: 12 tries, 10 s), each try
bounded by `write_timeout`, then the event is dropped with a warning. The component is never held up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from apimachinery import errors

log = logging.getLogger(__name__)
Object = dict[str, Any]

NORMAL = "Normal"
WARNING = "Warning"
EVENT_TYPES = (NORMAL, WARNING)
MAX_INTERVAL = 600.0  # seconds: aggregation and observation window (client-go maxIntervalInSeconds)
MAX_SIMILAR_EVENTS = 10  # distinct messages before aggregation (client-go defaultAggregateMaxEvents)
SPAM_BURST = 25  # client-go defaultSpamBurst
SPAM_QPS = 1.0 / 300  # client-go defaultSpamQPS: one token every 5 minutes
CACHE_ENTRIES = 4096  # client-go maxLruCacheEntries
COMBINED_PREFIX = "(combined from similar events): "
_RETRIABLE_CODES = (429, 500, 503, 504)


class EventClient(Protocol):
    async def create(self, obj: Object) -> Object: ...

    async def patch(self, resource: str, name: str, patch: Any, namespace: str = "") -> Object: ...


def rfc3339(seconds: float) -> str:
    """Kubernetes Time: 2026-01-01T00:00:00Z."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- keys ---------------------------------------------------------------------------------------


def _object_fields(event: Mapping[str, Any]) -> tuple[str, ...]:
    source, ref = event.get("source") or {}, event.get("involvedObject") or {}
    return (str(source.get("component", "")), str(source.get("host", "")), str(ref.get("kind", "")),
            str(ref.get("namespace", "")), str(ref.get("name", "")), str(ref.get("uid", "")),
            str(ref.get("apiVersion", "")))


def spam_key(event: Mapping[str, Any]) -> tuple[str, ...]:
    """client-go getSpamKey: source and involved object."""
    return _object_fields(event)


def aggregate_key(event: Mapping[str, Any]) -> tuple[tuple[str, ...], str]:
    """client-go EventAggregatorByReasonFunc: (source, object, type, reason, reporting...), message."""
    key = (*_object_fields(event), str(event.get("type", "")), str(event.get("reason", "")),
           str(event.get("reportingComponent", "")), str(event.get("reportingInstance", "")))
    return key, str(event.get("message", ""))


def event_key(event: Mapping[str, Any]) -> tuple[str, ...]:
    """client-go getEventKey: everything that makes two events "the same event"."""
    ref = event.get("involvedObject") or {}
    return (*_object_fields(event), str(ref.get("fieldPath", "")), str(event.get("type", "")),
            str(event.get("reason", "")), str(event.get("message", "")))


# -- the pure state machines ----------------------------------------------------------------------


class _Lru(OrderedDict[Any, Any]):
    def put(self, key: Any, value: Any, limit: int = CACHE_ENTRIES) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > limit:
            self.popitem(last=False)


@dataclass
class TokenBucket:
    """A token bucket (golang.org/x/time/rate semantics): `burst` tokens, refilled at `qps` per second."""

    burst: int = SPAM_BURST
    qps: float = SPAM_QPS
    tokens: float = -1.0
    last: float | None = None

    def take(self, now: float) -> bool:
        if self.last is None:
            self.tokens = float(self.burst)
        else:
            self.tokens = min(float(self.burst), self.tokens + max(0.0, now - self.last) * self.qps)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class _Observation:
    count: int
    first_timestamp: str
    name: str
    last_seen: float


@dataclass
class Correlation:
    """What to write: a new Event (`patch is None`) or a merge patch of the Event named in `event`."""

    event: Object
    key: tuple[str, ...]
    patch: Object | None = None


def aggregate_decision(similar_messages: int, max_events: int = MAX_SIMILAR_EVENTS) -> bool:
    """Whether an event whose (source, object, type, reason) has shown `similar_messages` distinct messages
    within the window is collapsed into the "(combined from similar events)" event."""
    return similar_messages >= max_events


@dataclass
class EventCorrelator:
    """client-go EventCorrelator: aggregate, observe (count repeats), then spam-filter. Not thread-safe."""

    max_interval: float = MAX_INTERVAL
    max_similar: int = MAX_SIMILAR_EVENTS
    spam_burst: int = SPAM_BURST
    spam_qps: float = SPAM_QPS
    _aggregates: _Lru = field(default_factory=_Lru)  # aggregate key -> (set of messages, last seen)
    _observed: _Lru = field(default_factory=_Lru)  # event or aggregate key -> _Observation
    _buckets: _Lru = field(default_factory=_Lru)  # spam key -> TokenBucket

    def correlate(self, event: Object, now: float) -> Correlation | None:
        """The write for `event` at `now` (seconds), or None when the spam filter drops it."""
        event, key = self._aggregate(event, now)
        result = self._observe(event, key, now)
        bucket = self._buckets.get(spam_key(event)) or TokenBucket(self.spam_burst, self.spam_qps)
        self._buckets.put(spam_key(event), bucket)
        return result if bucket.take(now) else None

    def update_state(self, key: tuple[str, ...], written: Mapping[str, Any], now: float) -> None:
        """Remember the Event the apiserver stored for `key`, so a repeat patches it."""
        meta = written.get("metadata") or {}
        self._observed.put(key, _Observation(int(written.get("count") or 1), str(written.get("firstTimestamp", "")),
                                             str(meta.get("name", "")), now))

    def forget(self, key: tuple[str, ...]) -> None:
        """Drop the observation for `key` (its write failed: the next repeat creates afresh)."""
        self._observed.pop(key, None)

    def _aggregate(self, event: Object, now: float) -> tuple[Object, tuple[str, ...]]:
        akey, message = aggregate_key(event)
        messages: set[str]
        messages, last = self._aggregates.get(akey) or (set(), now)
        if now - last > self.max_interval:
            messages = set()
        messages.add(message)
        self._aggregates.put(akey, (messages, now))
        if not aggregate_decision(len(messages), self.max_similar):
            return event, event_key(event)
        messages.discard(message)  # do not grow the set past max (client-go PopAny)
        combined = {**event, "message": COMBINED_PREFIX + message}
        combined["involvedObject"] = {k: v for k, v in event["involvedObject"].items() if k != "fieldPath"}
        return combined, akey

    def _observe(self, event: Object, key: tuple[str, ...], now: float) -> Correlation:
        seen: _Observation | None = self._observed.get(key)
        if seen is None or now - seen.last_seen > self.max_interval or not seen.name:
            self._observed.put(key, _Observation(1, event["firstTimestamp"], "", now))
            return Correlation(event, key)
        seen.count += 1
        seen.last_seen = now
        event = {**event, "count": seen.count, "firstTimestamp": seen.first_timestamp,
                 "metadata": {**event["metadata"], "name": seen.name}}
        patch = {"count": seen.count, "lastTimestamp": event["lastTimestamp"], "message": event["message"]}
        return Correlation(event, key, patch)


# -- building events --------------------------------------------------------------------------


def object_reference(obj: Mapping[str, Any], field_path: str = "") -> Object:
    """The involvedObject for `obj` (client-go ref.GetReference)."""
    meta = obj.get("metadata") or {}
    ref: Object = {"apiVersion": obj.get("apiVersion", ""), "kind": obj.get("kind", ""),
                   "name": meta.get("name", "")}
    for key in ("namespace", "uid", "resourceVersion"):
        if meta.get(key):
            ref[key] = meta[key]
    if field_path:
        ref["fieldPath"] = field_path
    return ref


def make_event(obj: Mapping[str, Any], type_: str, reason: str, message: str, *, component: str, host: str,
               now: float, field_path: str = "") -> Object:
    """A new core/v1 Event about `obj` at `now` (client-go makeEvent)."""
    ref = object_reference(obj, field_path)
    stamp = rfc3339(now)
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": f"{ref['name']}.{int(now * 1e9):016x}", "namespace": ref.get("namespace") or "default"},
        "involvedObject": ref, "reason": reason, "message": message, "type": type_,
        "source": {"component": component, **({"host": host} if host else {})},
        "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
        "reportingComponent": component, "reportingInstance": host,
    }


def _retriable(error: BaseException) -> bool:
    if isinstance(error, TimeoutError | errors.Unavailable):
        return True
    return isinstance(error, errors.ApiError) and error.code in _RETRIABLE_CODES


# -- the recorder ---------------------------------------------------------------------------------


class EventRecorder:
    """Records Events for one component (e.g. "kubelet", host = the node name)."""

    def __init__(self, client: EventClient, component: str, host: str = "", *, queue_size: int = 1000,
                 max_tries: int = 3, retry_interval: float = 1.0, write_timeout: float = 5.0,
                 clock: Callable[[], float] = time.time, correlator: EventCorrelator | None = None) -> None:
        self.client = client
        self.component = component
        self.host = host
        self.max_tries = max_tries
        self.retry_interval = retry_interval
        self.write_timeout = write_timeout
        self.clock = clock
        self.correlator = correlator or EventCorrelator()
        self.dropped = 0  # events given up on: queue full, spam-filtered or unwritable
        self.written = 0
        self._queue: asyncio.Queue[Object] = asyncio.Queue(queue_size)
        self._task: asyncio.Task[None] | None = None

    def event(self, obj: Mapping[str, Any], type: str, reason: str, message: str,
              field_path: str = "") -> None:
        """Queue an Event about `obj`; returns at once, never raises."""
        if type not in EVENT_TYPES:
            log.error("unsupported event type %r (reason %s); event dropped", type, reason)
            return
        try:
            event = make_event(obj, type, reason, message, component=self.component, host=self.host,
                               now=self.clock(), field_path=field_path)
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("event queue full; dropping event %s %s: %s", reason, type, message)
        except Exception:
            log.exception("cannot record event %s about %r", reason, obj.get("metadata"))

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"events:{self.component}")

    async def stop(self) -> None:
        """Stop writing; events still queued are dropped."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def flush(self, timeout: float = 10.0) -> None:
        """Wait until every queued event has been written or dropped (for tests and shutdown)."""
        async with asyncio.timeout(timeout):
            await self._queue.join()

    async def _run(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self._record(event)
            except Exception:
                log.exception("unexpected error writing event %s", event.get("reason"))
            finally:
                self._queue.task_done()

    async def _record(self, event: Object) -> None:
        result = self.correlator.correlate(event, self.clock())
        if result is None:
            self.dropped += 1
            log.debug("event %s about %s filtered as spam", event["reason"], event["involvedObject"].get("name"))
            return
        for attempt in range(1, self.max_tries + 1):
            try:
                async with asyncio.timeout(self.write_timeout):
                    written = await self._write(result)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if not _retriable(e):
                    return self._drop(result, f"rejected by the apiserver: {e}")
                if attempt < self.max_tries:
                    await asyncio.sleep(self.retry_interval)
                continue
            self.written += 1
            self.correlator.update_state(result.key, written, self.clock())
            return None
        return self._drop(result, f"the apiserver is unavailable after {self.max_tries} tries")

    async def _write(self, result: Correlation) -> Object:
        meta = result.event["metadata"]
        if result.patch is not None:
            try:
                return await self.client.patch("events", meta["name"], result.patch, meta["namespace"])
            except errors.NotFound:
                pass  # the Event expired or was deleted: write it afresh
        return await self.client.create(result.event)

    def _drop(self, result: Correlation, why: str) -> None:
        self.dropped += 1
        self.correlator.forget(result.key)
        event = result.event
        log.warning("dropping event %s %s about %s/%s (%s): %s", event["type"], event["reason"],
                    event["metadata"]["namespace"], event["involvedObject"].get("name"), event["message"], why)
