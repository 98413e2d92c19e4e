"""The prober manager and its workers, driven by a scripted runner and a virtual clock (no real waiting)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from kubelet.prober_manager import ProberManager
from kubelet.probes import FAILURE, SUCCESS, UNKNOWN, ProbeResult

T0 = 1000.0
UID = "u-1"


class FakeTime:
    """A virtual clock: ``sleep`` parks the caller until ``advance`` moves time past its deadline."""

    def __init__(self, now: float = T0) -> None:
        self.now = now
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + delay, next(self._order), future))
        await future

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking each sleeper at its deadline and letting the workers run in between."""
        end = self.now + seconds
        await settle()
        while self._sleepers and self._sleepers[0][0] <= end:
            when, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, when)
            if not future.done():
                future.set_result(None)
            await settle()
        self.now = end
        await settle()


async def settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


class ScriptedRunner:
    """Answers each (kind, container) with the outcome set by the test (success by default)."""

    def __init__(self, time: FakeTime) -> None:
        self.time = time
        self.outcomes: dict[tuple[str, str], ProbeResult] = {}
        self.calls: list[tuple[float, str, str, str]] = []  # (time, kind, container, container id)

    def set(self, kind: str, result: str, message: str = "", name: str = "web", warning: bool = False) -> None:
        self.outcomes[(kind, name)] = ProbeResult(result, message, warning)

    def count(self, kind: str, name: str = "web") -> int:
        return sum(1 for _, k, n, _ in self.calls if (k, n) == (kind, name))

    async def run(self, kind: str, probe: Mapping[str, Any], *, pod: Mapping[str, Any],
                  container: Mapping[str, Any], container_id: str, pod_ip: str) -> ProbeResult:
        self.calls.append((self.time.now, kind, container["name"], container_id))
        return self.outcomes.get((kind, container["name"]), ProbeResult(SUCCESS))


@dataclass
class Harness:
    time: FakeTime
    runner: ScriptedRunner
    manager: ProberManager
    changes: list[str] = field(default_factory=list)
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (type, reason, message)


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    time = FakeTime()
    runner = ScriptedRunner(time)
    changes: list[str] = []
    events: list[tuple[str, str, str]] = []
    manager = ProberManager(runner, changes.append, lambda pod, type_, reason, msg: events.append((type_, reason, msg)),
                            clock=time.clock, sleep=time.sleep, rand=lambda: 0.0)
    harness = Harness(time, runner, manager, changes, events)
    yield harness
    await harness.manager.stop()


def make_pod(policy: str = "Always", deleting: bool = False, init: list[dict[str, Any]] | None = None,
             **probes: dict[str, Any]) -> dict[str, Any]:
    """A pod with one container ``web``; ``liveness={...}`` etc. become its probes (periodSeconds 1 by default)."""
    container: dict[str, Any] = {"name": "web", "image": "nginx"}
    for kind, spec in probes.items():
        container[f"{kind}Probe"] = {"periodSeconds": 1, "exec": {"command": ["true"]}, **spec}
    meta: dict[str, Any] = {"name": "web", "namespace": "default", "uid": UID}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"metadata": meta, "spec": {"containers": [container], "initContainers": init or [],
                                       "restartPolicy": policy}}


def run(h: Harness, pod: dict[str, Any], container_id: str = "c1", started: float = T0,
        name: str = "web") -> None:
    h.manager.update_pod(pod, {name: (container_id, started)}, "10.0.0.5")


# -- timing ------------------------------------------------------------------------------------------------------


async def test_initial_delay_is_counted_from_the_container_start(h: Harness) -> None:
    run(h, make_pod(liveness={"initialDelaySeconds": 5}))
    await h.time.advance(4.5)
    assert h.runner.calls == []
    await h.time.advance(1)
    assert h.runner.calls == [(T0 + 5, "liveness", "web", "c1")]


async def test_a_container_started_long_ago_is_probed_at_once(h: Harness) -> None:
    run(h, make_pod(liveness={"initialDelaySeconds": 5}), started=T0 - 60)
    await h.time.advance(0)
    assert [c[0] for c in h.runner.calls] == [T0]


async def test_probes_run_every_period(h: Harness) -> None:
    run(h, make_pod(liveness={"periodSeconds": 10}))
    await h.time.advance(35)
    assert [c[0] for c in h.runner.calls] == [T0, T0 + 10, T0 + 20, T0 + 30]


async def test_start_up_jitter_spreads_probes_when_the_kubelet_just_started() -> None:
    time = FakeTime()
    runner = ScriptedRunner(time)
    manager = ProberManager(runner, lambda uid: None, None, clock=time.clock, sleep=time.sleep, rand=lambda: 0.5)
    manager.update_pod(make_pod(liveness={"periodSeconds": 10}), {"web": ("c1", T0)}, "")
    await time.advance(12)
    await manager.stop()
    assert [c[0] for c in runner.calls] == [T0 + 5]


