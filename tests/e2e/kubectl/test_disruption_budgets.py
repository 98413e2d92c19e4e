"""PodDisruptionBudgets in a whole cluster: `kubectl drain` is refused while the budget allows nothing, and
waits for replacements to become Ready when it allows one disruption at a time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.kubectl.helpers import HELLO_V1, Kubectl, row
from tests.e2e.lab import Lab, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
REFUSED = "Cannot evict pod as it would violate the pod's disruption budget."


@pytest.fixture
def restore_nodes(kubectl_lab: Lab) -> Iterator[None]:
    yield
    for node in kubectl_lab.nodes:
        kubectl_lab.run("uncordon", node)


def allowed_disruptions(k: Kubectl, wanted: str) -> None:
    wait_for(f"ALLOWED DISRUPTIONS {wanted}",
             lambda: row(k("get", "pdb"), "budgeted")["ALLOWED DISRUPTIONS"] == wanted, timeout=30)


def test_drain_respects_the_pods_disruption_budget(k: Kubectl, restore_nodes: None) -> None:
    k("create", "deployment", "budgeted", f"--image={HELLO_V1}", "--replicas=2")
    k.rollout_status("deploy/budgeted")
    created = k("create", "pdb", "budgeted", "--selector=app=budgeted", "--min-available=2")
    assert created.strip() == "poddisruptionbudget.policy/budgeted created"
    allowed_disruptions(k, "0")
    assert (row(k("get", "pdb"), "budgeted")["MIN AVAILABLE"], row(k("get", "pdb"), "budgeted")["MAX UNAVAILABLE"]
            ) == ("2", "N/A")
    node = k.pods("app=budgeted")[0]["spec"]["nodeName"]

    refused = k.run("drain", node, "--ignore-daemonsets", "--pod-selector=app=budgeted", "--timeout=5s", timeout=30)
    assert refused.returncode != 0
    assert REFUSED in refused.stderr

    k("patch", "pdb", "budgeted", "--type=merge", "-p", '{"spec": {"minAvailable": 1}}')
    allowed_disruptions(k, "1")
    out = k("drain", node, "--ignore-daemonsets", "--pod-selector=app=budgeted", "--timeout=120s", timeout=130)
    assert out.splitlines()[-1] == f"node/{node} drained"
    k.rollout_status("deploy/budgeted")
    assert {p["spec"]["nodeName"] for p in k.pods("app=budgeted")} == {n for n in k.lab.nodes if n != node}
