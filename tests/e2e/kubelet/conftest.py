"""A real kubelet (Docker runtime) against a real apiserver + etcd, plus kubectl for logs and exec."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kubelet.host_info import observe_host
from kubelet.kubelet import Kubelet, KubeletConfig
from kubelet.node_status import NodeConfig, NodeObservation
from kubelet.probes import NetworkProbeRunner
from kubelet.runtime.docker import DockerRuntime
from tests.integration.http_api.conftest import kubeconfig, kubectl  # noqa: F401  (kubeconfig is a fixture)


def gateway(subnet: str) -> str:
    """Docker gives a user-defined network's gateway the subnet's first address; the host owns it."""
    return str(next(ipaddress.ip_network(subnet).hosts()))


def kubelet_config(node_name: str, node_ip: str, root: Path) -> KubeletConfig:
    return KubeletConfig(node=NodeConfig(node_name=node_name, address=node_ip), root_dir=root, api_host=node_ip,
                         sync_frequency=1.0, pleg_period=0.3, housekeeping_period=0.5, object_ttl=0.3,
                         lease_renew_interval=2.0, node_status_update_frequency=2.0, image_pull_backoff=2.0)


class DockerNode:
    def __init__(self, client: Any, runtime: DockerRuntime, config: KubeletConfig) -> None:
        self.client = client
        self.runtime = runtime
        self.config = config
        self.kubelet: Kubelet | None = None

    async def start(self) -> Kubelet:
        async def observe() -> NodeObservation:
            return await asyncio.to_thread(observe_host, self.config.root_dir)

        self.config.root_dir.mkdir(parents=True, exist_ok=True)
        self.kubelet = Kubelet(self.client, self.config, self.runtime, NetworkProbeRunner(self.runtime), observe)
        await self.kubelet.start()
        return self.kubelet

    async def stop(self) -> None:
        if self.kubelet is not None:
            await self.kubelet.stop()
            self.kubelet = None


@pytest.fixture
async def docker_node(client: Any, docker_runtime: DockerRuntime, node_name: str, e2e_network: tuple[str, str],
                      tmp_path: Path) -> AsyncIterator[DockerNode]:
    node = DockerNode(client, docker_runtime, kubelet_config(node_name, gateway(e2e_network[1]), tmp_path / "kubelet"))
    await node.start()
    yield node
    await node.stop()
    await remove_node_pods(docker_runtime, node.config)


async def remove_node_pods(runtime: DockerRuntime, config: KubeletConfig) -> None:
    """Remove the node's containers, then its pod volumes (tmpfs mounts included)."""
    from kubelet.volume_manager import VolumeManager

    for pod in await runtime.list_pods(config.node.node_name):
        for container in pod.containers:
            await runtime.remove_container(container.id)
        for sandbox in pod.sandboxes:
            await runtime.remove_sandbox(sandbox.id)
    volumes = VolumeManager(config.root_dir)
    for uid in volumes.pod_dirs():
        await volumes.teardown_pod_volumes(uid)
