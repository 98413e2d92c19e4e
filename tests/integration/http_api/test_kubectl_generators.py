"""kubectl's generators (`kubectl create configmap|secret|namespace|deployment|job|service`, `kubectl
expose`) send protobuf bodies through client-go's typed clients; kubeling decodes them like JSON."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

import proto.k8s
from tests.integration.http_api.conftest import kubectl

pytestmark = pytest.mark.integration


async def ok(kubeconfig: Path, *args: str, input: str | None = None) -> str:
    result: subprocess.CompletedProcess[str] = await asyncio.to_thread(kubectl, kubeconfig, *args, input=input)
    assert result.returncode == 0, f"kubectl {' '.join(args)} failed: {result.stderr}"
    return result.stdout


async def get(kubeconfig: Path, *args: str) -> Any:
    return json.loads(await ok(kubeconfig, "get", *args, "-o", "json"))


async def test_create_configmap_from_literal(kubeconfig: Path) -> None:
    assert (await ok(kubeconfig, "create", "configmap", "c", "--from-literal", "a=b")).strip() == "configmap/c created"
    assert (await get(kubeconfig, "configmap", "c"))["data"] == {"a": "b"}


async def test_create_secret_generic_stores_base64_data(kubeconfig: Path) -> None:
    assert "secret/s created" in await ok(kubeconfig, "create", "secret", "generic", "s", "--from-literal", "k=v")
    secret = await get(kubeconfig, "secret", "s")
    assert secret["data"] == {"k": base64.b64encode(b"v").decode()}
    assert secret["type"] == "Opaque"


async def test_create_namespace(kubeconfig: Path) -> None:
    assert "namespace/n created" in await ok(kubeconfig, "create", "namespace", "n")
    assert (await get(kubeconfig, "namespace", "n"))["metadata"]["name"] == "n"


async def test_create_deployment_with_replicas(kubeconfig: Path) -> None:
    out = await ok(kubeconfig, "create", "deployment", "d", "--image", "kubeling/hello:v1", "--replicas", "2")
    assert "deployment.apps/d created" in out
    deployment = await get(kubeconfig, "deployment", "d")
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    assert spec["selector"] == {"matchLabels": {"app": "d"}}
    assert spec["template"]["metadata"]["labels"] == {"app": "d"}
    assert deployment["metadata"]["labels"] == {"app": "d"}
    assert spec["template"]["spec"]["containers"][0]["image"] == "kubeling/hello:v1"


async def test_protobuf_deployment_is_stored_like_the_same_deployment_sent_as_json(kubeconfig: Path) -> None:
    manifest = json.loads(await ok(kubeconfig, "create", "deployment", "same", "--image", "kubeling/hello:v1",
                                   "--replicas", "0", "--port", "8080", "--dry-run=client", "-o", "json"))
    await ok(kubeconfig, "create", "deployment", "same", "--image", "kubeling/hello:v1", "--replicas", "0",
             "--port", "8080")
    manifest["metadata"]["name"] = "same-json"
    await ok(kubeconfig, "create", "-f", "-", input=json.dumps(manifest))
    from_protobuf, from_json = await get(kubeconfig, "deployment", "same"), await get(kubeconfig, "deployment",
                                                                                        "same-json")
    assert from_protobuf["spec"]["replicas"] == 0
    assert from_protobuf["spec"] == from_json["spec"]


async def test_create_job(kubeconfig: Path) -> None:
    assert "job.batch/j created" in await ok(kubeconfig, "create", "job", "j", "--image", "kubeling/busybox:1.35")
    containers = (await get(kubeconfig, "job", "j"))["spec"]["template"]["spec"]["containers"]
    assert [c["image"] for c in containers] == ["kubeling/busybox:1.35"]


async def test_create_service_clusterip_with_target_port(kubeconfig: Path) -> None:
    assert "service/svc created" in await ok(kubeconfig, "create", "service", "clusterip", "svc", "--tcp", "80:8080")
    spec = (await get(kubeconfig, "service", "svc"))["spec"]
    assert [(p["port"], p["targetPort"], p["protocol"]) for p in spec["ports"]] == [(80, 8080, "TCP")]
    assert spec["selector"] == {"app": "svc"}
    assert spec["type"] == "ClusterIP"


async def test_expose_deployment_creates_a_service_selecting_its_pods(kubeconfig: Path) -> None:
    await ok(kubeconfig, "create", "deployment", "d", "--image", "kubeling/hello:v1")
    assert "service/d exposed" in await ok(kubeconfig, "expose", "deployment", "d", "--port", "80")
    spec = (await get(kubeconfig, "service", "d"))["spec"]
    assert spec["selector"] == {"app": "d"}
    assert [(p["port"], p["targetPort"]) for p in spec["ports"]] == [(80, 80)]


async def test_invalid_protobuf_object_gets_the_same_validation_error_as_json(kubeconfig: Path) -> None:
    result = await asyncio.to_thread(kubectl, kubeconfig, "create", "configmap", "Bad_Name", "--from-literal", "a=b")
    assert result.returncode != 0
    assert "Invalid value" in result.stderr and "Bad_Name" in result.stderr


def _post(port: int, body: bytes, content_type: str) -> tuple[int, str, dict[str, Any]]:
    headers = {"Content-Type": content_type, "Accept": "application/vnd.kubernetes.protobuf,application/json"}
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/namespaces/default/configmaps", data=body,
                                     method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], json.loads(e.read())


async def test_protobuf_body_is_answered_in_json(apiserver: Any) -> None:
    proto.k8s.load()
    from k8s.io.api.core.v1 import generated_pb2 as core
    from k8s.io.apimachinery.pkg.runtime import generated_pb2 as runtime

    configmap = core.ConfigMap(data={"x": "y"})
    configmap.metadata.name = "raw-pb"
    unknown = runtime.Unknown(raw=configmap.SerializeToString())
    unknown.typeMeta.apiVersion, unknown.typeMeta.kind = "v1", "ConfigMap"
    status, content_type, body = await asyncio.to_thread(
        _post, apiserver.http_port, b"k8s\x00" + unknown.SerializeToString(), "application/vnd.kubernetes.protobuf")
    assert status == 201
    assert content_type.startswith("application/json")
    assert body["data"] == {"x": "y"} and body["kind"] == "ConfigMap"


async def test_cbor_body_is_still_unsupported_media_type(apiserver: Any) -> None:
    status, _, body = await asyncio.to_thread(_post, apiserver.http_port, b"\xa0", "application/cbor")
    assert status == 415
    assert body["reason"] == "UnsupportedMediaType"
