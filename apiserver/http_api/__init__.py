"""The Kubernetes-compatible HTTP API of the kubeling apiserver (what kubectl talks to).

`add_api_routes(app, registry, authorizer, limiter)` adds discovery (`/version`, `/api`, `/apis`, group versions) and
every REST verb on every registered kind (`/api/v1/...`, `/apis/<group>/<version>/...`) to the
apiserver's aiohttp application, behind kube-apiserver's filters in its order: impersonation,
max-in-flight, authorization (`authorization_filter`: every request but the health checks is
put to the authorizer; a refusal is a 403). Responses are Kubernetes JSON; errors are `Status`
objects.
"""

from __future__ import annotations

from aiohttp import web

from apiserver.authorization import AlwaysAllow, Authorizer
from apiserver.http_api.authorization_filter import authorization_middleware, impersonation_middleware
from apiserver.http_api.discovery_routes import add_discovery_routes
from apiserver.http_api.handlers import add_resource_routes
from apiserver.http_api.inflight_filter import inflight_middleware
from apiserver.http_api.openapi import add_openapi_routes
from apiserver.http_api.pod_proxy import add_pod_proxy_routes
from apiserver.http_api.reviews import add_review_routes
from apiserver.inflight import InflightLimiter
from apiserver.registry.store import Registry


def add_api_routes(app: web.Application, registry: Registry, authorizer: Authorizer | None = None,
                   limiter: InflightLimiter | None = None) -> None:
    authorizer = authorizer or AlwaysAllow()
    app.middlewares.append(impersonation_middleware(authorizer))
    if limiter is not None:
        app.middlewares.append(inflight_middleware(limiter))
    authorize = authorization_middleware(authorizer)
    if authorize is not None:
        app.middlewares.append(authorize)
    add_discovery_routes(app, registry.kinds)
    add_pod_proxy_routes(app, registry)  # before the generic /api/{tail} route
    add_review_routes(app, authorizer)  # before the generic /apis/{tail} route
    add_resource_routes(app, registry)
    add_openapi_routes(app, registry.kinds)


__all__ = ["add_api_routes"]
