"""Pod failure back-off for Jobs (Kubernetes' pkg/controller/job/backoff_utils.go).

After a pod of a Job fails, the next replacement pod waits ``10s * 2^(failures-1)``, capped at 6 minutes, counted
from the last failure; a success resets the count. The controller keeps one :class:`BackoffRecord` per Job in memory
(as Kubernetes does: a restarted controller starts without back-off) and feeds it the pods it newly counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from controller_manager.podutil import get_condition, parse_time

DEFAULT_POD_FAILURE_BACKOFF = 10.0  # DefaultJobPodFailureBackOff
MAX_POD_FAILURE_BACKOFF = 360.0  # MaxJobPodFailureBackOff


@dataclass(frozen=True)
class BackoffRecord:
    failures_after_last_success: int = 0
    last_failure_time: float | None = None


def finished_time(pod: Mapping[str, Any], default: float) -> float:
    """When the pod finished: the latest container termination, else its Ready condition's last change."""
    status = pod.get("status") or {}
    times = [parse_time(((s.get("state") or {}).get("terminated") or {}).get("finishedAt"))
             for s in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or [])]
    known = [t for t in times if t is not None]
    if known:
        return max(known)
    ready = get_condition(pod, "Ready")
    since = parse_time(ready.get("lastTransitionTime")) if ready else None
    return since if since is not None else default


def compute_backoff_record(record: BackoffRecord, succeeded: Sequence[Mapping[str, Any]],
                           failed: Sequence[Mapping[str, Any]], now: float) -> BackoffRecord:
    """The record after the newly counted pods: failures accumulate, a success resets the count to the failures
    that finished after it (newBackoffRecord)."""
    failed_times = sorted(finished_time(p, now) for p in failed)
    if not succeeded:
        if not failed_times:
            return record
        return BackoffRecord(record.failures_after_last_success + len(failed_times), failed_times[-1])
    last_success = max(finished_time(p, now) for p in succeeded)
    after = [t for t in failed_times if t > last_success]
    return BackoffRecord(len(after), after[-1] if after else None)


def compute_remaining_backoff(record: BackoffRecord, now: float, base: float = DEFAULT_POD_FAILURE_BACKOFF,
                              cap: float = MAX_POD_FAILURE_BACKOFF) -> float:
    """Seconds to wait before creating a replacement pod (0 when none): getRemainingTime."""
    if record.failures_after_last_success == 0 or record.last_failure_time is None:
        return 0.0
    delay = min(base * 2 ** min(record.failures_after_last_success - 1, 32), cap)
    elapsed = now - record.last_failure_time
    return max(delay - elapsed, 0.0)
