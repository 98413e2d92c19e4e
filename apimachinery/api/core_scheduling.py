"""Scheduling fields: tolerations, node taints, affinity and topology spread constraints.

Validation as Kubernetes does it (ValidateTolerations, validateNodeTaints, validateAffinity,
validateTopologySpreadConstraints): keys are qualified names, values valid label values, effects
and operators from the fixed sets, weights in 1-100, and label selectors well formed.
"""

from __future__ import annotations

from typing import Any

from apimachinery.api.common import (
    Object,
    duplicate,
    entries,
    forbidden,
    from_messages,
    indexed,
    invalid,
    not_supported,
    number,
    required,
    sub,
    text,
)
from apimachinery.api.common import values as list_of
from apimachinery.errors import FIELD_VALUE_DUPLICATE, FieldError
from apimachinery.labels import validate_label_selector
from apimachinery.names import is_dns1123_label, is_dns1123_subdomain, is_qualified_name, is_valid_label_value

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
TOLERATION_OPERATORS = ("Equal", "Exists")


def _label_name(key: str, path: str) -> list[FieldError]:
    return from_messages(path, key, is_qualified_name(key))


def _effect(effect: Any, path: str, allow_empty: bool) -> list[FieldError]:
    if not effect:
        return [] if allow_empty else [required(path)]
    return [] if effect in TAINT_EFFECTS else [not_supported(path, effect, TAINT_EFFECTS)]


# -- tolerations and taints -----------------------------------------------------------------


def validate_tolerations(tolerations: Any, path: str) -> list[FieldError]:
    found: list[FieldError] = []
    for i, toleration in indexed(tolerations):
        found += _validate_toleration(toleration, f"{path}[{i}]")
    return found


