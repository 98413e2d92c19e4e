"""ReplicaSet and Deployment controllers against the real apiserver + etcd, with two hollow nodes running the pods."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from controller_manager.deployment import DeploymentController
from controller_manager.podutil import controller_ref, is_pod_active, is_pod_ready
from controller_manager.replicaset import ReplicaSetController
from tests.integration.controller_manager.conftest import eventually, run_controllers

Object = dict[str, Any]
CONTROLLERS = [ReplicaSetController, DeploymentController]
HASH_LABEL = "pod-template-hash"


def template(app: str, image: str = "kubeling/busybox:1.35", node: str = "node-1") -> Object:
    return {"metadata": {"labels": {"app": app}},
            "spec": {"nodeName": node, "containers": [{"name": "app", "image": image}]}}


def replica_set(name: str, replicas: int) -> Object:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": template(name)}}


def deployment(name: str, replicas: int, image: str, **strategy: Any) -> Object:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "strategy": {"type": "RollingUpdate", "rollingUpdate": strategy},
                     "template": template(name, image)}}


async def pods_of(client: Any, app: str) -> list[Object]:
    items = (await client.list("pods", "default", label_selector=f"app={app}"))["items"]
    return [p for p in items if is_pod_active(p)]


async def running_owned(client: Any, rs: Object, count: int) -> bool:
    uid = rs["metadata"]["uid"]
    pods = await pods_of(client, rs["metadata"]["name"])
    owned = [p for p in pods if (controller_ref(p) or {}).get("uid") == uid]
    return len(pods) == count and len(owned) == count and all(is_pod_ready(p) for p in owned)


async def test_replicaset_keeps_exactly_n_pods_through_deletes_scaling_adoption_and_release(client, hollow_nodes):
    async with run_controllers(client, CONTROLLERS):
        rs = await client.create(replica_set("web", 3))
        await eventually(lambda: running_owned(client, rs, 3), timeout=10)

        victim = (await pods_of(client, "web"))[0]
        await client.delete("pods", victim["metadata"]["name"], "default", grace_period_seconds=0)
        await eventually(lambda: running_owned(client, rs, 3), timeout=10)

        await client.patch("replicasets.apps", "web", {"spec": {"replicas": 5}}, "default")
        await eventually(lambda: running_owned(client, rs, 5), timeout=10)
        await client.patch("replicasets.apps", "web", {"spec": {"replicas": 2}}, "default")
        await eventually(lambda: running_owned(client, rs, 2), timeout=10)

        orphan = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "orphan", "namespace": "default",
                                                                  "labels": {"app": "web"}},
                  "spec": template("web")["spec"]}
        await client.create(orphan)
        await eventually(lambda: running_owned(client, rs, 2), timeout=10)  # adopted, then one surplus deleted

        kept = (await pods_of(client, "web"))[0]
        await client.patch("pods", kept["metadata"]["name"], {"metadata": {"labels": {"app": "elsewhere"}}}, "default")

        async def released_and_replaced() -> bool:
            moved = await client.get("pods", kept["metadata"]["name"], "default")
            return controller_ref(moved) is None and await running_owned(client, rs, 2)

        await eventually(released_and_replaced, timeout=10)


class Invariant:
    """Watches pods and checks, at every event, the rolling-update bounds of one Deployment."""

    def __init__(self, app: str, min_available: int, max_pods: int) -> None:
        self.app, self.min_available, self.max_pods = app, min_available, max_pods
        self.pods: dict[str, Object] = {}
        self.violations: list[str] = []
        self.armed = False

    def observe(self, obj: Object, deleted: bool) -> None:
        if (obj["metadata"].get("labels") or {}).get("app") != self.app:
            return
        name = obj["metadata"]["name"]
        if deleted or not is_pod_active(obj):
            self.pods.pop(name, None)
        else:
            self.pods[name] = obj
        total = len(self.pods)
        available = sum(1 for p in self.pods.values() if is_pod_ready(p))
        if total > self.max_pods:
            self.violations.append(f"{total} pods > {self.max_pods}")
        if self.armed and available < self.min_available:
            self.violations.append(f"{available} available < {self.min_available}")

    async def watch(self, client: Any) -> None:
        listed = await client.list("pods", "default")
        for pod in listed["items"]:
            self.observe(pod, False)
        async for event in client.watch("pods", "default", resource_version=listed["metadata"]["resourceVersion"]):
            if event.type in ("ADDED", "MODIFIED", "DELETED"):
                self.observe(event.object, event.type == "DELETED")


async def complete(client: Any, name: str, image: str, replicas: int) -> bool:
    d = await client.get("deployments.apps", name, "default")
    status = d.get("status") or {}
    pods = await pods_of(client, name)
    return (status.get("observedGeneration") == d["metadata"]["generation"]
            and status.get("updatedReplicas") == replicas and status.get("availableReplicas") == replicas
            and status.get("replicas") == replicas and len(pods) == replicas
            and all(p["spec"]["containers"][0]["image"] == image and is_pod_ready(p) for p in pods))


async def set_image(client: Any, name: str, image: str) -> None:
    d = await client.get("deployments.apps", name, "default")
    d["spec"]["template"]["spec"]["containers"][0]["image"] = image
    await client.update(d)


async def test_rolling_update_keeps_surge_and_availability_bounds_at_every_event(client, hollow_nodes):
    invariant = Invariant("web", min_available=3, max_pods=5)
    watcher = asyncio.create_task(invariant.watch(client))
    try:
        async with run_controllers(client, CONTROLLERS):
            await client.create(deployment("web", 4, "kubeling/busybox:1.35", maxSurge=1, maxUnavailable=1))
            await eventually(lambda: complete(client, "web", "kubeling/busybox:1.35", 4), timeout=15)
            invariant.armed = True
            await set_image(client, "web", "kubeling/busybox:1.36")
            await eventually(lambda: complete(client, "web", "kubeling/busybox:1.36", 4), timeout=15)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    assert invariant.violations == []
    d = await client.get("deployments.apps", "web", "default")
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    reasons = {c["type"]: c["reason"] for c in d["status"]["conditions"]}
    assert reasons == {"Available": "MinimumReplicasAvailable", "Progressing": "NewReplicaSetAvailable"}


async def rollout_undo(client: Any, name: str) -> None:
    """What `kubectl rollout undo` sends: the previous revision's template (hash label removed) as a JSON patch."""
    d = await client.get("deployments.apps", name, "default")
    current = int(d["metadata"]["annotations"]["deployment.kubernetes.io/revision"])
    rss = (await client.list("replicasets.apps", "default"))["items"]
    previous = max((rs for rs in rss if int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"])
                    < current), key=lambda rs: int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]))
    restored = copy.deepcopy(previous["spec"]["template"])
    del restored["metadata"]["labels"][HASH_LABEL]
    patch = [{"op": "replace", "path": "/spec/template", "value": restored}]
    await client.patch("deployments.apps", name, patch, "default", patch_type="json")


