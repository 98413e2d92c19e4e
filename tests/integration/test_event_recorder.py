"""client.events.EventRecorder against a real apiserver and etcd."""

from __future__ import annotations

import asyncio
import time

import pytest

from client.client import Client
from client.events import COMBINED_PREFIX, EventRecorder

pytestmark = pytest.mark.integration


async def _pod(client) -> dict:
    return await client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
                                "spec": {"containers": [{"name": "app", "image": "nginx"}]}})


async def _events(client, namespace="default") -> list[dict]:
    return (await client.list("events", namespace))["items"]


async def _until_reachable(client, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            await client.get("namespaces", "default")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def test_event_is_created_with_the_kubernetes_fields(client):
    pod = await _pod(client)
    recorder = EventRecorder(client, "kubelet", "node-1")
    recorder.start()
    try:
        recorder.event(pod, "Normal", "Pulled", "Successfully pulled image", field_path="spec.containers{app}")
        await recorder.flush()
    finally:
        await recorder.stop()
    [event] = await _events(client)
    assert event["metadata"]["name"].startswith("web.") and len(event["metadata"]["name"]) == len("web.") + 16
    assert event["involvedObject"] == {
        "apiVersion": "v1", "kind": "Pod", "name": "web", "namespace": "default", "uid": pod["metadata"]["uid"],
        "resourceVersion": pod["metadata"]["resourceVersion"], "fieldPath": "spec.containers{app}"}
    assert (event["type"], event["reason"], event["message"], event["count"]) == (
        "Normal", "Pulled", "Successfully pulled image", 1)
    assert event["source"] == {"component": "kubelet", "host": "node-1"}
    assert event["firstTimestamp"] == event["lastTimestamp"] and event["firstTimestamp"].endswith("Z")
    assert (event["reportingComponent"], event["reportingInstance"]) == ("kubelet", "node-1")


async def test_node_events_land_in_default(client):
    node = await client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-9"}})
    recorder = EventRecorder(client, "kubelet", "node-9")
    recorder.start()
    recorder.event(node, "Normal", "NodeReady", "Node node-9 status is now: NodeReady")
    await recorder.flush()
    await recorder.stop()
    [event] = await _events(client)
    assert event["involvedObject"]["kind"] == "Node" and "namespace" not in event["involvedObject"]


async def test_a_repeat_bumps_count_instead_of_creating(client):
    pod = await _pod(client)
    now = [time.time()]
    recorder = EventRecorder(client, "kubelet", "node-1", clock=lambda: now[0])
    recorder.start()
    try:
        recorder.event(pod, "Warning", "BackOff", "Back-off restarting failed container")
        await recorder.flush()
        first = (await _events(client))[0]
        now[0] += 30
        recorder.event(pod, "Warning", "BackOff", "Back-off restarting failed container")
        recorder.event(pod, "Warning", "BackOff", "Back-off restarting failed container")
        await recorder.flush()
    finally:
        await recorder.stop()
    [event] = await _events(client)
    assert event["metadata"]["name"] == first["metadata"]["name"]
    assert event["count"] == 3
    assert event["firstTimestamp"] == first["firstTimestamp"] != event["lastTimestamp"]


async def test_similar_events_are_combined(client):
    pod = await _pod(client)
    recorder = EventRecorder(client, "kubelet", "node-1")
    recorder.start()
    for i in range(12):
        recorder.event(pod, "Warning", "Failed", f"failure number {i}")
    await recorder.flush()
    await recorder.stop()
    events = await _events(client)
    combined = [e for e in events if e["message"].startswith(COMBINED_PREFIX)]
    assert len(events) == 10 and len(combined) == 1 and combined[0]["count"] == 3


async def test_a_patched_event_that_was_deleted_is_created_again(client):
    pod = await _pod(client)
    recorder = EventRecorder(client, "kubelet")
    recorder.start()
    recorder.event(pod, "Normal", "Started", "Started container app")
    await recorder.flush()
    [event] = await _events(client)
    await client.delete("events", event["metadata"]["name"], "default")
    recorder.event(pod, "Normal", "Started", "Started container app")
    await recorder.flush()
    await recorder.stop()
    [again] = await _events(client)
    assert again["count"] == 2 and recorder.dropped == 0


async def test_events_are_dropped_without_blocking_when_the_apiserver_is_down(apiserver):
    async with Client(f"127.0.0.1:{apiserver.grpc_port}", retry_timeout=0.2, timeout=1.0) as client:
        pod = await _pod(client)
        recorder = EventRecorder(client, "kubelet", max_tries=2, retry_interval=0.1, write_timeout=1.0)
        recorder.start()
        await apiserver.stop()
        started = time.perf_counter()
        for i in range(8):
            recorder.event(pod, "Normal", "Pulled", f"pulled {i}")
        assert time.perf_counter() - started < 0.1  # event() never waits for the apiserver
        await recorder.flush(timeout=60)
        assert recorder.dropped == 8 and recorder.written == 0
        await apiserver.start()
        await _until_reachable(client)
        recorder.event(pod, "Normal", "Pulled", "after the restart")
        await recorder.flush(timeout=30)
        await recorder.stop()
        assert recorder.written == 1
        assert [e["message"] for e in await _events(client)] == ["after the restart"]
    await asyncio.sleep(0)
