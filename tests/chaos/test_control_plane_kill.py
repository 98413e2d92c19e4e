"""kill -9 the controller-manager, the scheduler and a kubelet (real processes) while workloads change.

The cluster: an apiserver process over the test etcd, a controller-manager, two schedulers (leader-elected),
and three hollow kubelets (each its own process, fake runtime), all with short timings.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from apimachinery import errors
from client.client import Client
from tests.fixtures import ApiserverProcess, KubeletProcess, kill_9, spawn, terminate
from tests.integration.kubelet.conftest import eventually

pytestmark = [pytest.mark.integration, pytest.mark.chaos]
Object = dict[str, Any]
NODES = ("node-a", "node-b", "node-c")
LEADER_TIMINGS = ("--leader-elect-lease-duration", "3s", "--leader-elect-renew-deadline", "2s",
                  "--leader-elect-retry-period", "0.5s")


@dataclass
class Component:
    name: str
    command: list[str]
    log: Path
    process: Any = None

    def start(self) -> None:
        self.process = spawn(self.command, self.log, env={"KUBELING_IDENTITY": self.name})

    def kill(self) -> None:
        kill_9(self.process)

    def stop(self) -> None:
        terminate(self.process)


@dataclass
class Cluster:
    server: ApiserverProcess
    client: Client
    components: dict[str, Component] = field(default_factory=dict)
    kubelets: dict[str, KubeletProcess] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def cluster(etcd: Any, tmp: Path) -> AsyncIterator[Cluster]:
    server = ApiserverProcess(etcd.endpoint, tmp / "apiserver.log", extra_args=(
        "--default-not-ready-toleration-seconds", "2", "--default-unreachable-toleration-seconds", "2"))
    server.start()
    python = sys.executable
    c = Cluster(server, Client(server.target, retry_timeout=10.0))
    c.components["controller-manager"] = Component("controller-manager", [
        python, "-m", "controller_manager", "--apiserver", server.target, *LEADER_TIMINGS,
        "--node-monitor-grace-period", "4s", "--node-monitor-period", "0.5s"], tmp / "cm.log")
    for name in ("scheduler-1", "scheduler-2"):
        c.components[name] = Component(name, [python, "-m", "scheduler", "--apiserver", server.target,
                                               *LEADER_TIMINGS], tmp / f"{name}.log")
    for node in NODES:
        c.kubelets[node] = KubeletProcess(server.target, node, tmp / f"kubelet-{node}.log", args=(
            "--runtime", "fake", "--root-dir", str(tmp / "kubelet"), "--node-lease-renew-interval", "1s",
            "--node-status-update-frequency", "1s", "--sync-frequency", "2s"))
    try:
        for component in c.components.values():
            component.start()
        for kubelet in c.kubelets.values():
            kubelet.start()
        await eventually(lambda: ready_nodes(c.client, len(NODES)), timeout=30)
        yield c
    finally:
        for component in c.components.values():
            component.stop()
        for kubelet in c.kubelets.values():
            kubelet.stop()
        await c.client.close()
        server.stop()


async def ready_nodes(client: Client, count: int) -> bool:
    nodes = (await client.list("nodes"))["items"]
    ready = [n for n in nodes if any(c["type"] == "Ready" and c["status"] == "True"
                                     for c in n.get("status", {}).get("conditions", []))]
    return len(ready) >= count


def deployment(replicas: int, image: str = "kubeling/hello:v1") -> Object:
    labels = {"app": "web"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "terminationGracePeriodSeconds": 0,
                         "containers": [{"name": "web", "image": image,
                                         "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}}}


async def web_pods(client: Client) -> list[Object]:
    pods = (await client.list("pods", "default", label_selector="app=web"))["items"]
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


async def rollout_done(client: Client, replicas: int, image: str) -> bool:
    deploy = await client.get("deployments", "web", "default")
    status = deploy.get("status", {})
    pods = await web_pods(client)
    running = [p for p in pods if p.get("status", {}).get("phase") == "Running"
               and p["spec"]["containers"][0]["image"] == image]
    return (status.get("observedGeneration") == deploy["metadata"]["generation"]
            and status.get("updatedReplicas") == replicas and status.get("availableReplicas") == replicas
            and len(pods) == replicas and len(running) == replicas)


async def test_a_deployment_spreads_over_the_nodes_and_survives_a_kill_9_of_the_controller_manager(
        etcd, tmp_path):
    async with cluster(etcd, tmp_path) as c:
        await c.client.create(deployment(6))
        await eventually(lambda: rollout_done(c.client, 6, "kubeling/hello:v1"), timeout=30)
        placement = collections.Counter(p["spec"]["nodeName"] for p in await web_pods(c.client))
        assert set(placement) == set(NODES), placement
        await c.client.patch("deployments", "web", {"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "kubeling/hello:v2"}]}}}}, "default", patch_type="strategic")

        async def new_replica_set() -> bool:
            return len((await c.client.list("replicasets", "default"))["items"]) == 2

        await eventually(new_replica_set, timeout=15, interval=0.05)
        c.components["controller-manager"].kill()
        await asyncio.sleep(1)
        c.components["controller-manager"].start()
        await eventually(lambda: rollout_done(c.client, 6, "kubeling/hello:v2"), timeout=45)
        replica_sets = {rs["metadata"]["uid"] for rs in (await c.client.list("replicasets", "default"))["items"]}
        for pod in await web_pods(c.client):
            owners = [o for o in pod["metadata"].get("ownerReferences", []) if o.get("controller")]
            assert len(owners) == 1 and owners[0]["uid"] in replica_sets, "no orphan pods"


async def leader(client: Client) -> str:
    try:
        lease = await client.get("leases", "kube-scheduler", "kube-system")
    except errors.NotFound:
        return ""
    return str(lease["spec"].get("holderIdentity") or "")


async def test_the_standby_scheduler_takes_over_when_the_leader_is_killed_and_binds_each_pod_once(
        etcd, tmp_path):
    async with cluster(etcd, tmp_path) as c:
        first = await eventually(lambda: leader(c.client), timeout=15)
        c.components[first].kill()
        killed_at = asyncio.get_running_loop().time()
        for i in range(5):
            await c.client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}",
                                   "namespace": "default"}, "spec": {"containers": [
                                       {"name": "c", "image": "kubeling/busybox:1.35"}]}})

        async def all_bound() -> bool:
            pods = (await c.client.list("pods", "default"))["items"]
            return len(pods) == 5 and all(p["spec"].get("nodeName") for p in pods)

        await eventually(all_bound, timeout=20)
        took = asyncio.get_running_loop().time() - killed_at
        assert took <= 3 + 0.5 + 3, f"standby took {took:.1f}s (leaseDuration 3s + retryPeriod 0.5s + slack)"
        assert await leader(c.client) not in ("", first)

        async def scheduled_events() -> collections.Counter[str]:  # events are written after the binding
            events = (await c.client.list("events", "default"))["items"]
            counts: collections.Counter[str] = collections.Counter()
            for e in events:  # a repeated event would be one object with count 2: count those too
                if e["reason"] == "Scheduled":
                    counts[e["involvedObject"]["name"]] += int(e.get("count") or 1)
            return counts if len(counts) == 5 else collections.Counter()

        scheduled = await eventually(scheduled_events, timeout=10)
        assert all(scheduled[f"p{i}"] == 1 for i in range(5)), scheduled


async def test_pods_of_a_node_whose_kubelet_dies_are_recreated_on_the_other_nodes(etcd, tmp_path):
    async with cluster(etcd, tmp_path) as c:
        await c.client.create(deployment(6))
        await eventually(lambda: rollout_done(c.client, 6, "kubeling/hello:v1"), timeout=30)
        victim = "node-a"
        assert any(p["spec"]["nodeName"] == victim for p in await web_pods(c.client))
        c.kubelets[victim].kill()

        async def not_ready() -> bool:
            node = await c.client.get("nodes", victim)
            return any(t["key"] == "node.kubernetes.io/unreachable" for t in node["spec"].get("taints", []))

        await eventually(not_ready, timeout=20)

        async def moved() -> bool:
            pods = await web_pods(c.client)
            running = [p for p in pods if p.get("status", {}).get("phase") == "Running"]
            return len(running) == 6 and all(p["spec"]["nodeName"] != victim for p in running)

        await eventually(moved, timeout=40)
