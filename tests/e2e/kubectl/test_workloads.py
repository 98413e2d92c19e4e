"""StatefulSets and DaemonSets through kubectl: apply, rollout status, set image, rollout history and undo; and
files in and out of a container with kubectl cp."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.kubectl.helpers import BUSYBOX, HELLO_V1, HELLO_V2, Kubectl, row

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

MANIFESTS = f"""
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db}}
spec:
  serviceName: db
  replicas: 2
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{{name: db, image: "{HELLO_V1}"}}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: agent}}
spec:
  selector: {{matchLabels: {{app: agent}}}}
  template:
    metadata: {{labels: {{app: agent}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers: [{{name: agent, image: "{HELLO_V1}"}}]
"""


def images(k: Kubectl, selector: str) -> dict[str, str]:
    return {p["metadata"]["name"]: p["spec"]["containers"][0]["image"] for p in k.pods(selector)}


def test_statefulset_and_daemonset_roll_out_and_back(k: Kubectl) -> None:
    out = k("apply", "-f", "-", stdin=MANIFESTS)
    assert out.splitlines() == ["statefulset.apps/db created", "daemonset.apps/agent created"]
    assert k("rollout", "status", "sts/db", "--timeout=60s", timeout=70).splitlines()[-1] == \
        "partitioned roll out complete: 2 new pods have been updated..."
    assert k("rollout", "status", "ds/agent", "--timeout=60s", timeout=70).splitlines()[-1] == \
        'daemon set "agent" successfully rolled out'
    assert sorted(images(k, "app=db")) == ["db-0", "db-1"]
    agents = k.pods("app=agent")
    assert sorted(p["spec"]["nodeName"] for p in agents) == sorted(k.lab.nodes), "one agent per node"
    assert row(k("get", "ds", "agent"), "agent")["READY"] == "2"

    k("set", "image", "sts/db", f"db={HELLO_V2}")
    k("set", "image", "ds/agent", f"agent={HELLO_V2}")
    k("rollout", "status", "sts/db", "--timeout=60s", timeout=70)
    k("rollout", "status", "ds/agent", "--timeout=60s", timeout=70)
    assert set(images(k, "app=db").values()) == {HELLO_V2}
    assert set(images(k, "app=agent").values()) == {HELLO_V2}

    for what in ("sts/db", "ds/agent"):
        revisions = [line.split()[0] for line in k("rollout", "history", what).splitlines()[2:] if line.strip()]
        assert revisions == ["1", "2"], what
        assert "rolled back" in k("rollout", "undo", what)
    k("rollout", "status", "sts/db", "--timeout=60s", timeout=70)
    k("rollout", "status", "ds/agent", "--timeout=60s", timeout=70)
    assert set(images(k, "app=db").values()) == {HELLO_V1}
    assert set(images(k, "app=agent").values()) == {HELLO_V1}


def test_cp_copies_files_in_and_out(k: Kubectl, tmp_path: Path) -> None:
    k("run", "box", f"--image={BUSYBOX}", "--", "sleep", "3600")
    k("wait", "--for=condition=Ready", "pod/box", "--timeout=60s", timeout=70)
    local = tmp_path / "notes.txt"
    local.write_text("line one\nline two\n")
    k("cp", str(local), "box:/tmp/notes.txt")
    assert k("exec", "box", "--", "cat", "/tmp/notes.txt") == "line one\nline two\n"
    k("exec", "box", "--", "sh", "-c", "echo from the pod > /tmp/out.txt")
    back = tmp_path / "back.txt"
    k("cp", "box:/tmp/out.txt", str(back))
    assert back.read_text() == "from the pod\n"
