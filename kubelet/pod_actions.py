"""What the kubelet should do next for one pod: Kubernetes' ``computePodActions``, as a pure function.

Modelled on ``pkg/kubelet/kuberuntime/kuberuntime_manager.go`` (``computePodActions``,
``findNextInitContainerToRun``, ``ShouldContainerBeRestarted``) and the restart back-off of
``doBackOff`` / ``util/flowcontrol`` (10 s initial, doubling, 5 min cap, reset after 10 min of running).

Given the pod spec (a dict as served by the apiserver), the runtime's view of the pod (:class:`RuntimePodStatus`)
and the current wall-clock time, :func:`compute_pod_actions` decides:

* whether the whole pod must be killed (``kill_pod``) and whether a fresh sandbox must be created;
* which init container to start next (init containers run one at a time, in order, each to success);
* which app containers to start, and which running containers to kill (with a reason);
* which containers are held back by the crash-loop back-off (``waiting``, with Kubernetes' wording).

Guarantees: the function is pure -- no I/O, no clock, no randomness, no mutation of its inputs -- and therefore
idempotent: the same inputs always give equal :class:`PodActions`. The pod worker acts on the result; if any step
fails, nothing is remembered here: the next sync recomputes the actions from the runtime's fresh status and
retries whatever is still missing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

BACKOFF_INITIAL = 10.0  # seconds; flowcontrol backoff initial duration used by the kubelet
BACKOFF_MAX = 300.0  # seconds; MaxContainerBackOff (5 min)
BACKOFF_RESET_AFTER = 600.0  # seconds; an entry older than 2 x max is forgotten (10 min)

REASON_CRASH_LOOP = "CrashLoopBackOff"
KILL_SPEC_CHANGED = "Container spec hash changed"
KILL_UNKNOWN_STATE = "Container is in unknown state, try killing it before restart"
# A running container whose liveness (or startup) probe has failed is killed with the prober's message, and
# restarted unless restartPolicy is Never.

STATE_CREATED = "created"
STATE_RUNNING = "running"
STATE_EXITED = "exited"
STATE_UNKNOWN = "unknown"


@dataclass(frozen=True)
class ContainerStatus:
    """The runtime's view of the latest attempt of one container."""

    name: str
    state: str  # "created" | "running" | "exited" | "unknown"
    container_id: str
    restart_count: int = 0  # read from the container's label; the attempt number of this container
    exit_code: int | None = None
    started_at: float | None = None  # wall-clock seconds
    finished_at: float | None = None  # wall-clock seconds
    oom_killed: bool = False
    spec_hash: str = ""  # container_spec_hash() of the spec this container was created from


@dataclass(frozen=True)
class RuntimePodStatus:
    """The runtime's view of one pod.

    ``containers`` holds one entry per container name: its latest attempt (older attempts are not needed, the
    restart history travels in ``restart_count``). If a name appears more than once, the first entry wins, as
    with Kubernetes' ``FindContainerStatusByName`` over statuses sorted newest first.
    """

    sandbox_id: str | None = None
    sandbox_ready: bool = False
    containers: tuple[ContainerStatus, ...] = ()

    def find(self, name: str) -> ContainerStatus | None:
        for status in self.containers:
            if status.name == name:
                return status
        return None


@dataclass(frozen=True)
class PodActions:
    """What the pod worker must do, in order: kill pod, create sandbox, kill containers, start init, start apps."""

    kill_pod: bool = False
    create_sandbox: bool = False
    next_init_container: str | None = None
    containers_to_start: tuple[str, ...] = ()
    containers_to_kill: tuple[tuple[str, str], ...] = ()  # (container name, reason)
    waiting: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # name -> (reason, message)
    # seconds until the first held-back container may start (when to sync again); not part of the plan
    backoff_remaining: float | None = field(default=None, compare=False)


