"""The pod conditions the kubelet owns, and the pod's QoS class: pure helpers of :mod:`kubelet.pod_status`.

Modelled on Kubernetes' ``pkg/kubelet/status/generate.go`` (``GeneratePodReadyToStartContainersCondition``,
``GeneratePodInitializedCondition``, ``GenerateContainersReadyCondition``, ``GeneratePodReadyCondition``), the
``lastTransitionTime`` bookkeeping of the status manager (``updateLastTransitionTime``) and
``pkg/apis/core/v1/helper/qos`` (``ComputePodQOS``).

Every function here reads the *API* container statuses (the dicts :mod:`kubelet.pod_status` builds, with ``state``,
``ready``...) rather than the runtime's view, exactly as Kubernetes does. A condition is first built without times
(``{"type", "status", "reason"?, "message"?}``); :func:`stamp_conditions` then adds ``lastProbeTime: null`` and a
``lastTransitionTime`` that only moves when the condition's status changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from apimachinery.quantity import Quantity
from kubelet.runtime.interface import RuntimePod

# Condition types. The first five are owned by the kubelet: it regenerates them on every sync.
READY_TO_START = "PodReadyToStartContainers"
INITIALIZED = "Initialized"
READY = "Ready"
CONTAINERS_READY = "ContainersReady"
SCHEDULED = "PodScheduled"
KUBELET_CONDITIONS = (READY_TO_START, INITIALIZED, READY, CONTAINERS_READY, SCHEDULED)

# Condition reasons (generate.go).
UNKNOWN_CONTAINER_STATUSES = "UnknownContainerStatuses"
POD_COMPLETED = "PodCompleted"
POD_FAILED = "PodFailed"
CONTAINERS_NOT_READY = "ContainersNotReady"
CONTAINERS_NOT_INITIALIZED = "ContainersNotInitialized"
READINESS_GATES_NOT_READY = "ReadinessGatesNotReady"

QOS_GUARANTEED = "Guaranteed"
QOS_BURSTABLE = "Burstable"
QOS_BEST_EFFORT = "BestEffort"
_QOS_RESOURCES = ("cpu", "memory")

Status = Mapping[str, Any]


def go_list(names: Iterable[str]) -> str:
    """Format names as Go's ``fmt.Sprintf("%s", []string{...})`` does: ``[a b]``."""
    return "[" + " ".join(names) + "]"


def condition(kind: str, status: bool, reason: str = "", message: str = "") -> dict[str, Any]:
    """A condition without times; empty reason and message are left out (``omitempty``)."""
    cond: dict[str, Any] = {"type": kind, "status": "True" if status else "False"}
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def has_started_app(spec: Mapping[str, Any], statuses: Mapping[str, Status]) -> bool:
    """``HasAnyRegularContainerStarted``: some app container is running or has terminated."""
    for container in spec.get("containers") or []:
        state = (statuses.get(container["name"]) or {}).get("state") or {}
        if "running" in state or "terminated" in state:
            return True
    return False


def ready_to_start_condition(pod: Mapping[str, Any], runtime_pod: RuntimePod | None) -> dict[str, Any]:
    """True when no new sandbox is needed (``PodSandboxChanged`` is false): exactly one ready sandbox, the newest,
    and it has an IP unless the pod uses the host's network."""
    sandboxes = runtime_pod.sandboxes if runtime_pod is not None else ()
    newest = sandboxes[0] if sandboxes else None
    ready_count = sum(1 for sandbox in sandboxes if sandbox.ready)
    host_network = bool((pod.get("spec") or {}).get("hostNetwork"))
    ok = newest is not None and newest.ready and ready_count == 1 and (host_network or bool(newest.ip))
    return condition(READY_TO_START, ok)


def initialized_condition(spec: Mapping[str, Any], statuses: Mapping[str, Status], phase: str) -> dict[str, Any]:
    """Initialized: every init container is ``ready`` (for a plain init container: terminated with exit 0).

    Succeeded pods report ``PodCompleted``; once an app container has started the pod stays initialized."""
    unknown: list[str] = []
    incomplete: list[str] = []
    for init in spec.get("initContainers") or []:
        status = statuses.get(init["name"])
        if status is None:
            unknown.append(init["name"])
        elif not status.get("ready"):
            incomplete.append(init["name"])
    if phase == "Succeeded" and not unknown:
        return condition(INITIALIZED, True, POD_COMPLETED)
    if has_started_app(spec, statuses):
        return condition(INITIALIZED, True)
    messages = []
    if unknown:
        messages.append(f"containers with unknown status: {go_list(unknown)}")
    if incomplete:
        messages.append(f"containers with incomplete status: {go_list(incomplete)}")
    if messages:
        return condition(INITIALIZED, False, CONTAINERS_NOT_INITIALIZED, ", ".join(messages))
    return condition(INITIALIZED, True)


