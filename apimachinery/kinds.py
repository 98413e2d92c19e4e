"""The kind registry: how every kind is addressed, defaulted and validated.

A `ResourceType` is lightkube's "descriptor" idea plus Kubernetes' registry "strategy": it says
how a kind is addressed (group, version, plural, namespaced, short names) and carries the
kind-specific hooks the generic apiserver calls (defaulting, semantic validation on create and
update). Everything else about a kind — storage, watch, selectors, patching — is generic, which
is why a CustomResourceDefinition can later register a new kind with no new code.

Built-in kinds register themselves from `apimachinery/api/*.py`; `default_registry()` returns a
registry holding all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from apimachinery.errors import FieldError, bad_request

Object = dict[str, Any]
Defaulter = Callable[[Object], None]
CreateValidator = Callable[[Object], list[FieldError]]
UpdateValidator = Callable[[Object, Object], list[FieldError]]


def _no_defaults(obj: Object) -> None:
    return None


def _no_errors(obj: Object) -> list[FieldError]:
    return []


def _no_update_errors(new: Object, old: Object) -> list[FieldError]:
    return []


@dataclass(frozen=True)
class ResourceType:
    """One kind as the API serves it, e.g. apps/v1 Deployment at .../deployments."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    has_status: bool = True
    # Most kinds drop a client's status on create (it is the controllers' to write); Node keeps it.
    create_keeps_status: bool = False
    # Name of the OpenAPI definition used for structural validation, e.g. "io.k8s.api.core.v1.Pod".
    schema_ref: str | None = None
    # Strategy hooks. `default` mutates in place; validators return every error they find.
    default: Defaulter = _no_defaults
    validate: CreateValidator = _no_errors
    validate_update: UpdateValidator = _no_update_errors
    # Spec fields (dotted paths) that are in the schema but kubeling does not emulate: accepted,
    # stored, and answered with a warning.
    not_emulated: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
    # Field selectors this kind supports beyond metadata.name / metadata.namespace.
    selectable_fields: tuple[str, ...] = field(default=())

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def group_resource(self) -> str:
        """`deployments.apps`, `pods` — how Kubernetes names a resource in messages and keys."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def key_prefix(self, namespace: str = "") -> str:
        """The etcd key prefix: /registry/<resource>/[<namespace>/]."""
        prefix = f"/registry/{self.group_resource}/"
        if self.namespaced and namespace:
            prefix += f"{namespace}/"
        return prefix

    def key(self, namespace: str, name: str) -> str:
        if self.namespaced:
            return f"/registry/{self.group_resource}/{namespace}/{name}"
        return f"/registry/{self.group_resource}/{name}"


class KindRegistry:
    """Lookup of served kinds by resource name, by apiVersion+kind, and by short name."""

    def __init__(self, types: Iterable[ResourceType] = ()) -> None:
        self._by_resource: dict[tuple[str, str], ResourceType] = {}
        self._by_kind: dict[tuple[str, str], ResourceType] = {}
        for rt in types:
            self.register(rt)

    def register(self, rt: ResourceType) -> None:
        self._by_resource[(rt.group, rt.plural)] = rt
        self._by_kind[(rt.api_version, rt.kind)] = rt

    def unregister(self, rt: ResourceType) -> None:
        self._by_resource.pop((rt.group, rt.plural), None)
        self._by_kind.pop((rt.api_version, rt.kind), None)

    def all(self) -> list[ResourceType]:
        return list(self._by_resource.values())

    def get(self, group: str, plural: str) -> ResourceType | None:
        return self._by_resource.get((group, plural))

    def for_object(self, obj: Object) -> ResourceType:
        """The type named by an object's apiVersion and kind, or BadRequest naming the problem."""
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not api_version or not isinstance(api_version, str):
            raise bad_request("Object 'apiVersion' is missing in the request body")
        if not kind or not isinstance(kind, str):
            raise bad_request("Object 'Kind' is missing in the request body")
        rt = self._by_kind.get((api_version, kind))
        if rt is None:
            raise bad_request(f'no kind "{kind}" is registered for version "{api_version}"')
        return rt

    def resolve(self, name: str) -> ResourceType:
        """Resolve what a user types — `pods`, `pod`, `po`, `deployments.apps`, `Deployment` — to a type."""
        resource, _, group = name.partition(".")
        lowered = resource.lower()
        for rt in self._by_resource.values():
            if group and rt.group != group:
                continue
            if lowered in (rt.plural, rt.singular) or lowered in rt.short_names:
                return rt
        raise bad_request(f'the server doesn\'t have a resource type "{name}"')


def default_registry() -> KindRegistry:
    """A registry with every built-in kind (core, apps, batch, coordination, ...)."""
    from apimachinery.api import builtin_types

    return KindRegistry(builtin_types())
