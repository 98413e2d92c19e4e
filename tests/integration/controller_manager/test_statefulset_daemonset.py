"""StatefulSet and DaemonSet controllers against the real apiserver, with hollow kubelets running their pods.

There is no scheduler in these tests: StatefulSet pods name their node in the template, and DaemonSet pods are
bound by a tiny test-local binder that reads the ``matchFields metadata.name`` node affinity the controller pins
them with (what the default scheduler does for them in Kubernetes).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from controller_manager.daemonset import DaemonSetController
from controller_manager.daemonset_placement import target_node_name
from controller_manager.statefulset import StatefulSetController
from tests.integration.controller_manager.conftest import HollowNode, eventually, run_controllers

Object = dict[str, Any]


def statefulset(replicas: int = 3, image: str = "kubeling/busybox:1.35", partition: int = 0) -> Object:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": replicas, "serviceName": "web", "selector": {"matchLabels": {"app": "web"}},
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": partition}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"nodeName": "node-1",
                                           "containers": [{"name": "app", "image": image}]}}}}


def ready(pod: Object) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


async def pods(client: Any, label: str) -> dict[str, Object]:
    found = await client.list("pods", "default", label_selector=label)
    return {p["metadata"]["name"]: p for p in found["items"]}


@contextlib.asynccontextmanager
async def pod_log(client: Any) -> AsyncIterator[list[tuple[str, str, set[str]]]]:
    """(event type, pod name, names of the Ready pods at that moment) for every pod event, in order."""
    log: list[tuple[str, str, set[str]]] = []
    state: dict[str, Object] = {}

    async def follow() -> None:
        async for event in client.watch("pods", "default"):
            if event.type == "BOOKMARK":
                continue
            name = event.object["metadata"]["name"]
            if event.type == "DELETED":
                state.pop(name, None)
            else:
                state[name] = event.object
            log.append((event.type, name, {n for n, p in state.items() if ready(p)}))

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.2)
    try:
        yield log
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_ordered_ready_creates_in_order_and_scales_down_in_reverse(client: Any, tmp_path: Path) -> None:
    node = HollowNode(client, tmp_path, "node-1")
    await node.start()
    try:
        async with run_controllers(client, [StatefulSetController]), pod_log(client) as log:
            await client.create(statefulset())

            async def all_ready() -> bool:
                found = await pods(client, "app=web")
                return sorted(found) == ["web-0", "web-1", "web-2"] and all(ready(p) for p in found.values())

            await eventually(all_ready, timeout=15)
            added = [(name, ready_then) for kind, name, ready_then in log if kind == "ADDED"]
            assert [name for name, _ in added] == ["web-0", "web-1", "web-2"]
            assert {"web-0"} <= added[1][1] and {"web-0", "web-1"} <= added[2][1]  # each after the previous Ready

            await client.patch("statefulsets.apps", "web", {"spec": {"replicas": 1}}, "default")

            async def scaled_down() -> bool:
                return sorted(await pods(client, "app=web")) == ["web-0"]

            await eventually(scaled_down, timeout=15)
            deleted = [name for kind, name, _ in log if kind == "DELETED"]
            assert deleted == ["web-2", "web-1"]
    finally:
        await node.stop()


async def test_partitioned_rolling_update_updates_only_ordinals_at_or_above_the_partition(
        client: Any, tmp_path: Path) -> None:
    node = HollowNode(client, tmp_path, "node-1")
    await node.start()
    try:
        async with run_controllers(client, [StatefulSetController]):
            await client.create(statefulset(partition=1))

            async def images_ready(expected: dict[str, str]) -> bool:
                found = await pods(client, "app=web")
                return {n: p["spec"]["containers"][0]["image"] for n, p in found.items()} == expected and \
                    all(ready(p) and not p["metadata"].get("deletionTimestamp") for p in found.values())

            old, new = "kubeling/busybox:1.35", "kubeling/busybox:1.36"
            await eventually(lambda: images_ready({"web-0": old, "web-1": old, "web-2": old}), timeout=15)
            patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": new}]}}}}
            await client.patch("statefulsets.apps", "web", patch, "default")
            await eventually(lambda: images_ready({"web-0": old, "web-1": new, "web-2": new}), timeout=15)

            async def status_settled() -> Object | None:
                sts = await client.get("statefulsets.apps", "web", "default")
                status = sts.get("status") or {}
                return status if status.get("updatedReplicas") == 2 and status.get("readyReplicas") == 3 else None

            status = await eventually(status_settled, timeout=10)
            assert status["currentRevision"] != status["updateRevision"]  # web-0 still on the old revision
            assert status["currentReplicas"] == 1
    finally:
        await node.stop()


async def bind_daemon_pods(client: Any) -> None:
    """The scheduler's part, for these tests: bind each unbound pod to the node its affinity names."""
    while True:
        for pod in (await client.list("pods", "default"))["items"]:
            target = target_node_name(pod)
            if not pod["spec"].get("nodeName") and target and not pod["metadata"].get("deletionTimestamp"):
                with contextlib.suppress(Exception):
                    await client.bind("default", pod["metadata"]["name"], target)
        await asyncio.sleep(0.1)


def daemonset() -> Object:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                     "template": {"metadata": {"labels": {"app": "agent"}},
                                  "spec": {"nodeSelector": {"role": "worker"},
                                           "containers": [{"name": "agent", "image": "kubeling/busybox:1.35"}]}}}}


async def test_daemonset_runs_one_pod_per_eligible_node_and_follows_new_nodes(client: Any, tmp_path: Path) -> None:
    nodes = [HollowNode(client, tmp_path, name) for name in ("node-a", "node-b", "node-c")]
    for node in nodes:
        await node.start()
    binder = asyncio.create_task(bind_daemon_pods(client))
    try:
        await client.patch("nodes", "node-a", {"metadata": {"labels": {"role": "worker"}}})
        await client.patch("nodes", "node-b", {"metadata": {"labels": {"role": "worker"}},
                                               "spec": {"taints": [{"key": "dedicated", "value": "db",
                                                                    "effect": "NoSchedule"}]}})
        await client.patch("nodes", "node-c", {"metadata": {"labels": {"role": "other"}}})
        async with run_controllers(client, [DaemonSetController]):
            await client.create(daemonset())

            async def running_on() -> list[str]:
                found = (await pods(client, "app=agent")).values()
                return sorted(p["spec"].get("nodeName", "") for p in found if ready(p))

            await eventually(lambda: _equals(running_on, ["node-a"]), timeout=15)
            await asyncio.sleep(1.0)  # nothing else shows up on the tainted or unlabelled node
            assert sorted(target_node_name(p) for p in (await pods(client, "app=agent")).values()) == ["node-a"]

            extra = HollowNode(client, tmp_path, "node-d")
            nodes.append(extra)
            await extra.start()
            await client.patch("nodes", "node-d", {"metadata": {"labels": {"role": "worker"}}})
            await eventually(lambda: _equals(running_on, ["node-a", "node-d"]), timeout=15)

            async def status_settled() -> bool:
                status = (await client.get("daemonsets.apps", "agent", "default")).get("status") or {}
                return status.get("desiredNumberScheduled") == 2 and status.get("numberReady") == 2

            await eventually(status_settled, timeout=10)
    finally:
        binder.cancel()
        await asyncio.gather(binder, return_exceptions=True)
        for node in nodes:
            await node.stop()


async def _equals(check: Any, expected: Any) -> bool:
    return bool(await check() == expected)
