"""Counting finished pods with the ``batch.kubernetes.io/job-tracking`` finalizer (Kubernetes ≥ 1.26).

Every pod a Job creates carries the finalizer, so a finished pod cannot vanish before the Job counted it. Counting
is a two-phase commit through the Job's status (trackJobStatusAndRemoveFinalizers):

1. a newly finished pod's uid goes into ``status.uncountedTerminatedPods.succeeded`` / ``.failed`` (written first);
2. the controller removes the pod's finalizer;
3. a uid in ``uncountedTerminatedPods`` whose pod no longer holds the finalizer moves into ``status.succeeded`` /
   ``status.failed``.

A controller killed between any two steps finds the uid still uncounted and finishes the job, never counting a pod
twice (its uid is either uncounted or its finalizer gone) nor losing it (the finalizer keeps it until counted).
Indexed Jobs count successes by index (``completedIndexes``) instead of by uid.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from controller_manager.job_indexes import completion_index

TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"
MAX_UNCOUNTED_PODS = 500  # keeps the Job object small, as Kubernetes does
Object = dict[str, Any]


def has_tracking_finalizer(pod: Mapping[str, Any]) -> bool:
    return TRACKING_FINALIZER in ((pod.get("metadata") or {}).get("finalizers") or [])


def uid_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")


def phase(pod: Mapping[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def is_terminating(pod: Mapping[str, Any]) -> bool:
    """Being deleted but not yet in a terminal phase."""
    return bool((pod.get("metadata") or {}).get("deletionTimestamp")) and phase(pod) not in ("Succeeded", "Failed")


def only_replace_failed_pods(job: Mapping[str, Any]) -> bool:
    spec = job.get("spec") or {}
    return spec.get("podReplacementPolicy") == "Failed" or spec.get("podFailurePolicy") is not None


def is_pod_failed(pod: Mapping[str, Any], job: Mapping[str, Any]) -> bool:
    """Failed phase; with the default podReplacementPolicy a deleted, unsucceeded pod counts as failed too."""
    if phase(pod) == "Failed":
        return True
    if only_replace_failed_pods(job):
        return False
    return bool((pod.get("metadata") or {}).get("deletionTimestamp")) and phase(pod) != "Succeeded"


@dataclass
class Tracking:
    """Phase 1's result: the uncounted uids to write, the new finishers, and whose finalizer to remove."""

    uncounted_succeeded: list[str]
    uncounted_failed: list[str]
    succeeded_indexes: set[int]
    new_succeeded: list[Mapping[str, Any]] = field(default_factory=list)
    new_failed: list[Mapping[str, Any]] = field(default_factory=list)
    remove_finalizer: list[Mapping[str, Any]] = field(default_factory=list)


def compute_tracking(job: Mapping[str, Any], pods: Sequence[Mapping[str, Any]], expected_removals: Collection[str],
                     succeeded_indexes: set[int], finishing: bool) -> Tracking:
    """Which finished pods join ``uncountedTerminatedPods`` (or completedIndexes) and lose their finalizer.

    ``finishing`` (the Job's outcome is decided) counts every unsucceeded pod as failed and releases them all."""
    uncounted = (job.get("status") or {}).get("uncountedTerminatedPods") or {}
    result = Tracking(list(uncounted.get("succeeded") or []), list(uncounted.get("failed") or []),
                      set(succeeded_indexes))
    spec = job.get("spec") or {}
    indexed, completions = spec.get("completionMode") == "Indexed", int(spec.get("completions") or 0)
    deleting = bool((job.get("metadata") or {}).get("deletionTimestamp"))
    for pod in pods:
        uid = uid_of(pod)
        if not has_tracking_finalizer(pod) or uid in expected_removals:
            continue
        succeeded, failed = phase(pod) == "Succeeded", is_pod_failed(pod, job)
        if succeeded or failed or is_terminating(pod) or finishing or deleting:
            result.remove_finalizer.append(pod)
        if succeeded and uid not in result.uncounted_failed:
            _count_success(result, pod, uid, indexed, completions)
        elif (failed or finishing) and not succeeded and uid not in result.uncounted_failed:
            result.uncounted_failed.append(uid)
            result.new_failed.append(pod)
        if len(result.uncounted_succeeded) + len(result.uncounted_failed) >= MAX_UNCOUNTED_PODS:
            break
    return result


def _count_success(result: Tracking, pod: Mapping[str, Any], uid: str, indexed: bool, completions: int) -> None:
    if indexed:
        index = completion_index(pod)
        if index is not None and index < completions and index not in result.succeeded_indexes:
            result.succeeded_indexes.add(index)
            result.new_succeeded.append(pod)
    elif uid not in result.uncounted_succeeded:
        result.uncounted_succeeded.append(uid)
        result.new_succeeded.append(pod)


def compute_counted(uncounted: Sequence[str], holding_finalizer: Collection[str]) -> tuple[list[str], int]:
    """Phase 3: the uids still uncounted (their pod still holds the finalizer) and how many are now counted."""
    still = [uid for uid in uncounted if uid in holding_finalizer]
    return still, len(uncounted) - len(still)
