"""Pod GC: terminated pods over the threshold, orphaned pods after quarantine, unscheduled terminating pods."""

from __future__ import annotations

from typing import Any

from controller_manager.podgc import KEY, PodGCController
from tests.unit.controller_manager.harness import Harness

T0 = 1_800_000_000.0


def pod(name: str, phase: str = "Running", node: str = "n1", created: str = "2026-01-01T00:00:00Z",
        **meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "creationTimestamp": created, **meta},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}]}, "status": {"phase": phase}}


def node(name: str, ready: str = "True", taints: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": {"taints": taints or []},
            "status": {"conditions": [{"type": "Ready", "status": ready}]}}


def harness(objects: list[dict[str, Any]], **options: Any) -> tuple[Harness, list[float]]:
    h = Harness(PodGCController, objects, options)
    now = [T0]
    h.controller.clock = lambda: now[0]  # type: ignore[attr-defined]
    return h, now


def names(h: Harness) -> list[str]:
    return [p["metadata"]["name"] for p in h.all("pods")]


async def test_terminated_pods_over_the_threshold_are_deleted_oldest_first() -> None:
    h, _ = harness([node("n1"), pod("old", "Succeeded", created="2026-01-01T00:00:00Z"),
                    pod("mid", "Failed", created="2026-01-02T00:00:00Z"),
                    pod("new", "Succeeded", created="2026-01-03T00:00:00Z"), pod("running")],
                   terminated_pod_gc_threshold=1)
    await h.reconcile(KEY)
    assert names(h) == ["new", "running"]
    assert all(o["grace_period_seconds"] == 0 for o in h.api.delete_options)


async def test_pods_under_the_threshold_stay() -> None:
    h, _ = harness([node("n1"), pod("done", "Succeeded")], terminated_pod_gc_threshold=5)
    await h.reconcile(KEY)
    assert h.writes() == []


async def test_orphaned_pods_are_deleted_after_the_quarantine() -> None:
    h, now = harness([node("n1"), pod("kept"), pod("orphan", node="gone")], pod_gc_quarantine_time=40)
    await h.reconcile(KEY)
    assert names(h) == ["kept", "orphan"]
    now[0] = T0 + 41
    await h.reconcile(KEY)
    assert names(h) == ["kept"]
    assert ("get", "nodes", "", "gone") in h.api.calls


async def test_a_node_missing_only_from_the_cache_keeps_its_pods() -> None:
    h, _ = harness([pod("p", node="late")], pod_gc_quarantine_time=0)
    h.put(node("late"))
    await h.reconcile(KEY)
    assert names(h) == ["p"]


async def test_unscheduled_terminating_pods_are_force_deleted() -> None:
    h, _ = harness([pod("stuck", node="", deletionTimestamp="2026-01-01T00:00:00Z", finalizers=[])])
    await h.reconcile(KEY)
    assert names(h) == []


async def test_terminating_pods_on_an_out_of_service_node_are_force_deleted() -> None:
    out = [{"key": "node.kubernetes.io/out-of-service", "effect": "NoExecute"}]
    h, _ = harness([node("n1", "False", out), node("n2", "False"),
                    pod("a", deletionTimestamp="2026-01-01T00:00:00Z"),
                    pod("b", node="n2", deletionTimestamp="2026-01-01T00:00:00Z")])
    await h.reconcile(KEY)
    assert names(h) == ["b"]
