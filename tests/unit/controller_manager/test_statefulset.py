"""StatefulSet controller: given a set and its pods in the caches, reconcile makes these writes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from controller_manager import history
from controller_manager.statefulset import StatefulSetController
from controller_manager.statefulset_pods import POD_INDEX_LABEL, POD_NAME_LABEL, new_stateful_set_pod
from tests.unit.controller_manager.harness import Harness

Object = dict[str, Any]
READY = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True",
                                             "lastTransitionTime": "2026-01-01T00:00:00Z"}]}


def sts(replicas: int = 3, *, policy: str = "OrderedReady", image: str = "nginx:1", partition: int | None = None,
        strategy: str = "RollingUpdate", **spec: Any) -> Object:
    update: Object = {"type": strategy}
    if strategy == "RollingUpdate":
        update["rollingUpdate"] = {"partition": partition or 0}
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "web", "namespace": "default", "uid": "uid-web", "generation": 1},
            "spec": {"replicas": replicas, "serviceName": "nginx", "podManagementPolicy": policy,
                     "selector": {"matchLabels": {"app": "web"}}, "updateStrategy": update,
                     "revisionHistoryLimit": 10,
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}, **spec}}


def revision_of(s: Object, number: int = 1) -> Object:
    rev = history.new_controller_revision(s, history.template_patch(s), number)
    rev["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    return rev


def pod(s: Object, ordinal: int, status: Object | None = READY, rev: Object | None = None) -> Object:
    p = new_stateful_set_pod(s, rev or revision_of(s), ordinal)
    p["metadata"]["uid"] = f"uid-web-{ordinal}"
    p["status"] = copy.deepcopy(status or {})
    return p


def pod_writes(h: Harness) -> list[tuple[str, str]]:
    return [(verb, name) for verb, resource, _ns, name in h.writes() if resource == "pods"]


async def reconcile(objects: list[Object]) -> Harness:
    h = Harness(StatefulSetController, objects)
    await h.reconcile("default/web")
    return h


@pytest.mark.parametrize(("policy", "existing", "expected"), [
    ("OrderedReady", [], [("create", "web-0")]),  # one at a time
    ("OrderedReady", [(0, {"phase": "Pending"})], []),  # web-0 not Ready yet: wait
    ("OrderedReady", [(0, READY)], [("create", "web-1")]),  # web-0 Ready: next ordinal
    ("OrderedReady", [(0, READY), (2, READY)], [("create", "web-1")]),  # fills the gap first
    ("Parallel", [], [("create", "web-0"), ("create", "web-1"), ("create", "web-2")]),
    ("Parallel", [(0, {"phase": "Pending"})], [("create", "web-1"), ("create", "web-2")]),
])
async def test_scale_up(policy: str, existing: list[tuple[int, Object]], expected: list[tuple[str, str]]) -> None:
    s = sts(policy=policy)
    h = await reconcile([s, *(pod(s, i, status) for i, status in existing)])
    assert pod_writes(h) == expected


@pytest.mark.parametrize(("policy", "existing", "expected"), [
    ("OrderedReady", [0, 1, 2, 3, 4], [("delete", "web-4")]),  # highest first, one at a time
    ("Parallel", [0, 1, 2, 3, 4], [("delete", "web-4"), ("delete", "web-3")]),
])
async def test_scale_down_removes_the_highest_ordinals(policy: str, existing: list[int],
                                                       expected: list[tuple[str, str]]) -> None:
    s = sts(policy=policy)
    h = await reconcile([s, *(pod(s, i) for i in existing)])
    assert pod_writes(h) == expected


async def test_ordered_scale_down_waits_for_an_unready_pod() -> None:
    s = sts(replicas=1)
    h = await reconcile([s, pod(s, 0, {"phase": "Pending"}), pod(s, 1), pod(s, 2)])
    assert pod_writes(h) == []


async def test_ordered_scale_down_waits_for_a_terminating_pod() -> None:
    s = sts(replicas=1)
    terminating = pod(s, 2)
    terminating["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    h = await reconcile([s, pod(s, 0), pod(s, 1), terminating])
    assert pod_writes(h) == []


async def test_created_pod_has_the_stable_identity_and_revision_label() -> None:
    h = await reconcile([sts(replicas=1)])
    created = h.stored("pods", "web-0", "default")
    assert created is not None
    labels = created["metadata"]["labels"]
    assert labels[POD_NAME_LABEL] == "web-0" and labels[POD_INDEX_LABEL] == "0" and labels["app"] == "web"
    assert created["spec"]["hostname"] == "web-0" and created["spec"]["subdomain"] == "nginx"
    revisions = h.all("controllerrevisions.apps")
    assert [r["metadata"]["name"] for r in revisions] == [labels[history.CONTROLLER_REVISION_HASH_LABEL]]
    assert created["metadata"]["ownerReferences"][0]["uid"] == "uid-web"
    assert ("Normal", "SuccessfulCreate", "create Pod web-0 in StatefulSet web successful") in h.events


async def test_a_failed_pod_is_deleted_to_be_recreated() -> None:
    s = sts(replicas=2)
    h = await reconcile([s, pod(s, 0, {"phase": "Failed"}), pod(s, 1)])
    assert pod_writes(h) == [("delete", "web-0")]


async def test_a_pod_whose_identity_drifted_is_updated_back() -> None:
    s = sts(replicas=1)
    drifted = pod(s, 0)
    del drifted["metadata"]["labels"][POD_NAME_LABEL]
    h = await reconcile([s, drifted])
    assert pod_writes(h) == [("update", "web-0")]
    stored = h.stored("pods", "web-0", "default")
    assert stored is not None and stored["metadata"]["labels"][POD_NAME_LABEL] == "web-0"


@pytest.mark.parametrize(("partition", "updated", "expected"), [
    (0, [], [("delete", "web-2")]),  # highest ordinal first
    (0, [2], [("delete", "web-1")]),
    (2, [2], []),  # below the partition stays on the old revision
    (1, [], [("delete", "web-2")]),
])
async def test_rolling_update_replaces_outdated_pods_at_or_above_the_partition(
        partition: int, updated: list[int], expected: list[tuple[str, str]]) -> None:
    old, new = sts(image="nginx:1"), sts(image="nginx:2", partition=partition)
    old_rev, new_rev = revision_of(old, 1), revision_of(new, 2)
    new["status"] = {"currentRevision": old_rev["metadata"]["name"], "observedGeneration": 1}
    pods = [pod(new if i in updated else old, i, rev=new_rev if i in updated else old_rev) for i in range(3)]
    h = await reconcile([new, old_rev, new_rev, *pods])
    assert pod_writes(h) == expected


async def test_rolling_update_waits_for_the_replaced_pod_to_be_ready() -> None:
    old, new = sts(image="nginx:1"), sts(image="nginx:2")
    old_rev, new_rev = revision_of(old, 1), revision_of(new, 2)
    pods = [pod(old, 0, rev=old_rev), pod(old, 1, rev=old_rev), pod(new, 2, {"phase": "Pending"}, rev=new_rev)]
    h = await reconcile([new, old_rev, new_rev, *pods])
    assert pod_writes(h) == []


async def test_max_unavailable_replaces_several_pods_at_once() -> None:
    old = sts(image="nginx:1")
    new = sts(image="nginx:2")
    new["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] = 2
    old_rev, new_rev = revision_of(old, 1), revision_of(new, 2)
    h = await reconcile([new, old_rev, new_rev, *(pod(old, i, rev=old_rev) for i in range(3))])
    assert pod_writes(h) == [("delete", "web-2"), ("delete", "web-1")]


async def test_on_delete_leaves_outdated_pods_alone_and_recreates_deleted_ones_updated() -> None:
    old, new = sts(image="nginx:1"), sts(image="nginx:2", strategy="OnDelete")
    old_rev, new_rev = revision_of(old, 1), revision_of(new, 2)
    h = await reconcile([new, old_rev, new_rev, pod(old, 0, rev=old_rev), pod(old, 1, rev=old_rev)])
    assert pod_writes(h) == [("create", "web-2")]
    created = h.stored("pods", "web-2", "default")
    assert created is not None
    assert created["spec"]["containers"][0]["image"] == "nginx:2"


async def test_status_counts_pods_by_readiness_and_revision() -> None:
    old, new = sts(image="nginx:1"), sts(image="nginx:2", partition=2)
    old_rev, new_rev = revision_of(old, 1), revision_of(new, 2)
    new["status"] = {"currentRevision": old_rev["metadata"]["name"]}
    pods = [pod(old, 0, rev=old_rev), pod(old, 1, {"phase": "Pending"}, rev=old_rev), pod(new, 2, rev=new_rev)]
    h = await reconcile([new, old_rev, new_rev, *pods])
    stored = h.stored("statefulsets.apps", "web", "default")
    assert stored is not None
    assert stored["status"] == {"observedGeneration": 1, "replicas": 3, "readyReplicas": 2, "availableReplicas": 2,
                                "currentReplicas": 2, "updatedReplicas": 1, "collisionCount": 0,
                                "currentRevision": old_rev["metadata"]["name"],
                                "updateRevision": new_rev["metadata"]["name"]}


async def test_a_finished_rolling_update_makes_the_update_revision_current() -> None:
    old, new = sts(image="nginx:1"), sts(image="nginx:2")
    old_rev, new_rev = revision_of(old, 1), revision_of(new, 2)
    new["status"] = {"currentRevision": old_rev["metadata"]["name"]}
    h = await reconcile([new, old_rev, new_rev, *(pod(new, i, rev=new_rev) for i in range(3))])
    stored = h.stored("statefulsets.apps", "web", "default")
    assert stored is not None
    assert stored["status"]["currentRevision"] == new_rev["metadata"]["name"]
    assert stored["status"]["currentReplicas"] == 3


async def test_a_rollback_renumbers_the_old_revision_instead_of_creating_one() -> None:
    s = sts(image="nginx:1")
    first, second = revision_of(s, 1), revision_of(sts(image="nginx:2"), 2)
    h = await reconcile([s, first, second, *(pod(s, i, rev=first) for i in range(3))])
    assert [w for w in h.writes() if w[1] == "controllerrevisions.apps"] == [
        ("update", "controllerrevisions.apps", "default", first["metadata"]["name"])]
    stored = h.stored("controllerrevisions.apps", first["metadata"]["name"], "default")
    assert stored is not None and stored["revision"] == 3


async def test_history_beyond_the_limit_is_truncated_but_live_revisions_kept() -> None:
    s = sts(replicas=1, revisionHistoryLimit=1)
    old = [revision_of(sts(image=f"nginx:old{i}"), i) for i in range(1, 4)]
    current = revision_of(s, 4)
    h = await reconcile([s, *old, current, pod(s, 0, rev=old[0])])  # old[0] still has a pod
    deleted = [name for verb, res, _ns, name in h.writes() if verb == "delete" and res == "controllerrevisions.apps"]
    assert deleted == [old[1]["metadata"]["name"]]


async def test_volume_claim_templates_are_accepted_with_a_warning_event() -> None:
    s = sts(replicas=1, volumeClaimTemplates=[{"metadata": {"name": "data"}, "spec": {}}])
    h = await reconcile([s])
    assert pod_writes(h) == [("create", "web-0")]
    assert [e[1] for e in h.events if e[0] == "Warning"] == ["VolumeClaimTemplatesNotEmulated"]
    assert {resource for _verb, resource, _ns, _name in h.writes()} <= {
        "pods", "controllerrevisions.apps", "statefulsets.apps"}  # no claims of any kind


async def test_orphan_pods_matching_the_selector_are_adopted() -> None:
    s = sts(replicas=1)
    orphan = pod(s, 0)
    orphan["metadata"]["ownerReferences"] = []
    h = await reconcile([s, orphan])
    stored = h.stored("pods", "web-0", "default")
    assert stored is not None and stored["metadata"]["ownerReferences"][0]["uid"] == "uid-web"


async def test_a_deleted_statefulset_is_left_alone() -> None:
    h = await reconcile([])
    assert h.writes() == []


async def test_reconcile_is_idempotent_once_converged() -> None:
    s = sts(replicas=2)
    h = await reconcile([s, pod(s, 0), pod(s, 1)])
    h.sync_caches()
    h.api.calls.clear()
    await h.reconcile("default/web")
    assert h.writes() == []
