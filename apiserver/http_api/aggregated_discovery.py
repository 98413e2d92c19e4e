"""Aggregated discovery (apidiscovery.k8s.io/v2, and v2beta1), as kube-apiserver 1.30+ serves it.

A client that sends `Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`
to `/api` or `/apis` gets every group, version, resource and subresource in one
APIGroupDiscoveryList, instead of fetching `/apis/<group>/<version>` once per group version.
The answer's Content-Type names the profile it is in, which is how client-go tells the two forms
apart. Any other Accept (plain `application/json`, an unknown profile) gets the unaggregated
document, as upstream falls back. Built from `discovery.served_types` and
`discovery.subresources`, the same source as the unaggregated documents.
"""

from __future__ import annotations

from typing import Any

from apimachinery.kinds import KindRegistry, ResourceType
from apiserver.http_api import discovery

GROUP = "apidiscovery.k8s.io"
VERSIONS = ("v2", "v2beta1")  # served profiles, most preferred first
LIST_KIND = "APIGroupDiscoveryList"


def content_type(version: str) -> str:
    return f"application/json;g={GROUP};v={version};as={LIST_KIND}"


def _media_params(clause: str) -> tuple[str, dict[str, str]]:
    media, *params = (part.strip() for part in clause.split(";"))
    parsed = {}
    for param in params:
        key, _, value = param.partition("=")
        parsed[key.strip().lower()] = value.strip().strip('"')
    return media.lower(), parsed


def negotiate(accept: str) -> str | None:
    """The discovery version the Accept header asks for first (v2 or v2beta1), or None for the
    unaggregated document. Clauses with q=0 are refused, as in any HTTP negotiation."""
    for clause in accept.split(","):
        media, params = _media_params(clause)
        if media not in ("application/json", "*/*") or params.get("q") in ("0", "0.0"):
            continue
        if params.get("g") == GROUP and params.get("as") == LIST_KIND and params.get("v") in VERSIONS:
            return params["v"]
    return None


def group_discovery_list(kinds: KindRegistry, legacy: bool, version: str) -> dict[str, Any]:
    """`/api` (legacy=True: the core group only) or `/apis` (every named group) as a list."""
    versions = discovery.group_versions(kinds)
    groups = [""] if legacy else sorted(g for g in versions if g)
    items = [_group(kinds, group, versions.get(group, [])) for group in groups]
    return {"kind": LIST_KIND, "apiVersion": f"{GROUP}/{version}", "metadata": {}, "items": items}


def _group(kinds: KindRegistry, group: str, versions: list[str]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"creationTimestamp": None}
    if group:
        metadata["name"] = group
    return {"metadata": metadata,
            "versions": [{"version": v, "resources": [_resource(rt) for rt in discovery.resources_of(kinds, group, v)],
                          "freshness": "Current"} for v in versions]}


def _resource(rt: ResourceType) -> dict[str, Any]:
    """APIResourceDiscovery; responseKind's group/version are "" for the parent's own, as upstream."""
    entry: dict[str, Any] = {"resource": rt.plural, "responseKind": {"group": "", "version": "", "kind": rt.kind},
                             "scope": "Namespaced" if rt.namespaced else "Cluster",
                             "singularResource": rt.singular, "verbs": list(rt.verbs)}
    if rt.short_names:
        entry["shortNames"] = list(rt.short_names)
    if rt.categories:
        entry["categories"] = list(rt.categories)
    subs = [{"subresource": sub.name, "responseKind": {"group": sub.group, "version": sub.version, "kind": sub.kind},
             "verbs": list(sub.verbs)} for sub in discovery.subresources(rt)]
    if subs:
        entry["subresources"] = subs
    return entry
