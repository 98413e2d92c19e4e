"""The disruption controller: compute_pdb_status as a table, and reconcile through the harness."""

from __future__ import annotations

from typing import Any

import pytest

from controller_manager.disruption import DisruptionController
from controller_manager.disruption_status import (
    DELETION_TIMEOUT,
    Expected,
    SyncError,
    compute_pdb_status,
    expected_and_desired,
)
from controller_manager.podutil import parse_time
from tests.unit.controller_manager.harness import Harness

Object = dict[str, Any]
NOW = parse_time("2026-01-01T01:00:00Z") or 0.0
MINUTE_AGO, LONG_AGO = "2026-01-01T00:59:00Z", "2026-01-01T00:50:00Z"


def pdb(*, generation: int = 1, status: Object | None = None, **spec: Any) -> Object:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "web", "namespace": "default", "generation": generation},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec}, "status": status or {}}


def pod(name: str, *, ready: bool = True, deleting: bool = False, owner: Object | None = None,
        labels: dict[str, str] | None = None) -> Object:
    meta: Object = {"name": name, "namespace": "default", "uid": f"uid-{name}",
                    "labels": {"app": "web"} if labels is None else labels}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:59:30Z"
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner["kind"], "name": owner["metadata"]["name"],
                                    "uid": owner["metadata"]["uid"], "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"containers": [{"name": "c", "image": "x"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def workload(kind: str, name: str, replicas: int, owner: Object | None = None) -> Object:
    meta: Object = {"name": name, "namespace": "default", "uid": f"uid-{name}"}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": owner["metadata"]["name"],
                                    "uid": owner["metadata"]["uid"], "controller": True}]
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta,
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}}}


# -- compute_pdb_status ------------------------------------------------------------------------------

STATUS_CASES = [
    # (case, pods, expected, disruptedPods, → currentHealthy, disruptionsAllowed, disruptedPods kept)
    ("three ready, two desired", [pod("a"), pod("b"), pod("c")], Expected(3, 2), {}, 3, 1, {}),
    ("an unready pod is not healthy", [pod("a"), pod("b", ready=False)], Expected(2, 1), {}, 1, 0, {}),
    ("a terminating pod is not healthy", [pod("a"), pod("b", deleting=True)], Expected(2, 1), {}, 1, 0, {}),
    ("never negative", [pod("a")], Expected(1, 3), {}, 1, 0, {}),
    ("no pods expected, nothing allowed", [pod("a")], Expected(0, 0), {}, 1, 0, {}),
    ("a recent eviction does not count", [pod("a"), pod("b")], Expected(2, 1), {"b": MINUTE_AGO}, 1, 0,
     {"b": MINUTE_AGO}),
    ("an old eviction is dropped and counts again", [pod("a"), pod("b")], Expected(2, 1), {"b": LONG_AGO}, 2, 1, {}),
    ("an eviction of a deleted pod is dropped", [pod("a")], Expected(1, 0), {"gone": MINUTE_AGO}, 1, 1, {}),
    ("an eviction of a terminating pod is dropped", [pod("a", deleting=True)], Expected(1, 0), {"a": MINUTE_AGO},
     0, 0, {}),
]


@pytest.mark.parametrize(("case", "pods", "expected", "disrupted", "healthy", "allowed", "kept"), STATUS_CASES,
                         ids=[c[0] for c in STATUS_CASES])
def test_compute_pdb_status(case: str, pods: list[Object], expected: Expected, disrupted: dict[str, str],
                            healthy: int, allowed: int, kept: dict[str, str]):
    update = compute_pdb_status(pdb(generation=4, status={"disruptedPods": disrupted}), pods, expected, NOW)
    assert update.status is not None
    status = update.status
    assert (status["currentHealthy"], status["desiredHealthy"], status["expectedPods"]) == (
        healthy, expected.desired_healthy, expected.expected_pods)
    assert (status["disruptionsAllowed"], status.get("disruptedPods", {}), status["observedGeneration"]) == (
        allowed, kept, 4)
    condition = status["conditions"][0]
    assert (condition["type"], condition["status"], condition["reason"]) == (
        "DisruptionAllowed", "True" if allowed else "False", "SufficientPods" if allowed else "InsufficientPods")


def test_a_kept_eviction_asks_to_look_again_when_it_expires():
    update = compute_pdb_status(pdb(status={"disruptedPods": {"b": MINUTE_AGO}}), [pod("b")], Expected(1, 0), NOW)
    assert update.recheck_after == pytest.approx(DELETION_TIMEOUT - 60)


def test_a_current_status_is_not_written_again():
    first = compute_pdb_status(pdb(), [pod("a"), pod("b")], Expected(2, 1), NOW).status
    again = compute_pdb_status(pdb(status=first), [pod("a"), pod("b")], Expected(2, 1), NOW + 30)
    assert again.status is None


