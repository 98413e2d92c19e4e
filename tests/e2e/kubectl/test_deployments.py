"""A Deployment's life through kubectl: create, rollout status, scale, set image, history, undo, pause/resume,
restart. The tests build on each other in file order, in one namespace."""

from __future__ import annotations

import time

import pytest

from tests.e2e.kubectl.helpers import HELLO_V1, HELLO_V2, Kubectl, table
from tests.e2e.lab import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def images(k: Kubectl, selector: str = "app=web") -> set[str]:
    return {p["spec"]["containers"][0]["image"] for p in k.pods(selector)}


def replica_sets(k: Kubectl) -> dict[str, str]:
    """Every ReplicaSet of web: name -> its pod template's image."""
    items = k.get("rs", "-l", "app=web")["items"]
    return {rs["metadata"]["name"]: rs["spec"]["template"]["spec"]["containers"][0]["image"] for rs in items}


def test_create_deployment_rolls_out_and_pods_show_wide(module_k: Kubectl) -> None:
    k = module_k
    out = k("create", "deployment", "web", f"--image={HELLO_V1}", "--replicas=2", "--port=8080")
    assert out.strip() == "deployment.apps/web created"
    status = k.rollout_status("deploy/web")
    assert status.splitlines()[-1] == 'deployment "web" successfully rolled out'

    out = k("get", "pods", "-o", "wide")
    assert out.split()[:9] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE"]
    rows = table(out)
    assert len(rows) == 2, out
    nodes = set(k.lab.nodes)
    for row in rows:
        assert row["NAME"].startswith("web-")
        assert (row["READY"], row["STATUS"], row["RESTARTS"]) == ("1/1", "Running", "0"), out
        assert row["IP"].startswith("10."), out
        assert row["NODE"] in nodes, out
    assert len({row["IP"] for row in rows}) == 2


def test_scale_then_rollout_status(module_k: Kubectl) -> None:
    k = module_k
    assert k("scale", "deploy/web", "--replicas=3").strip() == "deployment.apps/web scaled"
    k.rollout_status("deploy/web")
    row = table(k("get", "deploy", "web"))[0]
    assert (row["READY"], row["UP-TO-DATE"], row["AVAILABLE"]) == ("3/3", "3", "3")


def test_set_image_rolls_out_v2(module_k: Kubectl) -> None:
    k = module_k
    assert k("set", "image", "deploy/web", f"hello={HELLO_V2}").strip() == "deployment.apps/web image updated"
    k.rollout_status("deploy/web")
    wait_for("only v2 pods", lambda: images(k) == {HELLO_V2}, timeout=30)
    assert sorted(replica_sets(k).values()) == [HELLO_V1, HELLO_V2]


def test_rollout_history_lists_the_revisions(module_k: Kubectl) -> None:
    out = module_k("rollout", "history", "deploy/web")
    lines = [line.split() for line in out.splitlines()]
    assert ["REVISION", "CHANGE-CAUSE"] in lines, out
    assert ["1", "<none>"] in lines and ["2", "<none>"] in lines, out
    detail = module_k("rollout", "history", "deploy/web", "--revision=2")
    assert HELLO_V2 in detail


def test_rollout_undo_brings_v1_back(module_k: Kubectl) -> None:
    k = module_k
    assert k("rollout", "undo", "deploy/web").strip() == "deployment.apps/web rolled back"
    k.rollout_status("deploy/web")
    assert k.jsonpath("deploy/web", "{.spec.template.spec.containers[0].image}") == HELLO_V1
    wait_for("only v1 pods", lambda: images(k) == {HELLO_V1}, timeout=30)
    revisions = [line.split()[0] for line in k("rollout", "history", "deploy/web").splitlines()[2:] if line.strip()]
    assert revisions == ["2", "3"]  # revision 1's template is revision 3 now


def test_paused_rollout_waits_for_resume(module_k: Kubectl) -> None:
    k = module_k
    before = replica_sets(k)
    assert k("rollout", "pause", "deploy/web").strip() == "deployment.apps/web paused"
    k("set", "image", "deploy/web", f"hello={HELLO_V2}")
    k("set", "env", "deploy/web", "PAUSED=once")  # a template no ReplicaSet has had yet
    time.sleep(3)
    assert replica_sets(k) == before, "no new ReplicaSet while paused"
    assert images(k) == {HELLO_V1}
    assert k.jsonpath("deploy/web", "{.spec.paused}") == "true"

    assert k("rollout", "resume", "deploy/web").strip() == "deployment.apps/web resumed"
    k.rollout_status("deploy/web")
    after = replica_sets(k)
    new = set(after) - set(before)
    assert len(new) == 1 and after[new.pop()] == HELLO_V2
    wait_for("only v2 pods", lambda: images(k) == {HELLO_V2}, timeout=30)


def test_rollout_restart_replaces_every_pod(module_k: Kubectl) -> None:
    k = module_k
    old = {p["metadata"]["name"] for p in k.pods("app=web")}
    assert k("rollout", "restart", "deploy/web").strip() == "deployment.apps/web restarted"
    k.rollout_status("deploy/web")
    annotations = k.get("deploy", "web")["spec"]["template"]["metadata"].get("annotations", {})
    assert "kubectl.kubernetes.io/restartedAt" in annotations

    def replaced() -> bool:
        pods = k.pods("app=web")
        return len(pods) == 3 and not {p["metadata"]["name"] for p in pods} & old

    wait_for("3 new pods", replaced, timeout=30)
