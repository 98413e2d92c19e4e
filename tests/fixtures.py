"""Real servers for tests: etcd and the apiserver on free ports, started and stopped by fixtures.

No mocks of etcd: integration tests run against Debian's etcd, started here in a temp dir. The
apiserver runs either in the test's event loop (fast, for semantics tests) or as its own OS
process (for chaos tests that kill -9 it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@dataclass
class EtcdServer:
    """An etcd process on loopback: `endpoint` is host:port for clients."""

    data_dir: Path
    client_port: int = 0
    peer_port: int = 0
    process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    def start(self) -> None:
        binary = shutil.which("etcd")
        if binary is None:
            raise RuntimeError("etcd is not installed: apt-get install etcd-server (or run `make deps`)")
        self.client_port = self.client_port or free_port()
        self.peer_port = self.peer_port or free_port()
        client_url, peer_url = f"http://127.0.0.1:{self.client_port}", f"http://127.0.0.1:{self.peer_port}"
        args = [binary, "--name", "test", "--data-dir", str(self.data_dir),
                "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
                "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                "--initial-cluster", f"test={peer_url}", "--log-level", "error", "--logger", "zap"]
        with open(self.data_dir.parent / f"etcd-{self.client_port}.log", "ab") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.client_port, process=self.process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def spawn(command: list[str], log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """A kubeling process from the checkout, its output appended to ``log_path``."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})


def kill_9(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


def terminate(process: subprocess.Popen | None, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            kill_9(process)


@dataclass
class ApiserverProcess:
    """`python -m apiserver` as its own OS process, for kill -9."""

    etcd_endpoint: str
    log_path: Path
    grpc_port: int = 0
    http_port: int = 0
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self) -> None:
        self.grpc_port = self.grpc_port or free_port()
        self.http_port = self.http_port or free_port()
        args = [sys.executable, "-m", "apiserver", "--etcd-servers", self.etcd_endpoint,
                "--grpc-port", str(self.grpc_port), "--port", str(self.http_port), *self.extra_args]
        self.process = spawn(args, self.log_path)
        wait_for_port(self.grpc_port, timeout=30, process=self.process)

    def kill(self) -> None:
        """kill -9: no cleanup, no goodbye."""
        kill_9(self.process)

    def stop(self) -> None:
        terminate(self.process)


@dataclass
class KubeletProcess:
    """`python -m kubelet` as its own OS process, for kill -9."""

    apiserver: str
    node_name: str
    log_path: Path
    args: tuple[str, ...] = ()
    process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "kubelet", "--apiserver", self.apiserver, "--node-name", self.node_name,
                   *self.args]
        self.process = spawn(command, self.log_path)

    def kill(self) -> None:
        kill_9(self.process)

    def stop(self) -> None:
        terminate(self.process)
