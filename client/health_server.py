"""/healthz, /livez, /readyz and /metrics: the plain HTTP endpoints every kubeling process serves.

The apiserver adds these routes to its own aiohttp application (one HTTP port, as in Kubernetes); the other
components run a :class:`HealthServer` on their own port (``--healthz-port``).
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest


def add_health_routes(app: web.Application, is_ready: Callable[[], bool],
                      not_ready_reason: str = "not ready") -> None:
    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def readyz(request: web.Request) -> web.Response:
        if is_ready():
            return web.Response(text="ok")
        return web.Response(status=503, text=not_ready_reason)

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/livez", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)


class HealthServer:
    """A tiny aiohttp server with only the health routes."""

    def __init__(self, is_ready: Callable[[], bool], not_ready_reason: str = "not ready") -> None:
        self.app = web.Application()
        add_health_routes(self.app, is_ready, not_ready_reason)
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
