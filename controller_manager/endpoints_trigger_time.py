"""The `endpoints.kubernetes.io/last-change-trigger-time` annotation (Kubernetes' TriggerTimeTracker).

Both the Endpoints and the EndpointSlice controller stamp what they write with the time of the change
that caused the write, so a latency SLO ("a pod became ready at T; kube-proxy programmed it at T+x")
can be measured. The trigger of a pod is its Ready condition's lastTransitionTime; the trigger of a
Service is its creation. On each sync of a Service the tracker answers the earliest trigger that
changed since the previous sync (a Service seen for the first time answers its creation time), or
None when nothing it tracks changed.

The tracker is in-memory, like Kubernetes': a restarted controller treats every Service as new.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controller_manager.podutil import format_time, get_condition, parse_time

Object = Mapping[str, Any]
ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time"


@dataclass
class ServiceState:
    """What the tracker saw at a Service's previous sync."""

    pod_trigger_times: dict[str, float] = field(default_factory=dict)
    service_trigger_time: float = 0.0


def pod_trigger_time(pod: Object) -> float | None:
    condition = get_condition(pod, "Ready")
    return parse_time(condition.get("lastTransitionTime")) if condition else None


def service_trigger_time(service: Object) -> float:
    return parse_time((service.get("metadata") or {}).get("creationTimestamp")) or 0.0


def compute_trigger_time(previous: ServiceState | None, service: Object,
                         pods: Iterable[Object]) -> tuple[float | None, ServiceState]:
    """(the trigger time to stamp, or None; the state to remember for the next sync)."""
    before = previous or ServiceState()
    state = ServiceState(service_trigger_time=service_trigger_time(service))
    changed: list[float] = []
    for pod in pods:
        when = pod_trigger_time(pod)
        if when is None:
            continue
        name = str((pod.get("metadata") or {}).get("name", ""))
        state.pod_trigger_times[name] = when
        if when > before.pod_trigger_times.get(name, 0.0):
            changed.append(when)
    if state.service_trigger_time > before.service_trigger_time:
        changed.append(state.service_trigger_time)
    if previous is None:
        return state.service_trigger_time or None, state
    return (min(changed) if changed else None), state


class TriggerTimeTracker:
    """Per-Service state for `compute_trigger_time`, keyed "namespace/name"."""

    def __init__(self) -> None:
        self._states: dict[str, ServiceState] = {}

    def compute(self, key: str, service: Object, pods: Iterable[Object]) -> float | None:
        when, self._states[key] = compute_trigger_time(self._states.get(key), service, pods)
        return when

    def forget(self, key: str) -> None:
        self._states.pop(key, None)


def stamp(annotations: dict[str, str], when: float | None) -> None:
    """Set the annotation to `when`, or remove it when there is no new trigger."""
    if when is None:
        annotations.pop(ANNOTATION, None)
    else:
        annotations[ANNOTATION] = format_time(when)
