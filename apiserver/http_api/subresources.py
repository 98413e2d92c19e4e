"""Subresources over HTTP: `status`, `scale` (autoscaling/v1 Scale), `pods/binding`, `pods/eviction`,
`namespaces/finalize`.

- `status`: GET reads the object; PUT and PATCH write only its status (the registry's status rules).
- `scale`: for deployments, replicasets and statefulsets; the Scale is computed from the object
  (spec.replicas, status.replicas, status.selector as a label-selector string) and writes go
  through a merge patch of `spec.replicas` (with the Scale's resourceVersion as a precondition).
- `binding`: POST a Binding `{target: {name}}` → `Registry.bind`; answered 201 with a Success Status.
- `eviction`: POST a policy/v1 Eviction → the pod's PodDisruptionBudget is asked and the pod deleted
  with the Eviction's deleteOptions (graceful as any pod delete); 201 with a Success Status, or 429
  TooManyRequests when the budget allows no disruption now (`apiserver/registry/eviction_rest.py`).
  `?dryRun=All` and the Eviction's `deleteOptions.dryRun` must agree; either makes it a dry run.
- `finalize`: PUT of a Namespace, written as an update.
Any other subresource is a 404.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from apimachinery import errors
from apimachinery.kinds import ResourceType
from apiserver.http_api import discovery
from apiserver.http_api.paths import Target, not_found
from apiserver.http_api.responses import (
    dry_run,
    json_response,
    patch_options,
    patch_type,
    read_object,
    write_options,
)
from apiserver.registry.deletion import parse_delete_options
from apiserver.registry.eviction_rest import EvictionREST
from apiserver.registry.patch import apply_patch
from apiserver.registry.store import Registry, WriteOptions, WriteResult

Object = dict[str, Any]
SUCCESS_CREATED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


def selector_string(selector: Object | None) -> str:
    """A LabelSelector as the string form Scale.status.selector carries."""
    selector = selector or {}
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), ",".join(expr.get("values") or [])
        parts.append({"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})",
                      "Exists": f"{key}", "DoesNotExist": f"!{key}"}.get(op, ""))
    return ",".join(p for p in parts if p)


def scale_of(obj: Object) -> Object:
    meta = obj["metadata"]
    return {
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                     if k in meta},
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                   "selector": selector_string((obj.get("spec") or {}).get("selector"))},
    }


class Subresources:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    async def handle(self, request: web.Request, rt: ResourceType, target: Target) -> web.Response:
        sub, method = target.subresource, request.method
        if sub == "status" and rt.has_status:
            return await self._status(request, rt, target)
        if sub == "scale" and (rt.group, rt.plural) in discovery.SCALABLE and method in ("GET", "PUT", "PATCH"):
            return await self._scale(request, rt, target)
        if sub == "binding" and (rt.group, rt.plural) == ("", "pods") and method == "POST":
            return await self._binding(request, target)
        if sub == "eviction" and (rt.group, rt.plural) == ("", "pods") and method == "POST":
            return await self._eviction(request, rt, target)
        if sub == "finalize" and (rt.group, rt.plural) == ("", "namespaces") and method == "PUT":
            obj = await read_object(request)
            result = await self.registry.update(rt, obj, "", target.name, write_options(request))
            return json_response(result.object, 200, result.warnings)
        raise not_found()

    async def _status(self, request: web.Request, rt: ResourceType, target: Target) -> web.Response:
        if request.method == "GET":
            return json_response(await self.registry.get(rt, target.namespace, target.name))
        if request.method == "PUT":
            obj = await read_object(request)
            result = await self.registry.update(rt, obj, target.namespace, target.name, write_options(request),
                                                "status")
        elif request.method == "PATCH":
            kind = patch_type(request)
            result = await self.registry.patch(rt, target.namespace, target.name, kind, await request.read(),
                                               patch_options(request, kind), "status")
        else:
            raise errors.method_not_allowed(f"{request.method} is not allowed on {rt.plural}/status")
        return json_response(result.object, 200, result.warnings)

    async def _scale(self, request: web.Request, rt: ResourceType, target: Target) -> web.Response:
        current = await self.registry.get(rt, target.namespace, target.name)
        if request.method == "GET":
            return json_response(scale_of(current))
        if request.method == "PUT":
            wanted = await read_object(request)
        else:
            kind = patch_type(request)
            wanted = apply_patch(scale_of(current), "merge" if kind == "strategic" else kind,
                                 await request.read(), "Scale", target.name)
        result = await self._set_replicas(rt, target, wanted, write_options(request))
        return json_response(scale_of(result.object), 200, result.warnings)

    async def _set_replicas(self, rt: ResourceType, target: Target, scale: Object,
                            options: WriteOptions) -> WriteResult:
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or isinstance(replicas, bool):
            raise errors.invalid("Scale", target.name, [errors.FieldError(
                "spec.replicas", errors.FIELD_VALUE_INVALID, "must be an integer", replicas)], "autoscaling")
        patch: Object = {"spec": {"replicas": replicas}}
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        if rv:
            patch["metadata"] = {"resourceVersion": rv}
        return await self.registry.patch(rt, target.namespace, target.name, "merge", orjson.dumps(patch),
                                         options, "scale")  # managedFields: the writer, with subresource scale

    async def _eviction(self, request: web.Request, rt: ResourceType, target: Target) -> web.Response:
        eviction = await read_object(request)
        named = (eviction.get("metadata") or {}).get("name")
        if named and named != target.name:
            raise errors.bad_request(f"name in URL does not match name in Eviction object ({named})")
        options = parse_delete_options(_propagate_dry_run(eviction.get("deleteOptions"), dry_run(request)))
        await EvictionREST(self.registry).evict(target.namespace, target.name, options)
        return json_response(SUCCESS_CREATED, 201)

    async def _binding(self, request: web.Request, target: Target) -> web.Response:
        binding = await read_object(request)
        node = (binding.get("target") or {}).get("name")
        if not node:
            raise errors.invalid("Binding", target.name, [errors.FieldError(
                "target.name", errors.FIELD_VALUE_REQUIRED)])
        uid = (binding.get("metadata") or {}).get("uid", "")
        await self.registry.bind(target.namespace, target.name, node, uid)
        return json_response(SUCCESS_CREATED, 201)


def _propagate_dry_run(raw: Any, query_dry_run: bool) -> Object:
    """propagateDryRun: the request's dryRun goes into the Eviction's deleteOptions; both set must agree."""
    options: Object = dict(raw) if isinstance(raw, dict) else {}
    requested = ["All"] if query_dry_run else []
    if not options.get("dryRun"):
        options["dryRun"] = requested
    elif requested and options["dryRun"] != requested:
        raise errors.bad_request(f"Non-matching dry-run options in request and content: {requested} and "
                                 f"{options['dryRun']}")
    return options
