"""kubelet.node_lease.NodeAgent against a real apiserver and etcd: registration, Lease heartbeats, node status."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from client.client import Client
from client.events import EventRecorder
from kubelet.node_lease import LEASE_NAMESPACE, LEASE_RESOURCE, NodeAgent
from kubelet.node_status import NodeConfig, NodeObservation, parse_taints

pytestmark = pytest.mark.integration

GI = 1024**3
CONFIG = NodeConfig(node_name="node-a", address="10.1.2.3", labels={"zone": "lab-1"},
                    taints=parse_taints(["dedicated=infra:NoSchedule"]), cpu="8", max_pods=50, kubelet_port=10250)


class Machine:
    """A synthetic machine whose observation a test can change."""

    def __init__(self) -> None:
        self.obs = NodeObservation(cpu_count=2, memory_bytes=16 * GI, memory_available_bytes=8 * GI,
                                   runtime_version="fake://1.0", boot_id="boot-1", machine_id="machine-1")

    async def observe(self) -> NodeObservation:
        return self.obs


async def eventually(check: Callable[[], Awaitable[Any] | Any], timeout: float = 10.0) -> Any:
    """Poll `check` (sync or async; exceptions count as false) until it is truthy; return its value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            last = check()
            if inspect.isawaitable(last):
                last = await last
            if last:
                return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"not true within {timeout}s; last value {last!r}")


@contextlib.asynccontextmanager
async def running(agent: NodeAgent) -> AsyncIterator[NodeAgent]:
    task = asyncio.create_task(agent.run())
    try:
        yield agent
    finally:
        await agent.stop()
        await asyncio.wait_for(task, 10)


def agent_for(client: Client, machine: Machine, config: NodeConfig = CONFIG, **kwargs: Any) -> NodeAgent:
    timings: dict[str, Any] = {"renew_interval": 0.2, "status_update_frequency": 0.2, **kwargs}
    return NodeAgent(client, config, machine.observe, **timings)


async def get_node(client: Client) -> dict:
    return await client.get("nodes", CONFIG.node_name)


async def get_lease(client: Client) -> dict:
    return await client.get(LEASE_RESOURCE, CONFIG.node_name, LEASE_NAMESPACE)


def condition(node: dict, kind: str) -> dict:
    return next(c for c in node["status"]["conditions"] if c["type"] == kind)


