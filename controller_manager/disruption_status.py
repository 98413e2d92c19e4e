"""The disruption controller's arithmetic (pkg/controller/disruption), as pure functions.

For one PodDisruptionBudget and the pods its selector matches:

* `expected_and_desired` (getExpectedPodCount): with `minAvailable` an integer, expectedPods is the
  number of matching pods and desiredHealthy the integer — no controller is looked up. A percentage
  `minAvailable`, or any `maxUnavailable`, is scaled against expectedPods = the sum of the `replicas`
  of the pods' controllers (each counted once), rounding up: desiredHealthy = ⌈minAvailable⌉, or
  expectedPods - ⌈maxUnavailable⌉ (not below 0). A pod without a controller is "unmanaged" (reported,
  not counted); a controller whose scale cannot be found fails the sync.
* `disrupted_pods` (buildDisruptedPodMap): the eviction subresource records each pod it allowed to go
  in status.disruptedPods; an entry is kept until the pod is being deleted, is gone, or DELETION_TIMEOUT
  (2 minutes) has passed — then the pod counts again. The earliest expiry is when to look again.
* `compute_pdb_status` (countHealthyPods + updatePdbStatus): currentHealthy = Ready pods not being
  deleted and not recently disrupted; disruptionsAllowed = currentHealthy - desiredHealthy, but 0 when
  negative or when no pod is expected; observedGeneration; condition DisruptionAllowed. None when the
  stored status already says all that (no write).
* `failed_status` (failSafe): disruptionsAllowed 0 and DisruptionAllowed=False, reason SyncFailed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apimachinery.api.common import percent_value, sub
from apimachinery.api.policy import (
    SYNC_FAILED,
    conditions_up_to_date,
    disruption_allowed_condition,
    set_condition,
)
from controller_manager.podutil import controller_ref, format_time, is_pod_ready, parse_time

Object = dict[str, Any]
DELETION_TIMEOUT = 120.0
# A controller's (uid, replicas) for an ownerReference in a namespace, None when there is none.
ScaleFinder = Callable[[Mapping[str, Any], str], "tuple[str, int] | None"]


class SyncError(Exception):
    """The budget's status cannot be computed (failSafe writes the message as SyncFailed)."""


@dataclass(frozen=True)
class Expected:
    expected_pods: int
    desired_healthy: int
    unmanaged: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StatusUpdate:
    status: Object | None  # the status to write, None when the stored one is current
    recheck_after: float | None  # seconds until a disruptedPods entry expires


def scaled_value(value: Any, total: int) -> int:
    """intstr.GetScaledValueFromIntOrPercent(value, total, roundUp=true)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    percent = percent_value(value)
    if percent is None:
        raise SyncError(f"invalid value for IntOrString: invalid type: string is not a percentage: {value!r}")
    return math.ceil(percent * total / 100)


def expected_and_desired(pdb: Object, pods: list[Object], find_scale: ScaleFinder) -> Expected:
    spec = sub(pdb, "spec")
    max_unavailable, min_available = spec.get("maxUnavailable"), spec.get("minAvailable")
    if max_unavailable is not None:
        expected, unmanaged = expected_scale(pods, find_scale)
        return Expected(expected, max(0, expected - scaled_value(max_unavailable, expected)), unmanaged)
    if isinstance(min_available, int) and not isinstance(min_available, bool):
        return Expected(len(pods), min_available)
    if isinstance(min_available, str):
        expected, unmanaged = expected_scale(pods, find_scale)
        return Expected(expected, scaled_value(min_available, expected), unmanaged)
    return Expected(0, 0)


def expected_scale(pods: list[Object], find_scale: ScaleFinder) -> tuple[int, list[str]]:
    """getExpectedScale: the sum of the replicas of every controller of the pods, each counted once."""
    scales: dict[str, int] = {}
    unmanaged: list[str] = []
    for pod in pods:
        meta = sub(pod, "metadata")
        ref = controller_ref(pod)
        if ref is None:
            unmanaged.append(str(meta.get("name", "")))
            continue
        if ref.get("uid") in scales:
            continue
        found = find_scale(ref, str(meta.get("namespace", "")))
        if found is None:
            raise SyncError(f'found no controllers for pod "{meta.get("name", "")}"')
        scales[found[0]] = found[1]
    return sum(scales.values()), unmanaged


def disrupted_pods(pdb: Object, pods: list[Object], now: float) -> tuple[dict[str, str], float | None]:
    """buildDisruptedPodMap: the entries still waiting for their pod's deletion, and the earliest expiry."""
    recorded = sub(sub(pdb, "status"), "disruptedPods")
    kept: dict[str, str] = {}
    earliest: float | None = None
    for pod in pods:
        meta = sub(pod, "metadata")
        when = recorded.get(str(meta.get("name", "")))
        if meta.get("deletionTimestamp") or not isinstance(when, str):
            continue
        expiry = (parse_time(when) or 0.0) + DELETION_TIMEOUT
        if expiry < now:
            continue
        kept[str(meta["name"])] = when
        earliest = expiry if earliest is None else min(earliest, expiry)
    return kept, (None if earliest is None else earliest - now)


def expired_disruptions(pdb: Object, pods: list[Object], now: float) -> list[str]:
    """Pods recorded as disrupted more than DELETION_TIMEOUT ago that still exist (event NotDeleted)."""
    recorded = sub(sub(pdb, "status"), "disruptedPods")
    late = []
    for pod in pods:
        meta = sub(pod, "metadata")
        when = recorded.get(str(meta.get("name", "")))
        if isinstance(when, str) and not meta.get("deletionTimestamp") and \
                (parse_time(when) or 0.0) + DELETION_TIMEOUT < now:
            late.append(str(meta["name"]))
    return late


def count_healthy(pods: list[Object], disrupted: Mapping[str, str]) -> int:
    """countHealthyPods: Ready, not being deleted, not about to be deleted by an eviction."""
    return sum(1 for pod in pods if not sub(pod, "metadata").get("deletionTimestamp")
               and sub(pod, "metadata").get("name") not in disrupted and is_pod_ready(pod))


def compute_pdb_status(pdb: Object, pods: list[Object], expected: Expected, now: float) -> StatusUpdate:
    disrupted, recheck = disrupted_pods(pdb, pods, now)
    healthy = count_healthy(pods, disrupted)
    allowed = healthy - expected.desired_healthy
    if expected.expected_pods <= 0 or allowed <= 0:
        allowed = 0
    old = sub(pdb, "status")
    generation = sub(pdb, "metadata").get("generation") or 0
    wanted: Object = {"currentHealthy": healthy, "desiredHealthy": expected.desired_healthy,
                      "expectedPods": expected.expected_pods, "disruptionsAllowed": allowed,
                      "observedGeneration": generation}
    if all((old.get(k) or 0) == v for k, v in wanted.items()) and \
            (sub(old, "disruptedPods") == disrupted) and conditions_up_to_date(pdb):
        return StatusUpdate(None, recheck)
    status: Object = {**wanted, "conditions": old.get("conditions") or []}
    if disrupted:
        status["disruptedPods"] = disrupted
    status["conditions"] = disruption_allowed_condition(status, format_time(now))
    return StatusUpdate(status, recheck)


def failed_status(pdb: Object, message: str, now: float) -> Object:
    """failSafe: the stored status with no disruption allowed and DisruptionAllowed=False/SyncFailed."""
    zeros = {"currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}  # required in the schema
    status: Object = {**zeros, **sub(pdb, "status"), "disruptionsAllowed": 0}
    status["conditions"] = set_condition(status, "False", SYNC_FAILED, message, format_time(now))
    return status
