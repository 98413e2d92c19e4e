"""``kubeling chaos``: kill random components on a schedule, restart each after a delay, log every fault.

The schedule and the choice of victim are pure (a clock and a random generator are passed in), so tests replay them.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kubeling.cluster import match_targets


def kill_times(every: float, duration: float) -> list[float]:
    """Offsets (seconds from the start) of the kills: every ``every`` seconds, the first after one period."""
    if every <= 0:
        raise ValueError("--every must be positive")
    times, t = [], every
    while t <= duration + 1e-9:
        times.append(round(t, 6))
        t += every
    return times


def choose_victim(candidates: Iterable[str], rng: random.Random) -> str | None:
    pool = sorted(candidates)
    return rng.choice(pool) if pool else None


@dataclass
class Event:
    at: float  # offset from the start
    action: str  # "kill" | "restart"
    component: str


@dataclass
class Plan:
    """Kills at ``kill_times``; each victim is restarted ``restart_after`` seconds later and is not chosen again
    meanwhile. ``step`` is called with the current offset and returns the events due by then, in order."""

    targets: str
    every: float
    duration: float
    restart_after: float
    rng: random.Random
    pending_kills: list[float] = field(default_factory=list)
    pending_restarts: list[tuple[float, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pending_kills = kill_times(self.every, self.duration)

    def next_due(self) -> float | None:
        due = [*self.pending_kills[:1], *(t for t, _ in self.pending_restarts)]
        return min(due) if due else None

    def step(self, now: float, running: Iterable[str]) -> list[Event]:
        events: list[Event] = []
        running = list(running)
        while True:
            restart = min(self.pending_restarts, default=None)
            kill_at = self.pending_kills[0] if self.pending_kills else None
            if restart is not None and restart[0] <= now and (kill_at is None or restart[0] <= kill_at):
                self.pending_restarts.remove(restart)
                events.append(Event(restart[0], "restart", restart[1]))
                running.append(restart[1])
                continue
            if kill_at is not None and kill_at <= now:
                self.pending_kills.pop(0)
                waiting = {name for _, name in self.pending_restarts}
                victim = choose_victim((n for n in match_targets(self.targets, running) if n not in waiting),
                                       self.rng)
                if victim is not None:
                    events.append(Event(kill_at, "kill", victim))
                    running.remove(victim)
                    self.pending_restarts.append((kill_at + self.restart_after, victim))
                continue
            return events

    def finish(self) -> list[Event]:
        """The restarts still due when the run ends (so chaos never leaves a component dead)."""
        events = [Event(t, "restart", name) for t, name in sorted(self.pending_restarts)]
        self.pending_restarts.clear()
        return events


def run(plan: Plan, *, running: Callable[[], list[str]], kill: Callable[[str, int], int | None],
        restart: Callable[[str], int | None], log_file: Path, sig: int = signal.SIGKILL,
        echo: Callable[[str], None] = print, clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep) -> None:
    """Run the plan: at each due time, kill or restart; every fault is logged with a timestamp."""
    start = clock()

    def record(message: str) -> None:
        line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}"
        echo(line)
        with open(log_file, "a") as f:
            f.write(line + "\n")

    def apply(events: list[Event]) -> None:
        for event in events:
            if event.action == "kill":
                pid = kill(event.component, sig)
                record(f"kill {event.component} (pid {pid}) with {signal.Signals(sig).name}")
            else:
                pid = restart(event.component)
                record(f"restart {event.component} (pid {pid})")

    record(f"chaos starts: targets={plan.targets} every={plan.every}s duration={plan.duration}s "
           f"restart-after={plan.restart_after}s")
    try:
        while True:
            due = plan.next_due()
            if due is None:
                break
            wait = due - (clock() - start)
            if wait > 0:
                sleep(wait)
            apply(plan.step(clock() - start, running()))
    finally:
        apply(plan.finish())
        record("chaos ends")
