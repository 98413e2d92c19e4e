"""Hollow kubelets (fake runtime) against a real apiserver + etcd, in the test's event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from kubelet.kubelet import Kubelet, KubeletConfig
from kubelet.node_status import NodeConfig, NodeObservation
from kubelet.probes import AnnotationProbeRunner
from kubelet.runtime.fake import FakeRuntime

Object = dict[str, Any]


async def _observe() -> NodeObservation:
    return NodeObservation()


def hollow_config(root: Path, node_name: str = "node-1") -> KubeletConfig:
    return KubeletConfig(node=NodeConfig(node_name=node_name, address="127.0.0.1"), root_dir=root / node_name,
                         sync_frequency=2.0, pleg_period=0.2, housekeeping_period=0.3, object_ttl=0.2,
                         lease_renew_interval=1.0, node_status_update_frequency=1.0, image_pull_backoff=1.0)


class HollowNode:
    """Start/stop (and restart) one kubelet over a FakeRuntime that outlives it, like containers outlive a kubelet."""

    def __init__(self, client: Any, root: Path, node_name: str = "node-1") -> None:
        self.client = client
        self.runtime = FakeRuntime()
        self.config = hollow_config(root, node_name)
        self.kubelet: Kubelet | None = None

    async def start(self) -> Kubelet:
        self.kubelet = Kubelet(self.client, self.config, self.runtime, AnnotationProbeRunner(), _observe)
        await self.kubelet.start()
        return self.kubelet

    async def stop(self) -> None:
        if self.kubelet is not None:
            await self.kubelet.stop()
            self.kubelet = None


@pytest.fixture
async def hollow_node(client: Any, tmp_path: Path) -> AsyncIterator[HollowNode]:
    node = HollowNode(client, tmp_path)
    await node.start()
    yield node
    await node.stop()


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 10.0, interval: float = 0.1) -> Any:
    """Call ``check`` until it returns a truthy value (returned) or ``timeout`` passes (AssertionError)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")


def pod_manifest(name: str, *, node: str = "node-1", containers: list[Object] | None = None,
                 annotations: dict[str, str] | None = None, restart_policy: str = "Always", **spec: Any) -> Object:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "annotations": annotations or {}},
        "spec": {"nodeName": node, "restartPolicy": restart_policy,
                 "containers": containers or [{"name": "app", "image": "kubeling/busybox:1.35"}], **spec},
    }
