"""Node IPAM end to end: two hollow nodes get distinct pod CIDRs, their pods' IPs fall in them; the service LB
stand-in publishes a Ready node's address."""

from __future__ import annotations

import ipaddress
from typing import Any

from controller_manager.nodeipam import NodeIpamController
from controller_manager.service_lb import ServiceLBController
from tests.integration.controller_manager.conftest import HollowNode, eventually, pod_manifest, run_controllers


async def pod_cidrs(client: Any) -> dict[str, str]:
    nodes = (await client.list("nodes"))["items"]
    return {n["metadata"]["name"]: n["spec"].get("podCIDR") for n in nodes if n["spec"].get("podCIDR")}


async def test_nodes_get_distinct_cidrs_and_pods_addresses_from_them(client: Any,
                                                                    hollow_nodes: list[HollowNode]) -> None:
    async with run_controllers(client, [NodeIpamController]):
        cidrs = await eventually(lambda: _both(client))
    assert len(set(cidrs.values())) == 2 and "10.244.0.0/24" not in cidrs.values()
    for i in range(2):
        for node in ("node-1", "node-2"):
            await client.create(pod_manifest(f"p{i}-{node}", node=node))

    async def pod_ips() -> dict[str, str] | None:
        pods = (await client.list("pods", "default"))["items"]
        ips = {p["metadata"]["name"]: p.get("status", {}).get("podIP") for p in pods}
        return ips if len(ips) == 4 and all(ips.values()) else None

    ips = await eventually(pod_ips, timeout=20)
    assert len(set(ips.values())) == 4
    for name, ip in ips.items():
        node = name.split("-", 1)[1]
        assert ipaddress.ip_address(ip) in ipaddress.ip_network(cidrs[node]), (name, ip, cidrs)


async def _both(client: Any) -> dict[str, str] | None:
    cidrs = await pod_cidrs(client)
    return cidrs if len(cidrs) == 2 else None


async def test_a_restarted_controller_keeps_cidrs_and_gives_new_nodes_free_ones(client: Any,
                                                                               hollow_nodes: list[HollowNode],
                                                                               tmp_path: Any) -> None:
    async with run_controllers(client, [NodeIpamController]):
        first = await eventually(lambda: _both(client))
    third = HollowNode(client, tmp_path, "node-3")
    await third.start()
    try:
        async with run_controllers(client, [NodeIpamController]):
            cidrs = await eventually(lambda: _all_three(client))
    finally:
        await third.stop()
    assert {k: cidrs[k] for k in first} == first
    assert len(set(cidrs.values())) == 3


async def _all_three(client: Any) -> dict[str, str] | None:
    cidrs = await pod_cidrs(client)
    return cidrs if len(cidrs) == 3 else None


async def test_load_balancer_services_get_a_ready_nodes_address(client: Any,
                                                                hollow_nodes: list[HollowNode]) -> None:
    await client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "lb", "namespace": "default"},
                         "spec": {"type": "LoadBalancer", "selector": {"app": "x"}, "ports": [{"port": 80}]}})

    async def ingress() -> Any:
        svc = await client.get("services", "lb", "default")
        return (svc.get("status") or {}).get("loadBalancer", {}).get("ingress")

    async with run_controllers(client, [ServiceLBController]):
        found = await eventually(ingress)
    assert found == [{"ip": "127.0.0.1", "ipMode": "VIP"}]
