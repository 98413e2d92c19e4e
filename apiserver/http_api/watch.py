"""WATCH over HTTP: a chunked stream of newline-delimited JSON watch events.

Each event is written as `{"type":"ADDED","object":<raw>}\n` with the stored object's bytes
spliced in, never re-encoded. A watch that cannot start because its resourceVersion is too old
is answered as Kubernetes does: HTTP 200 and one ERROR event carrying the 410 Status; any other
error while the stream is open ends it with an ERROR event too. The stream ends after
`timeoutSeconds` (default 30 minutes), when the client goes away, or when the server shuts down.
When the client asks for Tables (`Accept: ...;as=Table`), each ADDED/MODIFIED/DELETED object is
sent as a one-row Table, as kube-apiserver does; bookmarks and errors stay as they are.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from apimachinery import errors
from apimachinery.kinds import ResourceType
from apiserver.cache_watcher import BOOKMARK, ERROR, CacheWatcher, OutEvent
from apiserver.http_api import tables_bridge
from apiserver.http_api.responses import JSON, query_bool, query_int
from apiserver.registry.listing import ListOptions
from apiserver.registry.store import Registry

DEFAULT_TIMEOUT_SECONDS = 1800
POLL_SECONDS = 1.0  # how often an idle stream checks whether its client is still there


def event_line(event_type: str, raw: bytes) -> bytes:
    return b'{"type":"' + event_type.encode() + b'","object":' + raw + b"}\n"


def table_event_line(rt: ResourceType, request: web.Request, event: OutEvent) -> bytes:
    if event.type in (BOOKMARK, ERROR):
        return event_line(event.type, event.raw)
    return event_line(event.type, orjson.dumps(tables_bridge.table(rt, [orjson.loads(event.raw)], request)))


def error_line(error: errors.ApiError) -> bytes:
    return event_line("ERROR", orjson.dumps(error.to_status()))


class WatchStreams:
    """Serves watch requests and closes every open stream on server shutdown."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.open: set[CacheWatcher] = set()

    async def shutdown(self, app: Any = None) -> None:
        for watcher in list(self.open):
            watcher.close()

    async def serve(self, request: web.Request, rt: ResourceType, options: ListOptions,
                    name: str) -> web.StreamResponse:
        timeout = query_int(request, "timeoutSeconds", DEFAULT_TIMEOUT_SECONDS) or DEFAULT_TIMEOUT_SECONDS
        try:
            watcher = await self.registry.watch(
                rt, options, name, allow_bookmarks=query_bool(request, "allowWatchBookmarks"),
                send_initial_events=query_bool(request, "sendInitialEvents"))
        except errors.Gone as e:
            response = await _start(request)
            await response.write(error_line(e))
            await response.write_eof()
            return response
        self.open.add(watcher)
        try:
            response = await _start(request)
            encode = _encoder(rt, request)
            await _pump(request, response, watcher, time.monotonic() + timeout, encode)
        finally:
            self.open.discard(watcher)
            watcher.close()
        return response


def _encoder(rt: ResourceType, request: web.Request) -> Callable[[OutEvent], bytes]:
    if tables_bridge.wants_table(request):
        return lambda event: table_event_line(rt, request, event)
    return lambda event: event_line(event.type, event.raw)


async def _start(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(status=200, headers={"Content-Type": JSON})
    response.enable_chunked_encoding()
    await response.prepare(request)
    return response


async def _pump(request: web.Request, response: web.StreamResponse, watcher: CacheWatcher,
                deadline: float, encode: Callable[[OutEvent], bytes]) -> None:
    """Write events until the deadline, the watcher closes, or the client disconnects."""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or request.transport is None or request.transport.is_closing():
            break
        try:
            batch = await watcher.next_batch(timeout=min(remaining, POLL_SECONDS))
        except StopAsyncIteration:
            break
        except errors.ApiError as e:
            await _write(response, error_line(e))
            break
        if batch and not await _write(response, b"".join(encode(e) for e in batch)):
            return
    await _write_eof(response)


async def _write(response: web.StreamResponse, data: bytes) -> bool:
    try:
        await response.write(data)
        return True
    except (ConnectionResetError, RuntimeError):
        return False


async def _write_eof(response: web.StreamResponse) -> None:
    with contextlib.suppress(ConnectionResetError, RuntimeError):
        await response.write_eof()
