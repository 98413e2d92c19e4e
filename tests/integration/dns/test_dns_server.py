"""kubeling-dns against the real apiserver + etcd: answers follow Services and EndpointSlices as they change.

Pods run on two hollow nodes; the EndpointSlice controller turns them into slices; queries go over real UDP and
TCP sockets on loopback. No query ever leaves the machine: the server has no upstream (other names are REFUSED).
"""

from __future__ import annotations

from typing import Any

import pytest
from dnslib import QTYPE, RCODE

from apimachinery import errors
from controller_manager.endpointslice import EndpointSliceController
from dns.app import ClusterDNS
from tests.integration.controller_manager.conftest import eventually, pod_manifest, run_controllers
from tests.integration.dns.conftest import addresses, query

pytestmark = pytest.mark.integration
Object = dict[str, Any]
SLICES = "endpointslices.discovery.k8s.io"
NOT_READY = {"fake.kubeling.io/probe.readiness.app": "failure"}


def service(name: str, cluster_ip: str, **spec: Any) -> Object:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"clusterIP": cluster_ip, "selector": {"app": name},
                     "ports": [{"name": "db", "port": 5432, "targetPort": 5432}], **spec}}


def db_pod(index: int, node: str) -> Object:
    container = {"name": "app", "image": "kubeling/busybox:1.35", "ports": [{"name": "db", "containerPort": 5432}],
                 "readinessProbe": {"exec": {"command": ["true"]}, "periodSeconds": 1, "failureThreshold": 1}}
    pod = pod_manifest(f"db-{index}", node=node, containers=[container], hostname=f"db-{index}", subdomain="db")
    pod["metadata"]["labels"] = {"app": "db"}
    return pod


async def test_the_server_creates_the_kube_dns_service_and_endpoints(client, cluster_dns: ClusterDNS) -> None:
    async def written() -> tuple[Object, Object, Object] | None:
        try:
            return (await client.get("services", "kube-dns", "kube-system"),
                    await client.get("endpoints", "kube-dns", "kube-system"),
                    await client.get(SLICES, "kube-dns", "kube-system"))
        except errors.NotFound:
            return None

    svc, endpoints, slice_ = await eventually(written)
    assert svc["spec"]["clusterIP"] == "10.96.0.10"
    assert "selector" not in svc["spec"]
    assert sorted((p["name"], p["port"], p["protocol"]) for p in svc["spec"]["ports"]) == [
        ("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")]
    port = cluster_dns.port
    assert endpoints["subsets"] == [{"addresses": [{"ip": "10.244.0.1"}], "ports": [
        {"name": "dns", "port": port, "protocol": "UDP"}, {"name": "dns-tcp", "port": port, "protocol": "TCP"},
        {"name": "metrics", "port": 9153, "protocol": "TCP"}]}]
    assert slice_["metadata"]["labels"]["kubernetes.io/service-name"] == "kube-dns"
    assert slice_["endpoints"][0]["addresses"] == ["10.244.0.1"]

    # the server answers for its own Service, over both transports
    for tcp in (False, True):
        reply = await query(port, "kube-dns.kube-system.svc.cluster.local", tcp=tcp)
        assert reply.header.aa == 1 and addresses(reply) == ["10.96.0.10"]

    # a deleted Endpoints object comes back (reconciled every 0.5 s here)
    await client.delete("endpoints", "kube-dns", "kube-system")

    async def restored() -> bool:
        try:
            return bool(await client.get("endpoints", "kube-dns", "kube-system"))
        except errors.NotFound:
            return False

    await eventually(restored)


async def test_cluster_ip_service_a_srv_and_negative_answers(client, cluster_dns: ClusterDNS) -> None:
    await client.create(service("web", "10.96.1.20", ports=[{"name": "http", "port": 80, "targetPort": 8080}]))
    port = cluster_dns.port

    async def resolved() -> list[str]:
        return addresses(await query(port, "web.default.svc.cluster.local"))

    assert await eventually(resolved) == ["10.96.1.20"]
    assert addresses(await query(port, "web.default.svc.cluster.local", tcp=True)) == ["10.96.1.20"]
    srv = await query(port, "_http._tcp.web.default.svc.cluster.local", "SRV")
    assert [str(rr.rdata) for rr in srv.rr] == ["0 100 80 web.default.svc.cluster.local."]
    assert [str(rr.rdata) for rr in srv.ar] == ["10.96.1.20"]

    missing = await query(port, "nope.default.svc.cluster.local")
    assert missing.header.rcode == RCODE.NXDOMAIN and [rr.rtype for rr in missing.auth] == [QTYPE.SOA]
    outside = await query(port, "example.com")
    assert outside.header.rcode == RCODE.REFUSED  # no upstream in tests: nothing is forwarded

    await client.delete("services", "web", "default")

    async def gone() -> bool:
        return (await query(port, "web.default.svc.cluster.local")).header.rcode == RCODE.NXDOMAIN

    await eventually(gone)


async def test_headless_service_follows_endpoint_readiness(client, cluster_dns: ClusterDNS, hollow_node) -> None:
    await client.create(service("db", "None"))
    await client.create(db_pod(0, "node-1"))
    await client.create(db_pod(1, "node-1"))  # one fake runtime: distinct pod IPs
    port = cluster_dns.port
    async with run_controllers(client, [EndpointSliceController]):
        async def pod_ips() -> dict[str, str] | None:
            pods = (await client.list("pods", "default", label_selector="app=db"))["items"]
            ips = {p["metadata"]["name"]: p["status"].get("podIP") for p in pods}
            return ips if len(ips) == 2 and all(ips.values()) else None

        ips = await eventually(pod_ips, timeout=20)

        async def headless() -> list[str]:
            return addresses(await query(port, "db.default.svc.cluster.local"))

        await eventually(lambda: _equals(headless, sorted(ips.values())), timeout=20)
        assert addresses(await query(port, "db-0.db.default.svc.cluster.local")) == [ips["db-0"]]
        srv = await query(port, "_db._tcp.db.default.svc.cluster.local", "SRV", tcp=True)
        assert sorted(str(rr.rdata) for rr in srv.rr) == ["0 50 5432 db-0.db.default.svc.cluster.local.",
                                                          "0 50 5432 db-1.db.default.svc.cluster.local."]

        await client.patch("pods", "db-0", {"metadata": {"annotations": NOT_READY}}, "default")
        await eventually(lambda: _equals(headless, [ips["db-1"]]), timeout=20)
        gone = await query(port, "db-0.db.default.svc.cluster.local")
        assert gone.header.rcode == RCODE.NXDOMAIN

        # pod names answer the dashed IP
        dashed = ips["db-1"].replace(".", "-")
        assert addresses(await query(port, f"{dashed}.default.pod.cluster.local")) == [ips["db-1"]]


async def _equals(check: Any, expected: list[str]) -> bool:
    return bool(await check() == expected)
