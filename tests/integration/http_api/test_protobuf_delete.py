"""DELETE with a protobuf DeleteOptions body, as client-go's typed clients send it (`kubectl drain
--disable-eviction` deletes pods that way): decoded like the JSON form."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

import proto.k8s
from tests.integration.http_api.conftest import kubectl

proto.k8s.load()
from k8s.io.apimachinery.pkg.apis.meta.v1 import generated_pb2 as meta  # noqa: E402
from k8s.io.apimachinery.pkg.runtime import generated_pb2 as runtime  # noqa: E402

pytestmark = pytest.mark.integration
PROTOBUF = {"Content-Type": "application/vnd.kubernetes.protobuf"}
CM = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def http(apiserver) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(f"http://127.0.0.1:{apiserver.http_port}") as session:
        yield session


def delete_options(**fields: object) -> bytes:
    unknown = runtime.Unknown(raw=meta.DeleteOptions(**fields).SerializeToString())
    unknown.typeMeta.apiVersion, unknown.typeMeta.kind = "v1", "DeleteOptions"
    return b"k8s\x00" + unknown.SerializeToString()


async def create_configmap(http: aiohttp.ClientSession, name: str) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
    async with http.post(CM, json=body) as response:
        assert response.status == 201


async def test_a_protobuf_delete_options_precondition_is_checked(http: aiohttp.ClientSession) -> None:
    await create_configmap(http, "guarded")
    body = delete_options(preconditions=meta.Preconditions(uid="not-its-uid"))
    async with http.delete(f"{CM}/guarded", data=body, headers=PROTOBUF) as response:
        assert response.status == 409, await response.text()
        assert "Precondition failed: UID in precondition: not-its-uid" in (await response.json())["message"]


async def test_a_protobuf_delete_options_body_deletes_the_object(http: aiohttp.ClientSession) -> None:
    await create_configmap(http, "gone")
    async with http.delete(f"{CM}/gone", data=delete_options(gracePeriodSeconds=0), headers=PROTOBUF) as response:
        assert response.status == 200, await response.text()
    async with http.get(f"{CM}/gone") as response:
        assert response.status == 404


async def test_kubectl_drain_without_eviction_deletes_the_nodes_pods(kubeconfig: Path) -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1"},
           "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "nginx"}]}}
    for obj in (node, pod):
        created = await asyncio.to_thread(kubectl, kubeconfig, "create", "-f", "-", input=json.dumps(obj))
        assert created.returncode == 0, created.stderr
    drained = await asyncio.to_thread(kubectl, kubeconfig, "drain", "n1", "--disable-eviction", "--force",
                                      "--grace-period=0", "--timeout=20s")
    assert drained.returncode == 0, drained.stderr
    assert "pod/p1 deleted" in drained.stdout and "node/n1 drained" in drained.stdout
