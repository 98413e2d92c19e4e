"""Pure URL parsing for the Kubernetes REST paths kubeling serves.

`parse_path` turns `/api/v1/...` and `/apis/<group>/<version>/...` into a `Target` naming the
group, version, namespace, resource, name and subresource, without looking anything up;
`resolve` then finds the `ResourceType` and checks the path's shape against it (a namespaced
resource addressed by name without a namespace, or a cluster-scoped one under `namespaces/`,
is a 404 as in Kubernetes). Anything else is a 404 Status with Kubernetes' message.
"""

from __future__ import annotations

from dataclasses import dataclass

from apimachinery import errors
from apimachinery.kinds import KindRegistry, ResourceType

NOT_FOUND_TEXT = "the server could not find the requested resource"
NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclass(frozen=True)
class Target:
    """What a request path addresses; `plural == ""` means the group-version root (discovery)."""

    group: str
    version: str
    namespace: str = ""
    plural: str = ""
    name: str = ""
    subresource: str = ""

    @property
    def is_collection(self) -> bool:
        return bool(self.plural) and not self.name


def not_found() -> errors.ApiError:
    return errors.NotFound(404, errors.REASON_NOT_FOUND, NOT_FOUND_TEXT, {})


def parse_path(path: str) -> Target:
    """Split a request path into its parts; NotFound for anything that is not an API path."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise not_found()
    return _parse_rest(group, version, rest)


def _parse_rest(group: str, version: str, rest: list[str]) -> Target:
    if not rest:
        return Target(group, version)
    if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in NAMESPACE_SUBRESOURCES):
        namespace, rest = rest[1], rest[2:]
    else:
        namespace = ""
    if len(rest) > 3:
        raise not_found()
    plural, name, subresource = ([*rest, "", ""])[:3]
    return Target(group, version, namespace, plural, name, subresource)


def resolve(kinds: KindRegistry, target: Target) -> ResourceType:
    """The resource type a target addresses, or the 404 Kubernetes gives for a path that is not served."""
    rt = kinds.get(target.group, target.plural)
    if rt is None or rt.version != target.version:
        raise not_found()
    if target.namespace and not rt.namespaced:
        raise not_found()
    if rt.namespaced and target.name and not target.namespace:
        raise not_found()
    return rt
