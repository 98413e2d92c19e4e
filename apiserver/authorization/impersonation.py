"""Impersonation (`kubectl --as alice --as-group dev`): acting as another user, if authorized.

As kube-apiserver's WithImpersonation filter: the `Impersonate-User`, `Impersonate-Group`,
`Impersonate-Uid` and `Impersonate-Extra-<key>` headers each ask the authorizer whether the
requester may `impersonate` that user (`users`, or `serviceaccounts` for
`system:serviceaccount:<namespace>:<name>`), group, uid or extra value; the first refusal is a
403. A non-anonymous impersonated user is also in `system:authenticated` (unless a group given
says otherwise); a service account with no groups given is in its fixed groups.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from apimachinery import errors
from apiserver.authorization.authorizer import Attributes, Authorizer, forbidden
from apiserver.authorization.user import ANONYMOUS_USER, UNAUTHENTICATED_GROUP, UserInfo

USER, GROUP, UID, EXTRA_PREFIX = "impersonate-user", "impersonate-group", "impersonate-uid", "impersonate-extra-"
AUTHENTICATED_GROUP = "system:authenticated"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"
AUTHENTICATION = "authentication.k8s.io"


@dataclass(frozen=True)
class Request:
    """One thing to impersonate: a `resource` (users, serviceaccounts, groups, uids, userextras)."""

    resource: str
    name: str
    namespace: str = ""
    extra_key: str = ""

    @property
    def api_group(self) -> str:
        return AUTHENTICATION if self.resource in ("uids", "userextras") else ""


def wants_impersonation(header_names: Iterable[str]) -> bool:
    """Whether any header asks to impersonate (the cheap test every request makes)."""
    return any(name[:12].lower() == "impersonate-" for name in header_names)


def impersonation_requests(headers: Iterable[tuple[str, str]]) -> list[Request]:
    """What the headers ask to impersonate, user first; BadRequest if they name no user."""
    pairs = [(key.lower(), value) for key, value in headers]
    users = [value for key, value in pairs if key == USER]
    others = [Request("groups", value) for key, value in pairs if key == GROUP]
    others += [Request("userextras", value, extra_key=unquote(key[len(EXTRA_PREFIX):]))
               for key, value in pairs if key.startswith(EXTRA_PREFIX)]
    others += [Request("uids", value) for key, value in pairs if key == UID][:1]
    if not users:
        if others:
            references = " ".join(_go_reference(r) for r in others)
            raise errors.bad_request(f"requested [{references}] without impersonating a user")
        return []
    return [_user_request(users[0]), *others]


def _go_reference(request: Request) -> str:
    """The v1.ObjectReference Go's %v prints: {Kind Namespace Name UID APIVersion ResourceVersion FieldPath}."""
    kind = {"groups": "Group", "uids": "UID", "userextras": "UserExtra"}[request.resource]
    api_version = f"{AUTHENTICATION}/v1" if request.api_group else ""
    return "{" + " ".join((kind, "", request.name, "", api_version, "", request.extra_key)) + "}"


def _user_request(name: str) -> Request:
    namespace, _, account = name.removeprefix(SERVICE_ACCOUNT_PREFIX).partition(":")
    if name.startswith(SERVICE_ACCOUNT_PREFIX) and namespace and account and ":" not in account:
        return Request("serviceaccounts", account, namespace)
    return Request("users", name)


def impersonate(headers: Iterable[tuple[str, str]], requester: UserInfo, authorizer: Authorizer) -> UserInfo:
    """The user a request acts as: the requester, or whom it may and does impersonate."""
    requests = impersonation_requests(headers)
    if not requests:
        return requester
    for request in requests:
        attributes = Attributes(requester, "impersonate", True, request.namespace, request.api_group,
                                "v1", request.resource, request.extra_key, request.name)
        decision = authorizer.authorize(attributes)
        if not decision.allowed:
            raise forbidden(attributes, decision.reason)
    return _impersonated(requests)


def _impersonated(requests: list[Request]) -> UserInfo:
    first, rest = requests[0], requests[1:]
    groups = [r.name for r in rest if r.resource == "groups"]
    name = first.name
    if first.resource == "serviceaccounts":
        name = f"{SERVICE_ACCOUNT_PREFIX}{first.namespace}:{first.name}"
        groups = groups or ["system:serviceaccounts", f"system:serviceaccounts:{first.namespace}"]
    if name != ANONYMOUS_USER and not {AUTHENTICATED_GROUP, UNAUTHENTICATED_GROUP} & set(groups):
        groups.append(AUTHENTICATED_GROUP)
    extra: dict[str, tuple[str, ...]] = {}
    for r in rest:
        if r.resource == "userextras":
            extra[r.extra_key] = (*extra.get(r.extra_key, ()), r.name)
    uid = next((r.name for r in rest if r.resource == "uids"), "")
    return UserInfo(name, uid, tuple(groups), extra)
