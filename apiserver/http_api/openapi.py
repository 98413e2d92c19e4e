"""The OpenAPI documents kubectl reads: `/openapi/v3` (per group version) and `/openapi/v2`.

`kubectl explain` reads `/openapi/v3` — an index `{"paths": {"api/v1": {"serverRelativeURL":
"/openapi/v3/api/v1?hash=<HASH>"}, ...}}` — and then the group-version document it names.
`kubectl apply` reads the same documents for strategic-merge metadata, and checks that a kind's
PATCH operation takes a `fieldValidation` query parameter before it relies on server-side field
validation. `/openapi/v2` is the older single Swagger 2.0 document; it is served as JSON only
(a protobuf-only Accept gets 406 NotAcceptable, which client-go treats as "not served").

Documents are built from the kind registry on first request, serialized once with orjson and
cached for the process. The hash is the upper-case hex SHA-512 of the serialized document, as
kube-openapi computes it; it is also the ETag. A request with the current `?hash=` is answered
`Cache-Control: public, immutable` (and a one-year Expires); a stale hash is redirected (301) to
the current URL, as upstream does. `If-None-Match` with the current ETag answers 304.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import orjson
from aiohttp import web

from apimachinery import errors
from apimachinery.kinds import KindRegistry, ResourceType
from apimachinery.schema import KUBERNETES_VERSION
from apiserver.http_api import discovery, openapi_paths, openapi_schemas

JSON = "application/json"
PROTOBUF_V2 = "application/com.github.proto-openapi.spec.v2"
PROTOBUF_V3 = "application/com.github.proto-openapi.spec.v3"
INFO = {"title": "Kubernetes", "version": KUBERNETES_VERSION}
SECURITY_V3 = {"BearerToken": {"type": "apiKey", "description": "Bearer Token authentication",
                               "name": "authorization", "in": "header"}}


def group_version_key(rt: ResourceType) -> str:
    """`api/v1`, `apis/apps/v1`: how the v3 index names a group version."""
    return f"api/{rt.version}" if not rt.group else f"apis/{rt.group}/{rt.version}"


def _by_group_version(kinds: KindRegistry) -> dict[str, list[ResourceType]]:
    grouped: dict[str, list[ResourceType]] = {}
    for rt in sorted(discovery.served_types(kinds), key=lambda r: (r.group, r.version, r.plural)):
        grouped.setdefault(group_version_key(rt), []).append(rt)
    return grouped


def _paths_for(types: list[ResourceType]) -> dict[str, openapi_paths.PathItem]:
    items: dict[str, openapi_paths.PathItem] = {}
    for rt in types:
        items.update(openapi_paths.resource_paths(rt))
    return items


def _roots(types: list[ResourceType], items: dict[str, openapi_paths.PathItem]) -> set[str]:
    roots = openapi_paths.referenced_definitions(items)
    for rt in types:
        if rt.schema_ref:
            roots.update({rt.schema_ref, openapi_schemas.list_definition(rt.schema_ref)})
    return roots


def build_openapi_v3(kinds: KindRegistry) -> dict[str, dict[str, Any]]:
    """One OpenAPI 3.0 document per served group version, keyed `api/v1`, `apis/apps/v1`, ..."""
    documents: dict[str, dict[str, Any]] = {}
    for key, types in _by_group_version(kinds).items():
        items = _paths_for(types)
        schemas = openapi_schemas.definitions_for(_roots(types, items), kinds, v3=True)
        documents[key] = {"openapi": "3.0.0", "info": dict(INFO), "paths": openapi_paths.render(items, v3=True),
                          "components": {"schemas": schemas, "securitySchemes": SECURITY_V3}}
    return documents


def build_openapi_v2(kinds: KindRegistry) -> dict[str, Any]:
    """The single Swagger 2.0 document covering every served kind."""
    types = [rt for group in _by_group_version(kinds).values() for rt in group]
    items = _paths_for(types)
    return {"swagger": "2.0", "info": dict(INFO), "paths": openapi_paths.render(items, v3=False),
            "definitions": openapi_schemas.definitions_for(_roots(types, items), kinds, v3=False),
            "securityDefinitions": SECURITY_V3, "security": [{"BearerToken": []}]}


@dataclass(frozen=True)
class Served:
    """A serialized document and its content hash (also its ETag)."""

    body: bytes
    hash: str

    @staticmethod
    def of(document: Any) -> Served:
        body = orjson.dumps(document)
        return Served(body, hashlib.sha512(body).hexdigest().upper())


class OpenAPICache:
    """The documents of one registry, built on first use and kept."""

    def __init__(self, kinds: KindRegistry) -> None:
        self._kinds = kinds
        self._v3: dict[str, Served] | None = None
        self._index: Served | None = None
        self._v2: Served | None = None

    def v3(self) -> dict[str, Served]:
        if self._v3 is None:
            self._v3 = {key: Served.of(doc) for key, doc in build_openapi_v3(self._kinds).items()}
        return self._v3

    def index(self) -> Served:
        if self._index is None:
            paths = {key: {"serverRelativeURL": f"/openapi/v3/{key}?hash={served.hash}"}
                     for key, served in self.v3().items()}
            self._index = Served.of({"paths": paths})
        return self._index

    def v2(self) -> Served:
        if self._v2 is None:
            self._v2 = Served.of(build_openapi_v2(self._kinds))
        return self._v2


def _status_response(error: errors.ApiError) -> web.Response:
    return web.Response(body=orjson.dumps(error.to_status()), status=error.code, content_type=JSON)


def _not_acceptable() -> web.Response:
    return _status_response(errors.ApiError(406, "NotAcceptable",
                                            f"only the following media types are accepted: {JSON}"))


def _accepts_json(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    if not accept.strip():
        return True
    types = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    return any(t in (JSON, "application/*", "*/*") for t in types)


def _document_response(request: web.Request, served: Served, immutable: bool) -> web.Response:
    etag = f'"{served.hash}"'
    headers = {"ETag": etag, "Vary": "Accept"}
    if immutable:
        headers["Cache-Control"] = "public, immutable"
        headers["Expires"] = format_datetime(datetime.now(UTC) + timedelta(days=365), usegmt=True)
    else:
        headers["Cache-Control"] = "no-cache, private"
    if etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=served.body, content_type=JSON, headers=headers)


def add_openapi_routes(app: web.Application, kinds: KindRegistry) -> None:
    """Serve GET /openapi/v3, /openapi/v3/<group-version> and /openapi/v2 for `kinds`."""
    cache = OpenAPICache(kinds)

    async def index(request: web.Request) -> web.Response:
        if not _accepts_json(request):
            return _not_acceptable()
        return _document_response(request, cache.index(), immutable=False)

    async def group_version(request: web.Request) -> web.Response:
        key = request.match_info["path"].strip("/")
        served = cache.v3().get(key)
        if served is None:
            return _status_response(errors.ApiError(404, "NotFound", "the server could not find the requested "
                                                    "resource"))
        if not _accepts_json(request):
            return _not_acceptable()
        wanted = request.query.get("hash")
        if wanted and wanted != served.hash:
            raise web.HTTPMovedPermanently(f"/openapi/v3/{key}?hash={served.hash}")
        return _document_response(request, served, immutable=bool(wanted))

    async def v2(request: web.Request) -> web.Response:
        if not _accepts_json(request):
            return _not_acceptable()
        return _document_response(request, cache.v2(), immutable=False)

    app.router.add_get("/openapi/v3", index)
    app.router.add_get("/openapi/v3/", index)
    app.router.add_get("/openapi/v3/{path:.+}", group_version)
    app.router.add_get("/openapi/v2", v2)
