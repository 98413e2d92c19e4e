"""Every HTTP API request is put to the authorizer before its handler runs (kube-apiserver's
WithAuthorization filter), as the user it impersonates; a refusal is Kubernetes' 403 Status.
A recording authorizer shows what it is asked; /healthz, /livez and /readyz are never asked."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from apiserver.authorization import ANONYMOUS, Attributes, Authorizer, Decision, Rules, UserInfo, Verdict
from tests.integration.http_api.conftest import kubectl

pytestmark = pytest.mark.integration
EVERYTHING_IS_FORBIDDEN = "Everything is forbidden."


class Recording:
    """Allows what `refuse` does not (answering NoOpinion, as AlwaysDeny does) and records every question."""

    def __init__(self) -> None:
        self.asked: list[Attributes] = []
        self.refuse: Callable[[Attributes], bool] = lambda attributes: False
        self.error = ""

    def authorize(self, attributes: Attributes) -> Decision:
        self.asked.append(attributes)
        if self.refuse(attributes):
            return Decision(Verdict.NO_OPINION, EVERYTHING_IS_FORBIDDEN, self.error)
        return Decision(Verdict.ALLOW)

    def rules_for(self, user: UserInfo, namespace: str) -> Rules:
        return Rules()


@contextlib.asynccontextmanager
async def serving(etcd: Any, mode: str = "AlwaysAllow", authorizer: Authorizer | None = None) -> AsyncIterator[Any]:
    from apiserver.server import APIServer, ServerConfig

    server = APIServer(ServerConfig(etcd_endpoint=etcd.endpoint, grpc_port=0, http_port=0, compaction_interval=3600,
                                    authorization_mode=mode))
    if authorizer is not None:
        server.authorizer = authorizer
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def recording() -> Recording:
    return Recording()


@pytest.fixture
async def server(etcd: Any, recording: Recording) -> AsyncIterator[Any]:
    async with serving(etcd, authorizer=recording) as server:
        yield server


@pytest.fixture
async def http(server: Any) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(f"http://127.0.0.1:{server.http_port}") as session:
        yield session


def kubeconfig_for(server: Any, directory: Path) -> Path:
    cluster = {"name": "k", "cluster": {"server": f"http://127.0.0.1:{server.http_port}"}}
    path = directory / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "clusters": [cluster], "users": [{"name": "k", "user": {}}],
        "contexts": [{"name": "k", "context": {"cluster": "k", "user": "k", "namespace": "default"}}],
        "current-context": "k"}))
    return path


def resource(verb: str, resource: str, namespace: str = "", name: str = "", subresource: str = "",
             group: str = "") -> tuple[Any, ...]:
    return (True, verb, group, resource, subresource, namespace, name)


def seen(attributes: Attributes) -> tuple[Any, ...]:
    return (attributes.resource_request, attributes.verb, attributes.api_group, attributes.resource,
            attributes.subresource, attributes.namespace, attributes.name)


REQUESTS = [
    ("GET", "/apis/apps/v1/namespaces/default/deployments?watch=1&timeoutSeconds=1",
     resource("watch", "deployments", "default", group="apps")),
    ("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale",
     resource("patch", "deployments", "default", "web", "scale", "apps")),
    ("POST", "/api/v1/namespaces/default/pods/web/exec?command=ls&stdout=true",
     resource("create", "pods", "default", "web", "exec")),
    ("DELETE", "/api/v1/namespaces/x", resource("delete", "namespaces", "x", "x")),
    ("DELETE", "/api/v1/namespaces/default/configmaps", resource("deletecollection", "configmaps", "default")),
    ("GET", "/version", (False, "get", "", "", "", "", "")),
    ("GET", "/openapi/v2", (False, "get", "", "", "", "", "")),
]


@pytest.mark.parametrize(("method", "path", "expected"), REQUESTS, ids=[f"{m} {p}" for m, p, _ in REQUESTS])
async def test_the_authorizer_is_asked_about_each_request_in_kubernetes_terms(
        http: aiohttp.ClientSession, recording: Recording, method: str, path: str, expected: tuple[Any, ...]) -> None:
    headers = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else {}
    async with http.request(method, path, data=b"{}" if method == "PATCH" else None, headers=headers):
        pass
    assert [seen(a) for a in recording.asked] == [expected]
    assert recording.asked[0].user == ANONYMOUS
    assert recording.asked[0].path == path.split("?")[0]


async def test_kubectl_get_pods_in_all_namespaces_is_asked_as_a_cluster_wide_list(
        server: Any, recording: Recording, tmp_path: Path) -> None:
    result = await asyncio.to_thread(kubectl, kubeconfig_for(server, tmp_path), "get", "pods", "-A")
    assert result.returncode == 0, result.stderr
    asked = [seen(a) for a in recording.asked]
    assert resource("list", "pods") in asked
    assert (False, "get", "", "", "", "", "") in asked  # discovery: /api, /apis


async def test_a_refused_request_is_a_403_status_naming_who_cannot_do_what(
        http: aiohttp.ClientSession, recording: Recording) -> None:
    recording.refuse = lambda attributes: attributes.resource_request
    async with http.patch("/apis/apps/v1/namespaces/default/deployments/web/scale", data=b"{}",
                          headers={"Content-Type": "application/merge-patch+json"}) as response:
        assert response.status == 403
        status = await response.json()
    assert (status["kind"], status["status"], status["reason"], status["code"]) == ("Status", "Failure",
                                                                                    "Forbidden", 403)
    assert status["details"] == {"name": "web", "group": "apps", "kind": "deployments"}
    assert status["message"] == ('deployments.apps "web" is forbidden: User "system:anonymous" cannot patch '
                                 'resource "deployments/scale" in API group "apps" in the namespace "default": '
                                 "Everything is forbidden.")


async def test_a_refused_non_resource_request_is_forbidden_on_its_path(
        http: aiohttp.ClientSession, recording: Recording) -> None:
    recording.refuse = lambda attributes: not attributes.resource_request
    async with http.get("/version") as response:
        assert response.status == 403
        status = await response.json()
    assert status["message"] == ('forbidden: User "system:anonymous" cannot get path "/version": '
                                 "Everything is forbidden.")


async def test_kubectl_get_pods_refused_prints_the_kubernetes_forbidden_message(
        server: Any, recording: Recording, tmp_path: Path) -> None:
    recording.refuse = lambda attributes: attributes.resource == "pods"
    result = await asyncio.to_thread(kubectl, kubeconfig_for(server, tmp_path), "get", "pods")
    assert result.returncode == 1
    assert ('Error from server (Forbidden): pods is forbidden: User "system:anonymous" cannot list resource "pods" '
            'in API group "" in the namespace "default": Everything is forbidden.') in result.stderr


async def test_the_authorizer_sees_the_impersonated_user_after_the_impersonate_checks(
        http: aiohttp.ClientSession, recording: Recording) -> None:
    async with http.get("/api/v1/pods", headers={"Impersonate-User": "alice", "Impersonate-Group": "dev"}) as response:
        assert response.status == 200
    assert [(a.user.name, a.verb, a.resource, a.name) for a in recording.asked] == [
        ("system:anonymous", "impersonate", "users", "alice"), ("system:anonymous", "impersonate", "groups", "dev"),
        ("alice", "list", "pods", "")]
    assert recording.asked[-1].user.groups == ("dev", "system:authenticated")


async def test_health_checks_are_served_without_asking_the_authorizer(
        http: aiohttp.ClientSession, recording: Recording) -> None:
    recording.refuse = lambda attributes: True
    for path in ("/healthz", "/livez", "/readyz"):
        async with http.get(path) as response:
            assert response.status == 200, path
    assert recording.asked == []


async def test_an_authorizer_that_fails_to_evaluate_is_a_500(http: aiohttp.ClientSession, recording: Recording) -> None:
    recording.refuse, recording.error = (lambda attributes: True), "webhook unreachable"
    async with http.get("/api/v1/pods?limit=1") as response:
        assert response.status == 500
        assert await response.text() == 'Internal Server Error: "/api/v1/pods?limit=1": webhook unreachable'


async def test_a_path_verb_with_nothing_after_it_is_a_500(http: aiohttp.ClientSession, recording: Recording) -> None:
    async with http.get("/api/v1/watch") as response:
        assert response.status == 500
        assert "failed to create RequestInfo: unable to determine kind and namespace from url" in await response.text()
    assert recording.asked == []


async def test_under_always_deny_only_the_health_checks_are_served(etcd: Any) -> None:
    async with serving(etcd, "AlwaysDeny") as server, \
            aiohttp.ClientSession(f"http://127.0.0.1:{server.http_port}") as http:
        async with http.get("/healthz") as response:
            assert response.status == 200
        for path in ("/version", "/api", "/apis", "/api/v1/namespaces/default/pods", "/openapi/v2", "/metrics"):
            async with http.get(path) as response:
                assert response.status == 403, path
                assert (await response.json())["reason"] == "Forbidden"


async def test_a_chain_that_denies_first_lets_the_next_authorizer_allow(etcd: Any, tmp_path: Path) -> None:
    """AlwaysDeny has no opinion (it never says Deny), so AlwaysAllow after it decides."""
    async with serving(etcd, "AlwaysDeny,AlwaysAllow") as server:
        result = await asyncio.to_thread(kubectl, kubeconfig_for(server, tmp_path), "get", "pods")
    assert result.returncode == 0, result.stderr
    assert "No resources found in default namespace." in result.stderr
