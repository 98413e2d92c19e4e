"""Cluster IPs and node ports over a real apiserver and etcd: unique under concurrency, validated, released, kept
across an apiserver restart; and the ``kubernetes`` Service."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from typing import Any

import pytest

from apimachinery import errors
from apiserver.server import APIServer, ServerConfig
from client.client import Client

Object = dict[str, Any]
GATEWAY = "10.244.0.1"


def service(name: str, type_: str = "ClusterIP", cluster_ip: str | None = None, **port: Any) -> Object:
    spec: Object = {"type": type_, "selector": {"app": name}, "ports": [{"port": 80, **port}]}
    if cluster_ip is not None:
        spec["clusterIP"] = cluster_ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def config(etcd: Any, **extra: Any) -> ServerConfig:
    return ServerConfig(etcd_endpoint=etcd.endpoint, grpc_port=0, http_port=0, bookmark_interval=0.5,
                        compaction_interval=3600, advertise_address=GATEWAY, **extra)


@pytest.fixture
async def server(etcd: Any) -> AsyncIterator[APIServer]:
    s = APIServer(config(etcd))
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
async def api(server: APIServer) -> AsyncIterator[Client]:
    async with Client(f"127.0.0.1:{server.grpc_port}", retry_timeout=5.0) as c:
        yield c


async def test_cluster_ips_are_unique_across_50_concurrent_creates(api: Client) -> None:
    created = await asyncio.gather(*(api.create(service(f"s{i}")) for i in range(50)))
    ips = [s["spec"]["clusterIP"] for s in created]
    assert len(set(ips)) == 50
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/16") for ip in ips)
    assert "10.96.0.1" not in ips
    for s in created:
        assert s["spec"]["clusterIPs"] == [s["spec"]["clusterIP"]]
        assert s["spec"]["ipFamilies"] == ["IPv4"] and s["spec"]["ipFamilyPolicy"] == "SingleStack"


async def test_a_taken_cluster_ip_is_refused_with_kubernetes_message(api: Client) -> None:
    await api.create(service("a", cluster_ip="10.96.0.5"))
    with pytest.raises(errors.Invalid) as caught:
        await api.create(service("b", cluster_ip="10.96.0.5"))
    assert caught.value.code == 422
    assert ('spec.clusterIPs: Invalid value: ["10.96.0.5"]: failed to allocate IP 10.96.0.5: provided IP is already '
            "allocated") in caught.value.message
    with pytest.raises(errors.NotFound):
        await api.get("services", "b", "default")


async def test_an_ip_outside_the_range_is_refused(api: Client) -> None:
    with pytest.raises(errors.Invalid) as caught:
        await api.create(service("out", cluster_ip="10.0.0.5"))
    assert ("failed to allocate IP 10.0.0.5: the provided IP (10.0.0.5) is not in the valid range. The range of "
            "valid IPs is 10.96.0.0/16") in caught.value.message


async def test_headless_services_allocate_nothing(api: Client) -> None:
    created = await api.create(service("headless", cluster_ip="None"))
    assert created["spec"]["clusterIP"] == "None" and created["spec"]["clusterIPs"] == ["None"]


async def test_node_ports_are_allocated_and_conflicts_refused(api: Client) -> None:
    first = await api.create(service("np", "NodePort"))
    port = first["spec"]["ports"][0]["nodePort"]
    assert 30000 <= port <= 32767
    await api.create(service("fixed", "NodePort", nodePort=30080))
    with pytest.raises(errors.Invalid) as caught:
        await api.create(service("clash", "NodePort", nodePort=30080))
    assert "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated" in caught.value.message
    lb = await api.create(service("lb", "LoadBalancer"))
    assert 30000 <= lb["spec"]["ports"][0]["nodePort"] <= 32767


async def test_delete_releases_ip_and_node_port(api: Client) -> None:
    await api.create(service("x", "NodePort", cluster_ip="10.96.0.7", nodePort=30100))
    await api.delete("services", "x", "default")
    again = await api.create(service("y", "NodePort", cluster_ip="10.96.0.7", nodePort=30100))
    assert again["spec"]["clusterIP"] == "10.96.0.7"


async def test_a_failed_create_releases_what_it_allocated(api: Client) -> None:
    await api.create(service("holder", "NodePort", nodePort=30200))
    with pytest.raises(errors.Invalid):  # the IP is allocated first, then the port clashes
        await api.create(service("loser", "NodePort", cluster_ip="10.96.0.9", nodePort=30200))
    reused = await api.create(service("winner", cluster_ip="10.96.0.9"))
    assert reused["spec"]["clusterIP"] == "10.96.0.9"


async def test_type_change_to_cluster_ip_releases_node_ports(api: Client) -> None:
    await api.create(service("t", "NodePort", nodePort=30300))
    changed = await api.patch("services", "t", {"spec": {"type": "ClusterIP"}}, "default")
    assert "nodePort" not in changed["spec"]["ports"][0]
    assert "externalTrafficPolicy" not in changed["spec"]
    await api.create(service("u", "NodePort", nodePort=30300))


async def test_cluster_ip_is_immutable(api: Client) -> None:
    await api.create(service("imm", cluster_ip="10.96.0.11"))
    with pytest.raises(errors.Invalid) as caught:
        await api.patch("services", "imm", {"spec": {"clusterIP": "10.96.0.12", "clusterIPs": ["10.96.0.12"]}},
                        "default")
    assert "spec.clusterIPs[0]" in caught.value.message and "may not change once set" in caught.value.message


async def test_allocations_survive_an_apiserver_restart(etcd: Any) -> None:
    first = APIServer(config(etcd))
    await first.start()
    async with Client(f"127.0.0.1:{first.grpc_port}", retry_timeout=5.0) as c:
        before = [await c.create(service(f"r{i}", "NodePort")) for i in range(20)]
    await first.stop()
    second = APIServer(config(etcd))
    await second.start()
    try:
        async with Client(f"127.0.0.1:{second.grpc_port}", retry_timeout=5.0) as c:
            after = await asyncio.gather(*(c.create(service(f"n{i}", "NodePort")) for i in range(20)))
            kube = await c.get("services", "kubernetes", "default")
    finally:
        await second.stop()
    ips = [s["spec"]["clusterIP"] for s in before + after] + [kube["spec"]["clusterIP"]]
    ports = [s["spec"]["ports"][0]["nodePort"] for s in before + after]
    assert len(set(ips)) == len(ips) and len(set(ports)) == len(ports)


async def test_the_kubernetes_service_and_its_endpoints(server: APIServer, api: Client) -> None:
    svc = await api.get("services", "kubernetes", "default")
    assert svc["spec"]["clusterIP"] == "10.96.0.1"
    assert svc["spec"]["ports"] == [{"name": "https", "port": 443, "protocol": "TCP",
                                     "targetPort": server.http_port}]
    assert "selector" not in svc["spec"]
    endpoints = await api.get("endpoints", "kubernetes", "default")
    assert endpoints["subsets"] == [{"addresses": [{"ip": GATEWAY}],
                                     "ports": [{"name": "https", "port": server.http_port, "protocol": "TCP"}]}]
    slice_ = await api.get("endpointslices.discovery.k8s.io", "kubernetes", "default")
    assert slice_["endpoints"][0]["addresses"] == [GATEWAY]


async def test_the_kubernetes_service_is_put_back(server: APIServer, api: Client) -> None:
    await api.delete("services", "kubernetes", "default")
    await api.delete("endpoints", "kubernetes", "default")
    assert server.services.kubernetes_service is not None
    await server.services.kubernetes_service.reconcile()
    svc = await api.get("services", "kubernetes", "default")
    assert svc["spec"]["clusterIP"] == "10.96.0.1"
    await api.get("endpoints", "kubernetes", "default")


async def test_repair_reclaims_a_leak_after_three_runs(server: APIServer, api: Client) -> None:
    networking = server.services
    await networking.ips.update(lambda bitmap: bitmap.allocate(networking.ip_range.index("10.96.0.20")))
    for _ in range(2):
        await networking.ip_repair.run_once()
        with pytest.raises(errors.Invalid):
            await api.create(service("leak", cluster_ip="10.96.0.20"))
    await networking.ip_repair.run_once()
    created = await api.create(service("leak", cluster_ip="10.96.0.20"))
    assert created["spec"]["clusterIP"] == "10.96.0.20"


async def test_repair_marks_a_used_but_unallocated_ip(server: APIServer, api: Client) -> None:
    networking = server.services
    await api.create(service("lost", cluster_ip="10.96.0.30"))
    await networking.ips.update(lambda bitmap: bitmap.release(networking.ip_range.index("10.96.0.30")))
    result = await networking.ip_repair.run_once()
    assert any("10.96.0.30" in p and "not allocated; repairing" in p for p in result.problems)
    with pytest.raises(errors.Invalid):
        await api.create(service("dup", cluster_ip="10.96.0.30"))
