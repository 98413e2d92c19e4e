"""What the kubectl e2e tests share: a kubectl bound to one namespace, kubectl's tables as a user reads them,
streaming commands (``logs -f``, ``get -w``) read for a bounded time, and ``exec -it`` through a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.e2e.lab import KUBECTL, Lab

HELLO_V1 = "kubeling/hello:v1"
HELLO_V2 = "kubeling/hello:v2"
BUSYBOX = "kubeling/busybox:1.35"
HELLO_PORT = 8080  # deploy/images/hello: httpd on 8080 answering "[<version>] Hello from <hostname>"


@dataclass
class Kubectl:
    """``kubectl -n NAMESPACE ...`` against the lab cluster."""

    lab: Lab
    namespace: str

    def __call__(self, *args: str, stdin: str | None = None, timeout: float = 30,
                 env: dict[str, str] | None = None) -> str:
        """Must exit 0; returns stdout."""
        return self.lab.kubectl("-n", self.namespace, *args, stdin=stdin, timeout=timeout, env=env)

    def run(self, *args: str, stdin: str | None = None, timeout: float = 30,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return self.lab.run("-n", self.namespace, *args, stdin=stdin, timeout=timeout, env=env)

    def get(self, *args: str) -> Any:
        return self.lab.get("-n", self.namespace, *args)

    def argv(self, *args: str) -> list[str]:
        assert KUBECTL is not None
        return [KUBECTL, "-n", self.namespace, *args]

    def jsonpath(self, what: str, path: str) -> str:
        return self("get", what, "-o", f"jsonpath={path}")

    def rollout_status(self, what: str, timeout: int = 90) -> str:
        out = self("rollout", "status", what, f"--timeout={timeout}s", timeout=timeout + 10)
        assert "successfully rolled out" in out.splitlines()[-1], out
        return out

    def pods(self, selector: str) -> list[dict[str, Any]]:
        return [p for p in self.get("pods", "-l", selector)["items"] if not p["metadata"].get("deletionTimestamp")]


def table(out: str) -> list[dict[str, str]]:
    """kubectl's human-readable table as rows of {column: cell}: columns start where their header starts (headers
    such as ``NOMINATED NODE`` hold one space; columns are separated by at least three)."""
    lines = [line for line in out.splitlines() if line.strip()]
    if not lines:
        return []
    header = lines[0]
    starts = [m.start() for m in re.finditer(r"(?:(?<=\s\s)|^)\S+(?: \S+)*", header)]
    names = [header[s:e].strip() for s, e in zip(starts, [*starts[1:], None], strict=True)]
    rows = []
    for line in lines[1:]:
        cells = [line[s:e].strip() for s, e in zip(starts, [*starts[1:], None], strict=True)]
        rows.append(dict(zip(names, cells, strict=True)))
    return rows


def row(out: str, name: str, column: str = "NAME") -> dict[str, str]:
    rows = [r for r in table(out) if r[column] == name]
    assert rows, f"no row {name!r} in:\n{out}"
    return rows[0]


def events_section(described: str) -> list[dict[str, str]]:
    """The rows of ``kubectl describe``'s Events table."""
    _, _, section = described.partition("\nEvents:\n")
    rows = [line.strip() for line in section.splitlines() if line.startswith("  ") and "----" not in line]
    return table("\n".join(rows))


def read_until(proc: subprocess.Popen[bytes], done: Callable[[str], bool], timeout: float) -> str:
    """Reads ``proc``'s stdout until ``done(text so far)`` or ``timeout``; then kills it. Returns the text."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not done(out.decode(errors="replace")):
            readable, _, _ = select.select([fd], [], [], 0.2)
            if readable:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                out += chunk
    finally:
        proc.kill()
        proc.wait(timeout=10)
        proc.stdout.close()
    return out.decode(errors="replace")


def run_in_terminal(argv: list[str], env: dict[str, str], prompt: str, keys: bytes, done: Callable[[str], bool],
                    timeout: float = 30) -> tuple[str, int | None]:
    """Runs ``argv`` with a pseudo-terminal as stdin, stdout and stderr, as a user at a shell does; types ``keys``
    once ``prompt`` appears, reads until ``done(output)`` and the process exits, or ``timeout``. Returns the
    terminal's output and the exit code (None when it had to be killed)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    out = b""
    typed = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            text = out.decode(errors="replace")
            if not typed and prompt in text:
                os.write(master, keys)
                typed = True
            if typed and done(text) and proc.poll() is not None:
                break
            readable, _, _ = select.select([master], [], [], 0.2)
            if readable:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the terminal's last user is gone
                    chunk = b""
                if chunk:
                    out += chunk
                elif proc.poll() is not None:
                    break
        code = proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        code = None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        os.close(master)
    return out.decode(errors="replace"), code
