"""The max-in-flight filter of the HTTP API (see apiserver/inflight.py): one budget shared with the gRPC API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from apimachinery import errors
from apiserver.http_api.responses import error_response
from apiserver.inflight import InflightLimiter, http_verb

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CONNECT_SUBRESOURCES = frozenset({"log", "exec", "attach", "portforward", "proxy"})


def is_long_running(request: web.Request) -> bool:
    """Watches and the streaming subresources hold a connection, not a worker: they are not counted."""
    watch = request.query.get("watch", "").lower() in ("1", "true")
    return watch or request.path.rstrip("/").rsplit("/", 1)[-1] in CONNECT_SUBRESOURCES


def inflight_middleware(limiter: InflightLimiter) -> Middleware:
    @web.middleware
    async def limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        verb = http_verb(request.method, request.query.get("watch", "").lower() in ("1", "true"),
                         is_long_running(request))
        try:
            with limiter.admit(verb):
                return await handler(request)
        except errors.TooManyRequests as e:  # refused here (handlers answer their own errors as Status)
            return error_response(e)
    return limit