# -- thresholds and liveness ---------------------------------------------------------------------------------------


async def test_liveness_fails_only_at_the_failure_threshold(h: Harness) -> None:
    h.runner.set("liveness", FAILURE, "boom")
    run(h, make_pod(liveness={"failureThreshold": 3}))
    await h.time.advance(1)
    assert h.runner.count("liveness") == 2
    assert h.manager.liveness_failed(UID, "web") is None
    assert h.changes == []
    await h.time.advance(1)
    assert h.manager.liveness_failed(UID, "web") == "Container web failed liveness probe, will be restarted"
    assert h.changes == [UID]


async def test_liveness_failure_holds_until_a_new_container_id(h: Harness) -> None:
    h.runner.set("liveness", FAILURE)
    run(h, make_pod(liveness={"failureThreshold": 1}))
    await h.time.advance(5)
    assert h.runner.count("liveness") == 1  # on hold: no more probing of the doomed container
    assert h.manager.liveness_failed(UID, "web") is not None
    h.runner.set("liveness", SUCCESS)
    run(h, make_pod(liveness={"failureThreshold": 1}), container_id="c2", started=h.time.now)
    assert h.manager.liveness_failed(UID, "web") is None
    await h.time.advance(1)  # probing resumes at the worker's next tick
    assert h.runner.calls[-1] == (h.time.now, "liveness", "web", "c2")


async def test_liveness_kill_reason_without_restart_under_restart_policy_never(h: Harness) -> None:
    h.runner.set("liveness", FAILURE)
    run(h, make_pod(policy="Never", liveness={"failureThreshold": 1}))
    await h.time.advance(0)
    assert h.manager.liveness_failed(UID, "web") == "Container web failed liveness probe"


async def test_success_threshold_counts_successes_in_a_row(h: Harness) -> None:
    run(h, make_pod(readiness={"successThreshold": 2, "failureThreshold": 1}))
    await h.time.advance(0)
    assert h.runner.count("readiness") == 1
    assert not h.manager.is_ready(UID, "web")  # one success is not enough ...
    await h.time.advance(0)  # ... and asking triggered an immediate second probe
    assert h.runner.count("readiness") == 2
    assert h.manager.is_ready(UID, "web")
    assert h.changes == [UID]


async def test_readiness_flips_fire_on_change(h: Harness) -> None:
    run(h, make_pod(readiness={}))
    await h.time.advance(0)
    assert h.manager.is_ready(UID, "web")
    h.runner.set("readiness", FAILURE)
    await h.time.advance(2)
    assert h.manager.is_ready(UID, "web")  # two failures: below the default threshold of 3
    await h.time.advance(1)
    assert not h.manager.is_ready(UID, "web")
    assert h.changes == [UID, UID]
    await h.time.advance(5)
    assert h.changes == [UID, UID]  # still failing: no change, no resync


async def test_not_ready_triggers_an_immediate_readiness_probe(h: Harness) -> None:
    h.runner.set("readiness", FAILURE)
    run(h, make_pod(readiness={"periodSeconds": 30}))
    await h.time.advance(0)
    assert h.runner.count("readiness") == 1
    assert not h.manager.is_ready(UID, "web")
    await h.time.advance(0)
    assert h.runner.count("readiness") == 2


async def test_a_new_container_starts_not_ready(h: Harness) -> None:
    pod = make_pod(readiness={})
    run(h, pod)
    await h.time.advance(0)
    assert h.manager.is_ready(UID, "web")
    run(h, pod, container_id="c2", started=h.time.now)
    assert not h.manager.is_ready(UID, "web")


# -- startup -------------------------------------------------------------------------------------------------------


async def test_startup_probe_gates_liveness_and_readiness(h: Harness) -> None:
    h.runner.set("startup", FAILURE)
    run(h, make_pod(startup={"failureThreshold": 30}, liveness={}, readiness={}))
    await h.time.advance(3)
    assert h.runner.count("startup") == 4
    assert h.runner.count("liveness") == h.runner.count("readiness") == 0
    assert not h.manager.is_started(UID, "web")
    assert not h.manager.is_ready(UID, "web")
    assert h.changes == []
    h.runner.set("startup", SUCCESS)
    await h.time.advance(1)
    assert h.manager.is_started(UID, "web")
    assert h.changes[:1] == [UID]
    await h.time.advance(2)
    assert h.runner.count("startup") == 5  # stops once started
    assert h.runner.count("liveness") >= 2
    assert h.runner.count("readiness") >= 2
    assert h.manager.is_ready(UID, "web")


