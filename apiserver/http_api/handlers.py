"""The REST verbs of the Kubernetes HTTP API, as thin handlers over the generic registry.

One `ResourceHandlers` serves every kind: the path says which (see `paths`), the method and the
query say which verb (GET is get, list or watch; POST create; PUT update; PATCH patch; DELETE
delete or deletecollection). Each handler decodes the request, calls the `Registry` and encodes
its answer; list items are spliced in as the raw JSON bytes the registry holds, never re-encoded.
Subresources (`status`, `scale`, `binding`, `finalize`) are routed to `subresources`.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from apimachinery import errors
from apimachinery.kinds import ResourceType
from apiserver.http_api import discovery, protobuf_codec, subresources, tables_bridge, watch
from apiserver.http_api.paths import Target, not_found, parse_path, resolve
from apiserver.http_api.responses import (
    guarded,
    json_response,
    patch_options,
    patch_type,
    query_bool,
    query_int,
    raw_response,
    read_object,
    write_options,
)
from apiserver.registry.deletion import DeleteOptions, parse_delete_options
from apiserver.registry.listing import ListOptions, list_object
from apiserver.registry.store import ListResult, Registry, decode_body


def list_options(request: web.Request, namespace: str) -> ListOptions:
    q = request.query
    return ListOptions(namespace, q.get("labelSelector", ""), q.get("fieldSelector", ""),
                       query_int(request, "limit", 0) or 0, q.get("continue", ""), q.get("resourceVersion", ""),
                       q.get("resourceVersionMatch", ""))


def list_body(rt: ResourceType, result: ListResult) -> bytes:
    """The list object with the stored item bytes spliced in (items is the last key)."""
    head = orjson.dumps(list_object(rt, [], result.revision, result.continue_token, result.remaining))
    assert head.endswith(b"[]}")
    return head[:-3] + b"[" + b",".join(result.items) + b"]}"


class ResourceHandlers:
    """Every verb on every kind, dispatched from the request path and method."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.watches = watch.WatchStreams(registry)
        self.subresources = subresources.Subresources(registry)

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        target = parse_path(request.path)
        if not target.plural:
            return self._group_version(request, target)
        rt = resolve(self.registry.kinds, target)
        if target.subresource:
            return await self.subresources.handle(request, rt, target)
        method = request.method
        if method == "GET":
            return await self._read(request, rt, target)
        if method == "POST" and target.is_collection:
            return await self.create(request, rt, target)
        if method == "PUT" and not target.is_collection:
            return await self.update(request, rt, target)
        if method == "PATCH" and not target.is_collection:
            return await self.patch(request, rt, target)
        if method == "DELETE":
            if target.is_collection:
                return await self.delete_collection(request, rt, target)
            return await self.delete(request, rt, target)
        raise errors.method_not_allowed(f"the server does not allow this method on the requested resource "
                                        f"({method} {rt.plural})")

    def _group_version(self, request: web.Request, target: Target) -> web.Response:
        if request.method != "GET" or not discovery.has_group_version(self.registry.kinds, target.group,
                                                                      target.version):
            raise not_found()
        return json_response(discovery.api_resource_list(self.registry.kinds, target.group, target.version))

    async def _read(self, request: web.Request, rt: ResourceType, target: Target) -> web.StreamResponse:
        if query_bool(request, "watch"):
            return await self.watches.serve(request, rt, list_options(request, target.namespace), target.name)
        if target.is_collection:
            return await self.list(request, rt, target)
        obj = await self.registry.get(rt, target.namespace, target.name, request.query.get("resourceVersion", ""))
        if tables_bridge.wants_table(request):
            return json_response(tables_bridge.table(rt, [obj], request))
        return json_response(obj)

    async def list(self, request: web.Request, rt: ResourceType, target: Target) -> web.Response:
        result = await self.registry.list(rt, list_options(request, target.namespace))
        if tables_bridge.wants_table(request):
            metadata = list_object(rt, [], result.revision, result.continue_token, result.remaining)["metadata"]
            return json_response(tables_bridge.table(rt, [orjson.loads(raw) for raw in result.items], request,
                                                     metadata))
        return raw_response(list_body(rt, result))

    async def create(self, request: web.Request, rt: ResourceType, target: Target) -> web.Response:
        obj = await read_object(request)
        result = await self.registry.create(rt, obj, target.namespace, write_options(request))
        return json_response(result.object, 201, result.warnings)

    async def update(self, request: web.Request, rt: ResourceType, target: Target,
                     subresource: str = "") -> web.Response:
        obj = await read_object(request)
        result = await self.registry.update(rt, obj, target.namespace, target.name, write_options(request),
                                            subresource)
        return json_response(result.object, 200, result.warnings)

    async def patch(self, request: web.Request, rt: ResourceType, target: Target,
                    subresource: str = "") -> web.Response:
        kind = patch_type(request)
        options = patch_options(request, kind)
        body = await request.read()
        result = await self.registry.patch(rt, target.namespace, target.name, kind, body, options, subresource)
        return json_response(result.object, 201 if result.created else 200, result.warnings)

    async def delete(self, request: web.Request, rt: ResourceType, target: Target) -> web.Response:
        options = await delete_options(request)
        result = await self.registry.delete(rt, target.namespace, target.name, options)
        return json_response(result.object, 200, result.warnings)

    async def delete_collection(self, request: web.Request, rt: ResourceType, target: Target) -> web.Response:
        """Delete every object the selectors match; answer the list of what was deleted or marked."""
        options = await delete_options(request)
        listed = await self.registry.list(rt, list_options(request, target.namespace))
        deleted: list[Any] = []
        for raw in listed.items:
            metadata = orjson.loads(raw)["metadata"]
            try:
                result = await self.registry.delete(rt, metadata.get("namespace", ""), metadata["name"], options)
            except errors.NotFound:
                continue
            deleted.append(result.object)
        return json_response(list_object(rt, deleted, listed.revision))


async def delete_options(request: web.Request) -> DeleteOptions:
    """DeleteOptions from the body (if any: JSON, or protobuf as typed clients such as `kubectl drain
    --disable-eviction` send it) overlaid with the query parameters."""
    raw_body = await request.read()
    raw: dict[str, Any] = {}
    if protobuf_codec.is_protobuf(request.content_type) and raw_body:
        raw = protobuf_codec.decode(raw_body)
    elif raw_body.strip():
        raw = decode_body(raw_body)
    grace = query_int(request, "gracePeriodSeconds")
    if grace is not None:
        raw["gracePeriodSeconds"] = grace
    if request.query.get("propagationPolicy"):
        raw["propagationPolicy"] = request.query["propagationPolicy"]
    if write_options(request).dry_run:
        raw["dryRun"] = ["All"]
    return parse_delete_options(raw)


def add_resource_routes(app: web.Application, registry: Registry) -> ResourceHandlers:
    handlers = ResourceHandlers(registry)
    handler = guarded(handlers.dispatch)
    app.router.add_route("*", "/api/{tail:.+}", handler)
    app.router.add_route("*", "/apis/{tail:.+}", handler)
    app.on_shutdown.append(handlers.watches.shutdown)
    return handlers
