"""The pod's ``status`` from what the runtime reports: Kubernetes' ``generateAPIPodStatus``, as a pure function.

Modelled on ``pkg/kubelet/kubelet_pods.go`` (``generateAPIPodStatus``, ``convertToAPIContainerStatuses``,
``getPhase``), the prober manager's ``UpdatePodStatus`` (the ``ready`` and ``started`` flags) and the status
manager's bookkeeping (``startTime``, ``lastTransitionTime``, ``isPodStatusByKubeletEqual``).

:func:`compute_pod_status` works in three steps, as the kubelet does:

1. **Container statuses.** Every container of the spec starts as *Waiting* (``ContainerCreating``, or
   ``PodInitializing`` when the pod has init containers), keeping the restart count and last state it had in the
   pod's previous status (a previously *terminated* status is kept whole: the runtime may have removed the
   container since). The runtime's newest attempt then gives ``state``, the attempt before it ``lastState``.
   A container the kubelet will restart but could not (start) yet is *Waiting* with the reason the kubelet gives
   in ``waiting`` (``CrashLoopBackOff``, ``ErrImagePull``...), its terminated state moved to ``lastState``.
2. **Phase** (:func:`get_phase`), from those statuses and the restart policy; a terminal phase never changes back.
3. **Conditions, IPs, start time, QoS class** (:mod:`kubelet.pod_conditions` for the conditions and QoS).

The function is pure: no I/O, no clock (``now`` is passed in), inputs never mutated.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from typing import Any

from kubelet.pod_conditions import has_started_app, pod_conditions, pod_qos_class
from kubelet.runtime.interface import (
    STATE_CREATED,
    STATE_EXITED,
    STATE_RUNNING,
    STATE_UNKNOWN,
    RuntimeContainer,
    RuntimePod,
)

PENDING, RUNNING, SUCCEEDED, FAILED = "Pending", "Running", "Succeeded", "Failed"
CONTAINER_CREATING = "ContainerCreating"
POD_INITIALIZING = "PodInitializing"
STATUS_UNKNOWN = "ContainerStatusUnknown"
MSG_LOST_RUNNING = "The container could not be located when the pod was terminated"
MSG_LOST_DELETED = "The container could not be located when the pod was deleted.  The container used to be Running"

Status = dict[str, Any]


def is_terminal(phase: str | None) -> bool:
    """Succeeded and Failed are final: no container of the pod will run again."""
    return phase in (SUCCEEDED, FAILED)


def format_time(seconds: float | None) -> str | None:
    """Wall-clock seconds as RFC 3339 in UTC, whole seconds (``metav1.Time``); None stays None (Go's null)."""
    if seconds is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _should_restart(pod: Mapping[str, Any], latest: RuntimeContainer | None) -> bool:
    """Kubernetes' ``ShouldContainerBeRestarted``: will the kubelet (try to) start this container again?"""
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    if latest is None or latest.state in (STATE_UNKNOWN, STATE_CREATED):
        return True
    if latest.state == STATE_RUNNING:
        return False
    policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
    if policy == "Never":
        return False
    return policy != "OnFailure" or latest.exit_code != 0


def _terminated_reason(container: RuntimeContainer) -> str:
    """The reason Docker's shim reports for an exited container."""
    if container.error:
        return "ContainerCannotRun"
    if container.oom_killed:
        return "OOMKilled"
    return "Completed" if container.exit_code == 0 else "Error"


def _convert(container: RuntimeContainer, old: Status | None, runtime_name: str) -> Status:
    """One runtime attempt as an API container status (``convertContainerStatus``); no ready/started yet."""
    container_id = f"{runtime_name}://{container.id}"
    state: dict[str, Any]
    if container.state == STATE_RUNNING:
        state = {"running": {"startedAt": format_time(container.started_at)}}
    elif container.state == STATE_EXITED:
        terminated: dict[str, Any] = {"exitCode": container.exit_code or 0, "reason": _terminated_reason(container)}
        if container.error:
            terminated["message"] = container.error
        terminated.update(
            startedAt=format_time(container.started_at),
            finishedAt=format_time(container.finished_at),
            containerID=container_id,
        )
        state = {"terminated": terminated}
    elif container.state == STATE_UNKNOWN and old is not None and "running" in (old.get("state") or {}):
        state = {"terminated": {"exitCode": 137, "reason": STATUS_UNKNOWN, "message": MSG_LOST_RUNNING}}
    else:
        state = {"waiting": {}}  # created but not started, or unknown: waiting to be running
    return {
        "name": container.name,
        "state": state,
        "lastState": {},
        "ready": False,
        "restartCount": container.restart_count,
        "imageID": _image_id(container.image_id, runtime_name),
        "containerID": container_id,
    }


def _image_id(image_id: str, runtime_name: str) -> str:
    """Docker's shim prefixes ``docker-pullable://`` (a digest reference) or ``docker://``; others are as given."""
    if runtime_name != "docker" or not image_id or "://" in image_id:
        return image_id
    return ("docker-pullable://" if "@" in image_id else "docker://") + image_id


def _default_status(spec: Mapping[str, Any], old: Status | None, waiting_reason: str) -> Status:
    """Before looking at the runtime: the previous terminated status as it was, else Waiting with the previous
    restart count and last state."""
    if old is not None and "terminated" in (old.get("state") or {}):
        return copy.deepcopy(old)
    status: Status = {
        "name": spec["name"],
        "state": {"waiting": {"reason": waiting_reason}},
        "lastState": copy.deepcopy(old.get("lastState") or {}) if old else {},
        "ready": False,
        "restartCount": old.get("restartCount", 0) if old else 0,
        "imageID": "",
    }
    return status


def _infer_lost_container(pod: Mapping[str, Any], status: Status, old: Status | None, waiting_reason: str) -> None:
    """A container that was running in the previous status and has vanished from the runtime terminated, even if
    we cannot know how: record that in ``lastState`` (so the pod does not fall back to Pending) and count a
    restart unless the pod is being deleted."""
    if old is None or "running" not in (old.get("state") or {}):
        return
    if (status["state"].get("waiting") or {}).get("reason") != waiting_reason or "terminated" in status["lastState"]:
        return
    status["lastState"] = {"terminated": {"exitCode": 137, "reason": STATUS_UNKNOWN, "message": MSG_LOST_DELETED}}
    if not (pod.get("metadata") or {}).get("deletionTimestamp"):
        status["restartCount"] += 1


class _Context:
    """What every container of one list (init or app) shares while its statuses are built."""

    def __init__(self, waiting: Mapping[str, tuple[str, str]], runtime_name: str, is_init: bool, has_inits: bool):
        self.waiting = waiting
        self.runtime_name = runtime_name
        self.is_init = is_init
        self.default_reason = POD_INITIALIZING if has_inits else CONTAINER_CREATING


def _container_status(
    pod: Mapping[str, Any],
    spec: Mapping[str, Any],
    attempts: tuple[RuntimeContainer, ...],
    old: Status | None,
    ctx: _Context,
) -> Status:
    """``convertToAPIContainerStatuses`` for one container: default, then runtime attempts, then waiting reason."""
    status = _default_status(spec, old, ctx.default_reason)
    attempts = tuple(sorted(attempts, key=lambda c: c.created_at, reverse=True))
    if attempts:
        status = _convert(attempts[0], old, ctx.runtime_name)
    else:
        _infer_lost_container(pod, status, old, ctx.default_reason)
    if len(attempts) > 1:
        status["lastState"] = _convert(attempts[1], old, ctx.runtime_name)["state"]
    status["image"] = spec.get("image", "")
    latest = attempts[0] if attempts else None
    if ctx.is_init and latest is not None and latest.state == STATE_EXITED and latest.exit_code == 0:
        return status  # a succeeded init container is never run again
    reason = ctx.waiting.get(spec["name"])
    if reason is not None and _should_restart(pod, latest):
        if "terminated" in status["state"]:
            status["lastState"] = status["state"]
        waiting = {"reason": reason[0], "message": reason[1]} if reason[1] else {"reason": reason[0]}
        status["state"] = {"waiting": waiting}
    return status


def _apply_probes(status: Status, is_init: bool, ready: Mapping[str, bool], started: Mapping[str, bool]) -> None:
    """The prober manager's ``UpdatePodStatus``. ``started``: running and the startup probe (if any) passed.
    ``ready``: an app container is ready when started and its readiness says so; an init container when it has
    terminated with exit code 0."""
    state = status["state"]
    name = status["name"]
    status["started"] = "running" in state and started.get(name, True)
    if is_init:
        status["ready"] = (state.get("terminated") or {}).get("exitCode") == 0 and "terminated" in state
    else:
        status["ready"] = status["started"] and ready.get(name, False)


def _statuses(
    pod: Mapping[str, Any],
    runtime_pod: RuntimePod | None,
    key: str,
    ctx: _Context,
    probes: tuple[Mapping[str, bool], Mapping[str, bool]],
) -> list[Status]:
    """The statuses of ``spec[key]`` (``initContainers`` or ``containers``)."""
    specs = list((pod.get("spec") or {}).get(key) or [])
    status_key = "initContainerStatuses" if ctx.is_init else "containerStatuses"
    old = {s.get("name"): s for s in (pod.get("status") or {}).get(status_key) or []}
    result = []
    for spec in specs:
        attempts = runtime_pod.attempts(spec["name"]) if runtime_pod is not None else ()
        attempts = tuple(a for a in attempts if a.container_type == ("init" if ctx.is_init else "app"))
        status = _container_status(pod, spec, attempts, old.get(spec["name"]), ctx)
        _apply_probes(status, ctx.is_init, *probes)
        result.append(status)
    if not ctx.is_init:
        result.sort(key=lambda s: s["name"])  # Kubernetes sorts app container statuses by name
    return result


def _count_init(spec: Mapping[str, Any], statuses: Mapping[str, Status]) -> tuple[int, int]:
    """(pending, failed) init containers, as ``getPhase`` counts them."""
    pending = failed = 0
    for init in spec.get("initContainers") or []:
        status = statuses.get(init["name"])
        state = (status or {}).get("state") or {}
        last = ((status or {}).get("lastState") or {}).get("terminated")
        if "terminated" in state:
            failed += state["terminated"].get("exitCode") != 0
        elif "waiting" in state and last is not None:
            failed += last.get("exitCode") != 0
        else:
            pending += 1  # not started, running, or waiting for its first run
    return pending, failed


def get_phase(pod: Mapping[str, Any], statuses: Mapping[str, Status], pod_is_terminal: bool = False) -> str:
    """Kubernetes' ``getPhase`` from the API container statuses (init and app, by name).

    * an init container failed and restartPolicy is Never: Failed;
    * init containers still to run (and no app container started), or an app container waiting for its first
      run: Pending;
    * some app container running and all known: Running;
    * all app containers stopped: Succeeded if all exited 0, else Failed under Never, Running under OnFailure;
      under Always they are restarting: Running (unless the kubelet has terminated the pod, ``pod_is_terminal``).
    """
    spec = pod.get("spec") or {}
    policy = spec.get("restartPolicy") or "Always"
    pending_init, failed_init = _count_init(spec, statuses)
    unknown = running = waiting = stopped = succeeded = 0
    for container in spec.get("containers") or []:
        status = statuses.get(container["name"])
        state = (status or {}).get("state") or {}
        if status is None:
            unknown += 1
        elif "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += state["terminated"].get("exitCode") == 0
        elif "waiting" in state:
            has_last = (status.get("lastState") or {}).get("terminated") is not None
            stopped += has_last
            waiting += not has_last
        else:
            unknown += 1
    if failed_init and policy == "Never":
        return FAILED
    if (pending_init and not has_started_app(spec, statuses)) or waiting:
        return PENDING
    if running and not unknown:
        return RUNNING
    if running or not stopped or unknown:
        return PENDING
    if stopped == succeeded and (pod_is_terminal or policy != "Always"):
        return SUCCEEDED
    if pod_is_terminal or policy == "Never":
        return FAILED
    return RUNNING  # Always, or OnFailure with a failure: restarting


def _pod_ips(
    pod: Mapping[str, Any], runtime_pod: RuntimePod | None, host_ip: str, phase: str
) -> tuple[str | None, list[dict[str, str]]]:
    """The pod IP: the newest sandbox's while it is ready; the node's for hostNetwork pods; after the sandbox is
    gone, a terminal pod keeps the IP it had."""
    sandbox = runtime_pod.sandbox if runtime_pod is not None else None
    ip = sandbox.ip if sandbox is not None and sandbox.ready else None
    if not ip and (pod.get("spec") or {}).get("hostNetwork"):
        ip = host_ip or None
    old = pod.get("status") or {}
    if not ip and is_terminal(phase) and old.get("podIP"):
        return old["podIP"], copy.deepcopy(old.get("podIPs") or [{"ip": old["podIP"]}])
    return ip, [{"ip": ip}] if ip else []


def compute_pod_status(
    pod: Mapping[str, Any],
    runtime_pod: RuntimePod | None,
    *,
    waiting: Mapping[str, tuple[str, str]],
    ready: Mapping[str, bool],
    started: Mapping[str, bool],
    host_ip: str,
    now: str,
    runtime_name: str = "docker",
    pod_is_terminal: bool = False,
) -> dict[str, Any]:
    """The complete ``status`` of ``pod`` given the runtime's view of it (None: the runtime holds nothing).

    ``waiting``: container name -> (reason, message) for containers the kubelet could not (re)start;
    ``ready`` / ``started``: the prober's readiness and startup results by container name (a container without
    a readiness probe is passed in as ready; one missing from ``started`` counts as started once running);
    ``now``: an RFC 3339 timestamp for new condition transitions and the first ``startTime``;
    ``pod_is_terminal``: the kubelet has stopped the pod for good (its containers will not be restarted).
    """
    spec = pod.get("spec") or {}
    old = pod.get("status") or {}
    has_inits = bool(spec.get("initContainers"))
    probes = (ready, started)
    inits = _statuses(pod, runtime_pod, "initContainers", _Context(waiting, runtime_name, True, has_inits), probes)
    apps = _statuses(pod, runtime_pod, "containers", _Context(waiting, runtime_name, False, has_inits), probes)
    by_name = {s["name"]: s for s in [*inits, *apps]}
    phase = get_phase(pod, by_name, pod_is_terminal)
    if not is_terminal(phase) and is_terminal(old.get("phase")):
        phase = old["phase"]  # a terminal phase is final
    status: dict[str, Any] = {"phase": phase}
    if phase == old.get("phase"):
        status.update({k: old[k] for k in ("reason", "message") if old.get(k)})
    status["conditions"] = pod_conditions(pod, runtime_pod, by_name, phase, now)
    if host_ip:
        status.update(hostIP=host_ip, hostIPs=[{"ip": host_ip}])
    pod_ip, pod_ips = _pod_ips(pod, runtime_pod, host_ip, phase)
    if pod_ip:
        status.update(podIP=pod_ip, podIPs=pod_ips)
    status["startTime"] = old.get("startTime") or now
    status["qosClass"] = old.get("qosClass") or pod_qos_class(pod)
    if has_inits:
        status["initContainerStatuses"] = inits
    status["containerStatuses"] = apps
    if old.get("nominatedNodeName"):
        status["nominatedNodeName"] = old["nominatedNodeName"]
    return status


def _visible(value: Any) -> Any:
    """``value`` without what a user cannot see: null, "", {} and [] fields; condition times."""
    if isinstance(value, Mapping):
        cleaned = {k: _visible(v) for k, v in value.items() if k not in ("lastProbeTime", "lastTransitionTime")}
        return {k: v for k, v in cleaned.items() if v not in (None, "", {}, [])}
    if isinstance(value, list):
        return [_visible(v) for v in value]
    return value


def pod_status_changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """True when ``new`` differs from ``old`` in anything a user sees (the kubelet then calls UpdateStatus).

    As Kubernetes' ``isPodStatusByKubeletEqual``, conditions are compared by type, status, reason and message
    only (their times follow from those); empty fields count as absent."""
    old_conditions = {c.get("type"): c for c in old.get("conditions") or []}
    new_conditions = {c.get("type"): c for c in new.get("conditions") or []}
    if _visible(old_conditions) != _visible(new_conditions):
        return True
    rest = {k: v for k, v in old.items() if k != "conditions"}
    return _visible(rest) != _visible({k: v for k, v in new.items() if k != "conditions"})
