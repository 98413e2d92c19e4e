"""What a StatefulSet's reconcile must do to its pods next: a pure decision (Kubernetes' stateful_set_control.go).

Given the set, its pods, its current and update revisions, :func:`compute_stateful_set_plan` returns the ordered
writes of one pass. The pass works on two lists:

* ``replicas``: one slot per ordinal in ``[start, start + spec.replicas)``, holding the pod or, when missing, the
  pod to create (ordinals below the rolling-update partition are made from the current revision, the rest from
  the update revision);
* ``condemned``: pods with an ordinal outside that range, to be deleted highest ordinal first.

The rules, in order (``monotonic`` means podManagementPolicy OrderedReady; Parallel is not monotonic):

1. a Failed or Succeeded pod is deleted; it is re-created on a later pass, once it is gone;
2. a missing pod is created; monotonic: stop and wait for it;
3. monotonic: a pod that is terminating, not Running and Ready, or not yet available (minReadySeconds) stops
   the pass: ordinal ``i+1`` is only created once ``0..i`` are all Running and Ready;
4. a pod whose identity drifted (labels, hostname, subdomain) is updated back;
5. condemned pods are deleted from the highest ordinal down; monotonic: one at a time, each only when every
   other pod is healthy (a terminating one is waited for);
6. RollingUpdate: pods with ordinal >= partition not on the update revision are deleted from the highest ordinal
   down (they come back from the update revision by rule 2), at most ``maxUnavailable`` (default 1) unavailable
   at once; OnDelete: nothing, a user deletes pods to update them.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apimachinery.api.common import percent_value
from controller_manager.podutil import get_condition, parse_time
from controller_manager.statefulset_pods import (
    identity_matches,
    is_created,
    is_failed,
    is_healthy,
    is_running_and_available,
    is_running_and_ready,
    is_succeeded,
    is_terminating,
    new_stateful_set_pod,
    ordinal_of,
    pod_revision,
    replicas_of,
    start_ordinal,
    with_identity,
)

Object = dict[str, Any]


@dataclass(frozen=True)
class Action:
    verb: str  # "create" | "delete" | "update"
    pod: Object


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    requeue_after: float | None = None  # a pod becomes available (minReadySeconds) in this many seconds

    def verbs(self) -> list[tuple[str, str]]:
        return [(a.verb, a.pod["metadata"]["name"]) for a in self.actions]


def is_monotonic(sts: Mapping[str, Any]) -> bool:
    return (sts.get("spec") or {}).get("podManagementPolicy", "OrderedReady") != "Parallel"


def rolling_update(sts: Mapping[str, Any]) -> Mapping[str, Any] | None:
    strategy = (sts.get("spec") or {}).get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return None
    return strategy.get("rollingUpdate") or {}


def partition_of(sts: Mapping[str, Any]) -> int:
    return int((rolling_update(sts) or {}).get("partition") or 0)


def max_unavailable_of(sts: Mapping[str, Any]) -> int | None:
    """spec.updateStrategy.rollingUpdate.maxUnavailable scaled to replicas (rounded up, at least 1); None if unset."""
    value = (rolling_update(sts) or {}).get("maxUnavailable")
    if value is None:
        return None
    percent = percent_value(value)
    scaled = math.ceil(percent * replicas_of(sts) / 100) if percent is not None else int(value)
    return max(scaled, 1)


def compute_replicas_and_condemned(sts: Mapping[str, Any], pods: Iterable[Object], current: Mapping[str, Any],
                                   update: Mapping[str, Any]) -> tuple[list[Object], list[Object]]:
    """The pod (or pod to create) of every ordinal in range, and the out-of-range pods sorted by ordinal."""
    start, count = start_ordinal(sts), replicas_of(sts)
    slots: dict[int, Object] = {}
    condemned: list[Object] = []
    for pod in pods:
        ordinal = ordinal_of(pod)
        if start <= ordinal < start + count:
            slots[ordinal] = pod
        elif ordinal >= 0:
            condemned.append(pod)
    partition = partition_of(sts) if rolling_update(sts) is not None else None
    replicas = []
    for ordinal in range(start, start + count):
        if ordinal not in slots:
            old = partition is not None and ordinal < start + partition
            slots[ordinal] = new_stateful_set_pod(sts, current if old else update, ordinal)
        replicas.append(slots[ordinal])
    return replicas, sorted(condemned, key=ordinal_of)


def seconds_until_available(pod: Mapping[str, Any], min_ready_seconds: int, now: float) -> float:
    since = parse_time((get_condition(pod, "Ready") or {}).get("lastTransitionTime")) or now
    return max(since + min_ready_seconds - now, 0.1)


def compute_stateful_set_plan(sts: Mapping[str, Any], pods: Iterable[Object], current: Mapping[str, Any],
                              update: Mapping[str, Any], now: float) -> Plan:
    """One reconcile pass's writes, in order (see the module docstring for the rules)."""
    plan = Plan()
    if (sts.get("metadata") or {}).get("deletionTimestamp"):
        return plan
    replicas, condemned = compute_replicas_and_condemned(sts, pods, current, update)
    monotonic = is_monotonic(sts)
    if not _process_replicas(sts, replicas, monotonic, now, plan):
        return plan
    if not _process_condemned(replicas, condemned, monotonic, plan):
        return plan
    if rolling_update(sts) is not None:
        _roll(sts, replicas, update, plan)
    return plan


