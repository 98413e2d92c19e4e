"""policy/v1 PodDisruptionBudget: addressing and validation as in Kubernetes' pkg/apis/policy/validation."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from apimachinery import schema
from apimachinery.api.policy import conditions_up_to_date, disruption_allowed_condition, selects_pod
from apimachinery.errors import FIELD_VALUE_INVALID, FIELD_VALUE_NOT_SUPPORTED, FIELD_VALUE_REQUIRED
from apimachinery.kinds import default_registry
from tests.unit.apimachinery.kind_helpers import admitted, changed, create_errors, fields

PDB = yaml.safe_load("""
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: default}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: web}}
  unhealthyPodEvictionPolicy: AlwaysAllow
""")


def test_a_budget_validates_clean_and_matches_the_openapi_schema():
    assert create_errors(PDB) == []
    assert schema.validate(admitted(PDB), "io.k8s.api.policy.v1.PodDisruptionBudget").errors == []


def test_budgets_are_addressed_like_kubernetes():
    rt = default_registry().resolve("pdb")
    assert (rt.group, rt.version, rt.kind, rt.plural, rt.namespaced, rt.has_status) == (
        "policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, True)


def _spec(**spec: Any) -> dict[str, Any]:
    return changed(PDB, lambda o: o.__setitem__("spec", spec))


@pytest.mark.parametrize(("spec", "expected"), [
    ({"minAvailable": 1, "maxUnavailable": 1}, {("spec", FIELD_VALUE_INVALID)}),
    ({"minAvailable": -1}, {("spec.minAvailable", FIELD_VALUE_INVALID)}),
    ({"maxUnavailable": -2}, {("spec.maxUnavailable", FIELD_VALUE_INVALID)}),
    ({"minAvailable": "50"}, {("spec.minAvailable", FIELD_VALUE_INVALID)}),
    ({"maxUnavailable": "101%"}, {("spec.maxUnavailable", FIELD_VALUE_INVALID)}),
    ({"minAvailable": "1", "maxUnavailable": "x"},
     {("spec", FIELD_VALUE_INVALID), ("spec.minAvailable", FIELD_VALUE_INVALID),
      ("spec.maxUnavailable", FIELD_VALUE_INVALID)}),
    ({"selector": {"matchLabels": {"app": "not valid"}}}, {("spec.selector.matchLabels", FIELD_VALUE_INVALID)}),
    ({"selector": {"matchExpressions": [{"key": "app", "operator": "In"}]}},
     {("spec.selector.matchExpressions[0].values", FIELD_VALUE_REQUIRED)}),
    ({"unhealthyPodEvictionPolicy": "Never"}, {("spec.unhealthyPodEvictionPolicy", FIELD_VALUE_NOT_SUPPORTED)}),
])
def test_bad_specs_are_rejected_naming_the_field(spec: dict[str, Any], expected: set[tuple[str, str]]):
    assert fields(create_errors(_spec(**spec))) == expected


@pytest.mark.parametrize("spec", [{"minAvailable": "100%"}, {"maxUnavailable": 0}, {"maxUnavailable": "0%"}, {}])
def test_good_specs_pass(spec: dict[str, Any]):
    assert create_errors(_spec(**spec)) == []


def test_the_both_set_message_is_kubernetes_one():
    errors = create_errors(_spec(minAvailable=1, maxUnavailable=1))
    assert errors[0].detail == "minAvailable and maxUnavailable cannot be both set"


def test_a_status_write_with_a_negative_count_or_a_bad_condition_is_invalid():
    rt = default_registry().resolve("pdb")
    obj = {**admitted(PDB), "status": {"disruptionsAllowed": -1, "currentHealthy": 0, "desiredHealthy": 0,
                                       "expectedPods": 0, "conditions": [{"type": "DisruptionAllowed",
                                                                          "status": "Maybe", "reason": ""}]}}
    assert fields(rt.validate(obj)) == {
        ("status.disruptionsAllowed", FIELD_VALUE_INVALID), ("status.conditions[0].status", FIELD_VALUE_NOT_SUPPORTED),
        ("status.conditions[0].lastTransitionTime", FIELD_VALUE_REQUIRED),
        ("status.conditions[0].reason", FIELD_VALUE_REQUIRED)}


def _pod(labels: dict[str, str], namespace: str = "default") -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": namespace, "labels": labels}}


@pytest.mark.parametrize(("selector", "labels", "namespace", "for_controller", "for_eviction"), [
    ({"matchLabels": {"app": "web"}}, {"app": "web"}, "default", True, True),
    ({"matchLabels": {"app": "web"}}, {"app": "db"}, "default", False, False),
    ({"matchLabels": {"app": "web"}}, {"app": "web"}, "other", False, False),
    ({}, {"app": "web"}, "default", True, False),  # policy/v1: empty selects all; eviction: none
    (None, {"app": "web"}, "default", False, False),
])
def test_which_pods_a_budget_selects(selector: Any, labels: dict[str, str], namespace: str, for_controller: bool,
                                     for_eviction: bool):
    pdb = {"metadata": {"namespace": "default"}, "spec": {"selector": selector}}
    assert selects_pod(pdb, _pod(labels, namespace)) is for_controller
    assert selects_pod(pdb, _pod(labels, namespace), empty_matches_all=False) is for_eviction


def test_the_disruption_allowed_condition_follows_disruptions_allowed_and_keeps_its_transition_time():
    status = {"disruptionsAllowed": 1, "observedGeneration": 3}
    first = disruption_allowed_condition(status, "2026-01-01T00:00:00Z")
    assert first == [{"type": "DisruptionAllowed", "status": "True", "reason": "SufficientPods", "message": "",
                      "observedGeneration": 3, "lastTransitionTime": "2026-01-01T00:00:00Z"}]
    again = disruption_allowed_condition({**status, "conditions": first}, "2026-01-01T00:05:00Z")
    assert again[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    flipped = disruption_allowed_condition({**status, "disruptionsAllowed": 0, "conditions": first},
                                           "2026-01-01T00:05:00Z")
    assert (flipped[0]["status"], flipped[0]["reason"], flipped[0]["lastTransitionTime"]) == (
        "False", "InsufficientPods", "2026-01-01T00:05:00Z")
    pdb = {"metadata": {"generation": 3}, "status": {**status, "conditions": first}}
    assert conditions_up_to_date(pdb)
    assert not conditions_up_to_date({**pdb, "metadata": {"generation": 4}})
