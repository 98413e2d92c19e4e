"""Scheduler integration fixtures: hollow nodes shaped with cpu/memory/labels/taints, and a Scheduler
running in the test's event loop against the real apiserver."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from scheduler.config import SchedulerConfiguration
from scheduler.scheduler import Scheduler
from tests.integration.kubelet.conftest import HollowNode

Object = dict[str, Any]


class Cluster:
    def __init__(self, client: Any, root: Path) -> None:
        self.client = client
        self.root = root
        self.nodes: list[HollowNode] = []
        self.schedulers: list[tuple[Scheduler, asyncio.Task[None]]] = []

    async def add_node(self, name: str, *, cpu: str = "2", memory: str = "4Gi", max_pods: int = 110,
                       labels: dict[str, str] | None = None, taints: tuple[Object, ...] = ()) -> HollowNode:
        hollow = HollowNode(self.client, self.root, name)
        hollow.config.node = replace(hollow.config.node, cpu=cpu, memory=memory, max_pods=max_pods,
                                     labels=labels or {}, taints=taints)
        await hollow.start()
        self.nodes.append(hollow)
        return hollow

    def start_scheduler(self, config: SchedulerConfiguration | None = None) -> Scheduler:
        scheduler = Scheduler(self.client, config)
        task = asyncio.create_task(scheduler.run())
        self.schedulers.append((scheduler, task))
        return scheduler

    async def stop(self) -> None:
        for _, task in self.schedulers:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for hollow in self.nodes:
            await hollow.stop()


@pytest.fixture
async def cluster(client: Any, tmp_path: Path) -> AsyncIterator[Cluster]:
    c = Cluster(client, tmp_path)
    yield c
    await c.stop()


def unscheduled_pod(name: str, cpu: str = "100m", memory: str = "64Mi", **spec: Any) -> Object:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "app", "image": "kubeling/busybox:1.35",
                                     "resources": {"requests": {"cpu": cpu, "memory": memory}}}], **spec}}


async def get_pod(client: Any, name: str) -> Object:
    pod: Object = await client.get("pods", name, "default")
    return pod


def running_on(client: Any, name: str) -> Callable[[], Awaitable[str]]:
    async def check() -> str:
        pod = await get_pod(client, name)
        phase = (pod.get("status") or {}).get("phase")
        return pod["spec"].get("nodeName", "") if phase == "Running" else ""
    return check
