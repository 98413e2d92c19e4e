"""The impersonation and authorization filters of the HTTP API (kube-apiserver's WithImpersonation
and WithAuthorization), as aiohttp middlewares.

Every HTTP request is made by the anonymous user (kubeling has no authentication yet) or by the
user its `Impersonate-*` headers name, if the authorizer lets the requester `impersonate` them
(`apiserver.authorization.impersonation`); that user is stored on the request (`requester`) for
the handlers that report it (the access reviews). Then the request's attributes
(`request_info`) are put to the authorizer: anything but Allow is a 403 Forbidden Status
in Kubernetes' words; an authorizer that failed to evaluate is a 500, as in kube-apiserver.
The order matches kube-apiserver's handler chain: impersonation, then the max-in-flight filter,
then authorization, then the handler.

With `--authorization-mode=AlwaysAllow` (the default) the authorization middleware is not
installed at all: every request would be allowed, so its attributes need not be worked out.

Two deliberate limits:
- `/healthz`, `/livez` and `/readyz` (and their subpaths) skip both filters. kube-apiserver
  authorizes them too (RBAC's system:public-info-viewer opens them to anonymous users, and
  AlwaysDeny would refuse them), but kubeling's own process supervisor (`kubeling up`,
  `kubeling status`) and the test fixtures poll /healthz without credentials, so they are
  served before the filters — as kube-controller-manager and kube-scheduler do with their
  default `--authorization-always-allow-paths=/healthz,/readyz,/livez`.
- The gRPC API (the components' internal wire) is neither authenticated nor authorized.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from apimachinery import errors
from apiserver.authorization import ANONYMOUS, AlwaysAllow, Authorizer, UserInfo
from apiserver.authorization.authorizer import SANITIZE, forbidden
from apiserver.authorization.impersonation import impersonate, wants_impersonation
from apiserver.http_api.request_info import RequestInfoError, request_info
from apiserver.http_api.responses import error_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
USER = web.RequestKey("user", UserInfo)
ALWAYS_ALLOWED_PATHS = ("/healthz", "/livez", "/readyz")
ALWAYS_ALLOWED_SUBPATHS = tuple(path + "/" for path in ALWAYS_ALLOWED_PATHS)


def is_always_allowed(path: str) -> bool:
    """The health endpoints, which kubeling serves to anyone (see the module docstring)."""
    return path in ALWAYS_ALLOWED_PATHS or path.startswith(ALWAYS_ALLOWED_SUBPATHS)


def requester(request: web.Request) -> UserInfo:
    """Who the request acts as: the impersonated user, else anonymous."""
    return request.get(USER, ANONYMOUS)


def impersonation_middleware(authorizer: Authorizer) -> Middleware:
    @web.middleware
    async def act_as(request: web.Request, handler: Handler) -> web.StreamResponse:
        headers = request.headers
        if wants_impersonation(headers.keys()) and not is_always_allowed(request.path):
            try:
                request[USER] = impersonate(headers.items(), ANONYMOUS, authorizer)
            except errors.ApiError as e:
                return error_response(e)
        return await handler(request)
    return act_as


def authorization_middleware(authorizer: Authorizer) -> Middleware | None:
    """The authorization filter, or None when the authorizer allows everything (AlwaysAllow)."""
    if isinstance(authorizer, AlwaysAllow):
        return None

    @web.middleware
    async def authorize(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if is_always_allowed(path):
            return await handler(request)
        try:
            info = request_info(request.method, path, request.query)
        except RequestInfoError as e:
            return internal_error(request, f"failed to create RequestInfo: {e}")
        attributes = info.attributes(requester(request))
        decision = authorizer.authorize(attributes)
        if decision.allowed:
            return await handler(request)
        if decision.evaluation_error:
            return internal_error(request, decision.evaluation_error)
        response = error_response(forbidden(attributes, decision.reason))
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
    return authorize


def internal_error(request: web.Request, error: str) -> web.Response:
    """responsewriters.InternalError: a plain-text 500, not a Status."""
    text = f'Internal Server Error: "{request.path_qs}": {error}'.translate(SANITIZE)
    return web.Response(status=500, text=text, headers={"X-Content-Type-Options": "nosniff"})
