"""The real kubectl reading kubeling's OpenAPI documents (`kubectl explain`), with no etcd.

The server here has only discovery (/version, /api, /apis, the group-version resource lists) and
the OpenAPI routes: that is all `kubectl explain` needs.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestServer

from apimachinery.kinds import KindRegistry, default_registry
from apiserver.http_api import discovery
from apiserver.http_api.discovery_routes import add_discovery_routes
from apiserver.http_api.openapi import add_openapi_routes

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


def _add_resource_lists(app: web.Application, kinds: KindRegistry) -> None:
    async def core(request: web.Request) -> web.Response:
        return web.json_response(discovery.api_resource_list(kinds, "", request.match_info["version"]))

    async def group(request: web.Request) -> web.Response:
        group_name, version = request.match_info["group"], request.match_info["version"]
        if not discovery.has_group_version(kinds, group_name, version):
            raise web.HTTPNotFound()
        return web.json_response(discovery.api_resource_list(kinds, group_name, version))

    app.router.add_get("/api/{version}", core)
    app.router.add_get("/apis/{group}/{version}", group)


def _add_recording_create(app: web.Application, seen: list[dict[str, str]]) -> None:
    """POST /api/v1/namespaces/{ns}/configmaps that echoes the object and records the query."""
    async def create(request: web.Request) -> web.Response:
        seen.append(dict(request.query))
        body = await request.json()
        body.setdefault("metadata", {}).update(namespace=request.match_info["namespace"], uid="u1",
                                               resourceVersion="1")
        return web.json_response(body, status=201)

    app.router.add_post("/api/v1/namespaces/{namespace}/configmaps", create)


@pytest.fixture
def created_queries() -> list[dict[str, str]]:
    return []


@pytest.fixture
async def kubeconfig(tmp_path: Path, created_queries: list[dict[str, str]]) -> AsyncIterator[Path]:
    kinds = default_registry()
    app = web.Application()
    add_discovery_routes(app, kinds)
    _add_resource_lists(app, kinds)
    _add_recording_create(app, created_queries)
    add_openapi_routes(app, kinds)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "kubeling",
        "clusters": [{"name": "kubeling", "cluster": {"server": f"http://127.0.0.1:{server.port}"}}],
        "users": [{"name": "kubeling", "user": {}}],
        "contexts": [{"name": "kubeling", "context": {"cluster": "kubeling", "user": "kubeling",
                                                      "namespace": "default"}}],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    yield path
    await server.close()


async def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    command = [KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(kubeconfig.parent / "cache"), *args]
    return await asyncio.to_thread(subprocess.run, command, input=stdin, capture_output=True, text=True,
                                   timeout=60)


async def test_explain_pod_spec_containers(kubeconfig: Path) -> None:
    result = await kubectl(kubeconfig, "explain", "pod.spec.containers")
    assert result.returncode == 0, result.stderr
    assert "KIND:       Pod" in result.stdout
    assert "VERSION:    v1" in result.stdout
    assert "FIELD: containers <[]Container>" in result.stdout
    assert "List of containers belonging to the pod." in result.stdout
    assert "imagePullPolicy\t<string>" in result.stdout


async def test_explain_deployment_recursive(kubeconfig: Path) -> None:
    result = await kubectl(kubeconfig, "explain", "deployments.spec.strategy", "--recursive")
    assert result.returncode == 0, result.stderr
    assert "GROUP:      apps" in result.stdout
    assert "maxSurge\t<IntOrString>" in result.stdout


async def test_kubectl_leaves_field_validation_to_the_server(kubeconfig: Path,
                                                             created_queries: list[dict[str, str]]) -> None:
    """kubectl finds `fieldValidation` on the kind's PATCH operation in /openapi/v3, so it sends
    `fieldValidation=Strict` instead of validating on the client (which would need /openapi/v2)."""
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: b\n"
    result = await kubectl(kubeconfig, "create", "-f", "-", stdin=manifest)
    assert result.returncode == 0, result.stderr
    assert "configmap/cfg created" in result.stdout
    assert created_queries and created_queries[0].get("fieldValidation") == "Strict"
    assert "warning" not in result.stderr.lower()


DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "nginx:IMAGE"}
      - {name: sidecar, image: busybox, command: [sleep, "3600"]}
"""


@pytest.mark.integration
async def test_apply_against_the_full_apiserver_uses_openapi_v3(apiserver, tmp_path: Path) -> None:
    """kubectl apply computes a strategic merge patch from /openapi/v3 (containers merged by name)."""
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "k",
              "clusters": [{"name": "k", "cluster": {"server": f"http://127.0.0.1:{apiserver.http_port}"}}],
              "users": [{"name": "k", "user": {}}],
              "contexts": [{"name": "k", "context": {"cluster": "k", "user": "k", "namespace": "default"}}]}
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    explain = await kubectl(kubeconfig, "explain", "deployment.spec.template.spec.containers.image")
    assert explain.returncode == 0, explain.stderr
    for image in ("1.26", "1.27"):
        result = await kubectl(kubeconfig, "apply", "-f", "-", stdin=DEPLOYMENT.replace("IMAGE", image))
        assert result.returncode == 0, result.stderr
        assert "warning" not in result.stderr.lower(), result.stderr
    got = await kubectl(kubeconfig, "get", "deployment", "web", "-o", "yaml")
    containers = yaml.safe_load(got.stdout)["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("web", "nginx:1.27"), ("sidecar", "busybox")]
