"""The ReplicaSet controller, sample-controller style: given these objects, reconcile makes these API calls."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from apimachinery import errors
from controller_manager.replicaset import ReplicaSetController
from controller_manager.replicaset_pods import deletion_order_key, pods_to_delete, slow_start_batch
from tests.unit.controller_manager.harness import Harness

Object = dict[str, Any]
KEY = "default/web"


def rs(replicas: int = 3, **spec: Any) -> Object:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web", "namespace": "default", "uid": "rs-uid", "generation": 1},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}, **spec}}


def pod(name: str, *, owned: bool = True, labels: dict[str, str] | None = None, ready: bool = True,
        node: str = "n1", phase: str = "Running", created: str = "2026-01-01T00:00:00Z",
        ready_since: str = "2026-01-01T00:00:00Z", restarts: int = 0, **meta: Any) -> Object:
    refs = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rs-uid", "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}",
                         "labels": {"app": "web"} if labels is None else labels, "creationTimestamp": created,
                         **({"ownerReferences": refs} if owned else {}), **meta},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": phase, "containerStatuses": [{"name": "c", "restartCount": restarts}],
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                       "lastTransitionTime": ready_since}]}}


def harness(objects: list[Object], options: dict[str, Any] | None = None, fail_creates_after: int | None = None
            ) -> Harness:
    """A Harness whose fake API fills in generateName as the apiserver does (and can fail creates)."""
    h = Harness(ReplicaSetController, objects, options)
    create, counter = h.api.create, itertools.count()

    async def create_with_generate_name(obj: Object, **kw: Any) -> Object:
        n = next(counter)
        if fail_creates_after is not None and n >= fail_creates_after:
            h.api.calls.append(("create", "pods", "default", ""))
            raise errors.forbidden("pods", "", "exceeded quota")
        meta = obj["metadata"]
        if not meta.get("name"):
            meta["name"] = f"{meta['generateName']}{n:05d}"
        return await create(obj, **kw)

    h.api.create = create_with_generate_name  # type: ignore[method-assign]
    return h


def stored(h: Harness, resource: str, name: str, namespace: str) -> Object:
    obj = h.stored(resource, name, namespace)
    assert obj is not None
    return obj


def creates(h: Harness) -> int:
    return sum(1 for w in h.writes() if w[:2] == ("create", "pods"))


async def test_too_few_pods_creates_the_difference_with_events() -> None:
    h = harness([rs(3), pod("a")])
    await h.reconcile(KEY)
    assert creates(h) == 2
    made = [p for p in h.all("pods") if p["metadata"]["name"] != "a"]
    assert all(p["metadata"]["ownerReferences"][0]["uid"] == "rs-uid" for p in made)
    assert all(p["metadata"]["generateName"] == "web-" for p in made)
    assert [e[1] for e in h.events] == ["SuccessfulCreate", "SuccessfulCreate"]
    assert h.events[0][2].startswith("Created pod: web-")


async def test_a_second_reconcile_before_the_informer_saw_the_creates_creates_nothing() -> None:
    h = harness([rs(3)])
    await h.reconcile(KEY)
    with pytest.raises(errors.Conflict):  # the cache still shows no pods, and the old ReplicaSet: stale status write
        await h.reconcile(KEY)
    assert creates(h) == 3


async def test_creates_stop_at_the_first_failing_slow_start_batch() -> None:
    h = harness([rs(10)], fail_creates_after=2)  # batch 1 succeeds, batch of 2 has one failure: no batch of 4
    with pytest.raises(errors.Forbidden):
        await h.reconcile(KEY)
    assert creates(h) == 3
    status = stored(h, "replicasets.apps", "web", "default")["status"]
    failure = status["conditions"][0]
    assert (failure["type"], failure["reason"]) == ("ReplicaFailure", "FailedCreate")
    assert "FailedCreate" in [e[1] for e in h.events]


async def test_creates_are_limited_by_the_burst() -> None:
    h = harness([rs(10)], {"replicaset_burst_replicas": 4})
    await h.reconcile(KEY)
    assert creates(h) == 4


async def test_too_many_pods_deletes_the_least_valuable() -> None:
    h = harness([rs(2), pod("old", created="2025-01-01T00:00:00Z"), pod("unready", ready=False),
                 pod("pending", phase="Pending", ready=False), pod("new", created="2026-01-02T00:00:00Z")])
    await h.reconcile(KEY)
    assert sorted(w[3] for w in h.writes() if w[0] == "delete") == ["pending", "unready"]
    assert sorted(e[2] for e in h.events) == ["Deleted pod: pending", "Deleted pod: unready"]


async def test_a_matching_orphan_is_adopted_and_counted() -> None:
    h = harness([rs(2), pod("a"), pod("orphan", owned=False)])
    await h.reconcile(KEY)
    assert ("patch", "pods", "default", "orphan") in h.writes()
    assert stored(h, "pods", "orphan", "default")["metadata"]["ownerReferences"][0]["uid"] == "rs-uid"
    assert creates(h) == 0


async def test_a_replicaset_being_deleted_adopts_nothing_and_creates_nothing() -> None:
    doomed = rs(2)
    doomed["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    h = harness([doomed, pod("orphan", owned=False)])
    await h.reconcile(KEY)
    assert [w[0] for w in h.writes()] == ["update"]  # status only


async def test_an_owned_pod_that_no_longer_matches_is_released_and_replaced() -> None:
    h = harness([rs(1), pod("moved", labels={"app": "other"})])
    await h.reconcile(KEY)
    assert ("patch", "pods", "default", "moved") in h.writes()
    assert creates(h) == 1


async def test_pods_owned_by_another_controller_are_ignored() -> None:
    foreign = pod("foreign")
    foreign["metadata"]["ownerReferences"][0]["uid"] = "someone-else"
    h = harness([rs(1), foreign])
    await h.reconcile(KEY)
    assert creates(h) == 1
    assert not any(w[0] == "patch" for w in h.writes())


async def test_status_counts_ready_available_and_fully_labeled_pods() -> None:
    h = harness([rs(3, minReadySeconds=3600), pod("a"), pod("b", ready_since="2999-01-01T00:00:00Z"),
                 pod("c", ready=False, labels={"app": "web"})])
    await h.reconcile(KEY)
    status = stored(h, "replicasets.apps", "web", "default")["status"]
    assert status == {"replicas": 3, "fullyLabeledReplicas": 3, "readyReplicas": 2, "availableReplicas": 1,
                      "observedGeneration": 1}


async def test_an_up_to_date_status_is_not_rewritten() -> None:
    current = rs(1)
    current["status"] = {"replicas": 1, "fullyLabeledReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
                         "observedGeneration": 1}
    h = harness([current, pod("a")])
    await h.reconcile(KEY)
    assert h.writes() == []


async def test_a_deleted_replicaset_is_forgotten() -> None:
    h = harness([])
    await h.reconcile(KEY)
    assert h.writes() == []


def test_deletion_order_follows_kubernetes_active_pods() -> None:
    ordered = [
        pod("unscheduled", node="", phase="Pending", ready=False),
        pod("pending", phase="Pending", ready=False),
        pod("unknown", phase="Unknown", ready=False),
        pod("running-not-ready", ready=False),
        pod("ready-recently", ready_since="2026-01-03T00:00:00Z", restarts=0),
        pod("ready-long-restarting", ready_since="2026-01-01T00:00:00Z", restarts=5),
        pod("ready-long-newer", ready_since="2026-01-01T00:00:00Z", created="2025-06-01T00:00:00Z"),
        pod("ready-long-older", ready_since="2026-01-01T00:00:00Z", created="2025-01-01T00:00:00Z"),
    ]
    shuffled = list(reversed(ordered))
    assert [p["metadata"]["name"] for p in sorted(shuffled, key=deletion_order_key)] == \
        [p["metadata"]["name"] for p in ordered]


def test_doubled_up_pods_are_deleted_first() -> None:
    alone, crowded = pod("alone", node="n1"), pod("crowded", node="n2")
    related = [alone, crowded, pod("sibling", node="n2")]
    assert pods_to_delete([alone, crowded], related, 1) == [crowded]


async def test_slow_start_batches_double_and_stop_at_the_first_error() -> None:
    calls: list[int] = []

    async def fn() -> None:
        calls.append(1)
        if len(calls) > 7:
            raise RuntimeError("boom")

    successes, error = await slow_start_batch(20, 1, fn)
    assert (successes, len(calls), str(error)) == (7, 15, "boom")  # batches 1, 2, 4, then a batch of 8 fails
