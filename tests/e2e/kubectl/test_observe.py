"""Looking at the cluster through kubectl: get events, describe (with their Events section), get -w."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.e2e.kubectl.helpers import HELLO_V1, Kubectl, events_section, read_until, table
from tests.e2e.lab import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

POD_STARTED = ("Scheduled", "Pulled", "Created", "Started")


def test_events_and_describe_pod(k: Kubectl) -> None:
    k("run", "ev", f"--image={HELLO_V1}")
    k("wait", "--for=condition=Ready", "pod/ev", "--timeout=60s", timeout=70)

    def reasons() -> list[str] | None:
        rows = table(k("get", "events", "--field-selector", "involvedObject.name=ev"))
        found = [r["REASON"] for r in rows]
        return found if all(reason in found for reason in POD_STARTED) else None

    wait_for("the pod's events", reasons, timeout=30)
    rows = table(k("get", "events", "--field-selector", "involvedObject.name=ev"))
    assert {r["OBJECT"] for r in rows} == {"pod/ev"}
    scheduled = next(r for r in rows if r["REASON"] == "Scheduled")
    assert scheduled["TYPE"] == "Normal"
    assert scheduled["MESSAGE"].startswith(f"Successfully assigned {k.namespace}/ev to ")

    described = k("describe", "pod", "ev")
    assert "Status:           Running" in described
    events = events_section(described)
    assert [e["Reason"] for e in events] == list(POD_STARTED), described
    assert {e["From"] for e in events} == {"default-scheduler", "kubelet"}
    assert f'Container image "{HELLO_V1}" already present on machine' in described


def test_describe_deployment_and_node(k: Kubectl) -> None:
    k("create", "deployment", "web", f"--image={HELLO_V1}", "--replicas=2")
    k.rollout_status("deploy/web")

    def scaled() -> list[dict[str, str]] | None:
        events = events_section(k("describe", "deploy", "web"))
        return events if any(e["Reason"] == "ScalingReplicaSet" for e in events) else None

    events = wait_for("the deployment's ScalingReplicaSet event", scaled, timeout=20)
    assert any("Scaled up replica set web-" in e["Message"] and e["Message"].endswith("to 2") for e in events)
    assert {e["From"] for e in events} == {"deployment-controller"}
    rs_events = events_section(k("describe", "rs", "-l", "app=web"))
    created = [e for e in rs_events if e["Reason"] == "SuccessfulCreate"]
    assert len(created) == 2 and {e["From"] for e in created} == {"replicaset-controller"}, rs_events
    assert all(e["Message"].startswith("Created pod: web-") for e in created)

    node = k.lab.nodes[0]
    described = k("describe", "node", node)
    assert f"Name:               {node}" in described
    assert re.search(r"^  Ready\s+True\s", described, re.M), described
    assert any(e["Reason"] == "NodeReady" for e in events_section(described)), described


def test_get_pods_watch_shows_a_new_pod(k: Kubectl) -> None:
    proc = subprocess.Popen(k.argv("get", "pods", "-w"), env=k.lab.env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        k("run", "watched", f"--image={HELLO_V1}")
    finally:
        out = read_until(proc, lambda text: any(line.split()[:3] == ["watched", "1/1", "Running"]
                                                for line in text.splitlines()), timeout=40)
    lines = [line.split() for line in out.splitlines()]
    assert lines[0][:3] == ["NAME", "READY", "STATUS"], out
    assert ["watched", "1/1", "Running"] in [line[:3] for line in lines], out
