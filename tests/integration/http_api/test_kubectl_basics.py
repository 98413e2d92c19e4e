"""kubectl, the real binary, against kubeling's HTTP API: the everyday commands work as on Kubernetes."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from tests.integration.http_api.conftest import kubectl

pytestmark = pytest.mark.integration


VALIDATE: tuple[str, ...] = ()


async def run(kubeconfig: Path, *args: str, input: str | None = None,
              timeout: float = 60) -> subprocess.CompletedProcess[str]:
    if args[0] in ("create", "apply", "replace"):
        args = (args[0], *VALIDATE, *args[1:])
    return await asyncio.to_thread(kubectl, kubeconfig, *args, input=input, timeout=timeout)


async def ok(kubeconfig: Path, *args: str, input: str | None = None) -> str:
    result = await run(kubeconfig, *args, input=input)
    assert result.returncode == 0, f"kubectl {' '.join(args)} failed: {result.stderr}"
    return result.stdout


def configmap(name: str, **data: str) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data})


DEPLOYMENT = json.dumps({
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
})


async def test_kubectl_version_shows_the_server_version(kubeconfig: Path) -> None:
    out = await ok(kubeconfig, "version", "-o", "json")
    assert json.loads(out)["serverVersion"]["gitVersion"] == "v1.32.0-kubeling"


async def test_api_resources_lists_pods_and_deployments_with_short_names(kubeconfig: Path) -> None:
    out = await ok(kubeconfig, "api-resources")
    lines = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert "po" in lines["pods"]
    assert "deploy" in lines["deployments"]
    assert "apps/v1" in lines["deployments"]


async def test_create_from_a_manifest_then_get_returns_it_as_json(kubeconfig: Path) -> None:
    out = await ok(kubeconfig, "create", "-f", "-", input=configmap("settings", color="blue"))
    assert "configmap/settings created" in out
    got = json.loads(await ok(kubeconfig, "get", "cm", "settings", "-o", "json"))
    assert got["data"] == {"color": "blue"}
    assert got["metadata"]["namespace"] == "default"


async def test_get_with_output_name_lists_configmaps(kubeconfig: Path) -> None:
    await ok(kubeconfig, "create", "-f", "-", input=configmap("one"))
    await ok(kubeconfig, "create", "-f", "-", input=configmap("two"))
    out = await ok(kubeconfig, "get", "cm", "-o", "name")
    assert out.split() == ["configmap/one", "configmap/two"]


async def test_get_deploy_after_creating_one(kubeconfig: Path) -> None:
    await ok(kubeconfig, "create", "-f", "-", input=DEPLOYMENT)
    out = await ok(kubeconfig, "get", "deploy")
    assert "web" in out


async def test_get_pods_in_all_namespaces(kubeconfig: Path) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "kube-system"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    await ok(kubeconfig, "create", "-f", "-", input=json.dumps(pod))
    out = await ok(kubeconfig, "get", "pods", "-A", "-o", "json")
    assert [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in json.loads(out)["items"]] == [
        ("kube-system", "p")]


async def test_label_then_select_by_label(kubeconfig: Path) -> None:
    await ok(kubeconfig, "create", "-f", "-", input=configmap("labelled"))
    await ok(kubeconfig, "create", "-f", "-", input=configmap("plain"))
    await ok(kubeconfig, "label", "cm", "labelled", "x=y")
    out = await ok(kubeconfig, "get", "cm", "-l", "x=y", "-o", "name")
    assert out.split() == ["configmap/labelled"]


async def test_patch_with_merge_and_json_patch(kubeconfig: Path) -> None:
    await ok(kubeconfig, "create", "-f", "-", input=configmap("p", a="1"))
    await ok(kubeconfig, "patch", "cm", "p", "--type", "merge", "-p", '{"data": {"b": "2"}}')
    await ok(kubeconfig, "patch", "cm", "p", "--type", "json", "-p", '[{"op": "remove", "path": "/data/a"}]')
    got = json.loads(await ok(kubeconfig, "get", "cm", "p", "-o", "json"))
    assert got["data"] == {"b": "2"}


async def test_replace_from_a_manifest(kubeconfig: Path) -> None:
    await ok(kubeconfig, "create", "-f", "-", input=configmap("r", a="1"))
    await ok(kubeconfig, "replace", "-f", "-", input=configmap("r", a="2"))
    got = json.loads(await ok(kubeconfig, "get", "cm", "r", "-o", "json"))
    assert got["data"] == {"a": "2"}


async def test_delete_then_get_says_not_found(kubeconfig: Path) -> None:
    await ok(kubeconfig, "create", "-f", "-", input=configmap("x"))
    out = await ok(kubeconfig, "delete", "cm", "x")
    assert 'configmap "x" deleted' in out
    result = await run(kubeconfig, "get", "cm", "x")
    assert result.returncode != 0
    assert 'Error from server (NotFound): configmaps "x" not found' in result.stderr


async def test_create_with_an_unknown_field_fails_naming_the_field(kubeconfig: Path) -> None:
    manifest = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "u"}, "bogus": 1})
    result = await run(kubeconfig, "create", "-f", "-", input=manifest)
    assert result.returncode != 0
    assert "bogus" in result.stderr


async def test_watch_prints_a_change_made_meanwhile(kubeconfig: Path) -> None:
    await ok(kubeconfig, "create", "-f", "-", input=configmap("before"))
    watch = asyncio.create_task(run(kubeconfig, "get", "cm", "-w", "--watch-only", "-o", "name",
                                    "--request-timeout=4s"))
    await asyncio.sleep(2)
    await ok(kubeconfig, "create", "-f", "-", input=configmap("during"))
    result = await watch
    assert "configmap/during" in result.stdout
    assert "configmap/before" not in result.stdout


async def test_scale_changes_spec_replicas(kubeconfig: Path) -> None:
    await ok(kubeconfig, "create", "-f", "-", input=DEPLOYMENT)
    out = await ok(kubeconfig, "scale", "deploy/web", "--replicas=3")
    assert "deployment.apps/web scaled" in out
    got = json.loads(await ok(kubeconfig, "get", "deploy", "web", "-o", "json"))
    assert got["spec"]["replicas"] == 3


async def test_apply_creates_a_fresh_configmap(kubeconfig: Path) -> None:
    out = await ok(kubeconfig, "apply", "-f", "-", input=configmap("applied", a="1"))
    assert "configmap/applied created" in out
    got = json.loads(await ok(kubeconfig, "get", "cm", "applied", "-o", "json"))
    assert got["data"] == {"a": "1"}


async def test_apply_again_updates_the_configmap(kubeconfig: Path) -> None:
    await ok(kubeconfig, "apply", "-f", "-", input=configmap("applied", a="1"))
    out = await ok(kubeconfig, "apply", "-f", "-", input=configmap("applied", a="2"))
    assert "configmap/applied configured" in out
    got = json.loads(await ok(kubeconfig, "get", "cm", "applied", "-o", "json"))
    assert got["data"] == {"a": "2"}


async def test_get_prints_the_kubernetes_columns(kubeconfig: Path) -> None:
    await ok(kubeconfig, "create", "-f", "-", input=DEPLOYMENT)
    header = (await ok(kubeconfig, "get", "deploy")).splitlines()[0].split()
    assert header == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]


async def test_watch_in_table_form_prints_the_new_row(kubeconfig: Path) -> None:
    watch = asyncio.create_task(run(kubeconfig, "get", "cm", "-w", "--request-timeout=4s"))
    await asyncio.sleep(2)
    await ok(kubeconfig, "create", "-f", "-", input=configmap("during"))
    result = await watch
    assert any(line.split()[:1] == ["during"] for line in result.stdout.splitlines()), result.stdout + result.stderr


async def test_get_one_object_prints_its_table_row(kubeconfig: Path) -> None:
    await ok(kubeconfig, "create", "-f", "-", input=configmap("single", a="1", b="2"))
    lines = (await ok(kubeconfig, "get", "cm", "single")).splitlines()
    assert lines[0].split() == ["NAME", "DATA", "AGE"]
    assert lines[1].split()[:2] == ["single", "2"]


