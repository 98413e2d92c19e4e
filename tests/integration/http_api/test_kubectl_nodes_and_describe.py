"""kubectl cordon/uncordon/taint on nodes, and describe with its Events section."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.integration.http_api.conftest import kubectl

pytestmark = pytest.mark.integration

NODE = json.dumps({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}})
POD = json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                  "spec": {"containers": [{"name": "web", "image": "kubeling/hello:v1"}]}})


async def ok(kubeconfig: Path, *args: str, input: str | None = None) -> str:
    result = await asyncio.to_thread(kubectl, kubeconfig, *args, input=input)
    assert result.returncode == 0, f"kubectl {' '.join(args)} failed: {result.stderr}"
    return result.stdout


async def node_spec(kubeconfig: Path) -> dict:
    return dict(json.loads(await ok(kubeconfig, "get", "node", "node-1", "-o", "json")).get("spec") or {})


async def test_cordon_and_uncordon_flip_spec_unschedulable(kubeconfig: Path) -> None:
    await ok(kubeconfig, "create", "-f", "-", input=NODE)
    assert "cordoned" in await ok(kubeconfig, "cordon", "node-1")
    assert (await node_spec(kubeconfig)).get("unschedulable") is True
    assert "SchedulingDisabled" in await ok(kubeconfig, "get", "nodes")
    assert "uncordoned" in await ok(kubeconfig, "uncordon", "node-1")
    assert not (await node_spec(kubeconfig)).get("unschedulable")


async def test_taint_adds_and_removes_a_node_taint(kubeconfig: Path) -> None:
    await ok(kubeconfig, "create", "-f", "-", input=NODE)
    await ok(kubeconfig, "taint", "nodes", "node-1", "dedicated=gpu:NoSchedule")
    assert (await node_spec(kubeconfig))["taints"] == [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
    await ok(kubeconfig, "taint", "nodes", "node-1", "dedicated=gpu:NoSchedule-")
    assert not (await node_spec(kubeconfig)).get("taints")


async def test_describe_pod_shows_its_events(kubeconfig: Path, client) -> None:
    await ok(kubeconfig, "create", "-f", "-", input=POD)
    pod = await client.get("pods", "web", "default")
    await client.create({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1", "namespace": "default"},
                         "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default",
                                            "uid": pod["metadata"]["uid"], "apiVersion": "v1"},
                         "reason": "Scheduled", "message": "Successfully assigned default/web to node-1",
                         "type": "Normal", "source": {"component": "default-scheduler"}, "count": 1,
                         "firstTimestamp": pod["metadata"]["creationTimestamp"],
                         "lastTimestamp": pod["metadata"]["creationTimestamp"]})
    described = await ok(kubeconfig, "describe", "pod", "web")
    assert "Image:" in described and "kubeling/hello:v1" in described
    events = described.split("Events:", 1)[1]
    assert "Scheduled" in events and "Successfully assigned default/web to node-1" in events


async def test_describe_node_and_deployment_work(kubeconfig: Path) -> None:
    await ok(kubeconfig, "create", "-f", "-", input=NODE)
    assert "Name:               node-1" in await ok(kubeconfig, "describe", "node", "node-1")
    manifest = await ok(kubeconfig, "create", "deployment", "--dry-run=client", "-o", "yaml", "web", "--image=nginx")
    await ok(kubeconfig, "create", "-f", "-", input=manifest)
    described = await ok(kubeconfig, "describe", "deploy", "web")
    assert "RollingUpdateStrategy:  25% max unavailable, 25% max surge" in described


async def test_drain_cordons_the_node_and_evicts_its_pods(kubeconfig: Path, client) -> None:
    await ok(kubeconfig, "create", "-f", "-", input=NODE)
    for name in ("a", "b"):
        await client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
                             "spec": {"containers": [{"name": "c", "image": "kubeling/hello:v1"}]}})
        await client.bind("default", name, "node-1")
    drained = await ok(kubeconfig, "drain", "node-1", "--ignore-daemonsets", "--force",
                     "--grace-period=0", "--timeout=20s")
    assert "pod/a evicted" in drained and "pod/b evicted" in drained and "drained" in drained
    assert (await node_spec(kubeconfig)).get("unschedulable") is True
    assert (await client.list("pods", "default"))["items"] == []
