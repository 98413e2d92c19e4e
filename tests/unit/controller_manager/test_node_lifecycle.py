"""Node lifecycle controller: silent nodes become Unknown, get tainted at the zone's rate, pods go NotReady."""

from __future__ import annotations

from typing import Any

from controller_manager.node_lifecycle import MONITOR_KEY, NodeLifecycleController
from controller_manager.node_lifecycle_health import compute_node_health
from controller_manager.node_lifecycle_zones import FULL, NORMAL, PARTIAL, TokenBucket, compute_zone_state
from controller_manager.podutil import format_time
from tests.unit.controller_manager.harness import Harness

T0 = 1_800_000_000.0
OPTIONS = {"node_monitor_grace_period": 40, "node_monitor_period": 5}


def node(name: str, ready: str | None = "True", taints: list[dict[str, Any]] | None = None,
         zone: str = "", beat: float = T0) -> dict[str, Any]:
    conditions = [{"type": "Ready", "status": ready, "reason": "KubeletReady", "lastHeartbeatTime": format_time(beat),
                   "lastTransitionTime": format_time(T0 - 100)}] if ready else []
    labels = {"topology.kubernetes.io/zone": zone} if zone else {}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
            "spec": {"taints": taints or []}, "status": {"conditions": conditions}}


def lease(name: str, renewed: float) -> dict[str, Any]:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": name, "renewTime": format_time(renewed)}}


def pod(name: str, node_name: str, ready: str = "True") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": node_name, "containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": ready}]}}


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def harness(objects: list[dict[str, Any]], **options: Any) -> tuple[Harness, Clock]:
    h = Harness(NodeLifecycleController, objects, {**OPTIONS, **options})
    clock = Clock()
    h.controller.clock = clock  # type: ignore[attr-defined]
    return h, clock


def taints(h: Harness, name: str) -> set[tuple[str, str]]:
    stored = h.stored("nodes", name) or {}
    return {(t["key"], t["effect"]) for t in (stored.get("spec") or {}).get("taints") or []}


def ready_of(h: Harness, name: str) -> dict[str, Any]:
    stored = h.stored("nodes", name) or {}
    return next(c for c in stored["status"]["conditions"] if c["type"] == "Ready")


async def test_a_node_silent_longer_than_the_grace_period_becomes_unknown() -> None:
    h, clock = harness([node("n1"), node("n2")])
    await h.reconcile(MONITOR_KEY)
    clock.now = T0 + 41
    await h.reconcile(MONITOR_KEY)
    ready = ready_of(h, "n1")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    types = {c["type"]: c["status"] for c in h.stored("nodes", "n1")["status"]["conditions"]}  # type: ignore[index]
    assert types == {"Ready": "Unknown", "MemoryPressure": "Unknown", "DiskPressure": "Unknown",
                     "PIDPressure": "Unknown"}
    assert ("Normal", "NodeNotReady", "Node n1 status is now: NodeNotReady") in h.events


async def test_a_node_is_not_marked_within_the_grace_period() -> None:
    h, clock = harness([node("n1")])
    await h.reconcile(MONITOR_KEY)
    clock.now = T0 + 39
    await h.reconcile(MONITOR_KEY)
    assert ready_of(h, "n1")["status"] == "True"
    assert h.writes() == []


async def test_a_renewed_lease_keeps_the_node_alive_without_status_updates() -> None:
    h, clock = harness([node("n1"), lease("n1", T0)])
    await h.reconcile(MONITOR_KEY)
    clock.now = T0 + 30
    h.put(lease("n1", T0 + 30))
    h.sync_caches()
    await h.reconcile(MONITOR_KEY)
    clock.now = T0 + 60
    await h.reconcile(MONITOR_KEY)
    assert ready_of(h, "n1")["status"] == "True"
    clock.now = T0 + 71
    await h.reconcile(MONITOR_KEY)
    assert ready_of(h, "n1")["status"] == "Unknown"


async def test_an_unknown_node_gets_the_unreachable_taints() -> None:
    h, _ = harness([node("n1", "Unknown"), node("n2"), node("n3")])
    await h.reconcile(MONITOR_KEY)
    await h.reconcile("n1")
    assert taints(h, "n1") == {("node.kubernetes.io/unreachable", "NoExecute"),
                               ("node.kubernetes.io/unreachable", "NoSchedule")}
    assert all("timeAdded" in t for t in h.stored("nodes", "n1")["spec"]["taints"])  # type: ignore[index]