# -- expected and desired counts -------------------------------------------------------------------------

def scales(**replicas: int) -> Any:
    return lambda ref, namespace: (ref["uid"], replicas[ref["name"]]) if ref["name"] in replicas else None


RS = workload("ReplicaSet", "rs", 4)


@pytest.mark.parametrize(("spec", "expected_pods", "desired"), [
    ({"minAvailable": 2}, 3, 2),  # an integer needs no controller: the pods are the expectation
    ({"minAvailable": "50%"}, 4, 2),  # against the controller's replicas
    ({"minAvailable": "30%"}, 4, 2),  # rounded up
    ({"maxUnavailable": 1}, 4, 3),
    ({"maxUnavailable": "25%"}, 4, 3),
    ({"maxUnavailable": "100%"}, 4, 0),
])
def test_expected_and_desired_counts(spec: Object, expected_pods: int, desired: int):
    pods = [pod(n, owner=RS) for n in "abc"]
    got = expected_and_desired(pdb(**spec), pods, scales(rs=4))
    assert (got.expected_pods, got.desired_healthy) == (expected_pods, desired)


def test_pods_of_one_controller_count_its_scale_once_and_unmanaged_pods_are_reported():
    pods = [pod("a", owner=RS), pod("b", owner=RS), pod("lone")]
    got = expected_and_desired(pdb(maxUnavailable=1), pods, scales(rs=4))
    assert (got.expected_pods, got.desired_healthy, got.unmanaged) == (4, 3, ["lone"])


def test_a_controller_without_a_scale_fails_the_sync():
    with pytest.raises(SyncError, match='found no controllers for pod "a"'):
        expected_and_desired(pdb(maxUnavailable=1), [pod("a", owner=RS)], scales())


# -- reconcile ---------------------------------------------------------------------------------------------

def harness(*objects: Object) -> tuple[Harness, DisruptionController]:
    h = Harness(DisruptionController, objects)
    assert isinstance(h.controller, DisruptionController)
    h.controller.clock = lambda: NOW
    return h, h.controller


async def status_after(*objects: Object) -> Object:
    h, _ = harness(*objects)
    await h.reconcile("default/web")
    stored = h.stored("poddisruptionbudgets", "web", "default")
    assert stored is not None
    return stored["status"]


async def test_reconcile_writes_the_status_from_the_selected_pods_only():
    status = await status_after(pdb(minAvailable=1), pod("a"), pod("b"), pod("other", labels={"app": "db"}))
    assert (status["expectedPods"], status["currentHealthy"], status["desiredHealthy"],
            status["disruptionsAllowed"], status["observedGeneration"]) == (2, 2, 1, 1, 1)


async def test_a_deployments_replicas_scale_a_percentage_through_its_replica_set():
    deployment = {**workload("Deployment", "web", 5)}
    rs = workload("ReplicaSet", "web-abc", 2, owner=deployment)
    status = await status_after(pdb(maxUnavailable="20%"), deployment, rs, pod("a", owner=rs), pod("b", owner=rs))
    assert (status["expectedPods"], status["desiredHealthy"], status["disruptionsAllowed"]) == (5, 4, 0)


async def test_a_stateful_sets_replicas_scale_max_unavailable():
    sts = workload("StatefulSet", "db", 3)
    status = await status_after(pdb(maxUnavailable=1), sts, *[pod(n, owner=sts) for n in ("db-0", "db-1", "db-2")])
    assert (status["expectedPods"], status["desiredHealthy"], status["disruptionsAllowed"]) == (3, 2, 1)


async def test_a_pod_whose_controller_has_no_scale_fails_safe():
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "namespace": "default", "uid": "uid-j"}}
    orphan_of_job = pod("a")
    orphan_of_job["metadata"]["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "Job", "name": "j",
                                                     "uid": "uid-j", "controller": True}]
    status = await status_after(pdb(maxUnavailable=1, status={"disruptionsAllowed": 3}), job, orphan_of_job)
    condition = status["conditions"][0]
    assert (status["disruptionsAllowed"], status["expectedPods"], status["currentHealthy"]) == (0, 0, 0)
    assert (condition["status"], condition["reason"], condition["message"]) == (
        "False", "SyncFailed", 'found no controllers for pod "a"')


async def test_reconcile_twice_writes_once():
    h, _ = harness(pdb(minAvailable=1), pod("a"), pod("b"))
    await h.reconcile("default/web")
    h.sync_caches()
    await h.reconcile("default/web")
    assert h.writes() == [("update", "poddisruptionbudgets.policy", "default", "web")]


async def test_a_pod_event_enqueues_the_budgets_selecting_it():
    _, controller = harness(pdb(minAvailable=1), pod("a"))
    controller._pod_updated(pod("a", labels={"app": "db"}), pod("a"))
    controller._pod_changed(pod("x", labels={"app": "db"}))
    assert len(controller.queue) == 1
