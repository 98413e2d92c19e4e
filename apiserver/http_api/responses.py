"""Request decoding and response encoding shared by every HTTP API handler.

Guarantees: every response is `application/json`; every `ApiError` leaves as its Kubernetes
`Status` with the error's HTTP code; any other exception leaves as a 500 InternalError Status
(and is logged); warnings leave as `Warning: 299 - "<text>"` headers, as kube-apiserver sends
them. Bodies are JSON, (Content-Type application/yaml) YAML or (application/vnd.kubernetes.protobuf,
what client-go's typed clients send) protobuf, decoded to the same JSON shape; a body that does not
parse is a 400 BadRequest naming the problem; a CBOR body is a 415 (not decoded).
Writes carry a field manager: `?fieldManager=`, else the User-Agent's product (`kubectl`), as
kube-apiserver defaults it; a server-side apply (`application/apply-patch+yaml`) must name one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import orjson
import yaml
from aiohttp import web

from apimachinery import errors
from apiserver import metrics
from apiserver.http_api import protobuf_codec
from apiserver.registry import field_manager, objects
from apiserver.registry.patch import APPLY
from apiserver.registry.store import WriteOptions, decode_body

log = logging.getLogger(__name__)
JSON = "application/json"
PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/json-patch+json": "json",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": APPLY,
}
APPLY_PATCH = "application/apply-patch+yaml"
OPTIONS_KINDS = {"POST": "CreateOptions", "PUT": "UpdateOptions", "PATCH": "PatchOptions"}


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Object = dict[str, Any]


def warning_headers(warnings: list[str]) -> list[tuple[str, str]]:
    return [("Warning", '299 - "' + w.replace('"', "'") + '"') for w in warnings]


def raw_response(body: bytes, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    response = web.Response(body=body, status=status, content_type=JSON)
    for key, value in warning_headers(warnings or []):
        response.headers.add(key, value)
    return response


def json_response(obj: Any, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    return raw_response(orjson.dumps(obj), status, warnings)


def error_response(error: errors.ApiError) -> web.Response:
    response = json_response(error.to_status(), error.code)
    retry_after = (error.details or {}).get("retryAfterSeconds")
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def guarded(handler: Handler) -> Handler:
    """Wrap a handler so that every failure becomes a Kubernetes Status response, and count it
    in the same apiserver_request_* metrics as the gRPC API (verb = the HTTP method)."""
    async def wrapper(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        response = await _answer(handler, request)
        resource = metrics_resource(request.path)
        metrics.REQUESTS.labels(request.method, resource, str(response.status)).inc()
        metrics.LATENCY.labels(request.method, resource).observe(time.perf_counter() - started)
        return response
    return wrapper


def metrics_resource(path: str) -> str:
    """The resource a request path addresses, for metric labels: /api/v1/namespaces/d/pods/x → pods."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"]:
        parts = parts[2:]
    elif parts[:1] == ["apis"]:
        parts = parts[3:]
    else:
        return "nonresource"
    if parts[:1] == ["namespaces"] and len(parts) > 2:
        parts = parts[2:]
    return parts[0] if parts else "discovery"


async def _answer(handler: Handler, request: web.Request) -> web.StreamResponse:
    try:
        return await handler(request)
    except errors.ApiError as e:
        return error_response(e)
    except (asyncio.CancelledError, web.HTTPException, ConnectionResetError):
        raise
    except Exception as e:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(errors.internal(f"{type(e).__name__}: {e}"))


async def read_object(request: web.Request) -> Object:
    """The request body as an object: YAML when the Content-Type says so, else JSON."""
    raw = await request.read()
    if protobuf_codec.is_protobuf(request.content_type):
        objects.check_size(len(raw))
        return protobuf_codec.decode(raw)
    if "protobuf" in request.content_type or "cbor" in request.content_type:
        raise errors.ApiError(415, errors.REASON_UNSUPPORTED_MEDIA_TYPE,
                              f'the body of the request was in an unknown format - accepted media types include: '
                              f'application/json, application/yaml, {protobuf_codec.MEDIA_TYPE} '
                              f'(got "{request.content_type}")')
    if "yaml" not in request.content_type:
        return decode_body(raw)
    objects.check_size(len(raw))
    try:
        obj = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        raise errors.bad_request(f"the request body is not valid YAML: {e}") from None
    if not isinstance(obj, dict):
        raise errors.bad_request("the request body must be a YAML mapping (an object)")
    return obj


def query_int(request: web.Request, name: str, default: int | None = None) -> int | None:
    value = request.query.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise errors.bad_request(f'{name}: Invalid value: "{value}": must be an integer') from None


def query_bool(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("1", "true", "yes")


def dry_run(request: web.Request) -> bool:
    values = request.query.getall("dryRun", [])
    for value in values:
        if value != "All":
            raise errors.bad_request(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return bool(values)


def write_options(request: web.Request) -> WriteOptions:
    """dryRun, fieldValidation (unset is Warn, kube-apiserver's default) and the field manager."""
    manager = request.query.get("fieldManager", "")
    if manager:
        field_manager.validate_field_manager(manager, OPTIONS_KINDS.get(request.method, "UpdateOptions"))
    else:
        manager = field_manager.manager_from_user_agent(request.headers.get("User-Agent", ""))
    return WriteOptions(dry_run=dry_run(request), field_validation=request.query.get("fieldValidation") or "Warn",
                        field_manager=manager)


def patch_options(request: web.Request, kind: str) -> WriteOptions:
    """ValidatePatchOptions: `force` only on an apply, which needs an explicit fieldManager."""
    options = write_options(request)
    if kind != APPLY:
        if "force" in request.query:
            raise errors.invalid("PatchOptions", "", [errors.FieldError(
                "force", errors.FIELD_VALUE_FORBIDDEN, "may not be specified for non-apply patch")], "meta.k8s.io")
        return options
    manager = request.query.get("fieldManager", "")
    field_manager.require_apply_manager(manager)
    return replace(options, field_manager=manager, force=query_bool(request, "force"))


def patch_type(request: web.Request) -> str:
    content_type = request.content_type
    if content_type not in PATCH_TYPES:
        raise errors.ApiError(415, errors.REASON_UNSUPPORTED_MEDIA_TYPE,
                              f'the body of the request was in an unknown format - accepted media types include: '
                              f'{", ".join(PATCH_TYPES)}')
    return PATCH_TYPES[content_type]
