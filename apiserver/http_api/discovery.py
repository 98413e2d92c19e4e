"""Discovery documents: /version, /api, /apis, /api/v1 and /apis/<group>/<version>.

Everything is generated from the kind registry, so a kind registered later (a CRD) shows up in
discovery with no new code. Only subresources this HTTP API actually serves are listed
(`*/status`, `pods/binding`, `pods/eviction`, `pods/exec`, `pods/log`, `deployments|replicasets|statefulsets/scale`,
`namespaces/finalize`).
Aggregated discovery (apidiscovery.k8s.io/v2) is not served: every answer is plain JSON with
Content-Type application/json, which kubectl accepts and falls back to.
"""

from __future__ import annotations

import platform
from typing import Any

from apimachinery.kinds import KindRegistry, ResourceType

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


def api_versions(server_address: str) -> dict[str, Any]:
    """`/api`: the legacy core group's versions."""
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def api_group_list(kinds: KindRegistry) -> dict[str, Any]:
    """`/apis`: every named group with its versions (the first registered version is preferred)."""
    versions: dict[str, list[str]] = {}
    for rt in kinds.all():
        if rt.group and rt.version not in versions.setdefault(rt.group, []):
            versions[rt.group].append(rt.version)
    groups = []
    for group in sorted(versions):
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions[group]]
        groups.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def has_group_version(kinds: KindRegistry, group: str, version: str) -> bool:
    return any(rt.group == group and rt.version == version for rt in kinds.all())


def api_resource_list(kinds: KindRegistry, group: str, version: str) -> dict[str, Any]:
    """`/api/v1`, `/apis/<g>/<v>`: the resources of one group version, subresources included."""
    resources: list[dict[str, Any]] = []
    for rt in sorted(kinds.all(), key=lambda r: r.plural):
        if rt.group == group and rt.version == version:
            resources.append(_resource(rt))
            resources.extend(_subresources(rt))
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


def _subresources(rt: ResourceType) -> list[dict[str, Any]]:
    def sub(name: str, verbs: list[str], **extra: Any) -> dict[str, Any]:
        return {"name": f"{rt.plural}/{name}", "singularName": "", "namespaced": rt.namespaced,
                "kind": rt.kind, "verbs": verbs, **extra}

    subs = []
    if rt.has_status:
        subs.append(sub("status", SUBRESOURCE_VERBS))
    if (rt.group, rt.plural) == ("", "pods"):
        subs.append(sub("binding", ["create"], kind="Binding"))
        subs.append(sub("eviction", ["create"], kind="Eviction", group="policy", version="v1"))
        subs.append(sub("exec", ["create", "get"], kind="PodExecOptions"))
        subs.append(sub("log", ["get"]))
    if (rt.group, rt.plural) == ("", "namespaces"):
        subs.append(sub("finalize", ["update"]))
    if (rt.group, rt.plural) in SCALABLE:
        subs.append(sub("scale", SUBRESOURCE_VERBS, **SCALE_GVK))
    return subs
