"""compute_deletion as a table: when an object goes at once and when it is only marked."""

from datetime import UTC, datetime

import pytest

from apimachinery import errors
from apimachinery.kinds import ResourceType
from apiserver.registry.deletion import (
    DeleteOptions,
    compute_deletion,
    compute_finalizers,
    parse_delete_options,
)

POD = ResourceType("", "v1", "Pod", "pods")
CONFIGMAP = ResourceType("", "v1", "ConfigMap", "configmaps")
NAMESPACE = ResourceType("", "v1", "Namespace", "namespaces", namespaced=False)
NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


def obj(**meta):
    return {"metadata": {"name": "x", "uid": "u1", "resourceVersion": "7", **meta}, "spec": {}}


def bound_pod(grace=None, phase="Running", **meta):
    o = obj(**meta)
    o["spec"] = {"nodeName": "n1"}
    if grace is not None:
        o["spec"]["terminationGracePeriodSeconds"] = grace
    o["status"] = {"phase": phase}
    return o


@pytest.mark.parametrize(("rt", "stored", "options", "delete_now", "grace"), [
    (CONFIGMAP, obj(), DeleteOptions(), True, None),
    (CONFIGMAP, obj(finalizers=["a/b"]), DeleteOptions(), False, 0),
    (POD, bound_pod(), DeleteOptions(), False, 30),
    (POD, bound_pod(grace=5), DeleteOptions(), False, 5),
    (POD, bound_pod(grace=5), DeleteOptions(grace_period_seconds=0), True, None),
    (POD, bound_pod(phase="Succeeded"), DeleteOptions(), True, None),
    (POD, obj(), DeleteOptions(), True, None),
    (CONFIGMAP, obj(), DeleteOptions(propagation_policy="Foreground"), False, 0),
    (CONFIGMAP, obj(), DeleteOptions(propagation_policy="Background"), True, None),
])
def test_deletion_plan(rt, stored, options, delete_now, grace):
    plan = compute_deletion(rt, stored, options, NOW)
    assert plan.delete_now is delete_now
    if not delete_now:
        assert plan.marked is not None
        assert plan.marked["metadata"]["deletionGracePeriodSeconds"] == grace


def test_a_namespace_with_spec_finalizers_is_marked_terminating():
    ns = obj()
    ns["spec"] = {"finalizers": ["kubernetes"]}
    plan = compute_deletion(NAMESPACE, ns, DeleteOptions(), NOW)
    assert not plan.delete_now and plan.marked is not None
    assert plan.marked["status"]["phase"] == "Terminating"


def marked(rt, stored, options):
    plan = compute_deletion(rt, stored, options, NOW)
    assert plan.marked is not None
    return plan.marked


def test_deletion_timestamp_is_now_plus_grace_and_never_moves_later():
    first = marked(POD, bound_pod(grace=10), DeleteOptions())
    assert first["metadata"]["deletionTimestamp"] == "2026-11-22T12:00:10Z"
    later = marked(POD, {**first, "metadata": {**first["metadata"]}}, DeleteOptions(grace_period_seconds=60))
    assert later["metadata"]["deletionTimestamp"] == "2026-11-22T12:00:10Z"
    sooner = marked(POD, {**first, "metadata": {**first["metadata"]}}, DeleteOptions(grace_period_seconds=2))
    assert sooner["metadata"]["deletionTimestamp"] == "2026-11-22T12:00:02Z"


def test_preconditions_that_do_not_hold_are_conflicts():
    with pytest.raises(errors.Conflict, match="UID in precondition"):
        compute_deletion(CONFIGMAP, obj(), DeleteOptions(precondition_uid="other"), NOW)
    with pytest.raises(errors.Conflict, match="ResourceVersion in precondition"):
        compute_deletion(CONFIGMAP, obj(), DeleteOptions(precondition_resource_version="3"), NOW)


@pytest.mark.parametrize(("current", "policy", "expected"), [
    ([], "Orphan", ["orphan"]),
    (["a/b"], "Foreground", ["a/b", "foregroundDeletion"]),
    (["orphan", "a/b"], "Foreground", ["a/b", "foregroundDeletion"]),
    (["orphan"], "Background", []),
    (["a/b"], None, ["a/b"]),
])
def test_propagation_policy_sets_the_garbage_collector_finalizer(current, policy, expected):
    assert compute_finalizers(current, policy) == expected


@pytest.mark.parametrize(("raw", "message"), [
    ({"gracePeriodSeconds": -1}, "gracePeriodSeconds"),
    ({"gracePeriodSeconds": "5"}, "gracePeriodSeconds"),
    ({"propagationPolicy": "Now"}, "propagationPolicy"),
    ({"propagationPolicy": "Orphan", "orphanDependents": True}, "cannot be both set"),
])
def test_bad_delete_options_are_bad_requests_naming_the_field(raw, message):
    with pytest.raises(errors.BadRequest, match=message):
        parse_delete_options(raw)
