"""policy/v1: PodDisruptionBudget, the limit on voluntary disruptions (evictions) of a set of pods.

A PodDisruptionBudget selects pods in its namespace and says how many of them must stay healthy
(`minAvailable`) or may be unhealthy (`maxUnavailable`), as a count or a percentage of the pods'
controllers' scale. The disruption controller writes its status (`expectedPods`, `currentHealthy`,
`desiredHealthy`, `disruptionsAllowed`, condition `DisruptionAllowed`); the eviction subresource
reads it, refuses an eviction the budget does not allow (429), and spends one disruption otherwise.

Validation follows pkg/apis/policy/validation: minAvailable xor maxUnavailable, each a non-negative
integer or a percentage of at most 100%, a well-formed selector, a known unhealthyPodEvictionPolicy;
status counts non-negative and well-formed conditions. The name is only a path segment (as the
generic registry checks for kinds without a name rule of their own).

The helpers at the end are component-helpers/apps/poddisruptionbudget's, shared by the controller
and the eviction subresource: which budgets select a pod, and the `DisruptionAllowed` condition.
"""

from __future__ import annotations

import re

from apimachinery.api.common import (
    Object,
    duplicate,
    entries,
    from_messages,
    int_or_percent,
    invalid,
    non_negative,
    not_more_than_100_percent,
    not_supported,
    path_segment_name_errors,
    required,
    selector_is_empty,
    selector_matches,
    sub,
    text,
    too_long,
)
from apimachinery.errors import FieldError
from apimachinery.kinds import ResourceType
from apimachinery.labels import validate_label_selector
from apimachinery.names import is_qualified_name, regex_error, validate_object_meta

IF_HEALTHY_BUDGET = "IfHealthyBudget"
ALWAYS_ALLOW = "AlwaysAllow"
UNHEALTHY_POD_EVICTION_POLICIES = (ALWAYS_ALLOW, IF_HEALTHY_BUDGET)

DISRUPTION_ALLOWED = "DisruptionAllowed"
SUFFICIENT_PODS = "SufficientPods"
INSUFFICIENT_PODS = "InsufficientPods"
SYNC_FAILED = "SyncFailed"

CONDITION_STATUSES = ("False", "True", "Unknown")
_REASON_FMT = "[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?"
_REASON = re.compile(f"^{_REASON_FMT}$")
_REASON_MSG = ("a condition reason must start with alphabetic character, optionally followed by a string of "
               "alphanumeric characters or '_,:', and must end with an alphanumeric character or '_'")
MAX_REASON_LENGTH = 1024
MAX_MESSAGE_LENGTH = 32768


# -- validation -----------------------------------------------------------------------------


def validate_pod_disruption_budget(obj: Object) -> list[FieldError]:
    found = validate_object_meta(sub(obj, "metadata"), True, path_segment_name_errors)
    return found + _spec(sub(obj, "spec")) + _status(sub(obj, "status"))


def _spec(spec: Object) -> list[FieldError]:
    found: list[FieldError] = []
    min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
    if min_available is not None and max_unavailable is not None:
        found.append(invalid("spec", spec, "minAvailable and maxUnavailable cannot be both set"))
    for field, value in (("minAvailable", min_available), ("maxUnavailable", max_unavailable)):
        if value is not None:
            found += int_or_percent(value, f"spec.{field}") + not_more_than_100_percent(value, f"spec.{field}")
    selector = spec.get("selector")
    if isinstance(selector, dict):
        found += validate_label_selector(selector, "spec.selector")
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in UNHEALTHY_POD_EVICTION_POLICIES:
        found.append(not_supported("spec.unhealthyPodEvictionPolicy", policy, UNHEALTHY_POD_EVICTION_POLICIES))
    return found


def _status(status: Object) -> list[FieldError]:
    """ValidatePodDisruptionBudgetStatusUpdate (policy/v1): conditions, and no negative count."""
    found = _conditions(status)
    for field in ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"):
        found += non_negative(status.get(field), f"status.{field}")
    return found


def _conditions(status: Object) -> list[FieldError]:
    """metav1 ValidateConditions: each condition well formed, each type once."""
    found: list[FieldError] = []
    seen: set[str] = set()
    for i, condition in entries(status, "conditions"):
        path = f"status.conditions[{i}]"
        found += _condition(condition, path)
        kind = text(condition.get("type"))
        if kind in seen:
            found.append(duplicate(f"{path}.type", kind))
        seen.add(kind)
    return found


