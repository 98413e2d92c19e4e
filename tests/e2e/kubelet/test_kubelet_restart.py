"""kill -9 the kubelet (a real process) or the apiserver under running pods: the pods never notice."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import docker
import pytest

from client.client import Client
from tests.e2e.kubelet.conftest import gateway, kubelet_config, remove_node_pods
from tests.fixtures import ApiserverProcess, KubeletProcess
from tests.integration.kubelet.conftest import eventually, pod_manifest

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]


def kubelet_process(server: ApiserverProcess, node: str, network: tuple[str, str], tmp: Path) -> KubeletProcess:
    return KubeletProcess(server.target, node, tmp / "kubelet.log", args=(
        "--network", network[0], "--node-ip", gateway(network[1]), "--root-dir", str(tmp / "kubelet"),
        "--sync-frequency", "1s", "--node-status-update-frequency", "1s", "--node-lease-renew-interval", "1s"))


@contextlib.asynccontextmanager
async def cluster(etcd: Any, network: tuple[str, str], runtime: Any, node: str,
                  tmp: Path) -> AsyncIterator[tuple[ApiserverProcess, KubeletProcess, Client]]:
    """An apiserver process and a Docker kubelet process for ``node``; the node's pods removed afterwards."""
    server = ApiserverProcess(etcd.endpoint, tmp / "apiserver.log")
    server.start()
    kubelet = kubelet_process(server, node, network, tmp)
    kubelet.start()
    client = Client(server.target, retry_timeout=10.0)
    try:
        yield server, kubelet, client
    finally:
        kubelet.stop()
        await client.close()
        server.stop()
        await remove_node_pods(runtime, kubelet_config(node, "", tmp / "kubelet"))


async def running_status(client: Client, name: str) -> dict[str, Any] | None:
    pod = await client.get("pods", name, "default")
    statuses = pod.get("status", {}).get("containerStatuses") or []
    return statuses[0] if statuses and "running" in statuses[0].get("state", {}) else None


def docker_started_at(docker_client: docker.DockerClient, container_id: str) -> str:
    return str(docker_client.api.inspect_container(container_id.removeprefix("docker://"))["State"]["StartedAt"])


async def test_kill_9_of_the_kubelet_leaves_containers_running_and_restart_counts_unchanged(
        etcd, e2e_network, docker_client, docker_runtime, node_name, tmp_path):
    async with cluster(etcd, e2e_network, docker_runtime, node_name, tmp_path) as (_server, kubelet, client):
        await client.create(pod_manifest("steady", node=node_name, containers=[
            {"name": "web", "image": "kubeling/hello:v1"}]))
        before = await eventually(lambda: running_status(client, "steady"), timeout=30)
        started = docker_started_at(docker_client, before["containerID"])
        kubelet.kill()
        await asyncio.sleep(1)
        kubelet.start()
        await asyncio.sleep(5)  # several sync periods of the new kubelet
        after = await running_status(client, "steady")
        assert after is not None
        assert after["containerID"] == before["containerID"]
        assert after["restartCount"] == 0
        assert docker_started_at(docker_client, after["containerID"]) == started
        # and the restarted kubelet still does its job
        await client.create(pod_manifest("fresh", node=node_name, containers=[
            {"name": "web", "image": "kubeling/hello:v1"}]))
        await eventually(lambda: running_status(client, "fresh"), timeout=30)


async def test_pods_keep_running_while_the_apiserver_is_down_and_the_kubelet_reconnects(
        etcd, e2e_network, docker_client, docker_runtime, node_name, tmp_path):
    async with cluster(etcd, e2e_network, docker_runtime, node_name, tmp_path) as (server, _kubelet, client):
        await client.create(pod_manifest("survivor", node=node_name, containers=[
            {"name": "web", "image": "kubeling/hello:v1"}]))
        before = await eventually(lambda: running_status(client, "survivor"), timeout=30)
        started = docker_started_at(docker_client, before["containerID"])
        server.kill()
        await asyncio.sleep(3)
        assert docker_started_at(docker_client, before["containerID"]) == started  # untouched meanwhile
        server.start()
        await client.create(pod_manifest("after", node=node_name, containers=[
            {"name": "web", "image": "kubeling/hello:v1"}]))
        await eventually(lambda: running_status(client, "after"), timeout=30)
        after = await running_status(client, "survivor")
        assert after is not None and after["containerID"] == before["containerID"]
        assert after["restartCount"] == 0
