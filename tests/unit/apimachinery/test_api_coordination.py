"""coordination.k8s.io/v1 Lease."""

from __future__ import annotations

import pytest
import yaml

from apimachinery import schema
from apimachinery.api import coordination
from apimachinery.errors import FIELD_VALUE_FORBIDDEN, FIELD_VALUE_INVALID
from tests.unit.apimachinery.kind_helpers import admitted, changed, create_errors, fields

LEASE = yaml.safe_load("""
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: kube-scheduler
  namespace: kube-system
spec:
  holderIdentity: scheduler-1_6f1c9d1e
  leaseDurationSeconds: 15
  acquireTime: "2024-01-01T00:00:00.000000Z"
  renewTime: "2024-01-01T00:00:10.000000Z"
  leaseTransitions: 2
""")


def test_lease_validates_clean_and_matches_the_openapi_schema():
    assert create_errors(LEASE) == []
    assert schema.validate(admitted(LEASE), "io.k8s.api.coordination.v1.Lease").errors == []


def test_lease_type_is_addressed_like_kubernetes():
    (rt,) = coordination.TYPES
    assert (rt.group, rt.plural, rt.short_names, rt.has_status) == ("coordination.k8s.io", "leases", (), False)


@pytest.mark.parametrize(("mutate", "path", "kind"), [
    (lambda lease: lease["spec"].update(leaseDurationSeconds=0), "spec.leaseDurationSeconds", FIELD_VALUE_INVALID),
    (lambda lease: lease["spec"].update(leaseTransitions=-1), "spec.leaseTransitions", FIELD_VALUE_INVALID),
    (lambda lease: lease["spec"].update(preferredHolder="scheduler-2"), "spec.preferredHolder",
     FIELD_VALUE_FORBIDDEN),
], ids=["zero_lease_duration_is_invalid", "negative_transitions_is_invalid",
        "preferred_holder_without_strategy_is_forbidden"])
def test_invalid_lease_is_rejected_naming_the_field(mutate, path, kind):
    assert (path, kind) in fields(create_errors(changed(LEASE, mutate)))
