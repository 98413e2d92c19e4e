"""The Endpoints and EndpointSlice controllers against the real apiserver + etcd, with pods on two hollow nodes.

The Service `web` selects app=web and targets the named port `http`, which the pod on node-1 exposes as 8080
and the pod on node-2 as 9090. Readiness is driven by the hollow kubelet's annotation probe runner.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from apimachinery import errors
from controller_manager.endpoints import EndpointsController
from controller_manager.endpointslice import EndpointSliceController
from tests.integration.controller_manager.conftest import eventually, pod_manifest, run_controllers
from tests.integration.http_api.conftest import kubeconfig, kubectl  # noqa: F401 (kubeconfig is a fixture)

pytestmark = pytest.mark.integration
Object = dict[str, Any]
SLICES = "endpointslices.discovery.k8s.io"
NOT_READY = {"fake.kubeling.io/probe.readiness.app": "failure"}


def web_service() -> Object:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}


def web_pod(name: str, node: str, port: int) -> Object:
    container = {"name": "app", "image": "kubeling/busybox:1.35",
                 "ports": [{"name": "http", "containerPort": port}],
                 "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 1, "failureThreshold": 1}}
    pod = pod_manifest(name, node=node, containers=[container])
    pod["metadata"]["labels"] = {"app": "web"}
    return pod


async def start_web(client: Any) -> dict[str, str]:
    """The Service and its two pods; returns pod name → pod IP once both are Running and Ready."""
    await client.create(web_service())
    await client.create(web_pod("web-1", "node-1", 8080))
    await client.create(web_pod("web-2", "node-2", 9090))

    async def ready_ips() -> dict[str, str] | None:
        pods = (await client.list("pods", "default", label_selector="app=web"))["items"]
        ready = {p["metadata"]["name"]: p["status"].get("podIP") for p in pods
                 if any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))}
        return ready if len(ready) == 2 and all(ready.values()) else None

    return await eventually(ready_ips, timeout=20)


async def endpoints_by_port(client: Any) -> dict[int, dict[str, list[str]]]:
    """port → {"ready": [ips], "notReady": [ips]} of the Endpoints `web`."""
    try:
        endpoints = await client.get("endpoints", "web", "default")
    except errors.NotFound:
        return {}
    found: dict[int, dict[str, list[str]]] = {}
    for subset in endpoints.get("subsets") or []:
        for port in subset.get("ports") or []:
            entry = found.setdefault(port["port"], {"ready": [], "notReady": []})
            entry["ready"] += [a["ip"] for a in subset.get("addresses") or []]
            entry["notReady"] += [a["ip"] for a in subset.get("notReadyAddresses") or []]
    return found


async def slices_by_port(client: Any) -> dict[int, dict[str, bool]]:
    """port → {ip: ready} over the slices labelled for `web`."""
    items = (await client.list(SLICES, "default", label_selector="kubernetes.io/service-name=web"))["items"]
    found: dict[int, dict[str, bool]] = {}
    for slice_ in items:
        for port in slice_.get("ports") or []:
            entry = found.setdefault(port["port"], {})
            for endpoint in slice_.get("endpoints") or []:
                for ip in endpoint["addresses"]:
                    entry[ip] = endpoint["conditions"]["ready"]
    return found


async def turn_not_ready(client: Any, name: str) -> None:
    await client.patch("pods", name, {"metadata": {"annotations": NOT_READY}}, "default")


async def test_endpoints_follow_pod_ips_named_ports_readiness_and_deletion(client, hollow_nodes):
    ips = await start_web(client)
    async with run_controllers(client, [EndpointsController]):
        async def resolved() -> bool:
            return await endpoints_by_port(client) == {8080: {"ready": [ips["web-1"]], "notReady": []},
                                                       9090: {"ready": [ips["web-2"]], "notReady": []}}

        await eventually(resolved)
        await turn_not_ready(client, "web-1")

        async def moved() -> bool:
            return (await endpoints_by_port(client)).get(8080) == {"ready": [], "notReady": [ips["web-1"]]}

        await eventually(moved, timeout=15)
        await client.delete("pods", "web-2", "default", grace_period_seconds=0)

        async def removed() -> bool:
            return 9090 not in await endpoints_by_port(client)

        await eventually(removed, timeout=15)


async def test_endpoint_slices_mirror_the_same_changes(client, hollow_nodes):
    ips = await start_web(client)
    async with run_controllers(client, [EndpointSliceController]):
        async def resolved() -> bool:
            return await slices_by_port(client) == {8080: {ips["web-1"]: True}, 9090: {ips["web-2"]: True}}

        await eventually(resolved)
        await turn_not_ready(client, "web-1")

        async def not_ready() -> bool:
            return (await slices_by_port(client)).get(8080) == {ips["web-1"]: False}

        await eventually(not_ready, timeout=15)
        await client.delete("pods", "web-2", "default", grace_period_seconds=0)

        async def removed() -> bool:
            return 9090 not in await slices_by_port(client)

        await eventually(removed, timeout=15)
        slices = (await client.list(SLICES, "default", label_selector="kubernetes.io/service-name=web"))["items"]
        assert all(s["metadata"]["name"].startswith("web-") for s in slices)
        assert all(s["metadata"]["ownerReferences"][0]["kind"] == "Service" for s in slices)


async def test_kubectl_get_endpointslices_shows_kubernetes_columns(client, kubeconfig, hollow_nodes):  # noqa: F811
    ips = await start_web(client)
    async with run_controllers(client, [EndpointSliceController]):
        async def listed() -> str | None:
            result = await asyncio.to_thread(kubectl, kubeconfig, "get", "endpointslices")
            return result.stdout if result.returncode == 0 and ips["web-1"] in result.stdout else None

        output = await eventually(listed, timeout=15)
    header, *rows = output.splitlines()
    assert header.split() == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    cells = sorted(row.split()[1:4] for row in rows)
    assert cells == [["IPv4", "8080", ips["web-1"]], ["IPv4", "9090", ips["web-2"]]]
