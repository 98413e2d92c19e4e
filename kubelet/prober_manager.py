"""The prober manager: one worker per (pod, container, probe kind), as Kubernetes' ``pkg/kubelet/prober``
(``prober_manager.go``, ``worker.go``, ``results``).

The pod worker calls :meth:`ProberManager.update_pod` on every sync with the containers that run now; the manager
starts a worker for each running container that has a probe, resets a worker when its container restarts (a new
container id) and stops it when the container no longer runs. Each worker probes on its own timer and keeps
one result per container id; the pod worker reads them back:

* :meth:`~ProberManager.is_started`: the startup probe succeeded (no startup probe: started once running);
* :meth:`~ProberManager.is_ready`: started and the readiness probe succeeded (no readiness probe: ready);
* :meth:`~ProberManager.liveness_failed`: the kill reason once the liveness (or startup) probe crossed its
  failureThreshold; it stays until a new container id is seen. The pod worker kills (and, unless restartPolicy
  is Never, restarts) the container.

A worker's loop, as Kubernetes' ``worker.run`` / ``doProbe``:

1. wait out a random part of ``periodSeconds`` if the kubelet started recently (spreads a restart's probes);
2. every ``periodSeconds`` (default 10) -- or at once when :meth:`is_ready` finds a container not ready yet --
   probe, unless: the result is on hold (liveness/startup failed: wait for a new container); fewer than
   ``initialDelaySeconds`` (whole seconds) elapsed since the container started; the container has not started
   (liveness and readiness wait for the startup probe) or has (the startup probe stops);
3. count equal results in a row: the stored result changes only once ``successThreshold`` (default 1) successes
   or ``failureThreshold`` (default 3) failures are in a row. A change calls ``on_change(pod uid)`` so the
   kubelet resyncs the pod (except liveness turning successful, which needs no action, as in the kubelet).

Every failed probe records an ``Unhealthy`` Warning event (``Liveness probe failed: <message>``); a probe that
could not run (result unknown) records ``... probe errored and resulted in unknown state: ...`` and is not
counted. When the pod is being deleted, liveness and startup workers report success and stop (a quiet shutdown).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubelet.probes import FAILURE, SUCCESS, UNKNOWN, ProbeResult, ProbeRunner

log = logging.getLogger(__name__)

LIVENESS = "liveness"
READINESS = "readiness"
STARTUP = "startup"
KINDS = (STARTUP, LIVENESS, READINESS)
MAX_PROBE_RETRIES = 3  # Kubernetes' maxProbeRetries: an errored probe is retried at once, up to 3 times

# The stored result of a fresh container, as Kubernetes' worker ``initialValue``.
INITIAL_RESULT = {LIVENESS: SUCCESS, READINESS: FAILURE, STARTUP: UNKNOWN}

RecordEvent = Callable[[Mapping[str, Any], str, str, str], None]


@dataclass
class _PodEntry:
    """The latest view of a pod given to :meth:`ProberManager.update_pod`."""

    pod: Mapping[str, Any]
    pod_ip: str
    running: dict[str, tuple[str, float]] = field(default_factory=dict)  # name -> (container id, started_at)


class _Worker:
    """Probes one kind of probe of one container, across restarts of that container."""

    def __init__(self, manager: ProberManager, uid: str, container: Mapping[str, Any], kind: str) -> None:
        self.manager = manager
        self.uid = uid
        self.container = container
        self.name = str(container["name"])
        self.kind = kind
        self.spec: Mapping[str, Any] = container[f"{kind}Probe"]
        self.period = float(self.spec.get("periodSeconds") or 10)
        self.initial_delay = int(self.spec.get("initialDelaySeconds") or 0)
        self.success_threshold = int(self.spec.get("successThreshold") or 1)
        self.failure_threshold = int(self.spec.get("failureThreshold") or 3)
        self.container_id = ""
        self.result = INITIAL_RESULT[kind]
        self.last_result = UNKNOWN
        self.result_run = 0
        self.on_hold = False
        self.trigger = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    # -- state ---------------------------------------------------------------------------------------------------

    def observe(self, container_id: str) -> None:
        """A new container id (a restart): reset the result and resume probing."""
        if container_id == self.container_id:
            return
        self.container_id = container_id
        self.result = INITIAL_RESULT[self.kind]
        self.last_result, self.result_run, self.on_hold = UNKNOWN, 0, False
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.run(), name=f"probe-{self.kind}-{self.name}")

    def set_result(self, result: str) -> None:
        changed = result != self.result
        self.result = result
        if changed and not (self.kind == LIVENESS and result == SUCCESS):
            self.manager.on_change(self.uid)

    # -- the loop ------------------------------------------------------------------------------------------------

    async def run(self) -> None:
        manager = self.manager
        if self.period > manager.clock() - manager.started_at:
            await self._sleep(manager.rand() * self.period)
        next_tick = manager.clock() + self.period
        while await self.do_probe():
            now = manager.clock()
            while next_tick <= now:
                next_tick += self.period  # a slow probe skips ticks, as Go's time.Ticker drops them
            await self._wait(next_tick - now)

    async def _sleep(self, delay: float) -> None:
        if delay > 0:
            await self.manager.sleep(delay)

    async def _wait(self, delay: float) -> None:
        """Sleep ``delay`` seconds, or less if a manual run is triggered."""
        if not self.trigger.is_set():
            sleeper = asyncio.ensure_future(self._sleep(delay))
            waiter = asyncio.ensure_future(self.trigger.wait())
            try:
                await asyncio.wait((sleeper, waiter), return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                waiter.cancel()
        self.trigger.clear()

    async def do_probe(self) -> bool:
        """One tick of Kubernetes' ``doProbe``; False ends the worker."""
        entry = self.manager.pods.get(self.uid)
        if entry is None or self.name not in entry.running:
            return False
        container_id, started_at = entry.running[self.name]
        if self.on_hold or container_id != self.container_id:
            return True
        if (entry.pod.get("metadata") or {}).get("deletionTimestamp") and self.kind != READINESS:
            self.set_result(SUCCESS)
            return False
        if int(self.manager.clock() - started_at) < self.initial_delay:
            return True
        if (self.kind == STARTUP) == self.manager.is_started(self.uid, self.name):
            return True  # startup probes stop once started; the others wait for it
        outcome = await self._probe(entry, container_id)
        if outcome is None or container_id != self.container_id:
            return True  # errored, or the container restarted meanwhile: throw the result away
        self._count(outcome.result)
        return True

    def _count(self, result: str) -> None:
        if result == self.last_result:
            self.result_run += 1
        else:
            self.last_result, self.result_run = result, 1
        threshold = self.failure_threshold if result == FAILURE else self.success_threshold
        if self.result_run < threshold:
            return
        self.set_result(result)
        if self.kind != READINESS and result == FAILURE:
            self.on_hold, self.result_run = True, 0  # wait for a new container

    async def _probe(self, entry: _PodEntry, container_id: str) -> ProbeResult | None:
        """Run the probe (retrying errors), record its event; None when it could not run."""
        title = self.kind.capitalize()
        outcome = ProbeResult(UNKNOWN)
        for _ in range(MAX_PROBE_RETRIES):
            outcome = await self._run_once(entry, container_id)
            if outcome.result != UNKNOWN:
                break
        if outcome.result == UNKNOWN:
            self.manager.event(entry.pod, "Unhealthy",
                               f"{title} probe errored and resulted in unknown state: {outcome.message}")
            return None
        if outcome.result == FAILURE:
            self.manager.event(entry.pod, "Unhealthy", f"{title} probe failed: {outcome.message}")
        elif outcome.warning:
            self.manager.event(entry.pod, "ProbeWarning", f"{title} probe warning: {outcome.message}")
        return outcome

    async def _run_once(self, entry: _PodEntry, container_id: str) -> ProbeResult:
        try:
            return await self.manager.runner.run(self.kind, self.spec, pod=entry.pod, container=self.container,
                                                 container_id=container_id, pod_ip=entry.pod_ip)
        except Exception as err:  # a runner bug must not kill the worker (Kubernetes' HandleCrash)
            log.exception("%s probe of %s/%s crashed", self.kind, self.uid, self.name)
            return ProbeResult(UNKNOWN, f"probe crashed: {err}")