async def test_startup_failure_threshold_kills_the_container(h: Harness) -> None:
    h.runner.set("startup", FAILURE)
    run(h, make_pod(startup={"failureThreshold": 2}, liveness={}))
    await h.time.advance(1)
    assert h.manager.liveness_failed(UID, "web") == "Container web failed startup probe, will be restarted"
    assert h.runner.count("liveness") == 0


async def test_without_probes_a_running_container_is_started_and_ready(h: Harness) -> None:
    run(h, make_pod())
    assert h.manager.is_started(UID, "web")
    assert h.manager.is_ready(UID, "web")
    assert h.manager.liveness_failed(UID, "web") is None
    assert not h.manager.is_ready(UID, "other")
    assert not h.manager.is_started("u-unknown", "web")


# -- events --------------------------------------------------------------------------------------------------------


async def test_every_failed_probe_records_an_unhealthy_event(h: Harness) -> None:
    h.runner.set("liveness", FAILURE, "boom")
    h.runner.set("readiness", FAILURE, "HTTP probe failed with statuscode: 500")
    run(h, make_pod(liveness={"failureThreshold": 5}, readiness={}))
    await h.time.advance(1)
    assert h.events.count(("Warning", "Unhealthy", "Liveness probe failed: boom")) == 2
    assert ("Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500") in h.events


async def test_startup_failures_record_events(h: Harness) -> None:
    h.runner.set("startup", FAILURE, "not yet")
    run(h, make_pod(startup={}))
    await h.time.advance(0)
    assert h.events == [("Warning", "Unhealthy", "Startup probe failed: not yet")]


async def test_a_warning_is_a_success_with_a_probe_warning_event(h: Harness) -> None:
    h.runner.set("readiness", SUCCESS, "Probe terminated redirects", warning=True)
    run(h, make_pod(readiness={}))
    await h.time.advance(0)
    assert h.manager.is_ready(UID, "web")
    assert h.events == [("Warning", "ProbeWarning", "Readiness probe warning: Probe terminated redirects")]


async def test_an_errored_probe_is_retried_and_not_counted(h: Harness) -> None:
    h.runner.set("liveness", UNKNOWN, "couldn't find port: metrics")
    run(h, make_pod(liveness={"failureThreshold": 1}))
    await h.time.advance(0)
    assert h.runner.count("liveness") == 3
    assert h.manager.liveness_failed(UID, "web") is None
    assert h.events == [("Warning", "Unhealthy",
                         "Liveness probe errored and resulted in unknown state: couldn't find port: metrics")]


# -- lifetime of workers -----------------------------------------------------------------------------------------


async def test_remove_pod_stops_its_workers(h: Harness) -> None:
    run(h, make_pod(liveness={}, readiness={}))
    await h.time.advance(1)
    calls = len(h.runner.calls)
    h.manager.remove_pod(UID)
    await h.time.advance(5)
    assert len(h.runner.calls) == calls
    assert not h.manager.is_ready(UID, "web")
    assert h.manager.workers == {}


async def test_a_container_that_stopped_running_loses_its_worker(h: Harness) -> None:
    pod = make_pod(liveness={})
    run(h, pod)
    await h.time.advance(1)
    calls = len(h.runner.calls)
    h.manager.update_pod(pod, {}, "10.0.0.5")
    await h.time.advance(5)
    assert len(h.runner.calls) == calls
    assert not h.manager.is_started(UID, "web")


async def test_a_deleted_pod_reports_liveness_success_and_stops_probing_it(h: Harness) -> None:
    h.runner.set("liveness", FAILURE)
    run(h, make_pod(deleting=True, liveness={"failureThreshold": 1}, readiness={}))
    await h.time.advance(3)
    assert h.runner.count("liveness") == 0
    assert h.runner.count("readiness") == 4  # readiness keeps going during termination
    assert h.manager.liveness_failed(UID, "web") is None


async def test_restartable_init_containers_are_probed_and_plain_ones_are_not(h: Harness) -> None:
    probe = {"periodSeconds": 1, "exec": {"command": ["true"]}}
    init = [{"name": "sidecar", "restartPolicy": "Always", "readinessProbe": probe},
            {"name": "setup", "readinessProbe": probe}]
    pod = make_pod(init=init)
    h.manager.update_pod(pod, {"sidecar": ("s1", T0), "setup": ("i1", T0), "web": ("c1", T0)}, "")
    await h.time.advance(0)
    assert h.runner.count("readiness", "sidecar") == 1
    assert h.runner.count("readiness", "setup") == 0


async def test_stop_ends_every_worker(h: Harness) -> None:
    run(h, make_pod(liveness={}, readiness={}, startup={}))
    await h.time.advance(0)
    tasks = [w.task for w in h.manager.workers.values()]
    await h.manager.stop()
    assert all(t is not None and t.done() for t in tasks)
