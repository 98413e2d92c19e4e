"""What an HTTP request asks to do, as kube-apiserver's RequestInfoFactory works it out."""

from __future__ import annotations

import pytest

from apiserver.authorization import ANONYMOUS, Attributes
from apiserver.http_api.request_info import RequestInfoError, request_info

# method, path, query -> verb, api group, version, namespace, resource, subresource, name
RESOURCE_REQUESTS = [
    ("GET", "/api/v1/pods", {}, ("list", "", "v1", "", "pods", "", "")),
    ("GET", "/api/v1/namespaces/default/pods", {}, ("list", "", "v1", "default", "pods", "", "")),
    ("GET", "/api/v1/namespaces/default/pods", {"watch": "true"}, ("watch", "", "v1", "default", "pods", "", "")),
    ("GET", "/api/v1/pods", {"watch": "1"}, ("watch", "", "v1", "", "pods", "", "")),
    ("GET", "/api/v1/pods", {"watch": "yes"}, ("watch", "", "v1", "", "pods", "", "")),
    ("GET", "/api/v1/pods", {"watch": "False"}, ("list", "", "v1", "", "pods", "", "")),
    ("GET", "/api/v1/pods", {"watch": "0"}, ("list", "", "v1", "", "pods", "", "")),
    ("HEAD", "/api/v1/namespaces/default/pods/web", {}, ("get", "", "v1", "default", "pods", "", "web")),
    ("GET", "/api/v1/namespaces/default/pods/web", {"watch": "1"}, ("get", "", "v1", "default", "pods", "", "web")),
    ("POST", "/api/v1/namespaces/default/pods", {}, ("create", "", "v1", "default", "pods", "", "")),
    ("PUT", "/api/v1/namespaces/default/pods/web/status", {},
     ("update", "", "v1", "default", "pods", "status", "web")),
    ("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale", {},
     ("patch", "apps", "v1", "default", "deployments", "scale", "web")),
    ("DELETE", "/apis/apps/v1/namespaces/default/deployments/web", {},
     ("delete", "apps", "v1", "default", "deployments", "", "web")),
    ("DELETE", "/apis/apps/v1/namespaces/default/deployments", {},
     ("deletecollection", "apps", "v1", "default", "deployments", "", "")),
    ("GET", "/apis/apps/v1/deployments", {"watch": "true"}, ("watch", "apps", "v1", "", "deployments", "", "")),
    ("POST", "/api/v1/namespaces/default/pods/web/exec", {},
     ("create", "", "v1", "default", "pods", "exec", "web")),
    ("GET", "/api/v1/namespaces/default/pods/web/exec", {}, ("get", "", "v1", "default", "pods", "exec", "web")),
    ("POST", "/api/v1/namespaces/default/pods/web/portforward", {},
     ("create", "", "v1", "default", "pods", "portforward", "web")),
    ("GET", "/api/v1/namespaces/default/pods/web/log", {}, ("get", "", "v1", "default", "pods", "log", "web")),
    ("GET", "/api/v1/namespaces/default/pods/web/proxy/metrics", {},
     ("get", "", "v1", "default", "pods", "proxy", "web")),
    ("GET", "/api/v1/namespaces", {}, ("list", "", "v1", "", "namespaces", "", "")),
    ("DELETE", "/api/v1/namespaces/x", {}, ("delete", "", "v1", "x", "namespaces", "", "x")),
    ("GET", "/api/v1/namespaces/x", {}, ("get", "", "v1", "x", "namespaces", "", "x")),
    ("PUT", "/api/v1/namespaces/x/finalize", {}, ("update", "", "v1", "x", "namespaces", "finalize", "x")),
    ("PATCH", "/api/v1/namespaces/x/status", {}, ("patch", "", "v1", "x", "namespaces", "status", "x")),
    ("GET", "/api/v1/nodes/n1/proxy/stats", {}, ("get", "", "v1", "", "nodes", "proxy", "n1")),
    ("GET", "/api/v1/watch/namespaces/default/pods", {}, ("watch", "", "v1", "default", "pods", "", "")),
    ("GET", "/api/v1/watch/namespaces/default/pods/web", {}, ("watch", "", "v1", "default", "pods", "", "web")),
    ("GET", "/api/v1/proxy/namespaces/default/pods/web/metrics", {},
     ("proxy", "", "v1", "default", "pods", "", "web")),
    ("GET", "/api/v1/namespaces/default/pods", {"fieldSelector": "metadata.name=web"},
     ("list", "", "v1", "default", "pods", "", "web")),
    ("GET", "/api/v1/namespaces/default/pods", {"fieldSelector": "spec.nodeName=n1,metadata.name==web", "watch": "1"},
     ("watch", "", "v1", "default", "pods", "", "web")),
    ("GET", "/api/v1/namespaces/default/pods", {"fieldSelector": "metadata.name!=web"},
     ("list", "", "v1", "default", "pods", "", "")),
    ("GET", "/api/v1/namespaces/default/pods", {"fieldSelector": "metadata.name=.."},
     ("list", "", "v1", "default", "pods", "", "")),
    ("GET", "/apis/apps/v1/namespaces/default/unknowns", {}, ("list", "apps", "v1", "default", "unknowns", "", "")),
    ("OPTIONS", "/api/v1/pods", {}, ("", "", "v1", "", "pods", "", "")),
]