def _process_replicas(sts: Mapping[str, Any], replicas: list[Object], monotonic: bool, now: float,
                      plan: Plan) -> bool:
    """Rules 1-4; False when the pass must stop here."""
    min_ready = int((sts.get("spec") or {}).get("minReadySeconds") or 0)
    for pod in replicas:
        if is_created(pod) and (is_failed(pod) or is_succeeded(pod)):
            if not is_terminating(pod):
                plan.actions.append(Action("delete", pod))
            if monotonic:
                return False
            continue
        if not is_created(pod):
            plan.actions.append(Action("create", pod))
            if monotonic:
                return False
            continue
        if monotonic and (is_terminating(pod) or not is_running_and_ready(pod)):
            return False
        if monotonic and not is_running_and_available(pod, min_ready, now):
            plan.requeue_after = seconds_until_available(pod, min_ready, now)
            return False
        if not identity_matches(sts, pod):
            plan.actions.append(Action("update", with_identity(sts, copy.deepcopy(pod))))
    return True


def _process_condemned(replicas: list[Object], condemned: list[Object], monotonic: bool, plan: Plan) -> bool:
    """Rule 5; False when the pass must stop here."""
    unhealthy = [p for p in replicas if not is_healthy(p)] + [p for p in reversed(condemned) if not is_healthy(p)]
    first_unhealthy = unhealthy[0] if unhealthy else None
    for pod in reversed(condemned):
        if is_terminating(pod):
            if monotonic:
                return False
            continue
        if monotonic and not is_running_and_ready(pod) and pod is not first_unhealthy:
            return False
        plan.actions.append(Action("delete", pod))
        if monotonic:
            return False
    return True


def _roll(sts: Mapping[str, Any], replicas: list[Object], update: Mapping[str, Any], plan: Plan) -> None:
    """Rule 6: delete outdated pods at or above the partition, highest ordinal first."""
    update_name = update["metadata"]["name"]
    partition = partition_of(sts)
    max_unavailable = max_unavailable_of(sts)
    if max_unavailable is None:  # the classic rule: one at a time, waiting for each to be healthy again
        for pod in reversed(replicas[partition:]):
            if pod_revision(pod) != update_name and not is_terminating(pod):
                plan.actions.append(Action("delete", pod))
                return
            if not is_healthy(pod):
                return
        return
    budget = max_unavailable - sum(1 for pod in replicas if not is_healthy(pod))
    for pod in reversed(replicas[partition:]):
        if budget <= 0:
            return
        if pod_revision(pod) != update_name and not is_terminating(pod):
            plan.actions.append(Action("delete", pod))
            budget -= 1
