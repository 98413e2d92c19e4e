from typing import Any

import pytest

from apimachinery.api.scheduling import default_priority_class, validate_priority_class, validate_priority_class_update
from apimachinery.kinds import default_registry


def priority_class(name: str = "batch", value: Any = 100, **extra: Any) -> dict[str, Any]:
    obj = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
           "value": value, **extra}
    default_priority_class(obj)
    return obj


def test_priority_class_is_a_cluster_scoped_kind_in_scheduling_k8s_io() -> None:
    rt = default_registry().resolve("pc")
    assert (rt.api_version, rt.kind, rt.plural, rt.namespaced) == ("scheduling.k8s.io/v1", "PriorityClass",
                                                                   "priorityclasses", False)


@pytest.mark.parametrize(("obj", "fields"), [
    (priority_class(), []),
    (priority_class(value=1_000_000_000), []),
    (priority_class(value=1_000_000_001), ["value"]),
    (priority_class(value=-5), []),
    (priority_class("system-node-critical", 2000001000), []),
    (priority_class("system-mine", 5), ["metadata.name"]),
    (priority_class("Bad_Name"), ["metadata.name"]),
    (priority_class(preemptionPolicy="Sometimes"), ["preemptionPolicy"]),
])
def test_validation_names_the_field(obj: dict[str, Any], fields: list[str]) -> None:
    assert [e.field for e in validate_priority_class(obj)] == fields


def test_defaults_preemption_policy() -> None:
    assert priority_class()["preemptionPolicy"] == "PreemptLowerPriority"


@pytest.mark.parametrize(("change", "fields"), [
    ({"description": "new words"}, []),
    ({"value": 5}, ["value"]),
    ({"preemptionPolicy": "Never"}, ["preemptionPolicy"]),
])
def test_value_and_preemption_policy_are_immutable(change: dict[str, Any], fields: list[str]) -> None:
    old = priority_class()
    assert [e.field for e in validate_priority_class_update({**old, **change}, old)] == fields
