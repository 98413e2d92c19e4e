"""The docker-compose lab (deploy/docker-compose.yml): the file validates, and the whole lab comes up offline.

The lab test builds the offline Python base image (cached: no debootstrap when ``kubeling/python-base:bookworm``
exists), the etcd image, the wheelhouse and the kubeling image, runs ``up -d`` under a unique project name, network,
node names and host ports, waits for both nodes to be Ready over the published HTTP port, runs a pod bound to a node
(``spec.nodeName``) until it is Running, then tears everything down with ``deploy/compose/down.sh`` and checks that no
container of the project (nor of its nodes' pods) remains. docker-compose missing: skipped on a developer machine,
a failure under CI (env CI=true).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml

from kubelet.runtime.interface import LABEL_MANAGED, LABEL_NODE

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[3]
COMPOSE_FILE = REPO / "deploy" / "docker-compose.yml"
DOWN = REPO / "deploy" / "compose" / "down.sh"
IN_CI = os.environ.get("CI", "").lower() == "true"


def compose_command() -> list[str]:
    """``docker-compose`` (Debian's 1.29) or ``docker compose`` (v2); skip (fail under CI) when neither exists."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    message = "neither docker-compose nor `docker compose` is installed (apt-get install docker-compose; make deps)"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def run(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_compose_file_validates() -> None:
    result = run([*compose_command(), "-f", str(COMPOSE_FILE), "config"])
    config = yaml.safe_load(result.stdout)
    assert {"etcd", "apiserver", "controller-manager", "scheduler", "kubelet-1", "kubelet-2"} <= set(config["services"])
    kubelet = config["services"]["kubelet-1"]
    mounts = [v if isinstance(v, str) else f"{v['source']}:{v['target']}" for v in kubelet["volumes"]]
    assert any(m.startswith("/var/run/docker.sock:/var/run/docker.sock") for m in mounts), mounts


class Lab:
    """One compose project with its own names and ports; ``api`` talks to its published HTTP port."""

    def __init__(self, tmp: Path) -> None:
        tag = uuid.uuid4().hex[:8]
        self.project = f"klct{tag}"
        self.node_prefix = f"ct-{tag}-node-"
        self.network = f"kubeling-ct-{tag}"
        self.http_port = free_port()
        self.env = {**os.environ, "KUBELING_NETWORK": self.network, "KUBELING_NODE_PREFIX": self.node_prefix,
                    "KUBELING_LAB_DIR": str(tmp / "lab"), "KUBELING_HTTP_PORT": str(self.http_port),
                    "KUBELING_GRPC_PORT": str(free_port())}
        self.compose_cmd = compose_command()
        self.compose = [*self.compose_cmd, "-f", str(COMPOSE_FILE), "-p", self.project]

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.loads(resp.read())

    def wait(self, what: str, check: Any, timeout: float) -> float:
        """Poll ``check()`` until truthy; returns the seconds it took."""
        start = time.monotonic()
        last: Any = None
        while time.monotonic() - start < timeout:
            try:
                if check():
                    return time.monotonic() - start
            except (urllib.error.URLError, ConnectionError, OSError) as err:
                last = err
            time.sleep(0.5)
        logs = subprocess.run([*self.compose, "logs", "--tail=30"], env=self.env, capture_output=True, text=True)
        raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last})\n{logs.stdout}")

    def down(self) -> None:
        run(["sh", str(DOWN), "-p", self.project], env={**self.env, "COMPOSE": " ".join(self.compose_cmd)})


@pytest.fixture
def lab(tmp_path: Path, docker_client: docker.DockerClient, kubeling_images: list[str]) -> Iterator[Lab]:
    lab = Lab(tmp_path)
    yield lab
    lab.down()  # idempotent: the test tears down itself and checks; this catches failures half way


def build_images(lab: Lab) -> dict[str, float]:
    """The base images (cached), the wheelhouse and the kubeling image; returns seconds per step."""
    from kubeling.images_base import PYTHON_BASE, build_etcd_image, build_python_base, build_wheelhouse

    client = docker.from_env()
    try:
        try:
            client.images.get(PYTHON_BASE)
        except docker.errors.ImageNotFound:
            if os.geteuid() != 0 and not IN_CI:
                pytest.skip(f"{PYTHON_BASE} is missing and debootstrap needs root: run "
                            "`sudo kubeling images build --base` once")
        base = build_python_base(client)
        etcd = build_etcd_image(client)
    finally:
        client.close()
    _, wheels = build_wheelhouse()
    start = time.monotonic()
    run([*lab.compose, "build"], env=lab.env, timeout=300)
    return {"base": base.seconds, "etcd": etcd.seconds, "wheelhouse": wheels, "image": time.monotonic() - start}


def ready_nodes(lab: Lab) -> list[str]:
    nodes = lab.api("GET", "/api/v1/nodes")["items"]
    return [n["metadata"]["name"] for n in nodes
            if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))]


@pytest.mark.compose
@pytest.mark.timeout(360)
def test_compose_lab_runs_a_pod(lab: Lab, docker_client: docker.DockerClient) -> None:
    timings = build_images(lab)
    start = time.monotonic()
    run([*lab.compose, "up", "-d"], env=lab.env)
    nodes = [f"{lab.node_prefix}1", f"{lab.node_prefix}2"]
    lab.wait("both nodes Ready", lambda: sorted(ready_nodes(lab)) == nodes, 120)
    timings["up_to_ready"] = time.monotonic() - start

    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hello"},
           "spec": {"nodeName": nodes[1], "containers": [{"name": "hello", "image": "kubeling/hello:v1"}]}}
    lab.api("POST", "/api/v1/namespaces/default/pods", pod)
    timings["pod_running"] = lab.wait(
        "the pod Running",
        lambda: lab.api("GET", "/api/v1/namespaces/default/pods/hello")["status"].get("phase") == "Running", 60)
    running = docker_client.containers.list(filters={"label": [f"{LABEL_MANAGED}=true", f"{LABEL_NODE}={nodes[1]}"]})
    assert len(running) == 2, [c.name for c in running]  # the sandbox and the app container, siblings on this host

    start = time.monotonic()
    lab.down()
    timings["down"] = time.monotonic() - start
    left = docker_client.containers.list(all=True, filters={"label": f"com.docker.compose.project={lab.project}"})
    assert left == [], [c.name for c in left]
    for node in nodes:
        pods = docker_client.containers.list(all=True, filters={"label": f"{LABEL_NODE}={node}"})
        assert pods == [], [c.name for c in pods]
    assert docker_client.networks.list(names=[lab.network]) == []
    print("compose lab timings (s):", {k: round(v, 1) for k, v in timings.items()})
