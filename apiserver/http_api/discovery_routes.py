"""The aiohttp routes for the discovery documents built in `discovery`: /version, /api, /apis."""

from __future__ import annotations

from aiohttp import web

from apimachinery.kinds import KindRegistry
from apiserver.http_api import discovery
from apiserver.http_api.responses import guarded, json_response


def add_discovery_routes(app: web.Application, kinds: KindRegistry) -> None:
    async def version(request: web.Request) -> web.Response:
        return json_response(discovery.SERVER_VERSION)

    async def api(request: web.Request) -> web.Response:
        return json_response(discovery.api_versions(request.host))

    async def apis(request: web.Request) -> web.Response:
        return json_response(discovery.api_group_list(kinds))

    app.router.add_get("/version", guarded(version))
    app.router.add_get("/version/", guarded(version))
    app.router.add_get("/api", guarded(api))
    app.router.add_get("/api/", guarded(api))
    app.router.add_get("/apis", guarded(apis))
    app.router.add_get("/apis/", guarded(apis))
