"""Node lifecycle, taint eviction, garbage collection, namespaces and service accounts against a real apiserver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from apimachinery import errors
from client.events import EventRecorder
from client.informer_factory import SharedInformerFactory
from controller_manager.controller import Controller, ControllerContext
from controller_manager.garbage_collector import GarbageCollector
from controller_manager.namespace import NamespaceController
from controller_manager.node_lifecycle import NodeLifecycleController
from controller_manager.serviceaccount import ServiceAccountController
from tests.integration.kubelet.conftest import HollowNode, eventually, pod_manifest

FAST = {"node_monitor_grace_period": 2.0, "node_monitor_period": 0.5, "node_startup_grace_period": 5.0}


@asynccontextmanager
async def running(client: Any, *classes: type[Controller], **options: Any) -> AsyncIterator[list[Controller]]:
    informers = SharedInformerFactory(client)
    recorder = EventRecorder(client, "controller-manager")
    ctx = ControllerContext(client, informers, recorder, options)
    controllers = [cls(ctx) for cls in classes]
    informers.start()
    await informers.wait_for_sync(10)
    tasks = [asyncio.create_task(c.run()) for c in controllers]
    try:
        yield controllers
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await informers.stop()


def cm(name: str, owner: dict[str, Any] | None = None, block: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "default"}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]["name"],
                                    "uid": owner["metadata"]["uid"], "blockOwnerDeletion": block}]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


async def exists(client: Any, resource: str, name: str, namespace: str = "default") -> dict[str, Any] | None:
    try:
        obj: dict[str, Any] = await client.get(resource, name, namespace)
        return obj
    except errors.NotFound:
        return None


def taint_keys(node: dict[str, Any]) -> set[tuple[str, str]]:
    return {(t["key"], t["effect"]) for t in node.get("spec", {}).get("taints") or []}


async def test_a_stopped_kubelet_is_marked_unknown_tainted_and_its_pods_evicted_until_it_returns(
        client: Any, tmp_path: Path) -> None:
    quick = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 1}
    dying, healthy = HollowNode(client, tmp_path, "node-a"), HollowNode(client, tmp_path, "node-b")
    await dying.start()
    await healthy.start()
    try:
        await client.create(pod_manifest("quick", node="node-a", tolerations=[quick]))
        await client.create(pod_manifest("patient", node="node-a"))
        async with running(client, NodeLifecycleController, **FAST):
            await dying.stop()

            async def unreachable() -> bool:
                node = await client.get("nodes", "node-a")
                ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
                return ready["status"] == "Unknown" and (
                    "node.kubernetes.io/unreachable", "NoExecute") in taint_keys(node)

            await eventually(unreachable, timeout=10)

            async def quick_evicted() -> bool:
                pod = await exists(client, "pods", "quick")
                return pod is None or bool(pod["metadata"].get("deletionTimestamp"))

            await eventually(quick_evicted, timeout=6)
            patient = await client.get("pods", "patient", "default")
            assert not patient["metadata"].get("deletionTimestamp")  # tolerates for the default 300 s
            assert ("node.kubernetes.io/unreachable", "NoExecute") not in taint_keys(
                await client.get("nodes", "node-b"))

            await dying.start()

            async def recovered() -> bool:
                return not taint_keys(await client.get("nodes", "node-a")) & {
                    ("node.kubernetes.io/unreachable", "NoExecute"), ("node.kubernetes.io/unreachable", "NoSchedule")}

            await eventually(recovered, timeout=10)
    finally:
        await dying.stop()
        await healthy.stop()


async def test_background_foreground_and_orphan_deletion(client: Any) -> None:
    async with running(client, GarbageCollector):
        owner = await client.create(cm("bg-owner"))
        await client.create(cm("bg-child", owner))
        await client.delete("configmaps", "bg-owner", "default", propagation_policy="Background")
        await eventually(lambda: _gone(client, "bg-child"), timeout=5)

        owner = await client.create(cm("fg-owner"))
        await client.create(cm("fg-child", owner, block=True))
        marked = await client.delete("configmaps", "fg-owner", "default", propagation_policy="Foreground")
        assert marked["metadata"]["finalizers"] == ["foregroundDeletion"]
        await eventually(lambda: _gone(client, "fg-child"), timeout=5)
        await eventually(lambda: _gone(client, "fg-owner"), timeout=5)

        owner = await client.create(cm("or-owner"))
        await client.create(cm("or-child", owner))
        await client.delete("configmaps", "or-owner", "default", propagation_policy="Orphan")
        await eventually(lambda: _gone(client, "or-owner"), timeout=5)
        child = await client.get("configmaps", "or-child", "default")
        assert not child["metadata"].get("ownerReferences")


async def _gone(client: Any, name: str) -> bool:
    return await exists(client, "configmaps", name) is None


async def test_a_deleted_namespace_is_emptied_and_disappears_and_a_new_one_gets_a_default_service_account(
        client: Any) -> None:
    async with running(client, NamespaceController, ServiceAccountController):
        await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})

        async def default_sa() -> bool:
            return await exists(client, "serviceaccounts", "default", "team") is not None

        await eventually(default_sa, timeout=5)
        await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "team"}})
        await client.delete("namespaces", "team")

        async def namespace_gone() -> bool:
            return await exists(client, "namespaces", "team", "") is None

        await eventually(namespace_gone, timeout=10)
        assert (await client.list("configmaps", "team"))["items"] == []
