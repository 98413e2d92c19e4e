"""The apiserver's plain HTTP endpoints: /healthz, /livez, /readyz and /metrics.

The Kubernetes HTTP API for kubectl is served by the same aiohttp application (added by
`apiserver/http_api`), so there is one HTTP port, as in Kubernetes.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest


def add_health_routes(app: web.Application, is_ready: Callable[[], bool]) -> None:
    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(request: web.Request) -> web.Response:
        if is_ready():
            return web.Response(text="ok")
        return web.Response(status=503, text="not ready: watch caches are still loading")

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/livez", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
