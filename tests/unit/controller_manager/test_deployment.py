"""The Deployment controller, sample-controller style: given a Deployment and its ReplicaSets, these API calls."""

from __future__ import annotations

import copy
from typing import Any

from controller_manager import deployment_util as util
from controller_manager.deployment import DeploymentController
from controller_manager.deployment_sync import new_replica_set
from controller_manager.podutil import get_condition
from tests.unit.controller_manager.harness import Harness

Object = dict[str, Any]
KEY = "default/web"


def deployment(replicas: int = 4, image: str = "v1", *, surge: int | str = 1, unavailable: int | str = 1,
               kind: str = "RollingUpdate", **spec: Any) -> Object:
    strategy: Object = {"type": kind}
    if kind == "RollingUpdate":
        strategy["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "uid": "d-uid", "generation": 1},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "strategy": strategy,
                     "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}, **spec}}


def owned_rs(d: Object, image: str, replicas: int, available: int | None = None, revision: int = 1,
             created: str = "2026-01-01T00:00:00Z") -> Object:
    """The ReplicaSet the controller made for ``d`` with ``image``, scaled to ``replicas``."""
    source = copy.deepcopy(d)
    source["spec"]["template"]["spec"]["containers"][0]["image"] = image
    rs = new_replica_set(source, [], revision)
    rs["metadata"].update(uid=f"rs-{image}", creationTimestamp=created, generation=1)
    rs["spec"]["replicas"] = replicas
    ready = replicas if available is None else available
    rs["status"] = {"replicas": replicas, "readyReplicas": ready, "availableReplicas": ready,
                    "observedGeneration": 1}
    return rs


def stored(h: Harness, resource: str, name: str, namespace: str) -> Object:
    obj = h.stored(resource, name, namespace)
    assert obj is not None
    return obj


def condition(obj: Object, kind: str) -> Object:
    found = get_condition(obj, kind)
    assert found is not None
    return dict(found)


def rs_writes(h: Harness) -> list[tuple[str, str]]:
    return [(w[0], w[3]) for w in h.writes() if w[1] == "replicasets.apps"]


def replicasets(h: Harness) -> dict[str, Object]:
    return {rs["metadata"]["name"]: rs for rs in h.all("replicasets.apps")}


async def test_a_new_deployment_creates_its_replicaset_named_by_the_template_hash() -> None:
    d = deployment(4)
    h = Harness(DeploymentController, [d])
    await h.reconcile(KEY)
    (rs,) = h.all("replicasets.apps")
    pod_hash = util.compute_hash(d["spec"]["template"])
    assert rs["metadata"]["name"] == f"web-{pod_hash}"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", util.HASH_LABEL: pod_hash}
    assert rs["spec"]["template"]["metadata"]["labels"][util.HASH_LABEL] == pod_hash
    assert rs["metadata"]["labels"][util.HASH_LABEL] == pod_hash
    assert rs["metadata"]["ownerReferences"][0]["uid"] == "d-uid"
    assert rs["spec"]["replicas"] == 4
    assert rs["metadata"]["annotations"] == {
        util.REVISION: "1", util.DESIRED_REPLICAS: "4", util.MAX_REPLICAS: "5"}
    d_now = stored(h, "deployments.apps", "web", "default")
    assert d_now["metadata"]["annotations"][util.REVISION] == "1"
    assert condition(d_now, "Progressing")["reason"] == "NewReplicaSetCreated"
    assert h.events == [("Normal", "ScalingReplicaSet", f"Scaled up replica set web-{pod_hash} from 0 to 4")]


async def test_a_template_change_surges_the_new_replicaset_and_drops_one_old_pod() -> None:
    d = deployment(4, "v2")
    h = Harness(DeploymentController, [d, owned_rs(d, "v1", 4)])
    await h.reconcile(KEY)
    sizes = {rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs["spec"]["replicas"]
             for rs in h.all("replicasets.apps")}
    assert sizes == {"v1": 3, "v2": 1}  # 4 + maxSurge 1 pods in all; 4 - maxUnavailable 1 available
    new = next(rs for rs in h.all("replicasets.apps") if rs["metadata"]["uid"] != "rs-v1")
    assert new["metadata"]["annotations"][util.REVISION] == "2"


async def test_old_replicasets_scale_down_as_new_pods_become_available() -> None:
    d = deployment(4, "v2")
    old, new = owned_rs(d, "v1", 4), owned_rs(d, "v2", 1, revision=2, created="2026-01-02T00:00:00Z")
    h = Harness(DeploymentController, [d, old, new])
    await h.reconcile(KEY)
    assert replicasets(h)[old["metadata"]["name"]]["spec"]["replicas"] == 2  # 5 available - minAvailable 3
    assert ("Normal", "ScalingReplicaSet",
            f"Scaled down replica set {old['metadata']['name']} from 4 to 2") in h.events


async def test_old_replicasets_stay_while_new_pods_are_unavailable() -> None:
    d = deployment(4, "v2")
    old, new = owned_rs(d, "v1", 3), owned_rs(d, "v2", 2, available=0, revision=2)
    h = Harness(DeploymentController, [d, old, new])
    await h.reconcile(KEY)
    assert not any(w[0] == "update" for w in rs_writes(h))


async def test_recreate_scales_old_to_zero_and_creates_nothing_yet() -> None:
    d = deployment(3, "v2", kind="Recreate")
    old = owned_rs(d, "v1", 3)
    h = Harness(DeploymentController, [d, old])
    await h.reconcile(KEY)
    assert rs_writes(h) == [("update", old["metadata"]["name"])]
    assert replicasets(h)[old["metadata"]["name"]]["spec"]["replicas"] == 0


async def test_recreate_creates_the_new_replicaset_once_old_pods_are_gone() -> None:
    d = deployment(3, "v2", kind="Recreate")
    old = owned_rs(d, "v1", 0)
    h = Harness(DeploymentController, [d, old])
    await h.reconcile(KEY)
    assert [w[0] for w in rs_writes(h)] == ["create"]
    assert sorted(rs["spec"]["replicas"] for rs in h.all("replicasets.apps")) == [0, 3]


async def test_a_paused_deployment_does_not_roll_out_but_scales_proportionally() -> None:
    d = deployment(8, "v3", paused=True)
    old = owned_rs(d, "v1", 4, created="2025-01-01T00:00:00Z")
    mid = owned_rs(d, "v2", 2, revision=2)
    for rs in (old, mid):
        rs["metadata"]["annotations"].update({util.DESIRED_REPLICAS: "5", util.MAX_REPLICAS: "6"})
    h = Harness(DeploymentController, [d, old, mid])
    await h.reconcile(KEY)
    assert not any(w[0] == "create" for w in rs_writes(h))
    sizes = {rs["metadata"]["uid"]: rs["spec"]["replicas"] for rs in h.all("replicasets.apps")}
    assert sizes == {"rs-v1": 6, "rs-v2": 3}  # 6 -> 9 (8 + surge 1), shared 2:1
    assert condition(stored(h, "deployments.apps", "web", "default"), "Progressing")["reason"] == \
        "DeploymentPaused"


async def test_rolling_back_to_an_old_template_bumps_that_replicasets_revision() -> None:
    d = deployment(2, "v1")  # template patched back to v1 (kubectl rollout undo)
    old = owned_rs(d, "v1", 0, revision=1, created="2025-01-01T00:00:00Z")
    current = owned_rs(d, "v2", 2, revision=2)
    h = Harness(DeploymentController, [d, old, current])
    await h.reconcile(KEY)
    restored = replicasets(h)[old["metadata"]["name"]]
    assert restored["metadata"]["annotations"][util.REVISION] == "3"
    assert restored["metadata"]["annotations"][util.REVISION_HISTORY] == "1"


async def test_old_replicasets_beyond_the_history_limit_are_deleted_oldest_first() -> None:
    d = deployment(1, "v4", revisionHistoryLimit=1)
    rss = [owned_rs(d, f"v{i}", 0, revision=i, created=f"2026-01-0{i}T00:00:00Z") for i in (1, 2, 3)]
    rss.append(owned_rs(d, "v4", 1, revision=4, created="2026-01-04T00:00:00Z"))
    d["metadata"]["annotations"] = {util.REVISION: "4"}
    d["status"] = {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1,
                   "availableReplicas": 1}
    h = Harness(DeploymentController, [d, *rss])
    await h.reconcile(KEY)
    deleted = [name for verb, name in rs_writes(h) if verb == "delete"]
    assert deleted == [rss[0]["metadata"]["name"], rss[1]["metadata"]["name"]]


async def test_a_complete_rollout_reports_available_and_new_replicaset_available() -> None:
    d = deployment(2, "v1")
    h = Harness(DeploymentController, [d, owned_rs(d, "v1", 2)])
    await h.reconcile(KEY)
    status = stored(h, "deployments.apps", "web", "default")["status"]
    assert {k: status[k] for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
                                   "unavailableReplicas", "observedGeneration")} == {
        "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2, "unavailableReplicas": 0,
        "observedGeneration": 1}
    reasons = {c["type"]: c["reason"] for c in status["conditions"]}
    assert reasons == {"Available": "MinimumReplicasAvailable", "Progressing": "NewReplicaSetAvailable"}


async def test_no_progress_within_the_deadline_is_reported() -> None:
    d = deployment(2, "v1")
    d["metadata"]["annotations"] = {util.REVISION: "1"}
    d["status"] = {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "conditions": [
        {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated", "message": "",
         "lastUpdateTime": "2020-01-01T00:00:00Z", "lastTransitionTime": "2020-01-01T00:00:00Z"}]}
    h = Harness(DeploymentController, [d, owned_rs(d, "v1", 2, available=0)])
    await h.reconcile(KEY)
    status = stored(h, "deployments.apps", "web", "default")["status"]
    progressing, available = condition({"status": status}, "Progressing"), condition(
        {"status": status}, "Available")
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert (available["status"], available["reason"]) == ("False", "MinimumReplicasUnavailable")


async def test_a_matching_orphan_replicaset_is_adopted() -> None:
    d = deployment(2, "v1")
    orphan = owned_rs(d, "v1", 2)
    del orphan["metadata"]["ownerReferences"]
    h = Harness(DeploymentController, [d, orphan])
    await h.reconcile(KEY)
    assert ("patch", orphan["metadata"]["name"]) in rs_writes(h)
    assert not any(verb == "create" for verb, _ in rs_writes(h))