def _validate_toleration(toleration: Object, path: str) -> list[FieldError]:
    key, operator, value = text(toleration.get("key")), text(toleration.get("operator")), toleration.get("value")
    effect = text(toleration.get("effect"))
    found = _label_name(key, f"{path}.key") if key else []
    if not key and operator != "Exists":
        found.append(invalid(f"{path}.operator", operator, "operator must be Exists when `key` is empty, which "
                                                           'means "match all values and all keys"'))
    if toleration.get("tolerationSeconds") is not None and effect != "NoExecute":
        found.append(invalid(f"{path}.effect", effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
    if operator in ("Equal", ""):
        messages = is_valid_label_value(text(value))
        if messages:
            found.append(invalid(f"{path}.operator", value, ";".join(messages)))
    elif operator == "Exists":
        if value:
            found.append(invalid(f"{path}.operator", toleration, "value must be empty when `operator` is 'Exists'"))
    else:
        found.append(not_supported(f"{path}.operator", operator, TOLERATION_OPERATORS))
    return found + _effect(effect, f"{path}.effect", allow_empty=True)


def validate_taints(taints: Any, path: str) -> list[FieldError]:
    """validateNodeTaints: valid keys/values/effects, unique by (key, effect)."""
    found: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, taint in indexed(taints):
        at = f"{path}[{i}]"
        key, effect = text(taint.get("key")), text(taint.get("effect"))
        found += _label_name(key, f"{at}.key")
        messages = is_valid_label_value(text(taint.get("value")))
        if messages:
            found.append(invalid(f"{at}.value", taint.get("value"), ";".join(messages)))
        found += _effect(effect, f"{at}.effect", allow_empty=False)
        if (key, effect) in seen:
            found.append(FieldError(at, FIELD_VALUE_DUPLICATE, "taints must be unique by key and effect pair",
                                    taint))
        seen.add((key, effect))
    return found


def only_added_tolerations(new: Any, old: Any, path: str) -> list[FieldError]:
    """Pod updates may add tolerations (and change tolerationSeconds) but not change or remove any."""
    new_items = [t for _, t in indexed(new)]
    for _, before in indexed(old):
        if not any(_same_toleration(before, after) for after in new_items):
            return [forbidden(path, "existing toleration can not be modified except its tolerationSeconds")]
    return validate_tolerations(new, path)


def _same_toleration(a: Object, b: Object) -> bool:
    strip = ("tolerationSeconds",)
    return {k: v for k, v in a.items() if k not in strip} == {k: v for k, v in b.items() if k not in strip}


# -- affinity -------------------------------------------------------------------------------


def validate_affinity(affinity: Any, path: str) -> list[FieldError]:
    if not isinstance(affinity, dict):
        return []
    found: list[FieldError] = []
    node = affinity.get("nodeAffinity")
    if isinstance(node, dict):
        found += _node_affinity(node, f"{path}.nodeAffinity")
    for kind in ("podAffinity", "podAntiAffinity"):
        if isinstance(affinity.get(kind), dict):
            found += _pod_affinity(affinity[kind], f"{path}.{kind}")
    return found


def _node_affinity(node: Object, path: str) -> list[FieldError]:
    found: list[FieldError] = []
    must = node.get("requiredDuringSchedulingIgnoredDuringExecution")
    if isinstance(must, dict):
        at = f"{path}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
        terms = entries(must, "nodeSelectorTerms")
        if not terms:
            found.append(required(at, "must have at least one node selector term"))
        for i, term in terms:
            found += _node_selector_term(term, f"{at}[{i}]")
    for i, term in entries(node, "preferredDuringSchedulingIgnoredDuringExecution"):
        at = f"{path}.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
        found += _weight(term, f"{at}.weight")
        found += _node_selector_term(sub(term, "preference"), f"{at}.preference")
    return found


def _weight(term: Object, path: str) -> list[FieldError]:
    weight = number(term.get("weight"))
    if weight is not None and 1 <= weight <= 100:
        return []
    return [invalid(path, weight or 0, "must be in the range 1-100")]


def _node_selector_term(term: Object, path: str) -> list[FieldError]:
    found: list[FieldError] = []
    for j, requirement in entries(term, "matchExpressions"):
        found += _node_requirement(requirement, f"{path}.matchExpressions[{j}]")
    for j, requirement in entries(term, "matchFields"):
        found += _field_requirement(requirement, f"{path}.matchFields[{j}]")
    return found


def _node_requirement(requirement: Object, path: str) -> list[FieldError]:
    operator = requirement.get("operator")
    values = list_of(requirement, "values")
    found: list[FieldError] = []
    if operator in ("In", "NotIn") and not values:
        found.append(required(f"{path}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
    elif operator in ("Exists", "DoesNotExist") and values:
        found.append(forbidden(f"{path}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    elif operator in ("Gt", "Lt") and len(values) != 1:
        found.append(required(f"{path}.values", "must be specified single value when `operator` is 'Lt' or 'Gt'"))
    elif operator not in ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"):
        found.append(invalid(f"{path}.operator", operator, "not a valid selector operator"))
    found += _label_name(text(requirement.get("key")), f"{path}.key")
    for k, value in enumerate(values):
        found += from_messages(f"{path}.values[{k}]", value, is_valid_label_value(text(value)))
    return found


def _field_requirement(requirement: Object, path: str) -> list[FieldError]:
    operator, key = requirement.get("operator"), requirement.get("key")
    values = list_of(requirement, "values")
    found: list[FieldError] = []
    if operator not in ("In", "NotIn"):
        found.append(invalid(f"{path}.operator", operator, "not a valid selector operator"))
    elif len(values) != 1:
        found.append(required(f"{path}.values", "must be only one value when `operator` is 'In' or 'NotIn' "
                                                 "for node field selector"))
    if key != "metadata.name":
        found.append(invalid(f"{path}.key", key, "not a valid field selector key"))
    else:
        for k, value in enumerate(values):
            found += from_messages(f"{path}.values[{k}]", value, is_dns1123_subdomain(text(value)))
    return found


def _pod_affinity(affinity: Object, path: str) -> list[FieldError]:
    found: list[FieldError] = []
    hard = f"{path}.requiredDuringSchedulingIgnoredDuringExecution"
    for i, term in entries(affinity, "requiredDuringSchedulingIgnoredDuringExecution"):
        found += _pod_affinity_term(term, f"{hard}[{i}]")
    soft = f"{path}.preferredDuringSchedulingIgnoredDuringExecution"
    for i, weighted in entries(affinity, "preferredDuringSchedulingIgnoredDuringExecution"):
        found += _weight(weighted, f"{soft}[{i}].weight")
        found += _pod_affinity_term(sub(weighted, "podAffinityTerm"), f"{soft}[{i}].podAffinityTerm")
    return found


def _pod_affinity_term(term: Object, path: str) -> list[FieldError]:
    found: list[FieldError] = []
    for key in ("labelSelector", "namespaceSelector"):
        if isinstance(term.get(key), dict):
            found += validate_label_selector(term[key], f"{path}.{key}")
    for namespace in list_of(term, "namespaces"):
        found += from_messages(f"{path}.namespace", namespace, is_dns1123_label(text(namespace)))
    topology_key = text(term.get("topologyKey"))
    if not topology_key:
        found.append(required(f"{path}.topologyKey", "can not be empty"))
    return found + _label_name(topology_key, f"{path}.topologyKey")


# -- topology spread ------------------------------------------------------------------------


def validate_topology_spread(constraints: Any, path: str) -> list[FieldError]:
    found: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, constraint in indexed(constraints):
        at = f"{path}[{i}]"
        skew = number(constraint.get("maxSkew"))
        if skew is None or skew <= 0:
            found.append(invalid(f"{at}.maxSkew", skew or 0, "must be greater than zero"))
        key = text(constraint.get("topologyKey"))
        found += [required(f"{at}.topologyKey", "can not be empty")] if not key else _label_name(
            key, f"{at}.topologyKey")
        when = text(constraint.get("whenUnsatisfiable"))
        if when not in ("DoNotSchedule", "ScheduleAnyway"):
            found.append(not_supported(f"{at}.whenUnsatisfiable", when, ("DoNotSchedule", "ScheduleAnyway")))
        if (key, when) in seen:
            found.append(duplicate(at, f"{{{key}, {when}}}"))
        seen.add((key, when))
        if isinstance(constraint.get("labelSelector"), dict):
            found += validate_label_selector(constraint["labelSelector"], f"{at}.labelSelector")
    return found
