"""Aggregated discovery over HTTP: kubectl reads every group version from /api and /apis in two
requests, and a client that does not ask for it still gets the unaggregated documents."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.integration.http_api.conftest import kubectl

pytestmark = pytest.mark.integration
V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
DEPLOYMENT = json.dumps({
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
})


@pytest.fixture
async def http(apiserver) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(f"http://127.0.0.1:{apiserver.http_port}") as session:
        yield session


async def test_kubectl_api_resources_fetches_discovery_in_two_aggregated_requests(kubeconfig: Path) -> None:
    result = await asyncio.to_thread(kubectl, kubeconfig, "api-resources", "-v=8")
    assert result.returncode == 0, result.stderr
    requests = re.findall(r"GET http://[^/]+(/\S*?)(?:\?|\s)", result.stderr)
    assert sorted(set(requests)) == ["/api", "/apis"]
    assert f"Content-Type: {V2}" in result.stderr
    names = {line.split()[0] for line in result.stdout.splitlines()[1:]}
    assert {"pods", "deployments", "selfsubjectaccessreviews", "selfsubjectreviews"} <= names


async def test_kubectl_get_all_lists_the_kinds_in_the_all_category(kubeconfig: Path) -> None:
    created = await asyncio.to_thread(kubectl, kubeconfig, "create", "-f", "-", input=DEPLOYMENT)
    assert created.returncode == 0, created.stderr
    result = await asyncio.to_thread(kubectl, kubeconfig, "get", "all", "-v=6")
    assert result.returncode == 0, result.stderr
    assert "deployment.apps/web" in result.stdout
    assert "service/kubernetes" in result.stdout
    listed = set(re.findall(r"GET http://\S+/namespaces/default/(\w+)\?", result.stderr))
    assert listed == {"pods", "services", "daemonsets", "deployments", "replicasets", "statefulsets", "jobs",
                      "cronjobs"}


@pytest.mark.parametrize(("path", "accept", "profile"), [
    ("/apis", f"{V2},{V2BETA1},application/json", V2),
    ("/api", f"{V2BETA1},application/json", V2BETA1),
])
async def test_an_aggregated_request_is_answered_in_the_profile_it_names(http: aiohttp.ClientSession, path: str,
                                                                         accept: str, profile: str) -> None:
    async with http.get(path, headers={"Accept": accept}) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == profile
        document = json.loads(await response.read())
    assert document["kind"] == "APIGroupDiscoveryList"
    assert document["apiVersion"] == "apidiscovery.k8s.io/" + profile.split("v=")[1].split(";")[0]
    assert document["items"]


@pytest.mark.parametrize("accept", ["application/json", "",
                                    "application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,"
                                    "application/json"])
async def test_any_other_accept_falls_back_to_the_unaggregated_documents(http: aiohttp.ClientSession,
                                                                       accept: str) -> None:
    async with http.get("/apis", headers={"Accept": accept}) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("application/json")
        assert (await response.json())["kind"] == "APIGroupList"
    async with http.get("/api", headers={"Accept": accept}) as response:
        assert (await response.json())["kind"] == "APIVersions"


async def test_the_aggregated_document_has_an_etag_and_answers_304_when_unchanged(
        http: aiohttp.ClientSession) -> None:
    async with http.get("/apis", headers={"Accept": V2}) as response:
        etag = response.headers["ETag"]
        assert response.headers["Vary"] == "Accept"
    async with http.get("/apis", headers={"Accept": V2, "If-None-Match": etag}) as response:
        assert response.status == 304
    async with http.get("/apis", headers={"Accept": V2, "If-None-Match": '"stale"'}) as response:
        assert response.status == 200


async def test_a_named_group_has_its_own_api_group_document(http: aiohttp.ClientSession) -> None:
    async with http.get("/apis/authorization.k8s.io") as response:
        assert response.status == 200
        document = await response.json()
    assert document == {"kind": "APIGroup", "apiVersion": "v1", "name": "authorization.k8s.io",
                        "versions": [{"groupVersion": "authorization.k8s.io/v1", "version": "v1"}],
                        "preferredVersion": {"groupVersion": "authorization.k8s.io/v1", "version": "v1"}}
    async with http.get("/apis/widgets.example.com") as response:
        assert response.status == 404
        assert (await response.json())["reason"] == "NotFound"
