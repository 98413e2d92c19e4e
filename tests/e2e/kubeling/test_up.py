"""`kubeling up` end to end: a real cluster of OS processes, real Docker containers, the real kubectl.

One cluster (``--nodes 2 --fast-failover``, a unique name, ``KUBELING_HOME`` in a temp dir) serves the whole module;
the tests run in file order and the last one takes it down. ``kubeling down --purge`` always runs at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

KUBECTL = shutil.which("kubectl")
ROOT = Path(__file__).resolve().parents[3]
LABELS = ("io.kubeling.managed=true", "io.kubeling.node")


@dataclass
class Lab:
    name: str
    home: Path
    env: dict[str, str]

    @property
    def state(self) -> Path:
        return self.home / self.name

    def kubeling(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "kubeling", *args, "--name", self.name], env=self.env,
                                capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        if check and result.returncode != 0:
            raise AssertionError(f"kubeling {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n"
                                 f"{result.stderr}")
        return result

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        assert KUBECTL is not None
        result = subprocess.run([KUBECTL, *args], env=self.env, capture_output=True, text=True, timeout=30,
                                input=stdin)
        assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result.stdout

    def get(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json"))

    def recorded(self) -> dict[str, Any]:
        return json.loads((self.state / "cluster.json").read_text())


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0, interval: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def ready(node: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"].get("conditions", []))


def running_pods(lab: Lab, selector: str) -> list[dict[str, Any]]:
    pods = lab.get("pods", "-l", selector)["items"]
    return [p for p in pods if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, docker_client: docker.DockerClient) -> Iterator[Lab]:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed (Debian: apt-get install kubernetes-client)")
    home = tmp_path_factory.mktemp("kubeling-home")
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "KUBELING_HOME": str(home), "KUBECONFIG": str(home / name / "kubeconfig")}
    lab = Lab(name, home, env)
    try:
        lab.kubeling("up", "--nodes", "2", "--fast-failover", "--timeout", "90")
        yield lab
    finally:
        lab.kubeling("down", "--purge", check=False)


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
