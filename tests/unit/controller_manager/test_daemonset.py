"""DaemonSet controller: eligibility of nodes, pods pinned to nodes, rolling updates, status."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from controller_manager import history
from controller_manager.daemonset import DaemonSetController
from controller_manager.daemonset_placement import node_should_run_daemon_pod, pin_to_node, target_node_name
from tests.unit.controller_manager.harness import Harness

Object = dict[str, Any]
READY = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True",
                                             "lastTransitionTime": "2026-01-01T00:00:00Z"}]}


def ds(image: str = "agent:1", *, max_unavailable: Any = 1, max_surge: Any = 0, strategy: str = "RollingUpdate",
       **pod_spec: Any) -> Object:
    update: Object = {"type": strategy}
    if strategy == "RollingUpdate":
        update["rollingUpdate"] = {"maxUnavailable": max_unavailable, "maxSurge": max_surge}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "default", "uid": "uid-agent", "generation": 1},
            "spec": {"selector": {"matchLabels": {"app": "agent"}}, "updateStrategy": update,
                     "revisionHistoryLimit": 10,
                     "template": {"metadata": {"labels": {"app": "agent"}},
                                  "spec": {"containers": [{"name": "c", "image": image}], **pod_spec}}}}


def node(name: str, labels: dict[str, str] | None = None, taints: list[Object] | None = None) -> Object:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"taints": taints or []}}


def hash_of(d: Object) -> str:
    return history.hash_object(d["spec"]["template"], 0)


def revision_of(d: Object, number: int = 1) -> Object:
    rev = history.new_controller_revision(d, history.template_patch(d), number, hash_=hash_of(d))
    rev["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    return rev


def pod(d: Object, node_name: str, status: Object | None = READY, name: str = "", created: str = "") -> Object:
    spec = pin_to_node({"containers": [{"name": "c", "image": "x"}], "nodeName": node_name}, node_name)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name or f"agent-{node_name}", "namespace": "default",
                         "creationTimestamp": created or "2026-01-01T00:00:00Z",
                         "labels": {"app": "agent", history.CONTROLLER_REVISION_HASH_LABEL: hash_of(d)},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent",
                                              "uid": "uid-agent", "controller": True}]},
            "spec": spec, "status": status or {}}


def generate_names(h: Harness) -> None:
    """The fake API lacks generateName; give created pods a name the way the apiserver would."""
    original, counter = h.api.create, itertools.count()

    async def create(obj: Object, **options: Any) -> Object:
        meta = obj.get("metadata") or {}
        if not meta.get("name") and meta.get("generateName"):
            obj = {**obj, "metadata": {**meta, "name": f"{meta['generateName']}{next(counter):05d}"}}
        return await original(obj, **options)

    h.api.create = create  # type: ignore[method-assign]


async def reconcile(objects: list[Object]) -> Harness:
    h = Harness(DaemonSetController, objects)
    generate_names(h)
    await h.reconcile("default/agent")
    return h


def created_on(h: Harness) -> list[str]:
    return sorted(target_node_name(p) for p in h.all("pods") if p["metadata"]["name"].startswith("agent-")
                  and not p["metadata"].get("uid", "").startswith("uid-"))


def deleted(h: Harness) -> list[str]:
    return sorted(name for verb, res, _ns, name in h.writes() if verb == "delete" and res == "pods")


@pytest.mark.parametrize(("pod_spec", "the_node", "expected"), [
    ({}, node("n"), (True, True)),
    ({"nodeSelector": {"disk": "ssd"}}, node("n", {"disk": "ssd"}), (True, True)),
    ({"nodeSelector": {"disk": "ssd"}}, node("n", {"disk": "hdd"}), (False, False)),
    ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}}},
     node("n", {"zone": "b"}), (False, False)),
    ({}, node("n", taints=[{"key": "gpu", "effect": "NoSchedule"}]), (False, True)),  # may stay, not start
    ({}, node("n", taints=[{"key": "gpu", "effect": "NoExecute"}]), (False, False)),
    ({"tolerations": [{"key": "gpu", "operator": "Exists"}]},
     node("n", taints=[{"key": "gpu", "effect": "NoExecute"}]), (True, True)),
    ({}, node("n", taints=[{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]), (True, True)),
    ({}, node("n", taints=[{"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}]), (True, True)),
    ({}, node("n", taints=[{"key": "x", "effect": "PreferNoSchedule"}]), (True, True)),
])
def test_which_nodes_should_run_the_daemon(pod_spec: Object, the_node: Object, expected: tuple[bool, bool]) -> None:
    assert node_should_run_daemon_pod(ds(**pod_spec), the_node) == expected


async def test_one_pod_per_eligible_node_pinned_by_node_affinity() -> None:
    d = ds(nodeSelector={"role": "worker"})
    h = await reconcile([d, node("a", {"role": "worker"}), node("b", {"role": "worker"}), node("c"),
                         node("d", {"role": "worker"}, [{"key": "k", "effect": "NoSchedule"}])])
    assert created_on(h) == ["a", "b"]
    new = h.all("pods")[0]
    assert "nodeName" not in new["spec"]  # the scheduler binds it
    terms = new["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"][0]["matchFields"][0]["key"] == "metadata.name"
    tolerated = {(t["key"], t["effect"]) for t in new["spec"]["tolerations"]}
    assert {("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
            ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/memory-pressure", "NoSchedule"),
            ("node.kubernetes.io/pid-pressure", "NoSchedule"),
            ("node.kubernetes.io/unschedulable", "NoSchedule")} <= tolerated
    assert new["metadata"]["labels"][history.CONTROLLER_REVISION_HASH_LABEL] == hash_of(d)
    assert new["metadata"]["labels"]["pod-template-generation"] == "1"


async def test_a_relabelled_node_loses_its_daemon_pod() -> None:
    d = ds(nodeSelector={"role": "worker"})
    h = await reconcile([d, node("a"), pod(d, "a")])
    assert deleted(h) == ["agent-a"]


async def test_an_unscheduled_pod_for_a_vanished_node_is_deleted() -> None:
    d = ds()
    orphaned = pod(d, "gone")
    del orphaned["spec"]["nodeName"]
    h = await reconcile([d, node("a"), pod(d, "a"), orphaned])
    assert deleted(h) == ["agent-gone"]


async def test_failed_pods_are_replaced_and_extra_pods_deleted_keeping_the_oldest() -> None:
    d = ds()
    h = await reconcile([d, node("a"), node("b"), pod(d, "a", {"phase": "Failed"}),
                         pod(d, "b", name="agent-b-old", created="2026-01-01T00:00:00Z"),
                         pod(d, "b", name="agent-b-new", created="2026-01-02T00:00:00Z")])
    assert deleted(h) == ["agent-a", "agent-b-new"]
    assert created_on(h) == ["a"]


async def test_expectations_hold_back_a_second_pass_until_the_cache_shows_the_pods() -> None:
    h = await reconcile([ds(), node("a")])
    assert created_on(h) == ["a"]
    h.api.calls.clear()
    h.controller.sets.store.upsert(h.stored("daemonsets.apps", "agent", "default"))  # type: ignore[attr-defined]
    await h.reconcile("default/agent")  # the pod cache is behind: the new pod is not visible yet
    assert [w for w in h.writes() if w[:2] == ("create", "pods")] == []


@pytest.mark.parametrize(("max_unavailable", "ready_new", "expected"), [
    (1, [], ["agent-a"]),  # one node at a time
    (2, [], ["agent-a", "agent-b"]),
    ("100%", [], ["agent-a", "agent-b", "agent-c"]),
    (1, ["a"], ["agent-b"]),  # a is done
])
async def test_rolling_update_deletes_old_pods_within_max_unavailable(max_unavailable: Any, ready_new: list[str],
                                                                      expected: list[str]) -> None:
    old, new = ds("agent:1"), ds("agent:2", max_unavailable=max_unavailable)
    pods = [pod(new if n in ready_new else old, n) for n in ("a", "b", "c")]
    h = await reconcile([new, revision_of(old, 1), *(node(n) for n in "abc"), *pods])
    assert deleted(h) == expected


async def test_rolling_update_waits_while_a_new_pod_is_unavailable() -> None:
    old, new = ds("agent:1"), ds("agent:2")
    pods = [pod(new, "a", {"phase": "Pending"}), pod(old, "b"), pod(old, "c")]
    h = await reconcile([new, revision_of(old, 1), *(node(n) for n in "abc"), *pods])
    assert deleted(h) == []


async def test_surge_starts_new_pods_beside_old_ones_and_deletes_old_once_new_are_available() -> None:
    old, new = ds("agent:1"), ds("agent:2", max_unavailable=0, max_surge=1)
    pods = [pod(old, "a", name="agent-a-old"), pod(new, "a", name="agent-a-new", created="2026-01-02T00:00:00Z"),
            pod(old, "b"), pod(old, "c")]
    h = await reconcile([new, revision_of(old, 1), *(node(n) for n in "abc"), *pods])
    assert deleted(h) == ["agent-a-old"]
    assert created_on(h) == ["b"]


async def test_on_delete_never_replaces_old_pods() -> None:
    old, new = ds("agent:1"), ds("agent:2", strategy="OnDelete")
    h = await reconcile([new, revision_of(old, 1), node("a"), pod(old, "a")])
    assert deleted(h) == [] and created_on(h) == []


async def test_status_counts_per_node() -> None:
    old, new = ds("agent:1"), ds("agent:2", nodeSelector={"role": "worker"})
    worker = {"role": "worker"}
    objects = [new, revision_of(old, 1), revision_of(new, 2), node("a", worker), node("b", worker),
               node("c", worker), node("d"), pod(new, "a"), pod(old, "b", {"phase": "Pending"}), pod(old, "d")]
    h = await reconcile(objects)
    stored = h.stored("daemonsets.apps", "agent", "default")
    assert stored is not None
    assert stored["status"] == {"desiredNumberScheduled": 3, "currentNumberScheduled": 2, "numberMisscheduled": 1,
                                "numberReady": 1, "numberAvailable": 1, "updatedNumberScheduled": 1,
                                "numberUnavailable": 2, "observedGeneration": 1, "collisionCount": 0}


async def test_a_new_template_gets_a_new_revision_numbered_after_the_old() -> None:
    old, new = ds("agent:1"), ds("agent:2")
    h = await reconcile([new, revision_of(old, 4)])
    revisions = {r["metadata"]["name"]: r["revision"] for r in h.all("controllerrevisions.apps")}
    assert revisions[f"agent-{hash_of(new)}"] == 5
