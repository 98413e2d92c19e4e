"""Discovery documents: /version, /api, /apis, /apis/<group>, /api/v1 and /apis/<group>/<version>.

Everything is generated from the kind registry (plus the virtual, create-only review kinds of
`apiserver.authorization.reviews`), so a kind registered later (a CRD) shows up in discovery with
no new code. `served_types` and `subresources` are the one source for both forms of discovery:
the unaggregated documents here and the aggregated ones (`aggregated_discovery`). Only
subresources this HTTP API actually serves are listed (`*/status`, `pods/attach`, `pods/binding`,
`pods/eviction`, `pods/exec`, `pods/log`, `pods/portforward`, `deployments|replicasets|statefulsets/scale`,
`namespaces/finalize`).
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from typing import Any

from apimachinery.kinds import KindRegistry, ResourceType
from apiserver.authorization.reviews import REVIEW_TYPES

SERVER_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-kubeling",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": f"python{platform.python_version()}",
    "compiler": "cpython",
    "platform": f"{platform.system().lower()}/{platform.machine().replace('x86_64', 'amd64')}",
}
SCALABLE = {("apps", "deployments"), ("apps", "replicasets"), ("apps", "statefulsets")}
SCALE_GVK = {"group": "autoscaling", "version": "v1", "kind": "Scale"}
SUBRESOURCE_VERBS = ["get", "patch", "update"]


@dataclass(frozen=True)
class Subresource:
    """One subresource of a kind: its name, verbs and the kind it answers with. `group` and
    `version` are "" when that kind is in the parent's group version (as discovery writes it)."""

    name: str
    verbs: tuple[str, ...]
    kind: str
    group: str = ""
    version: str = ""


def served_types(kinds: KindRegistry) -> list[ResourceType]:
    """Every kind the HTTP API serves: the registry's, then the virtual review kinds."""
    stored = kinds.all()
    known = {(rt.group, rt.plural) for rt in stored}
    return stored + [rt for rt in REVIEW_TYPES if (rt.group, rt.plural) not in known]


def group_versions(kinds: KindRegistry) -> dict[str, list[str]]:
    """group → its versions, in registration order (the first is preferred); "" is the core group."""
    versions: dict[str, list[str]] = {}
    for rt in served_types(kinds):
        if rt.version not in versions.setdefault(rt.group, []):
            versions[rt.group].append(rt.version)
    return versions


def resources_of(kinds: KindRegistry, group: str, version: str) -> list[ResourceType]:
    return sorted((rt for rt in served_types(kinds) if rt.group == group and rt.version == version),
                  key=lambda rt: rt.plural)


def subresources(rt: ResourceType) -> list[Subresource]:
    """The subresources of a kind that this HTTP API serves, sorted by name."""
    subs = []
    if rt.has_status:
        subs.append(Subresource("status", tuple(SUBRESOURCE_VERBS), rt.kind))
    if (rt.group, rt.plural) == ("", "pods"):
        subs += [Subresource("attach", ("create", "get"), "PodAttachOptions"),
                 Subresource("binding", ("create",), "Binding"),
                 Subresource("eviction", ("create",), "Eviction", "policy", "v1"),
                 Subresource("exec", ("create", "get"), "PodExecOptions"),
                 Subresource("log", ("get",), "Pod"),
                 Subresource("portforward", ("create", "get"), "PodPortForwardOptions")]
    if (rt.group, rt.plural) == ("", "namespaces"):
        subs.append(Subresource("finalize", ("update",), "Namespace"))
    if (rt.group, rt.plural) in SCALABLE:
        subs.append(Subresource("scale", tuple(SUBRESOURCE_VERBS), **SCALE_GVK))
    return sorted(subs, key=lambda sub: sub.name)


def api_versions(server_address: str) -> dict[str, Any]:
    """`/api`: the legacy core group's versions."""
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def api_group_list(kinds: KindRegistry) -> dict[str, Any]:
    """`/apis`: every named group with its versions (the first registered version is preferred)."""
    versions = group_versions(kinds)
    groups = [_group(group, versions[group]) for group in sorted(g for g in versions if g)]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(kinds: KindRegistry, group: str) -> dict[str, Any] | None:
    """`/apis/<group>`: one named group, or None if it is not served."""
    versions = group_versions(kinds).get(group) if group else None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(group, versions)} if versions else None


def _group(group: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def has_group_version(kinds: KindRegistry, group: str, version: str) -> bool:
    return version in group_versions(kinds).get(group, [])


def api_resource_list(kinds: KindRegistry, group: str, version: str) -> dict[str, Any]:
    """`/api/v1`, `/apis/<g>/<v>`: the resources of one group version, subresources included."""
    resources: list[dict[str, Any]] = []
    for rt in resources_of(kinds, group, version):
        resources.append(_resource(rt))
        resources.extend(_subresource(rt, sub) for sub in subresources(rt))
    group_version = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}


def _resource(rt: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
                             "kind": rt.kind, "verbs": list(rt.verbs)}
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    return entry


def _subresource(rt: ResourceType, sub: Subresource) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": f"{rt.plural}/{sub.name}", "singularName": "", "namespaced": rt.namespaced}
    if sub.group or sub.version:
        entry.update(group=sub.group, version=sub.version)
    return {**entry, "kind": sub.kind, "verbs": list(sub.verbs)}
