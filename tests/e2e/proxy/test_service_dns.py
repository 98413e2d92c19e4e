"""A pod reaches a Service by its DNS name: kubelet resolv.conf → kube-dns ClusterIP → proxy → DNS server.

Everything real: an in-process apiserver, a Docker kubelet whose pods get `nameserver 10.96.0.10`, the
EndpointSlice controller, the iptables proxy, and the cluster DNS server listening on the test network's
gateway (the lab's stand-in for a DNS pod; see dns/kube_dns.py).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from controller_manager.endpointslice import EndpointSliceController
from dns.app import ClusterDNS, DNSConfig
from proxy import iptables
from proxy.iptables_rules import ProxyConfig
from proxy.proxier import Proxier
from tests.e2e.kubelet.conftest import DockerNode, gateway, kubectl, kubelet_config, remove_node_pods
from tests.e2e.proxy.test_proxy import BUSYBOX, hello_pod, wait_ready
from tests.integration.controller_manager.conftest import run_controllers
from tests.integration.kubelet.conftest import eventually, pod_manifest

pytestmark = pytest.mark.e2e
KUBE_DNS_IP = "10.96.0.10"


def free_udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def dns_cluster(client: Any, docker_runtime: Any, node_name: str, e2e_network: tuple[str, str],
                      tmp_path: Path) -> AsyncIterator[DockerNode]:
    """A Docker node whose pods use the cluster DNS, with the proxy and the DNS server running."""
    host = gateway(e2e_network[1])
    config = kubelet_config(node_name, host, tmp_path / "kubelet")
    config.cluster_dns = (KUBE_DNS_IP,)
    node = DockerNode(client, docker_runtime, config)
    dns = ClusterDNS(client, DNSConfig(listen_host=host, listen_port=free_udp_port(host), upstreams=[],
                                       advertise_address=host, cluster_ip=KUBE_DNS_IP, reconcile_period=0.5,
                                       sync_timeout=15))
    proxier = Proxier(client, iptables.IptablesProxier(ProxyConfig(node_name=node_name)), min_sync_period=0.1)
    async with run_controllers(client, [EndpointSliceController]):
        await dns.start()
        task = asyncio.create_task(proxier.run(clean_on_exit=False))
        try:
            await asyncio.wait_for(proxier.synced.wait(), 15)
            await node.start()
            yield node
        finally:
            await node.stop()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await dns.stop()
            await asyncio.to_thread(iptables.cleanup)
            await remove_node_pods(docker_runtime, config)


async def in_caller(kubeconfig: Path, *command: str) -> str | None:
    done = await asyncio.to_thread(kubectl, kubeconfig, "exec", "caller", "--", "timeout", "5", *command)
    return done.stdout.strip() if done.returncode == 0 else None


async def test_a_pod_reaches_a_service_by_its_dns_names(client, dns_cluster: DockerNode, kubeconfig: Path):
    await hello_pod(client, dns_cluster, "web-1", "web")
    await client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
                         "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}})
    await client.create(pod_manifest("caller", node=dns_cluster.config.node.node_name, containers=[
        {"name": "c", "image": BUSYBOX, "command": ["sh", "-c", "sleep 3600"]}]))
    await wait_ready(client, "web-1", "caller")
    resolv = await in_caller(kubeconfig, "cat", "/etc/resolv.conf")
    assert resolv is not None and f"nameserver {KUBE_DNS_IP}" in resolv and "default.svc.cluster.local" in resolv
    for url in ("http://web.default.svc.cluster.local/", "http://web/"):
        def fetch(url: str = url) -> Any:
            return in_caller(kubeconfig, "wget", "-qO-", url)

        answer = await eventually(fetch, timeout=30, interval=0.5)
        assert answer == "[v1] Hello from web-1"


async def test_a_headless_service_resolves_to_the_pod_ips(client, dns_cluster: DockerNode, kubeconfig: Path):
    await hello_pod(client, dns_cluster, "db-1", "db")
    await client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": "default"},
                         "spec": {"clusterIP": "None", "selector": {"app": "db"}, "ports": [{"port": 8080}]}})
    await client.create(pod_manifest("caller", node=dns_cluster.config.node.node_name, containers=[
        {"name": "c", "image": BUSYBOX, "command": ["sh", "-c", "sleep 3600"]}]))
    await wait_ready(client, "db-1", "caller")
    pod_ip = (await client.get("pods", "db-1", "default"))["status"]["podIP"]

    async def resolved() -> bool:
        answer = await in_caller(kubeconfig, "nslookup", "db.default.svc.cluster.local")
        return answer is not None and pod_ip in answer

    await eventually(resolved, timeout=30, interval=0.5)
