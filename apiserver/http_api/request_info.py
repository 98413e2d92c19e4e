"""What an HTTP request asks to do, in the authorizer's terms (k8s.io/apiserver RequestInfoFactory).

`request_info(method, path, query)` is pure: it reads only the method, the (decoded) path and the
query, never the registry, exactly as kube-apiserver's WithRequestInfo filter does before anything
is looked up. So a path that names no served resource is still a resource request and is
authorized (then answered 404), as in Kubernetes.

Resource requests are `/api/<version>/...` and `/apis/<group>/<version>/...` with at least one
part after the version. Their verb comes from the method — POST create, GET and HEAD get, PUT
update, PATCH patch, DELETE delete — then a `get` with no name is `list`, or `watch` when the
query has `watch` set to anything but `0`/`false`; a `delete` with no name is `deletecollection`.
A list or watch with `fieldSelector=metadata.name=<name>` names that object. The deprecated path
verbs `/watch/...` and `/proxy/...` give their verb (proxy takes no subresource). Connect
subresources are not special: `POST pods/x/exec` is `create` on `pods/exec`, `GET pods/x/log`
is `get` on `pods/log`. `namespaces/<name>` is resource `namespaces`, name `<name>` *and*
namespace `<name>`; `namespaces/<name>/status` and `/finalize` are its subresources.

Everything else — `/version`, `/api`, `/apis`, `/api/v1`, `/apis/<group>[/<version>]`,
`/openapi/v2`, `/openapi/v3/...`, `/healthz`, `/metrics` — is a non-resource request whose verb is
the lowercase HTTP method (`get`, `post`, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from apiserver.authorization import Attributes, UserInfo

API_PREFIXES = frozenset({"api", "apis"})
GROUPLESS_PREFIXES = frozenset({"api"})
PATH_VERBS = frozenset({"proxy", "watch"})
PATH_VERBS_WITHOUT_SUBRESOURCES = frozenset({"proxy"})
NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete"}
SELECTOR_OPERATORS = ("!=", "==", "=")


class RequestInfoError(ValueError):
    """A path kube-apiserver cannot make a RequestInfo of (`/api/v1/watch`): a 500 there."""


class RequestInfo(NamedTuple):
    """request.RequestInfo: what the path and method address; `parts` start at the resource."""

    resource_request: bool
    path: str
    verb: str
    api_prefix: str = ""
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    parts: tuple[str, ...] = ()

    def attributes(self, user: UserInfo) -> Attributes:
        """authorizer.AttributesRecord for this request made by `user` (GetAuthorizerAttributes)."""
        if not self.resource_request:
            return Attributes(user, self.verb, False, api_version="", path=self.path)
        return Attributes(user, self.verb, True, self.namespace, self.api_group, self.api_version,
                          self.resource, self.subresource, self.name, self.path)


def request_info(method: str, path: str, query: Mapping[str, str]) -> RequestInfo:
    """The RequestInfo kube-apiserver's RequestInfoFactory makes of this request."""
    parts = path.strip("/").split("/") if path.strip("/") else []
    non_resource = RequestInfo(False, path, method.lower())
    if len(parts) < 3 or parts[0] not in API_PREFIXES:
        return non_resource
    prefix, group, rest = parts[0], "", parts[1:]
    if prefix not in GROUPLESS_PREFIXES:
        if len(rest) < 3:
            return non_resource
        group, rest = rest[0], rest[1:]
    version, rest = rest[0], rest[1:]
    if rest[0] in PATH_VERBS:
        if len(rest) < 2:
            raise RequestInfoError(f"unable to determine kind and namespace from url, {path}")
        verb, rest = rest[0], rest[1:]
    else:
        verb = METHOD_VERBS.get(method.upper(), "")
    namespace, rest = _namespace(rest)
    resource, name, subresource = _addressed(rest, verb)
    if not name:
        verb, name = _collection_verb(verb, query)
    return RequestInfo(True, path, verb, prefix, group, version, namespace, resource, subresource, name, tuple(rest))


def _namespace(rest: list[str]) -> tuple[str, list[str]]:
    """The namespace a path is in, and its parts from the resource on (`namespaces/x` stays whole)."""
    if rest[0] != "namespaces" or len(rest) < 2:
        return "", rest
    if len(rest) > 2 and rest[2] not in NAMESPACE_SUBRESOURCES:
        return rest[1], rest[2:]
    return rest[1], rest


def _addressed(parts: list[str], verb: str) -> tuple[str, str, str]:
    """Resource, name and subresource of resource/name/subresource/anything-else."""
    subresource = parts[2] if len(parts) >= 3 and verb not in PATH_VERBS_WITHOUT_SUBRESOURCES else ""
    return parts[0] if parts else "", parts[1] if len(parts) >= 2 else "", subresource


def _collection_verb(verb: str, query: Mapping[str, str]) -> tuple[str, str]:
    """A get with no name is a list or a watch (maybe of one name); a delete with none a deletecollection."""
    if verb == "delete":
        return "deletecollection", ""
    if verb != "get":
        return verb, ""
    watch = query.get("watch")
    verb = "watch" if watch is not None and watch.lower() not in ("0", "false") else "list"
    return verb, _selected_name(query.get("fieldSelector"))


def _selected_name(selector: str | None) -> str:
    """The name `fieldSelector=metadata.name=<name>` (or `==`) requires, if it is a valid path segment."""
    if not selector:
        return ""
    for term in _split_unescaped(selector, ","):
        key, operator, value = _split_term(term)
        if key == "metadata.name" and operator in ("=", "=="):
            name = _unescape(value)
            return "" if name in (".", "..") or "/" in name or "%" in name else name
    return ""


def _split_unescaped(text: str, separator: str) -> list[str]:
    pieces, current, escaped = [], "", False
    for char in text:
        if char == separator and not escaped:
            pieces.append(current)
            current = ""
            continue
        current += char
        escaped = char == "\\" and not escaped
    return [*pieces, current]


def _split_term(term: str) -> tuple[str, str, str]:
    """`key<op>value` at the first unescaped operator; ("", "", "") when there is none."""
    escaped = False
    for i, char in enumerate(term):
        if not escaped:
            for operator in SELECTOR_OPERATORS:
                if term.startswith(operator, i):
                    return term[:i], operator, term[i + len(operator):]
        escaped = char == "\\" and not escaped
    return "", "", ""


def _unescape(value: str) -> str:
    out, escaped = "", False
    for char in value:
        if char == "\\" and not escaped:
            escaped = True
            continue
        out, escaped = out + char, False
    return out
