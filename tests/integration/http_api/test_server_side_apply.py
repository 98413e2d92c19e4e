"""`kubectl apply --server-side`, the real binary, against kubeling: field ownership as on Kubernetes."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.http_api.conftest import kubectl

pytestmark = pytest.mark.integration


async def run(kubeconfig: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(kubectl, kubeconfig, *args, input=input)


async def ok(kubeconfig: Path, *args: str, input: str | None = None) -> str:
    result = await run(kubeconfig, *args, input=input)
    assert result.returncode == 0, f"kubectl {' '.join(args)} failed: {result.stderr}"
    return result.stdout


async def get(kubeconfig: Path, what: str) -> dict[str, Any]:
    return json.loads(await ok(kubeconfig, "get", what, "-o", "json", "--show-managed-fields"))


def deployment(replicas: int | None = 2, labels: bool = True, env: tuple[str, ...] = ("A", "B")) -> str:
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": "web"}},
                            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                                {"name": "web", "image": "nginx",
                                 "env": [{"name": n, "value": n.lower()} for n in env]}]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    metadata: dict[str, Any] = {"name": "web", **({"labels": {"tier": "front"}} if labels else {})}
    return json.dumps({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec})


def managers(obj: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["manager"], e["operation"]): e for e in obj["metadata"]["managedFields"]}


async def test_apply_server_side_creates_the_object_owned_by_kubectl(kubeconfig: Path) -> None:
    out = await ok(kubeconfig, "apply", "--server-side", "-f", "-", input=deployment())
    assert out.strip() == "deployment.apps/web serverside-applied"
    obj = await get(kubeconfig, "deploy/web")
    entry = managers(obj)[("kubectl", "Apply")]
    assert entry["fieldsV1"]["f:spec"]["f:replicas"] == {}
    assert entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"web"}']["."] == {}


async def test_reapplying_a_change_updates_and_the_same_file_is_a_no_op(kubeconfig: Path) -> None:
    await ok(kubeconfig, "apply", "--server-side", "-f", "-", input=deployment())
    await ok(kubeconfig, "apply", "--server-side", "-f", "-", input=deployment(replicas=4))
    first = await get(kubeconfig, "deploy/web")
    assert first["spec"]["replicas"] == 4
    await ok(kubeconfig, "apply", "--server-side", "-f", "-", input=deployment(replicas=4))
    again = await get(kubeconfig, "deploy/web")
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


async def test_a_field_removed_from_the_file_is_removed_from_the_object(kubeconfig: Path) -> None:
    await ok(kubeconfig, "apply", "--server-side", "-f", "-", input=deployment())
    await ok(kubeconfig, "apply", "--server-side", "-f", "-", input=deployment(labels=False, env=("B",)))
    obj = await get(kubeconfig, "deploy/web")
    assert "tier" not in (obj["metadata"].get("labels") or {})
    assert obj["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "B", "value": "b"}]


async def test_reapplying_after_kubectl_scale_is_a_conflict_until_forced(kubeconfig: Path) -> None:
    await ok(kubeconfig, "apply", "--server-side", "-f", "-", input=deployment())
    await ok(kubeconfig, "scale", "deploy/web", "--replicas=5")
    result = await run(kubeconfig, "apply", "--server-side", "-f", "-", input=deployment(replicas=3))
    assert result.returncode != 0
    assert ('error: Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" '
            "using apps/v1: .spec.replicas") in result.stderr
    assert "--force-conflicts" in result.stderr
    await ok(kubeconfig, "apply", "--server-side", "--force-conflicts", "-f", "-", input=deployment(replicas=3))
    obj = await get(kubeconfig, "deploy/web")
    assert obj["spec"]["replicas"] == 3
    assert "f:replicas" in managers(obj)[("kubectl", "Apply")]["fieldsV1"]["f:spec"]


async def test_show_managed_fields_lists_every_manager(kubeconfig: Path) -> None:
    await ok(kubeconfig, "apply", "--server-side", "--field-manager=deployer", "-f", "-", input=deployment())
    await ok(kubeconfig, "label", "deploy/web", "team=a")
    out = await ok(kubeconfig, "get", "deploy/web", "-o", "yaml", "--show-managed-fields")
    assert "manager: deployer" in out and "operation: Apply" in out
    assert "manager: kubectl-label" in out and "operation: Update" in out
    plain = await ok(kubeconfig, "get", "deploy/web", "-o", "yaml")
    assert "managedFields" not in plain


async def test_client_side_apply_then_server_side_apply_migrates_without_conflict(kubeconfig: Path) -> None:
    await ok(kubeconfig, "apply", "-f", "-", input=deployment())
    obj = await get(kubeconfig, "deploy/web")
    assert ("kubectl-client-side-apply", "Update") in managers(obj)
    await ok(kubeconfig, "apply", "--server-side", "-f", "-", input=deployment(replicas=3))
    obj = await get(kubeconfig, "deploy/web")
    assert obj["spec"]["replicas"] == 3
    assert "f:replicas" in managers(obj)[("kubectl", "Apply")]["fieldsV1"]["f:spec"]


async def test_an_apply_request_needs_a_field_manager_and_creates_with_201(apiserver: Any) -> None:
    url = f"http://127.0.0.1:{apiserver.http_port}/api/v1/namespaces/default/configmaps/made"
    body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: made\ndata:\n  a: '1'\n"
    headers = {"Content-Type": "application/apply-patch+yaml"}
    async with aiohttp.ClientSession() as http:
        async with http.patch(url, data=body, headers=headers) as response:
            assert response.status == 422
        async with http.patch(url, data=body, headers=headers, params={"fieldManager": "me"}) as response:
            assert response.status == 201
            assert (await response.json())["metadata"]["managedFields"][0]["manager"] == "me"
        async with http.patch(url, data=body, headers=headers, params={"fieldManager": "me"}) as response:
            assert response.status == 200
        async with http.patch(url, json={"data": {"a": "2"}}, params={"force": "true"},
                              headers={"Content-Type": "application/merge-patch+json"}) as response:
            assert response.status == 422
