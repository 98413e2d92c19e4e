"""A real `kubeling up` cluster for the e2e tests: OS processes, Docker containers, the real kubectl.

:func:`lab_cluster` brings one up under a unique name with ``KUBELING_HOME`` in a temporary directory and always
takes it down with ``kubeling down --purge``; :class:`Lab` runs ``kubeling`` and ``kubectl`` against it, every
subprocess with a timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

KUBECTL = shutil.which("kubectl")
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Lab:
    name: str
    home: Path
    env: dict[str, str]

    @property
    def state(self) -> Path:
        return self.home / self.name

    @property
    def nodes(self) -> list[str]:
        return [n["name"] if isinstance(n, dict) else n for n in self.recorded()["nodes"]]

    def kubeling(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "kubeling", *args, "--name", self.name], env=self.env,
                                capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        if check and result.returncode != 0:
            raise AssertionError(f"kubeling {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n"
                                 f"{result.stderr}")
        return result

    def run(self, *args: str, stdin: str | None = None, timeout: float = 30,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """``kubectl ARGS`` whatever its exit code."""
        assert KUBECTL is not None
        return subprocess.run([KUBECTL, *args], env={**self.env, **(env or {})}, capture_output=True, text=True,
                              timeout=timeout, input=stdin)

    def kubectl(self, *args: str, stdin: str | None = None, timeout: float = 30,
                env: dict[str, str] | None = None) -> str:
        """``kubectl ARGS``, which must exit 0; its stdout."""
        result = self.run(*args, stdin=stdin, timeout=timeout, env=env)
        assert result.returncode == 0, f"kubectl {' '.join(args)} exited {result.returncode}: {result.stderr}"
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


def running_pods(lab: Lab, selector: str, *args: str) -> list[dict[str, Any]]:
    pods = lab.get("pods", "-l", selector, *args)["items"]
    return [p for p in pods if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@contextlib.contextmanager
def lab_cluster(tmp_path_factory: pytest.TempPathFactory, up_args: Sequence[str] = ("--nodes", "2"),
                up_timeout: float = 180) -> Iterator[Lab]:
    """``kubeling up UP_ARGS`` under a unique name (``e2e-<hex>``) and a private ``KUBELING_HOME``; ``kubeling down
    --purge`` when the block ends, however it ends. Skips when kubectl is not installed."""
    if KUBECTL is None:
        pytest.skip("kubectl is not installed (Debian: apt-get install kubernetes-client)")
    home = tmp_path_factory.mktemp("kubeling-home")
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "KUBELING_HOME": str(home), "KUBECONFIG": str(home / name / "kubeconfig")}
    lab = Lab(name, home, env)
    try:
        lab.kubeling("up", *up_args, "--timeout", "90", timeout=up_timeout)
        yield lab
    finally:
        lab.kubeling("down", "--purge", check=False)