def containers_ready_condition(spec: Mapping[str, Any], statuses: Mapping[str, Status], phase: str) -> dict[str, Any]:
    """ContainersReady: every app container is ``ready``. A terminal pod is never ready (PodCompleted/PodFailed)."""
    unknown: list[str] = []
    unready: list[str] = []
    for container in spec.get("containers") or []:
        status = statuses.get(container["name"])
        if status is None:
            unknown.append(container["name"])
        elif not status.get("ready"):
            unready.append(container["name"])
    if (phase == "Succeeded" and not unknown) or phase == "Failed":
        return condition(CONTAINERS_READY, False, POD_COMPLETED if phase == "Succeeded" else POD_FAILED)
    messages = []
    if unknown:
        messages.append(f"containers with unknown status: {go_list(unknown)}")
    if unready:
        messages.append(f"containers with unready status: {go_list(unready)}")
    if messages:
        return condition(CONTAINERS_READY, False, CONTAINERS_NOT_READY, ", ".join(messages))
    return condition(CONTAINERS_READY, True)


def pod_ready_condition(
    spec: Mapping[str, Any], others: Sequence[Mapping[str, Any]], containers_ready: Mapping[str, Any]
) -> dict[str, Any]:
    """Ready: ContainersReady (copied with its reason and message when not True) and every readiness gate's
    condition (looked up in ``others``, the conditions the kubelet does not own) True."""
    if containers_ready["status"] != "True":
        return {**containers_ready, "type": READY}
    by_type = {c.get("type"): c for c in others}
    messages = []
    for gate in spec.get("readinessGates") or []:
        kind = gate.get("conditionType", "")
        found = by_type.get(kind)
        if found is None:
            messages.append(f'corresponding condition of pod readiness gate "{kind}" does not exist.')
        elif found.get("status") != "True":
            messages.append(f'the status of pod readiness gate "{kind}" is not "True", but {found.get("status")}')
    if messages:
        return condition(READY, False, READINESS_GATES_NOT_READY, ", ".join(messages))
    return condition(READY, True)


def scheduled_condition(pod: Mapping[str, Any]) -> dict[str, Any] | None:
    """PodScheduled as the scheduler left it; if absent, True once ``spec.nodeName`` is set."""
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == SCHEDULED:
            return dict(cond)
    return condition(SCHEDULED, True) if (pod.get("spec") or {}).get("nodeName") else None


def stamp_conditions(conditions: list[dict[str, Any]], old: list[Mapping[str, Any]], now: str) -> list[dict[str, Any]]:
    """Add ``lastProbeTime: null`` and ``lastTransitionTime``: the old condition's time when its status is
    unchanged, else ``now`` (the status manager's ``updateLastTransitionTime``)."""
    old_by_type = {c.get("type"): c for c in old}
    stamped = []
    for cond in conditions:
        previous = old_by_type.get(cond["type"])
        when = now
        if previous is not None and previous.get("status") == cond["status"] and previous.get("lastTransitionTime"):
            when = previous["lastTransitionTime"]
        stamped.append({**cond, "lastProbeTime": cond.get("lastProbeTime"), "lastTransitionTime": when})
    return stamped


def pod_conditions(
    pod: Mapping[str, Any], runtime_pod: RuntimePod | None, statuses: Mapping[str, Status], phase: str, now: str
) -> list[dict[str, Any]]:
    """All of the pod's conditions, in Kubernetes' order: conditions the kubelet does not own (kept as they are),
    then PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled."""
    spec = pod.get("spec") or {}
    old: list[Mapping[str, Any]] = list((pod.get("status") or {}).get("conditions") or [])
    others = [dict(c) for c in old if c.get("type") not in KUBELET_CONDITIONS]
    containers_ready = containers_ready_condition(spec, statuses, phase)
    owned = [
        ready_to_start_condition(pod, runtime_pod),
        initialized_condition(spec, statuses, phase),
        pod_ready_condition(spec, others, containers_ready),
        containers_ready,
    ]
    scheduled = scheduled_condition(pod)
    if scheduled is not None:
        owned.append(scheduled)
    return others + stamp_conditions(owned, old, now)


def _add(totals: dict[str, Quantity], resources: Mapping[str, Any]) -> set[str]:
    """Add the positive cpu/memory quantities of ``resources`` into ``totals``; return the names added."""
    found = set()
    for name, text in resources.items():
        if name not in _QOS_RESOURCES:
            continue
        try:
            quantity = Quantity.parse(text)
        except ValueError:
            continue
        if quantity.sign() > 0:
            totals[name] = totals[name] + quantity if name in totals else quantity
            found.add(name)
    return found


def pod_qos_class(pod: Mapping[str, Any]) -> str:
    """Kubernetes' ``ComputePodQOS`` over app and init containers, counting cpu and memory only.

    * BestEffort: no container requests or limits any cpu or memory;
    * Guaranteed: every container has cpu and memory limits, and the pod's summed requests equal its summed limits;
    * Burstable: anything else.

    The apiserver defaults a missing request to its limit; that defaulting is applied here too, so a container
    with limits only counts as requests == limits, as it would in Kubernetes.
    """
    spec = pod.get("spec") or {}
    requests: dict[str, Quantity] = {}
    limits: dict[str, Quantity] = {}
    guaranteed = True
    for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        resources = container.get("resources") or {}
        container_limits = resources.get("limits") or {}
        _add(requests, {**container_limits, **(resources.get("requests") or {})})
        if not set(_QOS_RESOURCES) <= _add(limits, container_limits):
            guaranteed = False
    if not requests and not limits:
        return QOS_BEST_EFFORT
    if guaranteed and requests.keys() == limits.keys() and all(limits[n] == q for n, q in requests.items()):
        return QOS_GUARANTEED
    return QOS_BURSTABLE
