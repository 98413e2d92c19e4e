"""`kubeling up` end to end: a real cluster of OS processes, real Docker containers, the real kubectl.

One cluster (``--nodes 2 --fast-failover``, a unique name, ``KUBELING_HOME`` in a temp dir) serves the whole module;
the tests run in file order and the last one takes it down. ``kubeling down --purge`` always runs at the end.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import docker
import pytest

from tests.e2e.lab import ROOT, Lab, lab_cluster, pid_alive, ready, running_pods, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

LABELS = ("io.kubeling.managed=true", "io.kubeling.node")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient) -> Iterator[Lab]:
    with lab_cluster(tmp_path_factory, ("--nodes", "2", "--fast-failover")) as lab:
        yield lab


def test_up_brings_every_node_ready_and_kubectl_works(lab: Lab) -> None:
    assert lab.kubeling("kubeconfig").stdout.strip() == str(lab.state / "kubeconfig")
    nodes = lab.get("nodes")["items"]
    assert sorted(n["metadata"]["name"] for n in nodes) == [f"{lab.name}-node-1", f"{lab.name}-node-2"]
    assert all(ready(n) for n in nodes)
    assert f"{lab.name}-node-1" in lab.kubectl("get", "nodes")
    recorded = lab.recorded()
    names = [c["name"] for c in recorded["components"]]
    assert names[:4] == ["etcd", "apiserver", "controller-manager", "scheduler"]
    assert all(pid_alive(c["pid"]) for c in recorded["components"])
    assert (lab.state / "logs" / "apiserver.log").exists()
    again = lab.kubeling("up")  # idempotent
    assert "already running" in again.stdout


def test_status_shows_every_component_alive_and_the_leaders(lab: Lab) -> None:
    def scheduler_leads() -> str:
        out = lab.kubeling("status").stdout
        return out if "leader" in out.split("scheduler", 1)[1].splitlines()[0] else ""

    out = wait_for("the scheduler's lease", scheduler_leads, timeout=20)
    for component in ("etcd", "apiserver", "controller-manager", f"kubelet-{lab.name}-node-2"):
        assert component in out
    assert "Ready" in out


def test_deployment_reaches_running_on_docker(lab: Lab) -> None:
    if not (ROOT / "scheduler" / "__main__.py").exists():
        pytest.skip("the scheduler does not exist yet: pods would never be bound")
    lab.kubectl("apply", "-f", str(ROOT / "deploy" / "examples" / "deployment.yaml"))
    pods = wait_for("3 Running hello pods", lambda: len(running_pods(lab, "app=hello")) == 3 and
                    running_pods(lab, "app=hello"), timeout=60)
    assert {p["spec"]["nodeName"] for p in pods} <= {f"{lab.name}-node-1", f"{lab.name}-node-2"}
    client = docker.from_env()
    try:
        label = f"io.kubernetes.pod.name={pods[0]['metadata']['name']}"
        assert client.containers.list(filters={"label": label}), "the pod's containers run in the local Docker"
    finally:
        client.close()


def test_killed_scheduler_leaves_pods_pending_until_restarted(lab: Lab) -> None:
    out = lab.kubeling("kill", "scheduler").stdout
    assert "SIGKILL" in out
    assert lab.kubeling("status").returncode == 0
    manifest = (ROOT / "deploy" / "examples" / "pod.yaml").read_text().replace("name: hello\n", "name: orphan\n", 1)
    lab.kubectl("apply", "-f", "-", stdin=manifest)
    time.sleep(4)
    pod = lab.get("pod", "orphan")
    assert pod["status"]["phase"] == "Pending"
    assert not pod["spec"].get("nodeName")
    events = lab.get("events", "--field-selector", "involvedObject.name=orphan")["items"]
    assert not [e for e in events if e.get("reason") == "Scheduled"]
    lab.kubeling("restart", "scheduler")
    wait_for("the pod to be scheduled", lambda: lab.get("pod", "orphan")["spec"].get("nodeName"), timeout=40)
    events = lab.get("events", "--field-selector", "involvedObject.name=orphan")["items"]
    assert [e for e in events if e.get("reason") == "Scheduled"]
    lab.kubectl("delete", "pod", "orphan", "--wait=false")


def test_killed_kubelet_makes_its_node_not_ready_and_pods_move(lab: Lab) -> None:
    node1, node2 = f"{lab.name}-node-1", f"{lab.name}-node-2"
    lab.kubeling("kill", f"kubelet-{node1}")
    wait_for(f"{node1} NotReady", lambda: not ready(lab.get("node", node1)), timeout=40)
    assert ready(lab.get("node", node2))

    def all_on_node2() -> bool:
        pods = running_pods(lab, "app=hello")
        return len(pods) == 3 and all(p["spec"]["nodeName"] == node2 for p in pods)

    wait_for("3 hello pods Running on node 2", all_on_node2, timeout=60)
    assert "NotReady" in lab.kubeling("status").stdout


def test_down_leaves_no_process_and_no_container(lab: Lab) -> None:
    recorded = lab.recorded()
    pids = [c["pid"] for c in recorded["components"] if c["pid"]]
    nodes = recorded["nodes"]
    lab.kubeling("down")
    assert not [pid for pid in pids if pid_alive(pid)]
    client = docker.from_env()
    try:
        for node in nodes:
            assert not client.containers.list(all=True, filters={"label": [LABELS[0], f"{LABELS[1]}={node}"]})
    finally:
        client.close()
    status = lab.kubeling("status").stdout
    assert " yes " not in status
