"""scheduling.k8s.io/v1: PriorityClass, the name a pod gives for how important it is.

A PriorityClass maps a name to an int32 `value`; the Priority admission plugin copies that value
into `spec.priority` of every pod naming the class, and the scheduler orders its queue and picks
preemption victims by it. Validation follows pkg/apis/scheduling/validation: user classes may not
exceed 1,000,000,000 (higher values are kept for the built-in `system-` classes), the `system-`
prefix is reserved, and `value` and `preemptionPolicy` never change.
"""

from __future__ import annotations

from apimachinery.api.common import Object, forbidden, immutable, not_supported, number, sub, text
from apimachinery.errors import FieldError
from apimachinery.kinds import ResourceType
from apimachinery.names import is_dns1123_subdomain, validate_object_meta

HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000
SYSTEM_PRIORITY_CLASS_PREFIX = "system-"
SYSTEM_PRIORITY_CLASSES = {"system-cluster-critical": 2_000_000_000, "system-node-critical": 2_000_001_000}
PREEMPTION_POLICIES = ("PreemptLowerPriority", "Never")


def default_priority_class(obj: Object) -> None:
    if obj.get("preemptionPolicy") is None:
        obj["preemptionPolicy"] = "PreemptLowerPriority"


def validate_priority_class(obj: Object) -> list[FieldError]:
    found = validate_object_meta(sub(obj, "metadata"), False, is_dns1123_subdomain)
    name = text(sub(obj, "metadata").get("name"))
    value = number(obj.get("value"))
    if name.startswith(SYSTEM_PRIORITY_CLASS_PREFIX):
        if SYSTEM_PRIORITY_CLASSES.get(name) != value or obj.get("globalDefault"):
            found.append(forbidden("metadata.name", f"priority class names with '{SYSTEM_PRIORITY_CLASS_PREFIX}' "
                                                    "prefix are reserved for system use only"))
    elif value is not None and value > HIGHEST_USER_DEFINABLE_PRIORITY:
        found.append(forbidden("value", "maximum allowed value of a user defined priority is "
                                        f"{HIGHEST_USER_DEFINABLE_PRIORITY}"))
    policy = obj.get("preemptionPolicy")
    if policy is not None and policy not in PREEMPTION_POLICIES:
        found.append(not_supported("preemptionPolicy", policy, PREEMPTION_POLICIES))
    return found


def validate_priority_class_update(new: Object, old: Object) -> list[FieldError]:
    return (validate_priority_class(new) + immutable(new.get("value"), old.get("value"), "value")
            + immutable(new.get("preemptionPolicy"), old.get("preemptionPolicy"), "preemptionPolicy"))


TYPES: list[ResourceType] = [
    ResourceType("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", namespaced=False,
                 short_names=("pc",), has_status=False, schema_ref="io.k8s.api.scheduling.v1.PriorityClass",
                 default=default_priority_class, validate=validate_priority_class,
                 validate_update=validate_priority_class_update),
]
