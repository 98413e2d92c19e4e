"""Spawning, signalling and probing component processes (real, tiny processes: `sleep`)."""

from __future__ import annotations

import shutil
import signal
import time
from pathlib import Path

import pytest

from kubeling import processes
from kubeling.cluster import Component

SLEEP = shutil.which("sleep") or "/bin/sleep"


@pytest.fixture
def sleeper(tmp_path: Path):
    component = Component("sleeper", [SLEEP, "30"], env={"X_TEST": "1"})
    processes.spawn(component, tmp_path)
    yield component
    processes.send_signal(component, signal.SIGKILL)


def test_spawn_records_pid_and_logs_to_its_file(sleeper: Component, tmp_path: Path) -> None:
    assert sleeper.pid and sleeper.started_at
    assert processes.alive(sleeper)
    log = processes.log_path(tmp_path, "sleeper")
    assert "kubeling starts" in log.read_text()
    assert Path(f"/proc/{sleeper.pid}/environ").read_bytes().count(b"X_TEST=1") == 1


def test_kill_pause_resume(sleeper: Component) -> None:
    assert processes.send_signal(sleeper, signal.SIGSTOP)
    deadline = time.monotonic() + 5
    while not processes.paused(sleeper) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert processes.paused(sleeper)
    assert processes.send_signal(sleeper, signal.SIGCONT)
    assert processes.send_signal(sleeper, signal.SIGKILL)
    assert processes.wait_exit(sleeper, 5)  # reaped: a zombie does not count as alive
    assert not processes.send_signal(sleeper, signal.SIGKILL)


def test_stop_terminates_and_reports(sleeper: Component) -> None:
    assert processes.stop(sleeper, timeout=5)
    assert not processes.alive(sleeper)
    assert not processes.stop(sleeper)


def test_a_reused_pid_running_another_command_is_not_ours(sleeper: Component) -> None:
    other = Component("other", [SLEEP, "31"], pid=sleeper.pid)
    assert not processes.alive(other)
    assert not processes.send_signal(other, signal.SIGKILL)
    assert processes.alive(sleeper)
    assert not processes.alive(Component("none", [SLEEP, "1"]))


def test_port_picker_never_repeats() -> None:
    picker = processes.PortPicker()
    ports = [picker() for _ in range(50)]
    assert len(set(ports)) == 50


def test_http_ok_on_nothing_listening() -> None:
    port = processes.PortPicker()()
    assert not processes.http_ok(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
