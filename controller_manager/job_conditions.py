"""Job conditions and the decision of how a Job ends (Kubernetes' pkg/controller/job/job_controller.go).

A Job ends in two steps, as in Kubernetes ≥ 1.31: first an *interim* condition says the outcome is decided
(``FailureTarget`` after too many failures or the active deadline, ``SuccessCriteriaMet`` once enough pods
succeeded) and the remaining pods are stopped; then, once every finished pod is counted (no
``uncountedTerminatedPods``) and none is still terminating, the *terminal* condition (``Failed`` / ``Complete``) is
written and the event recorded. All pure functions over Job dicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from controller_manager.podutil import format_time, get_condition, parse_time

Object = dict[str, Any]

COMPLETE = "Complete"
FAILED = "Failed"
FAILURE_TARGET = "FailureTarget"
SUCCESS_CRITERIA_MET = "SuccessCriteriaMet"
SUSPENDED = "Suspended"

BACKOFF_LIMIT_EXCEEDED = "BackoffLimitExceeded"
DEADLINE_EXCEEDED = "DeadlineExceeded"
COMPLETIONS_REACHED = "CompletionsReached"
BACKOFF_MESSAGE = "Job has reached the specified backoff limit"
DEADLINE_MESSAGE = "Job was active longer than specified deadline"
COMPLETIONS_MESSAGE = "Reached expected number of succeeded pods"


@dataclass(frozen=True)
class Outcome:
    """A decided end: the interim condition type and the terminal one it becomes, with reason and message."""

    interim: str
    terminal: str
    reason: str
    message: str


FAILED_BACKOFF = Outcome(FAILURE_TARGET, FAILED, BACKOFF_LIMIT_EXCEEDED, BACKOFF_MESSAGE)
FAILED_DEADLINE = Outcome(FAILURE_TARGET, FAILED, DEADLINE_EXCEEDED, DEADLINE_MESSAGE)
SUCCEEDED = Outcome(SUCCESS_CRITERIA_MET, COMPLETE, COMPLETIONS_REACHED, COMPLETIONS_MESSAGE)


def is_true(job: Mapping[str, Any], kind: str) -> bool:
    condition = get_condition(job, kind)
    return condition is not None and condition.get("status") == "True"


def is_job_finished(job: Mapping[str, Any]) -> bool:
    """Complete or Failed (IsJobFinished): nothing more to do but release pod finalizers."""
    return is_true(job, COMPLETE) or is_true(job, FAILED)


def is_suspended(job: Mapping[str, Any]) -> bool:
    return bool((job.get("spec") or {}).get("suspend"))


def ensure_condition(conditions: Sequence[Mapping[str, Any]], kind: str, status: str, reason: str, message: str,
                     now: float) -> tuple[list[Object], bool]:
    """The conditions with ``kind`` at ``status`` (ensureJobConditionStatus). A missing condition is only added
    when True; an existing one keeps its lastTransitionTime unless its status flips."""
    result = [dict(c) for c in conditions]
    for condition in result:
        if condition.get("type") != kind:
            continue
        if condition.get("status") == status and condition.get("reason") == reason \
                and condition.get("message") == message:
            return result, False
        if condition.get("status") != status:
            condition["lastTransitionTime"] = format_time(now)
        condition.update(status=status, reason=reason, message=message, lastProbeTime=format_time(now))
        return result, True
    if status != "True":
        return result, False
    stamp = format_time(now)
    result.append({"type": kind, "status": status, "reason": reason, "message": message,
                   "lastProbeTime": stamp, "lastTransitionTime": stamp})
    return result, True


def existing_outcome(job: Mapping[str, Any]) -> Outcome | None:
    """The outcome an earlier sync decided (an interim condition already on the Job)."""
    for outcome_type, terminal in ((FAILURE_TARGET, FAILED), (SUCCESS_CRITERIA_MET, COMPLETE)):
        condition = get_condition(job, outcome_type)
        if condition is not None and condition.get("status") == "True":
            return Outcome(outcome_type, terminal, str(condition.get("reason") or ""),
                           str(condition.get("message") or ""))
    return None


def past_backoff_limit_on_failure(job: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]) -> bool:
    """restartPolicy OnFailure: container restarts of running/pending pods count against backoffLimit."""
    spec = job.get("spec") or {}
    if ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") != "OnFailure":
        return False
    restarts = 0
    for pod in pods:
        status = pod.get("status") or {}
        if status.get("phase") in ("Running", "Pending"):
            for s in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
                restarts += int(s.get("restartCount") or 0)
    limit = int(spec.get("backoffLimit", 6))
    return restarts > 0 if limit == 0 else restarts >= limit


def deadline_remaining(job: Mapping[str, Any], now: float) -> float | None:
    """Seconds until activeDeadlineSeconds passes (≤ 0: passed), or None when there is no running deadline."""
    deadline = (job.get("spec") or {}).get("activeDeadlineSeconds")
    started = parse_time((job.get("status") or {}).get("startTime"))
    if deadline is None or started is None or is_suspended(job):
        return None
    return started + float(deadline) - now


def compute_failure(job: Mapping[str, Any], failed: int, active: Sequence[Mapping[str, Any]],
                    now: float) -> Outcome | None:
    """Too many failures (failed > backoffLimit, or OnFailure restarts) or the active deadline passed."""
    if failed > int((job.get("spec") or {}).get("backoffLimit", 6)) or past_backoff_limit_on_failure(job, active):
        return FAILED_BACKOFF
    remaining = deadline_remaining(job, now)
    if remaining is not None and remaining <= 0:
        return FAILED_DEADLINE
    return None


def compute_complete(job: Mapping[str, Any], succeeded: int, active: int, terminating: int) -> bool:
    """Enough pods succeeded: completions reached (and nothing left running), or with no completions set any
    success once all pods stopped."""
    spec = job.get("spec") or {}
    completions = spec.get("completions")
    if completions is None:
        return succeeded > 0 and active == 0 and terminating == 0
    if spec.get("completionMode") == "Indexed":
        return succeeded >= int(completions)
    return succeeded >= int(completions) and active == 0
