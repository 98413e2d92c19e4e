"""URL parsing of the Kubernetes REST paths (apiserver.http_api.paths)."""

from __future__ import annotations

import pytest

from apimachinery import errors
from apimachinery.kinds import default_registry
from apiserver.http_api.paths import Target, parse_path, resolve


@pytest.mark.parametrize(("path", "target"), [
    ("/api/v1", Target("", "v1")),
    ("/apis/apps/v1", Target("apps", "v1")),
    ("/api/v1/pods", Target("", "v1", "", "pods")),
    ("/api/v1/namespaces/ns/pods", Target("", "v1", "ns", "pods")),
    ("/api/v1/namespaces/ns/pods/p", Target("", "v1", "ns", "pods", "p")),
    ("/api/v1/namespaces/ns/pods/p/binding", Target("", "v1", "ns", "pods", "p", "binding")),
    ("/apis/apps/v1/namespaces/ns/deployments/web/scale", Target("apps", "v1", "ns", "deployments", "web", "scale")),
    ("/api/v1/namespaces", Target("", "v1", "", "namespaces")),
    ("/api/v1/namespaces/team", Target("", "v1", "", "namespaces", "team")),
    ("/api/v1/namespaces/team/status", Target("", "v1", "", "namespaces", "team", "status")),
    ("/api/v1/namespaces/team/finalize", Target("", "v1", "", "namespaces", "team", "finalize")),
    ("/api/v1/nodes/n1/status", Target("", "v1", "", "nodes", "n1", "status")),
])
def test_paths_parse_into_their_parts(path: str, target: Target) -> None:
    assert parse_path(path) == target


@pytest.mark.parametrize("path", ["/", "/api", "/apis/apps", "/healthz", "/api/v1/namespaces/ns/pods/p/status/x"])
def test_non_resource_paths_are_not_found(path: str) -> None:
    with pytest.raises(errors.NotFound, match="could not find the requested resource"):
        parse_path(path)


@pytest.mark.parametrize("path", [
    "/api/v1/widgets",                    # unknown resource
    "/api/v2/pods",                       # wrong version
    "/apis/apps/v1/pods",                 # wrong group
    "/api/v1/namespaces/ns/nodes",        # cluster-scoped under a namespace
    "/api/v1/pods/p",                     # namespaced object without its namespace
])
def test_paths_that_name_no_served_resource_are_not_found(path: str) -> None:
    with pytest.raises(errors.NotFound):
        resolve(default_registry(), parse_path(path))


def test_resolve_finds_the_resource_type() -> None:
    rt = resolve(default_registry(), parse_path("/apis/apps/v1/namespaces/ns/deployments"))
    assert (rt.group, rt.kind) == ("apps", "Deployment")


@pytest.mark.parametrize(("path", "resource"), [
    ("/api/v1/namespaces/default/pods/web", "pods"),
    ("/api/v1/namespaces/default", "namespaces"),
    ("/api/v1/nodes", "nodes"),
    ("/apis/apps/v1/namespaces/default/deployments/web/scale", "deployments"),
    ("/apis/apps/v1", "discovery"),
    ("/version", "nonresource"),
])
def test_requests_are_counted_under_the_resource_they_address(path, resource):
    from apiserver.http_api.responses import metrics_resource

    assert metrics_resource(path) == resource
