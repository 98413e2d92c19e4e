"""Container resources: validateResourceRequirements and the pod QoS class (ComputePodQOS).

Requests and limits are maps from a resource name (cpu, memory, ephemeral-storage, hugepages-*,
or a qualified extended-resource name such as `nvidia.com/gpu`) to a quantity. A request may
not exceed its limit; an extended resource must request exactly its limit.
"""

from __future__ import annotations

from typing import Any

from apimachinery.api.common import Object, entries, from_messages, invalid, sub
from apimachinery.errors import FieldError
from apimachinery.names import is_qualified_name
from apimachinery.quantity import Quantity, validate_non_negative_quantity

STANDARD_CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")
QOS_RESOURCES = ("cpu", "memory")


def parse(value: Any) -> Quantity | None:
    try:
        return Quantity.parse(value)
    except (ValueError, TypeError):
        return None


def canonicalize(amounts: Any) -> None:
    """Quantities are stored as Kubernetes serializes them: `1000m` -> `1`, `1024Mi` -> `1Gi`."""
    if not isinstance(amounts, dict):
        return
    for name, value in amounts.items():
        quantity = parse(value)
        if quantity is not None:
            amounts[name] = str(quantity)


def compare(a: Quantity, b: Quantity) -> int:
    """-1, 0 or 1, like resource.Quantity.Cmp."""
    return (a > b) - (a < b)


def _is_native(name: str) -> bool:
    return "/" not in name or name.split("/", 1)[0].endswith("kubernetes.io")


def _is_overcommit_allowed(name: str) -> bool:
    """Native resources other than hugepages may be requested below their limit."""
    return _is_native(name) and not name.startswith("hugepages-")


def _validate_name(name: str, path: str) -> list[FieldError]:
    found = from_messages(path, name, is_qualified_name(name))
    if "/" not in name:
        if name not in STANDARD_CONTAINER_RESOURCES and not name.startswith("hugepages-"):
            found.append(invalid(path, name, "must be a standard resource for containers"))
    elif not _is_native(name) and (name.startswith("requests.") or is_qualified_name(f"requests.{name}")):
        found.append(invalid(path, name, "doesn't follow extended resource name standard"))
    return found


def _validate_quantity(name: str, value: Any, path: str) -> list[FieldError]:
    found = list(validate_non_negative_quantity(value, path))
    quantity = parse(value)
    if not found and quantity is not None and not _is_native(name) and quantity.milli_value() % 1000:
        found.append(invalid(path, str(quantity), "must be an integer"))
    return found


def validate_requirements(resources: Object, path: str) -> list[FieldError]:
    limits, requests = sub(resources, "limits"), sub(resources, "requests")
    found: list[FieldError] = []
    for name, value in limits.items():
        found += _validate_name(name, f"{path}.limits[{name}]")
        found += _validate_quantity(name, value, f"{path}.limits[{name}]")
    for name, value in requests.items():
        at = f"{path}.requests[{name}]"
        found += _validate_name(name, at)
        errors = _validate_quantity(name, value, at)
        found += errors
        if not errors and name in limits:
            found += _request_within_limit(name, value, limits[name], f"{path}.requests")
        elif not errors and not _is_overcommit_allowed(name):
            found.append(invalid(at, value, "Limit must be set for non overcommitable resources"))
    return found


def _request_within_limit(name: str, request: Any, limit: Any, path: str) -> list[FieldError]:
    wanted, allowed = parse(request), parse(limit)
    if wanted is None or allowed is None:
        return []
    shown = str(wanted)
    if not _is_overcommit_allowed(name) and compare(wanted, allowed) != 0:
        return [invalid(path, shown, f"must be equal to {name} limit of {allowed}")]
    if compare(wanted, allowed) > 0:
        return [invalid(path, shown, f"must be less than or equal to {name} limit of {allowed}")]
    return []


# -- QoS ------------------------------------------------------------------------------------


def qos_class(spec: Object) -> str:
    """Guaranteed, Burstable or BestEffort, from the cpu/memory of app and init containers."""
    requests: dict[str, Quantity] = {}
    limits: dict[str, Quantity] = {}
    guaranteed = True
    containers = [c for key in ("containers", "initContainers") for _, c in entries(spec, key)]
    for container in containers:
        resources = sub(container, "resources")
        _accumulate(sub(resources, "requests"), requests)
        if not set(QOS_RESOURCES) <= _accumulate(sub(resources, "limits"), limits):
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    matching = all(name in limits and compare(limits[name], value) == 0 for name, value in requests.items())
    if guaranteed and matching and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


def _accumulate(amounts: Object, totals: dict[str, Quantity]) -> set[str]:
    """Add the positive cpu/memory amounts into `totals`; the names that were positive."""
    zero = Quantity.parse("0")
    positive: set[str] = set()
    for name in QOS_RESOURCES:
        quantity = parse(amounts[name]) if name in amounts else None
        if quantity is None or compare(quantity, zero) <= 0:
            continue
        positive.add(name)
        totals[name] = totals[name] + quantity if name in totals else quantity
    return positive
