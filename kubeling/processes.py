"""Starting, signalling and probing a cluster's processes.

Each component runs detached (its own session, so it survives the shell that ran ``kubeling up``), with its output
appended to ``<state>/logs/<component>.log``. Nothing supervises them: a killed component stays dead until
``kubeling restart`` (or ``kubeling up``) starts it again. A recorded PID is only ever signalled while
``/proc/<pid>/cmdline`` still shows the recorded command, so a reused PID is never hit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from kubeling.cluster import Component


class PortPicker:
    """Free loopback ports, never the same one twice in one run."""

    def __init__(self) -> None:
        self.used: set[int] = set()

    def __call__(self) -> int:
        while True:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = int(s.getsockname()[1])
            if port not in self.used:
                self.used.add(port)
                return port


def log_path(directory: Path, component: str) -> Path:
    return directory / "logs" / f"{component}.log"


def spawn(component: Component, directory: Path) -> int:
    """Start ``component`` detached; records and returns its PID."""
    path = log_path(directory, component.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "KUBELING_HOME": str(directory.parent), **component.env}
    with open(path, "ab") as log:
        log.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} kubeling starts: {' '.join(component.command)}\n"
                  .encode())
        log.flush()
        process = subprocess.Popen(component.command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=env, start_new_session=True, cwd=directory)
    component.pid = process.pid
    component.started_at = time.time()
    deadline = time.monotonic() + 1.0  # /proc/<pid>/cmdline is briefly empty while the new program is loaded
    while _cmdline(process.pid) == [] and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    return process.pid


def _reap(pid: int) -> None:
    """Collect ``pid``'s exit status if it is our own child (else it would linger as a zombie while we run)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _proc_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[0]


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def alive(component: Component) -> bool:
    """The recorded PID runs, is not a zombie, and still runs the recorded command."""
    pid = component.pid
    if not pid:
        return False
    _reap(pid)
    state = _proc_state(pid)
    if state is None or state in ("Z", "X"):
        return False
    cmdline = _cmdline(pid)
    return cmdline is not None and cmdline[1:] == component.command[1:]


def paused(component: Component) -> bool:
    return alive(component) and _proc_state(component.pid or 0) == "T"


def send_signal(component: Component, sig: int) -> bool:
    """Signal the component's process group; False when it is not running."""
    if not alive(component) or component.pid is None:
        return False
    try:
        os.killpg(component.pid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        os.kill(component.pid, sig)
    return True


def wait_exit(component: Component, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(component):
            return True
        time.sleep(0.05)
    return not alive(component)


def stop(component: Component, timeout: float = 10.0) -> bool:
    """SIGTERM (after SIGCONT, in case it is paused), then SIGKILL after ``timeout``; True if it was running."""
    if not alive(component):
        return False
    send_signal(component, signal.SIGCONT)
    send_signal(component, signal.SIGTERM)
    if not wait_exit(component, timeout):
        send_signal(component, signal.SIGKILL)
        wait_exit(component, 5.0)
    return True


def stop_all(components: list[Component], timeout: float = 10.0) -> list[str]:
    """SIGTERM every running one at once, SIGKILL the ones still running after ``timeout``; the names stopped."""
    running = [c for c in components if alive(c)]
    for c in running:
        send_signal(c, signal.SIGCONT)
        send_signal(c, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(c) for c in running):
        time.sleep(0.05)
    for c in running:
        if alive(c):
            send_signal(c, signal.SIGKILL)
            wait_exit(c, 5.0)
    return [c.name for c in running]


def running_module_pids(module: str) -> list[int]:
    """PIDs on this host running ``python -m <module>`` or ``kubeling-<module>`` (any cluster's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        argv = _cmdline(int(entry.name)) or []
        as_module = any(argv[i:i + 2] == ["-m", module] for i in range(len(argv) - 1))
        as_script = any(Path(arg).name == f"kubeling-{module}" for arg in argv[:2])
        if (as_module or as_script) and _proc_state(int(entry.name)) not in (None, "Z", "X"):
            found.append(int(entry.name))
    return found


def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_http(url: str, component: Component, timeout: float) -> None:
    """Until ``url`` answers 2xx; RuntimeError if the component exits first, TimeoutError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if http_ok(url, 0.5):
            return
        if not alive(component):
            raise RuntimeError(f"{component.name} exited before it was healthy")
        time.sleep(0.1)
    raise TimeoutError(f"{component.name} not healthy at {url} after {timeout:.0f}s")


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