def _condition(condition: Object, path: str) -> list[FieldError]:
    kind = text(condition.get("type"))
    found = from_messages(f"{path}.type", kind, is_qualified_name(kind))
    if condition.get("status") not in CONDITION_STATUSES:
        found.append(not_supported(f"{path}.status", condition.get("status"), CONDITION_STATUSES))
    generation = condition.get("observedGeneration")
    if isinstance(generation, int) and generation < 0:
        found.append(invalid(f"{path}.observedGeneration", generation, "must be greater than or equal to zero"))
    if not condition.get("lastTransitionTime"):
        found.append(required(f"{path}.lastTransitionTime", "must be set"))
    reason = text(condition.get("reason"))
    if not reason:
        found.append(required(f"{path}.reason", "must be set"))
    elif not _REASON.match(reason):
        found.append(invalid(f"{path}.reason", reason, regex_error(_REASON_MSG, _REASON_FMT, "my_name", "MY_NAME",
                                                                   "MyName", "ReasonA,ReasonB", "ReasonA:ReasonB")))
    elif len(reason) > MAX_REASON_LENGTH:
        found.append(too_long(f"{path}.reason", MAX_REASON_LENGTH))
    if len(text(condition.get("message"))) > MAX_MESSAGE_LENGTH:
        found.append(too_long(f"{path}.message", MAX_MESSAGE_LENGTH))
    return found


# -- helpers shared by the disruption controller and the eviction subresource ----------------


def selects_pod(pdb: Object, pod: Object, *, empty_matches_all: bool = True) -> bool:
    """Whether the budget's selector matches the pod (same namespace). The controller lets an empty
    selector match every pod (policy/v1); the eviction subresource lets it match none."""
    if text(sub(pdb, "metadata").get("namespace")) != text(sub(pod, "metadata").get("namespace")):
        return False
    selector = sub(pdb, "spec").get("selector")
    if not empty_matches_all and (selector is None or selector_is_empty(selector)):
        return False
    return selector_matches(selector, sub(pod, "metadata").get("labels")) is True


def disruption_allowed_condition(status: Object, now: str) -> list[Object]:
    """UpdateDisruptionAllowedCondition: status.conditions with DisruptionAllowed set from disruptionsAllowed."""
    if (status.get("disruptionsAllowed") or 0) > 0:
        return set_condition(status, "True", SUFFICIENT_PODS, "", now)
    return set_condition(status, "False", INSUFFICIENT_PODS, "", now)


def set_condition(status: Object, value: str, reason: str, message: str, now: str) -> list[Object]:
    """apimeta.SetStatusCondition for DisruptionAllowed: lastTransitionTime moves only when the status does."""
    conditions = [dict(c) for _, c in entries(status, "conditions")]
    wanted: Object = {"type": DISRUPTION_ALLOWED, "status": value, "reason": reason, "message": message,
                      "observedGeneration": status.get("observedGeneration") or 0, "lastTransitionTime": now}
    for i, condition in enumerate(conditions):
        if condition.get("type") == DISRUPTION_ALLOWED:
            if condition.get("status") == value and condition.get("lastTransitionTime"):
                wanted["lastTransitionTime"] = condition["lastTransitionTime"]
            conditions[i] = wanted
            return conditions
    return [*conditions, wanted]


def conditions_up_to_date(pdb: Object) -> bool:
    """ConditionsAreUpToDate: DisruptionAllowed matches disruptionsAllowed at the current generation."""
    status = sub(pdb, "status")
    found = [c for _, c in entries(status, "conditions") if c.get("type") == DISRUPTION_ALLOWED]
    if not found or status.get("observedGeneration") != sub(pdb, "metadata").get("generation"):
        return False
    if (status.get("disruptionsAllowed") or 0) > 0:
        return found[0].get("status") == "True" and found[0].get("reason") == SUFFICIENT_PODS
    return found[0].get("status") == "False" and found[0].get("reason") == INSUFFICIENT_PODS


TYPES: list[ResourceType] = [
    ResourceType("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short_names=("pdb",),
                 schema_ref="io.k8s.api.policy.v1.PodDisruptionBudget",
                 validate=validate_pod_disruption_budget),
]
