"""The chaos schedule and victim choice (pure: fake clock, seeded random)."""

from __future__ import annotations

import random
import signal
from pathlib import Path

import pytest

from kubeling import chaos

NAMES = ["etcd", "apiserver", "scheduler", "kubelet-lab-node-1", "kubelet-lab-node-2"]


def test_kill_times() -> None:
    assert chaos.kill_times(10, 30) == [10, 20, 30]
    assert chaos.kill_times(10, 5) == []
    assert chaos.kill_times(0.5, 1.2) == [0.5, 1.0]
    with pytest.raises(ValueError):
        chaos.kill_times(0, 10)


def test_choose_victim_is_seeded_and_none_without_candidates() -> None:
    assert chaos.choose_victim([], random.Random(1)) is None
    picks = [chaos.choose_victim(NAMES, random.Random(7)) for _ in range(3)]
    assert len(set(picks)) == 1
    assert chaos.choose_victim(reversed(NAMES), random.Random(7)) == picks[0]  # order of candidates irrelevant


def test_plan_kills_only_targets_and_restarts_after_the_delay() -> None:
    plan = chaos.Plan("kubelet-*,scheduler", every=10, duration=30, restart_after=5, rng=random.Random(3))
    running = set(NAMES)
    timeline = []
    now = 0.0
    while (due := plan.next_due()) is not None:
        now = due
        for event in plan.step(now, sorted(running)):
            timeline.append((event.at, event.action, event.component))
            (running.discard if event.action == "kill" else running.add)(event.component)
    kills = [t for t in timeline if t[1] == "kill"]
    restarts = [t for t in timeline if t[1] == "restart"]
    assert [t[0] for t in kills] == [10, 20, 30]
    assert [t[0] for t in restarts] == [15, 25, 35]
    assert all(k[2] in {"scheduler", "kubelet-lab-node-1", "kubelet-lab-node-2"} for k in kills)
    assert [r[2] for r in restarts] == [k[2] for k in kills]
    assert running == set(NAMES)


def test_a_victim_awaiting_restart_is_not_chosen_again() -> None:
    plan = chaos.Plan("scheduler", every=1, duration=3, restart_after=10, rng=random.Random(0))
    events = plan.step(3, ["scheduler"])  # three kills due at once; only one victim available
    assert [(e.action, e.component) for e in events] == [("kill", "scheduler")]
    assert [(e.action, e.component, e.at) for e in plan.finish()] == [("restart", "scheduler", 11)]
    assert plan.next_due() is None


def test_dead_components_are_not_victims() -> None:
    plan = chaos.Plan("*", every=1, duration=1, restart_after=1, rng=random.Random(0))
    assert plan.step(1, []) == []


def test_run_logs_every_fault_with_a_timestamp_and_leaves_nothing_dead(tmp_path: Path) -> None:
    clock = [0.0]
    alive = {"scheduler": 100, "apiserver": 200}
    calls: list[tuple[str, str]] = []

    def kill(name: str, sig: int) -> int:
        calls.append(("kill", name))
        return alive.pop(name)

    def restart(name: str) -> int:
        calls.append(("restart", name))
        alive[name] = 999
        return 999

    plan = chaos.Plan("scheduler", every=10, duration=20, restart_after=5, rng=random.Random(1))
    lines: list[str] = []
    chaos.run(plan, running=lambda: list(alive), kill=kill, restart=restart, log_file=tmp_path / "chaos.log",
              sig=signal.SIGKILL, echo=lines.append, clock=lambda: clock[0],
              sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    assert calls == [("kill", "scheduler"), ("restart", "scheduler"), ("kill", "scheduler"),
                     ("restart", "scheduler")]
    assert clock[0] == 25
    log = (tmp_path / "chaos.log").read_text().splitlines()
    assert log == lines
    assert any("kill scheduler (pid 100) with SIGKILL" in line for line in log)
    assert any("restart scheduler (pid 999)" in line for line in log)
    assert all(line[:4].isdigit() and line[10] == "T" for line in log)
