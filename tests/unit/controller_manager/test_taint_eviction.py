"""Taint-based eviction: pods not tolerating a NoExecute taint go at once, tolerating ones after tolerationSeconds."""

from __future__ import annotations

from typing import Any

from controller_manager.podutil import format_time
from controller_manager.taint_eviction import TaintEvictionController, compute_eviction, tolerates
from tests.unit.controller_manager.harness import Harness

T0 = 1_800_000_000.0
UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": format_time(T0)}


def node(taints: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}, "spec": {"taints": taints}}


def pod(name: str, tolerations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i"}], "tolerations": tolerations or []},
            "status": {"phase": "Running"}}


def toleration(seconds: int | None, key: str = "node.kubernetes.io/unreachable") -> dict[str, Any]:
    t: dict[str, Any] = {"key": key, "operator": "Exists", "effect": "NoExecute"}
    if seconds is not None:
        t["tolerationSeconds"] = seconds
    return t


def harness(objects: list[dict[str, Any]], now: float) -> Harness:
    h = Harness(TaintEvictionController, objects)
    h.controller.clock = lambda: now  # type: ignore[attr-defined]
    return h


async def test_a_pod_without_a_matching_toleration_is_deleted_at_once() -> None:
    h = harness([node([UNREACHABLE]), pod("p", [toleration(300, key="other")])], T0)
    await h.reconcile("default/p")
    assert h.stored("pods", "p", "default") is None
    assert h.api.delete_options == [{"preconditions": {"uid": "uid-p"}}]
    assert ("Normal", "TaintManagerEviction", "Marking for deletion Pod default/p") in h.events


async def test_a_pod_tolerating_for_a_while_is_deleted_after_its_toleration_seconds() -> None:
    objects = [node([UNREACHABLE]), pod("p", [toleration(60)])]
    early = harness(objects, T0 + 30)
    await early.reconcile("default/p")
    assert early.stored("pods", "p", "default") is not None
    assert early.controller.queue.num_waiting() == 1
    late = harness(objects, T0 + 61)
    await late.reconcile("default/p")
    assert late.stored("pods", "p", "default") is None


async def test_a_pod_tolerating_forever_stays() -> None:
    h = harness([node([UNREACHABLE]), pod("p", [toleration(None)])], T0 + 10_000)
    await h.reconcile("default/p")
    assert h.writes() == []


async def test_a_pod_on_a_node_without_noexecute_taints_stays() -> None:
    h = harness([node([{"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"}]), pod("p")], T0)
    await h.reconcile("default/p")
    assert h.writes() == []


async def test_the_pod_gets_the_disruption_target_condition_before_deletion() -> None:
    h = harness([node([UNREACHABLE]), pod("p")], T0)
    await h.reconcile("default/p")
    assert [w[0] for w in h.writes()] == ["patch", "delete"]


def test_the_smallest_toleration_seconds_among_matching_tolerations_wins() -> None:
    not_ready = {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}
    decision = compute_eviction(pod("p", [toleration(100), toleration(20, key="node.kubernetes.io/not-ready")]),
                                [UNREACHABLE, not_ready], T0, T0 + 5)
    assert decision.evict_in == 15


def test_toleration_matching_follows_kubernetes() -> None:
    taint = {"key": "k", "value": "v", "effect": "NoExecute"}
    assert tolerates({"key": "k", "operator": "Equal", "value": "v"}, taint)
    assert not tolerates({"key": "k", "operator": "Equal", "value": "w"}, taint)
    assert tolerates({"operator": "Exists"}, taint)
    assert not tolerates({"key": "k", "operator": "Exists", "effect": "NoSchedule"}, taint)
