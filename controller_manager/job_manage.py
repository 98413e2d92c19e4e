"""How many pods a Job should run now, and which to create or delete (Kubernetes' manageJob). Pure functions.

* Suspended: every active pod goes.
* NonIndexed: ``wantActive = min(parallelism, completions - succeeded)``; with no completions, ``parallelism``
  until a pod succeeds, then no new pods.
* Indexed: one active pod per pending index, up to parallelism; pods with a bad, finished or duplicate index go.
* With ``podReplacementPolicy: Failed`` terminating pods still count as running.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from controller_manager.job_indexes import compute_extra_indexed_pods, compute_indexes_to_create
from controller_manager.job_tracking import only_replace_failed_pods
from controller_manager.podutil import is_pod_ready, parse_time

MAX_POD_CREATE_DELETE_PER_SYNC = 500
Pod = Mapping[str, Any]


@dataclass
class ManagePlan:
    delete: list[Pod] = field(default_factory=list)
    create: list[int | None] = field(default_factory=list)  # one entry per pod: its index, or None (NonIndexed)


def compute_want_active(job: Mapping[str, Any], active: int, succeeded: int) -> int:
    spec = job.get("spec") or {}
    parallelism = int(spec.get("parallelism") or 0)
    completions = spec.get("completions")
    if completions is None:
        return active if succeeded > 0 else parallelism
    return max(min(int(completions) - succeeded, parallelism), 0)


def compute_manage_plan(job: Mapping[str, Any], active: Sequence[Pod], succeeded: int,
                        succeeded_indexes: set[int], terminating: int) -> ManagePlan:
    spec = job.get("spec") or {}
    if spec.get("suspend"):
        return ManagePlan(delete=sort_for_removal(active))
    if spec.get("completionMode") == "Indexed":
        return _indexed_plan(job, active, succeeded_indexes, terminating)
    want = compute_want_active(job, len(active), succeeded)
    if len(active) > want:
        return ManagePlan(delete=sort_for_removal(active)[:len(active) - want])
    missing = want - len(active)
    if only_replace_failed_pods(job):
        missing -= terminating
    return ManagePlan(create=[None] * min(max(missing, 0), MAX_POD_CREATE_DELETE_PER_SYNC))


def _indexed_plan(job: Mapping[str, Any], active: Sequence[Pod], succeeded_indexes: set[int],
                  terminating: int) -> ManagePlan:
    spec = job.get("spec") or {}
    completions, parallelism = int(spec.get("completions") or 0), int(spec.get("parallelism") or 0)
    extra = compute_extra_indexed_pods(list(active), completions, succeeded_indexes)
    extra_ids = {id(p) for p in extra}
    kept = [p for p in active if id(p) not in extra_ids]
    want = min(parallelism, completions - len(succeeded_indexes))
    if len(kept) > want:
        extra += sort_for_removal(kept)[:len(kept) - want]
        return ManagePlan(delete=extra)
    missing = want - len(kept) - (terminating if only_replace_failed_pods(job) else 0)
    count = min(missing, MAX_POD_CREATE_DELETE_PER_SYNC)
    indexes: list[int | None] = list(compute_indexes_to_create(completions, succeeded_indexes, kept, count))
    return ManagePlan(delete=extra, create=indexes)


def sort_for_removal(pods: Sequence[Pod]) -> list[Pod]:
    """Cheapest to lose first (controller.ActivePods): unscheduled, pending, not ready, then newest."""
    def rank(pod: Pod) -> tuple[int, int, int, float]:
        status = pod.get("status") or {}
        scheduled = 1 if (pod.get("spec") or {}).get("nodeName") else 0
        phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(str(status.get("phase") or "Pending"), 0)
        created = parse_time((pod.get("metadata") or {}).get("creationTimestamp")) or 0.0
        return scheduled, phase_rank, 1 if is_pod_ready(pod) else 0, -created
    return sorted(pods, key=rank)
