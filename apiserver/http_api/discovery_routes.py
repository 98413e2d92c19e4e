"""The aiohttp routes for the discovery documents: /version, /api, /apis, /apis/<group>.

`/api` and `/apis` answer in aggregated form (`aggregated_discovery`) when the Accept header asks
for it, with the profile in the Content-Type, an ETag (a hash of the document, answered 304 to a
matching If-None-Match, which client-go's HTTP cache sends) and `Vary: Accept`; otherwise they
answer the unaggregated documents of `discovery`.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from aiohttp import web

from apimachinery.kinds import KindRegistry
from apiserver.http_api import aggregated_discovery, discovery
from apiserver.http_api.paths import not_found
from apiserver.http_api.responses import guarded, json_response


def aggregated_response(request: web.Request, document: dict[str, Any], version: str) -> web.Response:
    body = orjson.dumps(document)
    etag = '"' + hashlib.sha512(body).hexdigest().upper() + '"'
    headers = {"Content-Type": aggregated_discovery.content_type(version), "ETag": etag, "Vary": "Accept"}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, headers=headers)


def add_discovery_routes(app: web.Application, kinds: KindRegistry) -> None:
    async def version(request: web.Request) -> web.Response:
        return json_response(discovery.SERVER_VERSION)

    async def api(request: web.Request) -> web.Response:
        wanted = aggregated_discovery.negotiate(request.headers.get("Accept", ""))
        if wanted:
            return aggregated_response(request, aggregated_discovery.group_discovery_list(kinds, True, wanted), wanted)
        return _unaggregated(discovery.api_versions(request.host))

    async def apis(request: web.Request) -> web.Response:
        wanted = aggregated_discovery.negotiate(request.headers.get("Accept", ""))
        if wanted:
            return aggregated_response(request, aggregated_discovery.group_discovery_list(kinds, False, wanted), wanted)
        return _unaggregated(discovery.api_group_list(kinds))

    async def group(request: web.Request) -> web.Response:
        document = discovery.api_group(kinds, request.match_info["group"])
        if document is None:
            raise not_found()
        return json_response(document)

    app.router.add_get("/version", guarded(version))
    app.router.add_get("/version/", guarded(version))
    app.router.add_get("/api", guarded(api))
    app.router.add_get("/api/", guarded(api))
    app.router.add_get("/apis", guarded(apis))
    app.router.add_get("/apis/", guarded(apis))
    app.router.add_get("/apis/{group}", guarded(group))
    app.router.add_get("/apis/{group}/", guarded(group))


def _unaggregated(document: dict[str, Any]) -> web.Response:
    response = json_response(document)
    response.headers["Vary"] = "Accept"
    return response
