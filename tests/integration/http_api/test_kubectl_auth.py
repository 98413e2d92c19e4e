"""`kubectl auth` against kubeling: the review kinds answer as kube-apiserver with no authentication
(every request is system:anonymous) and --authorization-mode=AlwaysAllow. Under AlwaysDeny every
request is refused before it reaches a handler — discovery, the reviews themselves — and kubectl
prints what it prints against such a kube-apiserver."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.integration.http_api.conftest import kubectl

pytestmark = pytest.mark.integration
AUTHZ = "/apis/authorization.k8s.io/v1"
SSAR = f"{AUTHZ}/selfsubjectaccessreviews"
CREATE_DEPLOYMENTS = {"resourceAttributes": {"namespace": "default", "verb": "create", "group": "apps",
                                             "resource": "deployments"}}


@pytest.fixture
async def http(apiserver) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(f"http://127.0.0.1:{apiserver.http_port}") as session:
        yield session


@pytest.fixture
async def deny_kubeconfig(etcd, tmp_path: Path) -> AsyncIterator[Path]:
    """A kubeconfig for an apiserver started with --authorization-mode=AlwaysDeny."""
    from apiserver.server import APIServer, ServerConfig

    server = APIServer(ServerConfig(etcd_endpoint=etcd.endpoint, grpc_port=0, http_port=0, compaction_interval=3600,
                                    authorization_mode="AlwaysDeny"))
    await server.start()
    cluster = {"name": "deny", "cluster": {"server": f"http://127.0.0.1:{server.http_port}"}}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "clusters": [cluster], "users": [{"name": "deny", "user": {}}],
        "contexts": [{"name": "deny", "context": {"cluster": "deny", "user": "deny", "namespace": "default"}}],
        "current-context": "deny"}))
    yield path
    await server.stop()


async def run(kubeconfig: Path, *args: str) -> tuple[int, str, str]:
    result = await asyncio.to_thread(kubectl, kubeconfig, *args)
    return result.returncode, result.stdout, result.stderr


def review(kind: str, spec: dict[str, Any], api_version: str = "authorization.k8s.io/v1") -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "spec": spec}


async def test_kubectl_auth_can_i_create_deployments_says_yes(kubeconfig: Path) -> None:
    code, out, err = await run(kubeconfig, "auth", "can-i", "create", "deployments")
    assert (code, out.strip()) == (0, "yes"), err


async def test_kubectl_auth_can_i_a_non_resource_url_says_yes(kubeconfig: Path) -> None:
    code, out, err = await run(kubeconfig, "auth", "can-i", "get", "/healthz")
    assert (code, out.strip()) == (0, "yes"), err


async def test_kubectl_auth_can_i_list_prints_every_verb_on_everything(kubeconfig: Path) -> None:
    code, out, err = await run(kubeconfig, "auth", "can-i", "--list")
    assert code == 0, err
    rows = [line.split() for line in out.splitlines()]
    assert rows[0] == ["Resources", "Non-Resource", "URLs", "Resource", "Names", "Verbs"]
    assert ["*.*", "[]", "[]", "[*]"] in rows
    assert ["[*]", "[]", "[*]"] in rows


async def test_kubectl_auth_whoami_prints_the_anonymous_user(kubeconfig: Path) -> None:
    code, out, err = await run(kubeconfig, "auth", "whoami")
    assert code == 0, err
    rows = [line.split(None, 1) for line in out.splitlines()]
    assert rows == [["ATTRIBUTE", "VALUE"], ["Username", "system:anonymous"], ["Groups", "[system:unauthenticated]"]]


async def test_kubectl_auth_whoami_json_is_a_self_subject_review(kubeconfig: Path) -> None:
    code, out, err = await run(kubeconfig, "auth", "whoami", "-o", "json")
    assert code == 0, err
    answer = json.loads(out)
    assert (answer["apiVersion"], answer["kind"]) == ("authentication.k8s.io/v1", "SelfSubjectReview")
    assert answer["status"]["userInfo"] == {"username": "system:anonymous", "groups": ["system:unauthenticated"]}


async def test_under_always_deny_kubectl_auth_can_i_is_itself_forbidden(deny_kubeconfig: Path) -> None:
    code, out, err = await run(deny_kubeconfig, "auth", "can-i", "create", "deployments")
    assert (code, out) == (1, "")
    assert ('Error from server (Forbidden): selfsubjectaccessreviews.authorization.k8s.io is forbidden: User '
            '"system:anonymous" cannot create resource "selfsubjectaccessreviews" in API group '
            '"authorization.k8s.io" at the cluster scope: Everything is forbidden.') in err


async def test_under_always_deny_the_rules_review_is_forbidden(deny_kubeconfig: Path) -> None:
    code, _, err = await run(deny_kubeconfig, "auth", "can-i", "--list")
    assert code == 1
    assert ('Error from server (Forbidden): selfsubjectrulesreviews.authorization.k8s.io is forbidden: User '
            '"system:anonymous" cannot create resource "selfsubjectrulesreviews" in API group '
            '"authorization.k8s.io" at the cluster scope: Everything is forbidden.') in err


async def test_under_always_deny_kubectl_auth_whoami_cannot_call_the_review(deny_kubeconfig: Path) -> None:
    code, _, err = await run(deny_kubeconfig, "auth", "whoami")
    assert code == 1
    assert "error: the selfsubjectreviews API is not enabled in the cluster or you do not have permission" in err


async def test_under_always_deny_kubectl_get_pods_fails_at_discovery(deny_kubeconfig: Path) -> None:
    """As against a kube-apiserver that refuses discovery: client-go does not decode the 403 Status
    of a discovery request, so kubectl can only say "unknown"."""
    code, out, err = await run(deny_kubeconfig, "get", "pods")
    assert (code, out) == (1, "")
    assert "couldn't get current server API group list: unknown" in err
    assert err.rstrip().endswith("Error from server (Forbidden): unknown")


async def test_a_self_subject_access_review_is_answered_201_and_not_stored(http: aiohttp.ClientSession) -> None:
    async with http.post(SSAR, json=review("SelfSubjectAccessReview", CREATE_DEPLOYMENTS)) as response:
        assert response.status == 201
        answer = await response.json()
    assert answer["status"] == {"allowed": True}
    assert answer["spec"] == CREATE_DEPLOYMENTS
    async with http.get(SSAR) as response:
        assert response.status == 405
        assert (await response.json())["reason"] == "MethodNotAllowed"


async def test_a_review_with_both_attribute_sets_is_a_422_naming_the_field(http: aiohttp.ClientSession) -> None:
    spec = {**CREATE_DEPLOYMENTS, "nonResourceAttributes": {"path": "/healthz", "verb": "get"}}
    async with http.post(SSAR, json=review("SelfSubjectAccessReview", spec)) as response:
        assert response.status == 422
        status = await response.json()
    assert status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == "spec.nonResourceAttributes"
    assert status["message"].startswith('SelfSubjectAccessReview.authorization.k8s.io "" is invalid: '
                                        "spec.nonResourceAttributes: Invalid value: ")


async def test_a_review_of_the_wrong_kind_is_a_400(http: aiohttp.ClientSession) -> None:
    async with http.post(SSAR, json=review("SubjectAccessReview", CREATE_DEPLOYMENTS)) as response:
        assert response.status == 400
        assert "does not match the expected kind" in (await response.json())["message"]


async def test_an_unknown_field_under_strict_validation_is_a_400(http: aiohttp.ClientSession) -> None:
    body = review("SelfSubjectAccessReview", {**CREATE_DEPLOYMENTS, "colour": "red"})
    async with http.post(SSAR, json=body, params={"fieldValidation": "Strict"}) as response:
        assert response.status == 400
        assert 'unknown field "spec.colour"' in (await response.json())["message"]


async def test_a_subject_access_review_answers_for_the_named_user(http: aiohttp.ClientSession) -> None:
    body = review("SubjectAccessReview", {**CREATE_DEPLOYMENTS, "user": "alice", "groups": ["dev"]})
    async with http.post(f"{AUTHZ}/subjectaccessreviews", json=body) as response:
        assert response.status == 201
        assert (await response.json())["status"]["allowed"] is True


async def test_a_local_subject_access_review_must_ask_about_its_namespace(http: aiohttp.ClientSession) -> None:
    path = f"{AUTHZ}/namespaces/team/localsubjectaccessreviews"
    body = review("LocalSubjectAccessReview", {**CREATE_DEPLOYMENTS, "user": "alice"})
    async with http.post(path, json=body) as response:
        assert response.status == 422
        assert (await response.json())["details"]["causes"][0]["field"] == "spec.resourceAttributes.namespace"
    body["spec"]["resourceAttributes"]["namespace"] = "team"
    async with http.post(path, json=body) as response:
        assert response.status == 201
        answer = await response.json()
    assert answer["metadata"]["namespace"] == "team" and answer["status"]["allowed"] is True


async def test_discovery_lists_the_review_kinds_as_create_only(http: aiohttp.ClientSession) -> None:
    async with http.get(AUTHZ) as response:
        assert response.status == 200
        resources = {r["name"]: r for r in (await response.json())["resources"]}
    assert sorted(resources) == ["localsubjectaccessreviews", "selfsubjectaccessreviews", "selfsubjectrulesreviews",
                                 "subjectaccessreviews"]
    assert resources["selfsubjectaccessreviews"]["verbs"] == ["create"]
    assert resources["localsubjectaccessreviews"]["namespaced"] is True
    async with http.get("/apis") as response:
        groups = [g["name"] for g in (await response.json())["groups"]]
    assert "authorization.k8s.io" in groups and "authentication.k8s.io" in groups


async def test_kubectl_explain_describes_a_review_kind_from_the_openapi_documents(kubeconfig: Path) -> None:
    code, out, err = await run(kubeconfig, "explain", "selfsubjectaccessreviews.spec")
    assert code == 0, err
    assert "KIND:       SelfSubjectAccessReview" in out
    assert "resourceAttributes" in out and "nonResourceAttributes" in out


async def test_kubectl_create_of_a_review_prints_it_with_its_status(kubeconfig: Path) -> None:
    body = json.dumps(review("SelfSubjectAccessReview", CREATE_DEPLOYMENTS))
    result = await asyncio.to_thread(kubectl, kubeconfig, "create", "--validate=false", "-o", "json", "-f", "-",
                                     input=body)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == {"allowed": True}


async def test_kubectl_auth_whoami_as_another_user_reports_the_impersonated_user(kubeconfig: Path) -> None:
    code, out, err = await run(kubeconfig, "auth", "whoami", "--as", "alice", "--as-group", "dev")
    assert code == 0, err
    rows = [line.split(None, 1) for line in out.splitlines()]
    assert rows == [["ATTRIBUTE", "VALUE"], ["Username", "alice"], ["Groups", "[dev system:authenticated]"]]


async def test_under_always_deny_impersonation_is_forbidden(deny_kubeconfig: Path) -> None:
    code, _, err = await run(deny_kubeconfig, "auth", "can-i", "list", "pods", "--as", "alice")
    assert code == 1
    assert ('Error from server (Forbidden): users "alice" is forbidden: User "system:anonymous" cannot impersonate '
            'resource "users" in API group "" at the cluster scope: Everything is forbidden.') in err
