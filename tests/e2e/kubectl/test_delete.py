"""kubectl delete: --cascade=orphan and foreground, --grace-period=0 --force, and by label."""

from __future__ import annotations

import pytest

from tests.e2e.kubectl.helpers import HELLO_V1, Kubectl

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]


def test_orphan_then_foreground_cascade(k: Kubectl) -> None:
    k("create", "deployment", "orph", f"--image={HELLO_V1}", "--replicas=2")
    k.rollout_status("deploy/orph")

    out = k("delete", "deploy/orph", "--cascade=orphan", timeout=60)
    assert out.strip() == 'deployment.apps "orph" deleted'
    assert k.run("get", "deploy", "orph").returncode == 1
    replica_sets = k.get("rs", "-l", "app=orph")["items"]
    assert len(replica_sets) == 1
    rs = replica_sets[0]["metadata"]
    assert not rs.get("ownerReferences"), "orphaned: the ReplicaSet no longer names the Deployment"
    pods = k.pods("app=orph")
    assert len(pods) == 2 and all(p["status"]["phase"] == "Running" for p in pods)
    assert all(p["metadata"]["ownerReferences"][0]["name"] == rs["name"] for p in pods)

    out = k("delete", f"rs/{rs['name']}", "--cascade=foreground", timeout=60)
    assert out.strip() == f'replicaset.apps "{rs["name"]}" deleted'
    assert k.get("pods", "-l", "app=orph")["items"] == [], "foreground: the pods are gone before the ReplicaSet"


def test_force_delete_and_delete_by_label(k: Kubectl) -> None:
    for name, labels in (("victim", "app=v"), ("x1", "app=x"), ("x2", "app=x"), ("keep", "app=keep")):
        k("run", name, f"--image={HELLO_V1}", f"--labels={labels}")
    k("wait", "--for=condition=Ready", "pod", "--all", "--timeout=60s", timeout=70)

    forced = k.run("delete", "pod", "victim", "--grace-period=0", "--force")
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.strip() == 'pod "victim" force deleted'
    assert "Immediate deletion does not wait for confirmation" in forced.stderr
    gone = k.run("get", "pod", "victim")
    assert gone.returncode == 1 and 'pods "victim" not found' in gone.stderr

    out = k("delete", "pods", "-l", "app=x", timeout=60)
    assert sorted(out.splitlines()) == ['pod "x1" deleted', 'pod "x2" deleted']
    assert [p["metadata"]["name"] for p in k.get("pods")["items"]] == ["keep"]
