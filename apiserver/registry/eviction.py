"""The eviction subresource's decisions (pkg/registry/core/pod/storage/eviction.go), as pure functions.

An Eviction is a delete that asks the pod's PodDisruptionBudget first:

1. `can_ignore_budgets`: a Pending, Succeeded or Failed pod, or one already being deleted, is deleted
   at once (a terminal pod's disruption has already happened). A Pending pod is still deleted with
   its resourceVersion as a precondition, so it cannot turn Running and Ready in between.
2. `compute_eviction`: the budgets selecting the pod (an empty selector selects nothing here). More
   than one → 500 "This pod has more than one PodDisruptionBudget, ...". None → delete. A pod that
   is not Ready does not count towards the budget: it is deleted without spending a disruption when
   the budget says `unhealthyPodEvictionPolicy: AlwaysAllow`, or (IfHealthyBudget, the default) when
   the budget is healthy (currentHealthy ≥ desiredHealthy > 0) — with its resourceVersion as a
   precondition, so a pod that became Ready meanwhile is refused (429). Otherwise the budget pays.
3. `compute_decrement` (checkAndDecrement): refuse while the controller has not observed the budget's
   generation (429, retry after 10s) or while disruptionsAllowed is 0 (429 naming the budget's needs);
   else one disruption less, and the pod recorded in disruptedPods so the controller does not count it
   healthy until it is gone. The caller writes that status with compare-and-swap, then deletes the pod.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apimachinery import errors
from apimachinery.api.common import sub, text
from apimachinery.api.policy import ALWAYS_ALLOW, disruption_allowed_condition, selects_pod

Object = dict[str, Any]

MAX_DISRUPTED_POD_SIZE = 2000
DISRUPTION_BUDGET_CAUSE = "DisruptionBudget"
REFUSED = "Cannot evict pod as it would violate the pod's disruption budget."
MORE_THAN_ONE = "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
STILL_PROCESSED_RETRY_SECONDS = 10


@dataclass(frozen=True)
class EvictionPlan:
    """What to do after reading the pod and its namespace's budgets."""

    budget: Object | None = None  # spend one disruption of this budget, then delete
    precondition_rv: str | None = None  # delete only while the pod is at this resourceVersion
    budget_name: str = ""  # the budget that decided (for a 429 on a precondition conflict)


def is_pod_ready(pod: Object) -> bool:
    conditions = sub(pod, "status").get("conditions")
    return any(isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True"
               for c in (conditions if isinstance(conditions, list) else []))


def _phase(pod: Object) -> str:
    return text(sub(pod, "status").get("phase"))


def can_ignore_budgets(pod: Object) -> bool:
    """canIgnorePDB: terminal, pending or already terminating pods skip the budget check."""
    return _phase(pod) in ("Succeeded", "Failed", "Pending") or bool(sub(pod, "metadata").get("deletionTimestamp"))


def enforces_resource_version(pod: Object) -> bool:
    """shouldEnforceResourceVersion: every pod but a terminal or terminating one."""
    return not (_phase(pod) in ("Succeeded", "Failed") or sub(pod, "metadata").get("deletionTimestamp"))


def budgets_for(pod: Object, budgets: list[Object]) -> list[Object]:
    """getPodDisruptionBudgets: the budgets of the pod's namespace whose non-empty selector matches it."""
    return [pdb for pdb in budgets if selects_pod(pdb, pod, empty_matches_all=False)]


def compute_eviction(pod: Object, budgets: list[Object]) -> EvictionPlan:
    """For a pod that cannot ignore budgets: which budget pays, or a guarded delete; raises 500 for two."""
    matching = budgets_for(pod, budgets)
    if len(matching) > 1:
        raise errors.ApiError(500, "", MORE_THAN_ONE)
    if not matching:
        return EvictionPlan()
    pdb = matching[0]
    name = text(sub(pdb, "metadata").get("name"))
    if not is_pod_ready(pod) and _unhealthy_pod_may_go(pdb):
        return EvictionPlan(precondition_rv=text(sub(pod, "metadata").get("resourceVersion")), budget_name=name)
    return EvictionPlan(budget=pdb, budget_name=name)


def _unhealthy_pod_may_go(pdb: Object) -> bool:
    if sub(pdb, "spec").get("unhealthyPodEvictionPolicy") == ALWAYS_ALLOW:
        return True
    status = sub(pdb, "status")
    current, desired = status.get("currentHealthy") or 0, status.get("desiredHealthy") or 0
    return bool(current >= desired and desired > 0)


def compute_decrement(pdb: Object, pod_name: str, now: str, *, dry_run: bool) -> Object:
    """checkAndDecrement: the budget with one disruption spent on `pod_name`, or the refusal raised."""
    meta, status = sub(pdb, "metadata"), sub(pdb, "status")
    name = text(meta.get("name"))
    if (status.get("observedGeneration") or 0) < (meta.get("generation") or 0):
        raise still_being_processed(name)
    allowed = status.get("disruptionsAllowed") or 0
    if allowed < 0:
        raise errors.forbidden("poddisruptionbudget", name, "pdb disruptions allowed is negative", "policy")
    if len(sub(status, "disruptedPods")) > MAX_DISRUPTED_POD_SIZE:
        raise errors.forbidden("poddisruptionbudget", name, "DisruptedPods map too big - too many evictions not "
                               "confirmed by PDB controller", "policy")
    if allowed == 0:
        raise _refused(f"The disruption budget {name} needs {status.get('desiredHealthy') or 0} healthy pods and "
                       f"has {status.get('currentHealthy') or 0} currently")
    new_status = {**status, "disruptionsAllowed": allowed - 1}
    if allowed - 1 == 0:
        new_status["conditions"] = disruption_allowed_condition(new_status, now)
    if not dry_run:
        new_status["disruptedPods"] = {**sub(status, "disruptedPods"), pod_name: now}
    return {**pdb, "status": new_status}


def still_being_processed(name: str) -> errors.TooManyRequests:
    """createTooManyRequestsError: the controller has not caught up with the budget (retry after 10s)."""
    return _refused(f"The disruption budget {name} is still being processed by the server.",
                    STILL_PROCESSED_RETRY_SECONDS)


def _refused(cause: str, retry_after: int = 0) -> errors.TooManyRequests:
    error = errors.too_many_requests(REFUSED, retry_after)
    error.details["causes"] = [{"reason": DISRUPTION_BUDGET_CAUSE, "message": cause}]
    return error


def conflicts_exhausted(name: str) -> errors.ApiError:
    """NewTimeoutError after EvictionsRetry's attempts all met a conflict."""
    return errors.ApiError(504, "Timeout", f'Timeout: couldn\'t update PodDisruptionBudget "{name}" due to conflicts',
                           {"retryAfterSeconds": 10})