def container_spec_hash(container: Mapping[str, Any]) -> str:
    """A stable hash of a container spec: sha256 of its JSON with sorted keys (first 16 hex digits)."""
    encoded = json.dumps(container, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def backoff_delay(restart_count: int) -> float:
    """The full back-off period before restarting a container that has already been restarted ``restart_count``
    times: 0 before the first restart (Kubernetes has no back-off entry yet), then 10 s, 20 s, 40 s ... capped
    at 5 min."""
    if restart_count <= 0:
        return 0.0
    return min(BACKOFF_INITIAL * 2.0 ** min(restart_count - 1, 32), BACKOFF_MAX)


def restart_backoff(restart_count: int, last_finished: float, last_started: float, now: float) -> float:
    """Seconds still to wait before restarting an exited container (0 if it may restart now).

    The period is :func:`backoff_delay` counted from ``last_finished``. If the last attempt ran for at least
    10 minutes the back-off is reset (Kubernetes forgets entries older than twice the 5 min cap) and the
    container may restart at once. This is stateless: unlike the kubelet's in-memory back-off, the doubling after
    a reset restarts from the restart count, not from 10 s.
    """
    if last_finished - last_started >= BACKOFF_RESET_AFTER:
        return 0.0
    remaining = backoff_delay(restart_count) - (now - last_finished)
    return remaining if remaining > 0 else 0.0


def format_duration(seconds: float) -> str:
    """Format whole seconds like Go's ``time.Duration.String()``: ``10s``, ``2m40s``, ``5m0s``, ``1h0m0s``."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def _pod_ref(pod: Mapping[str, Any]) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('name', '')}_{meta.get('namespace', 'default')}({meta.get('uid', '')})"


def _restart_policy(pod: Mapping[str, Any]) -> str:
    return str((pod.get("spec") or {}).get("restartPolicy") or "Always")


def _should_restart_on_failure(pod: Mapping[str, Any]) -> bool:
    return _restart_policy(pod) != "Never"


def _succeeded(status: ContainerStatus | None) -> bool:
    return status is not None and status.state == STATE_EXITED and status.exit_code == 0


def _init_failed(status: ContainerStatus) -> bool:
    if status.state == STATE_EXITED and status.exit_code != 0:
        return True
    return status.state == STATE_UNKNOWN


def _should_be_restarted(pod: Mapping[str, Any], status: ContainerStatus | None) -> bool:
    """Kubernetes' ``ShouldContainerBeRestarted`` (deletion is handled before this is called)."""
    if status is None:
        return True
    if status.state == STATE_RUNNING:
        return False
    if status.state in (STATE_UNKNOWN, STATE_CREATED):
        return True
    policy = _restart_policy(pod)
    if policy == "Never":
        return False
    if policy == "OnFailure":
        return status.exit_code != 0
    return True


def _next_init_container(
    pod: Mapping[str, Any], status: RuntimePodStatus
) -> tuple[ContainerStatus | None, Mapping[str, Any] | None, bool]:
    """Kubernetes' ``findNextInitContainerToRun``: (status of the last relevant init container, next, done)."""
    spec = pod.get("spec") or {}
    inits: list[Mapping[str, Any]] = list(spec.get("initContainers") or [])
    if not inits:
        return None, None, True
    for container in spec.get("containers") or []:
        current = status.find(container["name"])
        if current is not None and current.state == STATE_RUNNING:
            return None, None, True  # an app container runs: initialisation finished earlier
    for init in reversed(inits):
        current = status.find(init["name"])
        if current is not None and _init_failed(current):
            return current, init, False
    for index in range(len(inits) - 1, -1, -1):
        current = status.find(inits[index]["name"])
        if current is None:
            continue
        if current.state == STATE_RUNNING:
            return None, None, False
        if current.state == STATE_EXITED:
            if index == len(inits) - 1:
                return None, None, True
            return current, inits[index + 1], False
    return None, inits[0], False


class _Plan:
    """Mutable accumulator used while computing; frozen into PodActions at the end."""

    def __init__(
        self, pod: Mapping[str, Any], status: RuntimePodStatus, now: float, probe_failures: Mapping[str, str]
    ) -> None:
        self.pod = pod
        self.status = status
        self.now = now
        self.probe_failures = probe_failures
        self.kill_pod = False
        self.create_sandbox = False
        self.next_init: str | None = None
        self.to_start: list[str] = []
        self.to_kill: list[tuple[str, str]] = []
        self.waiting: dict[str, tuple[str, str]] = {}
        self.backoff_remaining: float | None = None

    def in_backoff(self, container: Mapping[str, Any]) -> bool:
        """Kubernetes' ``doBackOff``: only an exited container from the same spec is held back."""
        name = container["name"]
        current = self.status.find(name)
        if current is None or current.state != STATE_EXITED or current.finished_at is None:
            return False
        if current.spec_hash and current.spec_hash != container_spec_hash(container):
            return False  # the back-off key includes the spec hash: a new spec starts without back-off
        started = current.started_at if current.started_at is not None else current.finished_at
        remaining = restart_backoff(current.restart_count, current.finished_at, started, self.now)
        if remaining <= 0:
            return False
        self.backoff_remaining = min(remaining, self.backoff_remaining or remaining)
        delay = format_duration(backoff_delay(current.restart_count))
        message = f"back-off {delay} restarting failed container={name} pod={_pod_ref(self.pod)}"
        self.waiting[name] = (REASON_CRASH_LOOP, message)
        return True

    def start(self, container: Mapping[str, Any]) -> None:
        if not self.in_backoff(container):
            self.to_start.append(container["name"])

    def start_init(self, container: Mapping[str, Any]) -> None:
        if not self.in_backoff(container):
            self.next_init = container["name"]

    def freeze(self) -> PodActions:
        return PodActions(
            kill_pod=self.kill_pod,
            create_sandbox=self.create_sandbox,
            next_init_container=self.next_init,
            containers_to_start=tuple(self.to_start),
            containers_to_kill=tuple(self.to_kill),
            waiting=dict(self.waiting),
            backoff_remaining=self.backoff_remaining,
        )


def compute_pod_actions(
    pod: Mapping[str, Any], status: RuntimePodStatus, now: float, probe_failures: Mapping[str, str] | None = None
) -> PodActions:
    """Decide what to do for ``pod`` given the runtime's ``status`` at wall-clock time ``now``.

    * ``metadata.deletionTimestamp`` set: kill the pod, start nothing.
    * No sandbox, or sandbox not ready: kill the pod and create a sandbox, then start the first init container
      (or all app containers not already succeeded under OnFailure). Under restartPolicy Never a pod whose sandbox
      died after containers ran is not restarted; if every app container already succeeded nothing is recreated.
    * Init containers run one at a time, in order, each to success. A failed one is restarted (with back-off)
      unless restartPolicy is Never, in which case the pod has failed: kill the pod.
    * App containers are examined once initialisation is done: a non-running container is started if
      restartPolicy allows (Always: always; OnFailure: non-zero exit only; Never: not at all); a running container
      whose spec hash differs from the pod spec's is killed and restarted ("Container spec hash changed").
      A running container named in ``probe_failures`` (its liveness or startup probe crossed the failure
      threshold; the value is the kill reason) is killed and restarted unless restartPolicy is Never.
    * A container to restart that is still in its crash-loop back-off is not started; it appears in ``waiting``.
    * If no container is running or to be started (a terminal pod), the pod is killed (its sandbox stopped).
    """
    plan = _Plan(pod, status, now, probe_failures or {})
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    containers: list[Mapping[str, Any]] = list(spec.get("containers") or [])
    inits: list[Mapping[str, Any]] = list(spec.get("initContainers") or [])

    if meta.get("deletionTimestamp"):
        plan.kill_pod = True
        return plan.freeze()

    if status.sandbox_id is None or not status.sandbox_ready:
        plan.kill_pod = True
        plan.create_sandbox = True
        sandbox_existed = status.sandbox_id is not None
        if not _should_restart_on_failure(pod) and sandbox_existed and status.containers:
            plan.create_sandbox = False  # restartPolicy Never: the pod has run once, do not recreate it
            return plan.freeze()
        pending = [
            c for c in containers if not (_restart_policy(pod) == "OnFailure" and _succeeded(status.find(c["name"])))
        ]
        if not pending:
            plan.create_sandbox = False  # every container already succeeded
            return plan.freeze()
        if inits:
            plan.start_init(inits[0])
            return plan.freeze()
        for container in pending:
            plan.start(container)
        return plan.freeze()

    last_init, next_init, done = _next_init_container(pod, status)
    if not done:
        if next_init is not None:
            if last_init is not None and _init_failed(last_init) and not _should_restart_on_failure(pod):
                plan.kill_pod = True
            else:
                if last_init is not None and last_init.state == STATE_UNKNOWN:
                    plan.to_kill.append((last_init.name, KILL_UNKNOWN_STATE))
                plan.start_init(next_init)
        return plan.freeze()  # initialisation failed or still in progress: app containers wait

    keep = 0
    for container in containers:
        current = status.find(container["name"])
        if current is None or current.state != STATE_RUNNING:
            if _should_be_restarted(pod, current):
                if current is not None and current.state == STATE_UNKNOWN:
                    plan.to_kill.append((current.name, KILL_UNKNOWN_STATE))
                plan.start(container)
            continue
        if current.spec_hash != container_spec_hash(container):
            # The spec changed: restart regardless of restartPolicy.
            plan.to_kill.append((current.name, KILL_SPEC_CHANGED))
            plan.start(container)
            continue
        failure = plan.probe_failures.get(container["name"])
        if failure is not None:
            plan.to_kill.append((current.name, failure))
            if _should_restart_on_failure(pod):
                plan.start(container)
            continue
        keep += 1

    if keep == 0 and not plan.to_start and not plan.waiting:
        plan.kill_pod = True
    return plan.freeze()