class ProberManager:
    """Owns every probe worker of the node; see the module docstring."""

    def __init__(self, runner: ProbeRunner, on_change: Callable[[str], None],
                 record_event: RecordEvent | None = None, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 rand: Callable[[], float] = random.random) -> None:
        """``clock`` must be the clock of the ``started_at`` values given to :meth:`update_pod` (the runtime
        reports wall-clock seconds); ``sleep`` and ``rand`` (the start-up jitter) are injectable for tests."""
        self.runner = runner
        self.on_change = on_change
        self.record_event = record_event
        self.clock = clock
        self.sleep = sleep
        self.rand = rand
        self.started_at = clock()
        self.pods: dict[str, _PodEntry] = {}
        self.workers: dict[tuple[str, str, str], _Worker] = {}
        self._stopping: set[asyncio.Task[None]] = set()  # cancelled, not yet awaited (stop() awaits them)

    def update_pod(self, pod: Mapping[str, Any], running: Mapping[str, tuple[str, float]], pod_ip: str) -> None:
        """Called on every sync of ``pod``: ``running`` maps each running container to (id, started_at)."""
        uid = str(pod["metadata"]["uid"])
        self.pods[uid] = _PodEntry(pod, pod_ip, dict(running))
        wanted: set[tuple[str, str, str]] = set()
        for container in _probed_containers(pod):
            name = str(container["name"])
            if name not in running:
                continue
            for kind in KINDS:
                if container.get(f"{kind}Probe"):
                    key = (uid, name, kind)
                    wanted.add(key)
                    if key not in self.workers:
                        self.workers[key] = _Worker(self, uid, container, kind)
                    self.workers[key].observe(running[name][0])
        for key in [k for k in self.workers if k[0] == uid and k not in wanted]:
            self._stop_worker(key)

    def remove_pod(self, uid: str) -> None:
        """Forget the pod and stop its workers."""
        self.pods.pop(uid, None)
        for key in [k for k in self.workers if k[0] == uid]:
            self._stop_worker(key)

    def is_started(self, uid: str, name: str) -> bool:
        if not self._running(uid, name):
            return False
        worker = self.workers.get((uid, name, STARTUP))
        return worker is None or worker.result == SUCCESS

    def is_ready(self, uid: str, name: str) -> bool:
        """Started and readiness succeeded. Not ready yet: trigger an immediate readiness probe (as the kubelet's
        ``UpdatePodStatus`` does), so readiness does not wait a whole period."""
        if not self.is_started(uid, name):
            return False
        worker = self.workers.get((uid, name, READINESS))
        if worker is None or worker.result == SUCCESS:
            return True
        worker.trigger.set()
        return False

    def liveness_failed(self, uid: str, name: str) -> str | None:
        """The reason to kill the container, once its liveness or startup probe failed; else None."""
        for kind in (LIVENESS, STARTUP):
            worker = self.workers.get((uid, name, kind))
            if worker is not None and worker.result == FAILURE:
                message = f"Container {name} failed {kind} probe"
                entry = self.pods.get(uid)
                policy = ((entry.pod.get("spec") or {}) if entry else {}).get("restartPolicy") or "Always"
                return message if policy == "Never" else f"{message}, will be restarted"
        return None

    async def stop(self) -> None:
        """Stop every worker and wait for them to end."""
        for key in list(self.workers):
            self._stop_worker(key)
        self.pods.clear()
        await asyncio.gather(*self._stopping, return_exceptions=True)

    # -- internals -----------------------------------------------------------------------------------------------

    def _running(self, uid: str, name: str) -> bool:
        entry = self.pods.get(uid)
        return entry is not None and name in entry.running

    def _stop_worker(self, key: tuple[str, str, str]) -> None:
        task = self.workers.pop(key).task
        if task is not None and not task.done():
            task.cancel()
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    def event(self, pod: Mapping[str, Any], reason: str, message: str) -> None:
        if self.record_event is not None:
            self.record_event(pod, "Warning", reason, message)


def _probed_containers(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """App containers plus restartable init containers (sidecars): the ones Kubernetes probes."""
    spec = pod.get("spec") or {}
    sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    return [*(spec.get("containers") or []), *sidecars]
