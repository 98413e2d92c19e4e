"""Controllers running in the test's event loop against the real apiserver, with hollow nodes to run their pods.

    async with run_controllers(client, [ReplicaSetController, DeploymentController], {"option": 1}) as running:
        ...                      # running.controllers: the instances; running.stop() cancels them mid-flight

Each call builds what the controller-manager builds: one SharedInformerFactory (started and synced before any
worker runs), an EventRecorder, a ControllerContext; each controller runs as its own task. Leaving the block (or
``stop()``) cancels the workers and the informers, like killing the process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from client.events import EventRecorder
from client.informer_factory import SharedInformerFactory
from controller_manager.controller import Controller, ControllerContext
from tests.integration.kubelet.conftest import HollowNode, eventually, pod_manifest  # noqa: F401 (re-exported)


@dataclass
class RunningControllers:
    controllers: list[Controller]
    informers: SharedInformerFactory
    recorder: EventRecorder
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()
        await self.informers.stop()
        await self.recorder.stop()


@contextlib.asynccontextmanager
async def run_controllers(client: Any, classes: Iterable[type[Controller]],
                          options: Mapping[str, Any] | None = None) -> AsyncIterator[RunningControllers]:
    informers = SharedInformerFactory(client)
    recorder = EventRecorder(client, "kube-controller-manager")
    ctx = ControllerContext(client=client, informers=informers, recorder=recorder, options=dict(options or {}))
    controllers = [cls(ctx) for cls in classes]
    recorder.start()
    informers.start()
    await informers.wait_for_sync(timeout=10)
    running = RunningControllers(controllers, informers, recorder)
    running.tasks = [asyncio.create_task(c.run(), name=f"controller:{c.name}") for c in controllers]
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def hollow_nodes(client: Any, tmp_path: Path) -> AsyncIterator[list[HollowNode]]:
    """Two hollow kubelets, node-1 and node-2."""
    nodes = [HollowNode(client, tmp_path, f"node-{i}") for i in (1, 2)]
    for node in nodes:
        await node.start()
    yield nodes
    for node in nodes:
        await node.stop()
