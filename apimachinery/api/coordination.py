"""coordination.k8s.io/v1: Lease, the lock leader election and node heartbeats are built on.

Validation follows pkg/apis/coordination/validation: a positive leaseDurationSeconds, a
non-negative leaseTransitions, a known strategy, and a preferredHolder only with a strategy.
"""

from __future__ import annotations

from apimachinery.api.common import Object, forbidden, invalid, non_negative, not_supported, number, sub, text
from apimachinery.errors import FieldError
from apimachinery.kinds import ResourceType
from apimachinery.names import is_dns1123_subdomain, validate_object_meta

STRATEGIES = ("OldestEmulationVersion",)


def validate_lease(obj: Object) -> list[FieldError]:
    spec = sub(obj, "spec")
    found = validate_object_meta(sub(obj, "metadata"), True, is_dns1123_subdomain)
    duration = number(spec.get("leaseDurationSeconds"))
    if duration is not None and duration <= 0:
        found.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    found += non_negative(spec.get("leaseTransitions"), "spec.leaseTransitions")
    strategy = text(spec.get("strategy"))
    if strategy and strategy not in STRATEGIES:
        found.append(not_supported("spec.strategy", strategy, STRATEGIES))
    if text(spec.get("preferredHolder")) and not strategy:
        found.append(forbidden("spec.preferredHolder", "may only be specified if `strategy` is defined"))
    return found


TYPES: list[ResourceType] = [
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases", has_status=False,
                 schema_ref="io.k8s.api.coordination.v1.Lease", validate=validate_lease),
]
