"""Nodes through kubectl: cordon/uncordon, taint, drain (pods evicted and recreated on the other node)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.kubectl.helpers import HELLO_V1, Kubectl, events_section, row
from tests.e2e.lab import Lab, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]


@pytest.fixture
def restore_nodes(kubectl_lab: Lab) -> Iterator[None]:
    """Whatever a test does to the nodes, the next test finds them schedulable and untainted."""
    yield
    for node in kubectl_lab.nodes:
        kubectl_lab.run("uncordon", node)
        kubectl_lab.run("taint", "nodes", node, "dedicated-")


def node_of(k: Kubectl, selector: str) -> dict[str, str]:
    return {p["metadata"]["name"]: p["spec"].get("nodeName", "") for p in k.pods(selector)}


def test_cordon_uncordon_and_taint(k: Kubectl, restore_nodes: None) -> None:
    node1, node2 = k.lab.nodes
    assert k("cordon", node1).strip() == f"node/{node1} cordoned"
    assert row(k("get", "nodes"), node1)["STATUS"] == "Ready,SchedulingDisabled"
    k("create", "deployment", "spread", f"--image={HELLO_V1}", "--replicas=2")
    k.rollout_status("deploy/spread")
    assert set(node_of(k, "app=spread").values()) == {node2}, "a cordoned node gets no new pods"

    def cordon_event() -> bool:  # the kubelet's next node status sync (every 10 s) records it
        events = [r for r in events_section(k("describe", "node", node1)) if r["Reason"] == "NodeNotSchedulable"]
        return bool(events) and events[-1]["Message"] == f"Node {node1} status is now: NodeNotSchedulable"

    wait_for("the NodeNotSchedulable event", cordon_event, timeout=30)
    assert k("uncordon", node1).strip() == f"node/{node1} uncordoned"
    assert row(k("get", "nodes"), node1)["STATUS"] == "Ready"

    assert k("taint", "nodes", node1, "dedicated=lab:NoSchedule").strip() == f"node/{node1} tainted"
    assert k.lab.get("node", node1)["spec"]["taints"] == [{"key": "dedicated", "value": "lab", "effect": "NoSchedule"}]
    assert "dedicated=lab:NoSchedule" in k("describe", "node", node1)
    k("scale", "deploy/spread", "--replicas=4")
    k.rollout_status("deploy/spread")
    assert set(node_of(k, "app=spread").values()) == {node2}, "no pod tolerates the taint"
    assert k("taint", "nodes", node1, "dedicated=lab:NoSchedule-").strip() == f"node/{node1} untainted"
    assert not k.lab.get("node", node1)["spec"].get("taints")


def test_drain_evicts_and_the_pods_come_back_on_the_other_node(k: Kubectl, restore_nodes: None) -> None:
    k("create", "deployment", "drainme", f"--image={HELLO_V1}", "--replicas=2")
    k.rollout_status("deploy/drainme")
    placed = node_of(k, "app=drainme")
    node = next(iter(placed.values()))
    other = next(n for n in k.lab.nodes if n != node)
    # --pod-selector: only this test's pods; other tests' bare pods (kubectl run) would need --force
    out = k("drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--pod-selector=app=drainme",
            "--timeout=60s", timeout=70)
    lines = out.splitlines()
    assert lines[0] == f"node/{node} cordoned"
    assert lines[-1] == f"node/{node} drained"
    evicted = sorted(name for name, n in placed.items() if n == node)
    assert sorted(line.split("/")[-1] for line in lines if line.startswith("evicting pod ")) == evicted
    assert sorted(line.split()[0].split("/")[-1] for line in lines if line.endswith(" evicted")) == evicted
    assert row(k("get", "nodes"), node)["STATUS"] == "Ready,SchedulingDisabled"

    def moved() -> dict[str, str] | None:
        pods = {p["metadata"]["name"]: p for p in k.pods("app=drainme")}
        running = {name: p["spec"].get("nodeName", "") for name, p in pods.items()
                   if p["status"].get("phase") == "Running"}
        return running if len(running) == 2 and set(running.values()) == {other} else None

    now = wait_for(f"2 drainme pods Running on {other}", moved, timeout=60)
    assert not set(now) & set(evicted)
    k.rollout_status("deploy/drainme")