async def test_a_not_ready_node_gets_not_ready_taints_swapped_for_unreachable() -> None:
    h, _ = harness([node("n1", "False", taints=[{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]),
                    node("n2")])
    await h.reconcile(MONITOR_KEY)
    await h.reconcile("n1")
    assert taints(h, "n1") == {("node.kubernetes.io/not-ready", "NoExecute"),
                               ("node.kubernetes.io/not-ready", "NoSchedule")}


async def test_a_ready_node_loses_the_controllers_taints_and_keeps_others() -> None:
    h, _ = harness([node("n1", taints=[{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"},
                                       {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"},
                                       {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])])
    await h.reconcile(MONITOR_KEY)
    await h.reconcile("n1")
    assert taints(h, "n1") == {("dedicated", "NoSchedule")}


async def test_when_every_node_is_unhealthy_nothing_is_tainted_for_eviction() -> None:
    h, _ = harness([node("n1", "Unknown"), node("n2", "Unknown")])
    await h.reconcile(MONITOR_KEY)
    await h.reconcile("n1")
    assert taints(h, "n1") == {("node.kubernetes.io/unreachable", "NoSchedule")}


async def test_entering_full_disruption_removes_existing_noexecute_taints() -> None:
    h, _ = harness([node("n1", "Unknown", taints=[{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]),
                    node("n2", "Unknown")])
    await h.reconcile(MONITOR_KEY)
    await h.reconcile("n1")
    assert ("node.kubernetes.io/unreachable", "NoExecute") not in taints(h, "n1")


async def test_noexecute_tainting_is_rate_limited_per_zone() -> None:
    h, clock = harness([node("a", "Unknown"), node("b", "Unknown"), node("c"), node("d"), node("e")],
                       node_eviction_rate=0.1)
    await h.reconcile(MONITOR_KEY)
    await h.reconcile("a")
    await h.reconcile("b")
    assert ("node.kubernetes.io/unreachable", "NoExecute") in taints(h, "a")
    assert ("node.kubernetes.io/unreachable", "NoExecute") not in taints(h, "b")
    assert h.controller.queue.num_waiting() >= 1
    clock.now = T0 + 10
    h.sync_caches()
    await h.reconcile("b")
    assert ("node.kubernetes.io/unreachable", "NoExecute") in taints(h, "b")


async def test_a_partially_disrupted_small_zone_is_not_tainted_for_eviction() -> None:
    nodes = [node(f"n{i}", "Unknown", zone="z1") for i in range(3)] + [node("n9", zone="z1")]
    h, _ = harness([*nodes, node("other", zone="z2")])
    await h.reconcile(MONITOR_KEY)
    await h.reconcile("n0")
    assert ("node.kubernetes.io/unreachable", "NoExecute") not in taints(h, "n0")


async def test_pods_on_a_not_ready_node_are_marked_not_ready() -> None:
    h, _ = harness([node("n1", "Unknown"), node("n2"), pod("p1", "n1"), pod("p2", "n2"), pod("p3", "n1", "False")])
    await h.reconcile(MONITOR_KEY)
    await h.reconcile("n1")
    assert h.stored("pods", "p1", "default")["status"]["conditions"][0]["status"] == "False"  # type: ignore[index]
    assert h.stored("pods", "p2", "default")["status"]["conditions"][0]["status"] == "True"  # type: ignore[index]
    assert [w for w in h.writes() if w[1] == "pods"] == [("patch", "pods", "default", "p1")]
    assert ("Warning", "NodeNotReady", "Node is not ready") in h.events


async def test_a_restarted_controller_gives_every_node_a_fresh_grace_period() -> None:
    h, clock = harness([node("n1", beat=T0 - 1000)])
    clock.now = T0 + 1000
    await h.reconcile(MONITOR_KEY)
    assert ready_of(h, "n1")["status"] == "True"


def test_zone_states_follow_kubernetes_thresholds() -> None:
    assert compute_zone_state([False, False], 0.55) == FULL
    assert compute_zone_state([False, False, True], 0.55) == NORMAL  # not more than 2 unhealthy
    assert compute_zone_state([False, False, False, True], 0.55) == PARTIAL
    assert compute_zone_state([False, False, False, True, True, True], 0.55) == NORMAL


def test_the_token_bucket_allows_one_at_once_then_one_per_period() -> None:
    bucket = TokenBucket(0.5, 0.0)
    assert bucket.try_accept(0.0)
    assert not bucket.try_accept(1.0)
    assert bucket.wait_time() == 1.0
    assert bucket.try_accept(2.0)
    assert not TokenBucket(0.0, 0.0).try_accept(100.0)


def test_health_probe_moves_only_when_the_heartbeat_or_lease_moves() -> None:
    first = compute_node_health(None, node("n1"), None, T0)
    same = compute_node_health(first, node("n1"), None, T0 + 10)
    assert same.probe_timestamp == T0
    beat = compute_node_health(same, node("n1", beat=T0 + 9), None, T0 + 11)
    assert beat.probe_timestamp == T0 + 11
