"""Aggregated discovery documents (apiserver.http_api.aggregated_discovery) and their negotiation."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.kinds import default_registry
from apiserver.http_api import aggregated_discovery as aggregated
from apiserver.http_api import discovery

KUBECTL_ACCEPT = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                  "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")


@pytest.mark.parametrize(("accept", "version"), [
    (KUBECTL_ACCEPT, "v2"),
    ("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json", "v2beta1"),
    ("application/json; g=apidiscovery.k8s.io; v=v2; as=APIGroupDiscoveryList", "v2"),
    ("application/json", None),
    ("", None),
    ("*/*", None),
    ("application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,application/json", None),
    ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;q=0,application/json", None),
    ("application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", None),
])
def test_negotiate_picks_the_first_served_aggregated_profile_or_falls_back(accept: str, version: str | None) -> None:
    assert aggregated.negotiate(accept) == version


def test_the_content_type_names_the_profile() -> None:
    assert aggregated.content_type("v2") == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


def resources(document: dict[str, Any], group: str) -> dict[str, dict[str, Any]]:
    item = next(i for i in document["items"] if i["metadata"].get("name", "") == group)
    return {r["resource"]: r for r in item["versions"][0]["resources"]}


def test_the_core_list_holds_only_the_core_group_without_a_name() -> None:
    document = aggregated.group_discovery_list(default_registry(), True, "v2")
    assert document["kind"] == "APIGroupDiscoveryList"
    assert document["apiVersion"] == "apidiscovery.k8s.io/v2"
    assert [item["metadata"] for item in document["items"]] == [{"creationTimestamp": None}]
    assert document["items"][0]["versions"][0]["version"] == "v1"
    assert document["items"][0]["versions"][0]["freshness"] == "Current"


def test_pods_carry_scope_short_names_categories_and_their_subresources() -> None:
    pods = resources(aggregated.group_discovery_list(default_registry(), True, "v2"), "")["pods"]
    assert pods["responseKind"] == {"group": "", "version": "", "kind": "Pod"}
    assert (pods["scope"], pods["singularResource"], pods["shortNames"], pods["categories"]) == (
        "Namespaced", "pod", ["po"], ["all"])
    subs = {s["subresource"]: s for s in pods["subresources"]}
    assert sorted(subs) == ["attach", "binding", "eviction", "exec", "log", "portforward", "status"]
    assert subs["eviction"]["responseKind"] == {"group": "policy", "version": "v1", "kind": "Eviction"}
    assert subs["exec"]["verbs"] == ["create", "get"]
    assert subs["status"] == {"subresource": "status", "responseKind": {"group": "", "version": "", "kind": "Pod"},
                              "verbs": ["get", "patch", "update"]}


def test_namespaces_are_cluster_scoped_with_finalize() -> None:
    namespaces = resources(aggregated.group_discovery_list(default_registry(), True, "v2"), "")["namespaces"]
    assert namespaces["scope"] == "Cluster"
    assert [s["subresource"] for s in namespaces["subresources"]] == ["finalize", "status"]


def test_deployments_scale_answers_with_autoscaling_v1_scale() -> None:
    deployments = resources(aggregated.group_discovery_list(default_registry(), False, "v2"), "apps")["deployments"]
    scale = next(s for s in deployments["subresources"] if s["subresource"] == "scale")
    assert scale["responseKind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}


def test_a_kind_without_subresources_lists_none() -> None:
    configmaps = resources(aggregated.group_discovery_list(default_registry(), True, "v2"), "")["configmaps"]
    assert "subresources" not in configmaps


def test_the_review_kinds_are_listed_create_only() -> None:
    document = aggregated.group_discovery_list(default_registry(), False, "v2beta1")
    assert document["apiVersion"] == "apidiscovery.k8s.io/v2beta1"
    authorization = resources(document, "authorization.k8s.io")
    assert sorted(authorization) == ["localsubjectaccessreviews", "selfsubjectaccessreviews",
                                     "selfsubjectrulesreviews", "subjectaccessreviews"]
    assert {tuple(r["verbs"]) for r in authorization.values()} == {("create",)}
    assert resources(document, "authentication.k8s.io")["selfsubjectreviews"]["scope"] == "Cluster"


def test_aggregated_and_unaggregated_documents_list_the_same_resources() -> None:
    kinds = default_registry()
    document = aggregated.group_discovery_list(kinds, False, "v2")
    for item in document["items"]:
        group = item["metadata"]["name"]
        for version in item["versions"]:
            flat = discovery.api_resource_list(kinds, group, version["version"])["resources"]
            from_aggregated = [r["resource"] for r in version["resources"]] + [
                f"{r['resource']}/{s['subresource']}" for r in version["resources"] for s in r.get("subresources", [])]
            assert sorted(from_aggregated) == sorted(entry["name"] for entry in flat)
    groups = [item["metadata"]["name"] for item in document["items"]]
    assert groups == [group["name"] for group in discovery.api_group_list(kinds)["groups"]]