async def test_rollout_undo_restores_the_old_template_and_bumps_its_revision(client, hollow_nodes):
    async with run_controllers(client, CONTROLLERS):
        await client.create(deployment("web", 2, "kubeling/busybox:1.35", maxSurge=1, maxUnavailable=0))
        await eventually(lambda: complete(client, "web", "kubeling/busybox:1.35", 2), timeout=10)
        first_rs = (await client.list("replicasets.apps", "default"))["items"][0]["metadata"]["name"]
        await set_image(client, "web", "kubeling/busybox:1.36")
        await eventually(lambda: complete(client, "web", "kubeling/busybox:1.36", 2), timeout=10)

        await rollout_undo(client, "web")
        await eventually(lambda: complete(client, "web", "kubeling/busybox:1.35", 2), timeout=10)

    rs = await client.get("replicasets.apps", first_rs, "default")
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    d = await client.get("deployments.apps", "web", "default")
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert len((await client.list("replicasets.apps", "default"))["items"]) == 2


async def test_controllers_killed_mid_rollout_resume_without_duplicate_or_orphan_pods(client, hollow_nodes):
    async with run_controllers(client, CONTROLLERS):
        await client.create(deployment("web", 4, "kubeling/busybox:1.35", maxSurge=1, maxUnavailable=1))
        await eventually(lambda: complete(client, "web", "kubeling/busybox:1.35", 4), timeout=15)
        await set_image(client, "web", "kubeling/busybox:1.36")

        async def rollout_started() -> bool:
            return len((await client.list("replicasets.apps", "default"))["items"]) == 2

        await eventually(rollout_started, timeout=10, interval=0.02)
    # killed mid-rollout; fresh instances start from the apiserver's state only
    async with run_controllers(client, CONTROLLERS):
        await eventually(lambda: complete(client, "web", "kubeling/busybox:1.36", 4), timeout=15)
        pods = await pods_of(client, "web")
        assert len({p["metadata"]["name"] for p in pods}) == 4
        assert all(controller_ref(p) is not None for p in pods)
        rss = (await client.list("replicasets.apps", "default"))["items"]
        assert sorted(rs["spec"]["replicas"] for rs in rss) == [0, 4]
