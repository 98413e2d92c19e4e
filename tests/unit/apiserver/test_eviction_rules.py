"""The eviction subresource's decisions: which pods skip budgets, which budget pays, when it refuses (429/500)."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery import errors
from apiserver.registry.eviction import (
    MORE_THAN_ONE,
    REFUSED,
    can_ignore_budgets,
    compute_decrement,
    compute_eviction,
    enforces_resource_version,
)

Object = dict[str, Any]
NOW = "2026-01-01T00:00:00Z"


def pod(*, phase: str = "Running", ready: bool = True, deleting: bool = False, labels: dict[str, str] | None = None
        ) -> Object:
    meta: Object = {"name": "web-1", "namespace": "default", "resourceVersion": "42",
                    "labels": {"app": "web"} if labels is None else labels}
    if deleting:
        meta["deletionTimestamp"] = NOW
    return {"metadata": meta, "status": {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}


def budget(name: str = "web", *, allowed: int = 1, current: int = 3, desired: int = 2, generation: int = 1,
           observed: int = 1, policy: str | None = None, selector: Object | None = None) -> Object:
    spec: Object = {"selector": {"matchLabels": {"app": "web"}} if selector is None else selector}
    if policy:
        spec["unhealthyPodEvictionPolicy"] = policy
    return {"metadata": {"name": name, "namespace": "default", "generation": generation, "resourceVersion": "7"},
            "spec": spec, "status": {"disruptionsAllowed": allowed, "currentHealthy": current,
                                     "desiredHealthy": desired, "observedGeneration": observed}}


@pytest.mark.parametrize(("phase", "deleting", "ignore", "guard"), [
    ("Pending", False, True, True),  # deleted at once, but only while still pending
    ("Succeeded", False, True, False),
    ("Failed", False, True, False),
    ("Running", True, True, False),
    ("Running", False, False, True),
])
def test_which_pods_skip_the_budget_check(phase: str, deleting: bool, ignore: bool, guard: bool):
    assert can_ignore_budgets(pod(phase=phase, deleting=deleting)) is ignore
    assert enforces_resource_version(pod(phase=phase, deleting=deleting)) is guard


EVICTION_CASES = [
    # (case, pod, budgets, → budget that pays, precondition resourceVersion)
    ("no budget: delete", pod(), [], None, None),
    ("a budget of other pods: delete", pod(), [budget(selector={"matchLabels": {"app": "db"}})], None, None),
    ("an empty selector matches nothing here", pod(), [budget(selector={})], None, None),
    ("a ready pod: the budget pays", pod(), [budget()], "web", None),
    ("an unready pod under a healthy budget goes free, guarded", pod(ready=False), [budget(allowed=0, current=2)],
     None, "42"),
    ("an unready pod under an unhealthy budget: the budget pays", pod(ready=False), [budget(current=1)], "web", None),
    ("an unready pod when nothing is desired: the budget pays", pod(ready=False), [budget(current=0, desired=0)],
     "web", None),
    ("AlwaysAllow lets an unready pod go under any budget", pod(ready=False),
     [budget(allowed=0, current=0, policy="AlwaysAllow")], None, "42"),
    ("AlwaysAllow does not spare a ready pod", pod(), [budget(policy="AlwaysAllow")], "web", None),
]


@pytest.mark.parametrize(("case", "the_pod", "budgets", "payer", "guard"), EVICTION_CASES,
                         ids=[c[0] for c in EVICTION_CASES])
def test_compute_eviction(case: str, the_pod: Object, budgets: list[Object], payer: str | None, guard: str | None):
    plan = compute_eviction(the_pod, budgets)
    assert (plan.budget or {}).get("metadata", {}).get("name") == payer
    assert plan.precondition_rv == guard


def test_two_budgets_for_one_pod_is_a_500():
    with pytest.raises(errors.ApiError) as raised:
        compute_eviction(pod(), [budget("a"), budget("b")])
    assert (raised.value.code, raised.value.message) == (500, MORE_THAN_ONE)


def test_an_allowed_eviction_spends_one_disruption_and_records_the_pod():
    spent = compute_decrement(budget(allowed=1), "web-1", NOW, dry_run=False)
    status = spent["status"]
    assert (status["disruptionsAllowed"], status["disruptedPods"]) == (0, {"web-1": NOW})
    assert status["conditions"][0]["reason"] == "InsufficientPods"
    assert spent["metadata"]["resourceVersion"] == "7"  # the compare-and-swap precondition


def test_a_dry_run_records_nothing():
    assert "disruptedPods" not in compute_decrement(budget(allowed=2), "web-1", NOW, dry_run=True)["status"]


def test_no_disruption_allowed_is_a_429_naming_the_budgets_needs_without_retry_after():
    with pytest.raises(errors.TooManyRequests) as raised:
        compute_decrement(budget(allowed=0, current=2, desired=2), "web-1", NOW, dry_run=False)
    assert raised.value.message == REFUSED == "Cannot evict pod as it would violate the pod's disruption budget."
    assert raised.value.causes == [{"reason": "DisruptionBudget",
                                    "message": "The disruption budget web needs 2 healthy pods and has 2 currently"}]
    assert raised.value.retry_after == 0


def test_a_budget_the_controller_has_not_observed_yet_is_a_429_with_retry_after_10():
    with pytest.raises(errors.TooManyRequests) as raised:
        compute_decrement(budget(allowed=5, generation=2, observed=1), "web-1", NOW, dry_run=False)
    assert raised.value.retry_after == 10
    assert raised.value.causes[0]["message"] == "The disruption budget web is still being processed by the server."


def test_a_negative_budget_is_forbidden():
    with pytest.raises(errors.Forbidden):
        compute_decrement(budget(allowed=-1), "web-1", NOW, dry_run=False)