async def test_register_creates_the_node_with_labels_capacity_taints_and_status(client):
    agent = agent_for(client, Machine())
    registered = await agent.register()
    node = await get_node(client)
    assert node["metadata"]["uid"] == registered["metadata"]["uid"] == agent.node_uid
    labels = node["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == "node-a" and labels["kubernetes.io/os"] == "linux"
    assert labels["beta.kubernetes.io/arch"] == "amd64" and labels["zone"] == "lab-1"
    assert node["spec"]["taints"] == [{"key": "dedicated", "value": "infra", "effect": "NoSchedule"}]
    assert node["status"]["capacity"]["cpu"] == "8" and node["status"]["capacity"]["pods"] == "50"
    assert node["status"]["capacity"]["memory"] == "16Gi"
    assert node["status"]["allocatable"]["memory"] == f"{16 * 1024 - 100}Mi"
    assert {"type": "InternalIP", "address": "10.1.2.3"} in node["status"]["addresses"]
    assert "conditions" not in node["status"]  # as Kubernetes' initialNode: the first status sync adds them


async def test_lease_is_created_with_owner_and_renewed_with_advancing_renew_time(client):
    agent = agent_for(client, Machine(), lease_duration=40)
    async with running(agent):
        first = await eventually(lambda: get_lease(client))
        await eventually(lambda: agent.lease_renewals >= 4)
        lease = await eventually(lambda: _lease_with_owner(client))
    spec = lease["spec"]
    assert spec["holderIdentity"] == "node-a" and spec["leaseDurationSeconds"] == 40
    assert len(spec["renewTime"]) == len("2026-01-01T00:00:00.000000Z") and spec["renewTime"].endswith("Z")
    assert spec["renewTime"] > first["spec"]["renewTime"]
    node = await get_node(client)
    assert lease["metadata"]["ownerReferences"] == [{"apiVersion": "v1", "kind": "Node", "name": "node-a",
                                                     "uid": node["metadata"]["uid"]}]


async def _lease_with_owner(client: Client) -> dict | None:
    lease = await get_lease(client)
    return lease if lease["metadata"].get("ownerReferences") else None


async def test_the_lease_namespace_is_created_if_missing(client, etcd):
    from aetcd import Client as Etcd

    host, port = etcd.endpoint.split(":")
    async with Etcd(host=host, port=int(port)) as store:  # the API refuses to delete it; etcd does not
        await store.delete(f"/registry/namespaces/{LEASE_NAMESPACE}".encode())
    await eventually(lambda: _gone(client, "namespaces", LEASE_NAMESPACE))
    agent = agent_for(client, Machine())
    async with running(agent):
        await eventually(lambda: get_lease(client))
    assert (await client.get("namespaces", LEASE_NAMESPACE))["metadata"]["name"] == LEASE_NAMESPACE


async def _gone(client: Client, resource: str, name: str) -> bool:
    try:
        await client.get(resource, name)
    except Exception:
        return True
    return False


async def test_a_restarted_agent_keeps_labels_and_taints_others_added(client):
    machine = Machine()
    await agent_for(client, machine).register()
    node = await get_node(client)
    node["metadata"]["labels"]["team"] = "blue"
    node["metadata"]["labels"]["zone"] = "tampered"
    node["spec"]["taints"] = [{"key": "maintenance", "effect": "NoExecute"}]
    await client.update(node)
    restarted = agent_for(client, machine)
    await restarted.register()
    node = await get_node(client)
    assert node["metadata"]["labels"]["team"] == "blue"
    assert node["metadata"]["labels"]["zone"] == "lab-1"
    assert node["spec"]["taints"] == [{"key": "maintenance", "effect": "NoExecute"},
                                      {"key": "dedicated", "value": "infra", "effect": "NoSchedule"}]
    assert restarted.node_uid == node["metadata"]["uid"]


async def test_status_is_written_only_on_change_or_report_frequency(client):
    machine = Machine()
    agent = agent_for(client, machine, status_update_frequency=0.1, status_report_frequency=300)
    async with running(agent):
        await eventually(lambda: agent.status_writes >= 1)  # the first sync always reports
        version = (await get_node(client))["metadata"]["resourceVersion"]
        await asyncio.sleep(1.0)  # ~10 syncs with nothing new to say
        assert agent.status_writes == 1
        assert (await get_node(client))["metadata"]["resourceVersion"] == version
        machine.obs = dataclasses.replace(machine.obs, memory_available_bytes=10 * 1024**2)
        agent.request_status_update()
        node = await eventually(lambda: _with_condition(client, "MemoryPressure", "True"))
    pressure = condition(node, "MemoryPressure")
    assert pressure["reason"] == "KubeletHasInsufficientMemory"
    assert agent.status_writes == 2


async def test_status_is_reported_again_after_the_report_frequency(client):
    agent = agent_for(client, Machine(), status_update_frequency=0.1, status_report_frequency=0.5)
    async with running(agent):
        await eventually(lambda: agent.status_writes >= 3, timeout=5)
    node = await get_node(client)
    heartbeat = condition(node, "Ready")["lastHeartbeatTime"]
    assert heartbeat >= condition(node, "Ready")["lastTransitionTime"]


async def test_status_overwrites_a_ready_condition_someone_else_changed(client):
    agent = agent_for(client, Machine(), status_update_frequency=0.1)
    async with running(agent):
        node = await eventually(lambda: _with_condition(client, "Ready", "True"))
        condition(node, "Ready").update(status="Unknown", reason="NodeStatusUnknown")
        await client.update_status(node)
        await eventually(lambda: _with_condition(client, "Ready", "True"))


async def test_runtime_down_is_posted_as_not_ready_with_an_event(client):
    machine = Machine()
    recorder = EventRecorder(client, "kubelet", "node-a")
    recorder.start()
    agent = agent_for(client, machine, status_update_frequency=0.1, recorder=recorder)
    async with running(agent):
        await eventually(lambda: _with_condition(client, "Ready", "True"))
        machine.obs = dataclasses.replace(machine.obs, runtime_ok=False, runtime_error="fake runtime is down")
        node = await eventually(lambda: _with_condition(client, "Ready", "False"))
    await recorder.flush()
    await recorder.stop()
    assert condition(node, "Ready")["message"] == "fake runtime is down"
    reasons = {e["reason"] for e in (await client.list("events", "default"))["items"]}
    assert {"NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID", "NodeReady",
            "NodeNotReady"} <= reasons


async def _with_condition(client: Client, kind: str, status: str) -> dict | None:
    node = await get_node(client)
    conditions = (node.get("status") or {}).get("conditions") or []
    return node if any(c["type"] == kind and c["status"] == status for c in conditions) else None


async def test_agent_keeps_going_when_the_apiserver_restarts(apiserver):
    async with Client(f"127.0.0.1:{apiserver.grpc_port}", retry_timeout=0.5, timeout=2.0) as client:
        agent = agent_for(client, Machine(), status_update_frequency=0.2)
        async with running(agent):
            await eventually(lambda: _lease_with_owner(client))
            await apiserver.stop()
            await asyncio.sleep(1.5)  # renewals fail meanwhile; the loops must survive
            before = agent.lease_renewals
            await apiserver.start()
            await eventually(lambda: _renewed_after(agent, before), timeout=20)
            stamp = (await get_lease(client))["spec"]["renewTime"]
            await eventually(lambda: _lease_newer_than(client, stamp), timeout=10)
            node = await get_node(client)
        assert condition(node, "Ready")["status"] == "True"


async def _renewed_after(agent: NodeAgent, count: int) -> bool:
    return agent.lease_renewals > count + 1


async def _lease_newer_than(client: Client, stamp: str) -> bool:
    return (await get_lease(client))["spec"]["renewTime"] > stamp


async def test_a_deleted_node_is_registered_again(client):
    agent = agent_for(client, Machine(), status_update_frequency=0.1)
    async with running(agent):
        first = await eventually(lambda: _with_condition(client, "Ready", "True"))
        await client.delete("nodes", "node-a")
        node = await eventually(lambda: _recreated(client, first["metadata"]["uid"]))
    assert node["metadata"]["labels"]["zone"] == "lab-1"


async def _recreated(client: Client, old_uid: str) -> dict | None:
    node = await get_node(client)
    return node if node["metadata"]["uid"] != old_uid else None


async def test_cordon_and_uncordon_are_recorded_as_node_events(client):
    """kubectl cordon sets spec.unschedulable; the kubelet's next status sync records NodeNotSchedulable (and
    NodeSchedulable after an uncordon), as Kubernetes' recordNodeSchedulableEvent."""
    recorder = EventRecorder(client, "kubelet", "node-a")
    recorder.start()

    async def reasons() -> list[str]:
        await recorder.flush()
        events = (await client.list("events", "default"))["items"]
        return [e["reason"] for e in sorted(events, key=lambda e: e["lastTimestamp"])
                if e["reason"] in ("NodeNotSchedulable", "NodeSchedulable")]

    agent = agent_for(client, Machine(), status_update_frequency=0.1, recorder=recorder)
    try:
        async with running(agent):
            await eventually(lambda: _with_condition(client, "Ready", "True"))
            assert await reasons() == [], "a schedulable node records nothing at start"
            await client.patch("nodes", CONFIG.node_name, {"spec": {"unschedulable": True}})
            await eventually(lambda: _has(reasons, ["NodeNotSchedulable"]))
            await client.patch("nodes", CONFIG.node_name, {"spec": {"unschedulable": None}})
            await eventually(lambda: _has(reasons, ["NodeNotSchedulable", "NodeSchedulable"]))
    finally:
        await recorder.stop()
    events = (await client.list("events", "default"))["items"]
    cordoned = next(e for e in events if e["reason"] == "NodeNotSchedulable")
    assert cordoned["message"] == "Node node-a status is now: NodeNotSchedulable"
    assert cordoned["involvedObject"]["kind"] == "Node" and cordoned["source"]["component"] == "kubelet"


async def _has(reasons: Callable[[], Awaitable[list[str]]], want: list[str]) -> bool:
    return await reasons() == want