@pytest.mark.parametrize(("method", "path", "query", "expected"), RESOURCE_REQUESTS,
                         ids=[f"{m} {p} {q}" for m, p, q, _ in RESOURCE_REQUESTS])
def test_a_resource_request_names_its_verb_and_what_it_addresses(
        method: str, path: str, query: dict[str, str], expected: tuple[str, ...]) -> None:
    info = request_info(method, path, query)
    assert info.resource_request is True
    assert (info.verb, info.api_group, info.api_version, info.namespace, info.resource, info.subresource,
            info.name) == expected


NON_RESOURCE_REQUESTS = [
    ("GET", "/version", "get"), ("GET", "/api", "get"), ("GET", "/api/v1", "get"), ("GET", "/apis", "get"),
    ("GET", "/apis/apps", "get"), ("GET", "/apis/apps/v1", "get"), ("GET", "/openapi/v2", "get"),
    ("GET", "/openapi/v3/apis/apps/v1", "get"), ("GET", "/healthz", "get"), ("GET", "/metrics", "get"),
    ("POST", "/version", "post"), ("HEAD", "/", "head"), ("DELETE", "/logs", "delete"),
]


@pytest.mark.parametrize(("method", "path", "verb"), NON_RESOURCE_REQUESTS,
                         ids=[f"{m} {p}" for m, p, _ in NON_RESOURCE_REQUESTS])
def test_anything_else_is_a_non_resource_request_with_the_lowercase_method(method: str, path: str, verb: str) -> None:
    info = request_info(method, path, {})
    assert (info.resource_request, info.verb, info.path) == (False, verb, path)
    assert (info.resource, info.namespace, info.name) == ("", "", "")


def test_a_path_verb_with_nothing_after_it_cannot_be_made_a_request_info() -> None:
    with pytest.raises(RequestInfoError, match="unable to determine kind and namespace from url, /api/v1/watch"):
        request_info("GET", "/api/v1/watch", {})


def test_a_resource_request_becomes_the_attributes_the_authorizer_is_asked() -> None:
    info = request_info("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale", {})
    assert info.attributes(ANONYMOUS) == Attributes(
        ANONYMOUS, "patch", True, "default", "apps", "v1", "deployments", "scale", "web",
        "/apis/apps/v1/namespaces/default/deployments/web/scale")


def test_a_non_resource_request_becomes_attributes_with_only_verb_and_path() -> None:
    assert request_info("GET", "/version", {}).attributes(ANONYMOUS) == Attributes(
        ANONYMOUS, "get", False, api_version="", path="/version")
