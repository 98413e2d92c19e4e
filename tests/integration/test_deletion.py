"""DELETE semantics: graceful pods, finalizers, preconditions, propagation, namespaces."""

from __future__ import annotations

import pytest

from apimachinery import errors

pytestmark = pytest.mark.integration


def pod(name: str = "p", node: str | None = None, grace: int | None = None) -> dict:
    spec: dict = {"containers": [{"name": "c", "image": "busybox"}]}
    if node:
        spec["nodeName"] = node
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def configmap(name: str = "cfg", finalizers: list[str] | None = None) -> dict:
    metadata: dict = {"name": name, "namespace": "default"}
    if finalizers:
        metadata["finalizers"] = finalizers
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {"k": "v"}}


async def test_delete_removes_an_object_without_finalizers(client):
    await client.create(configmap())
    await client.delete("configmaps", "cfg", "default")
    with pytest.raises(errors.NotFound):
        await client.get("configmaps", "cfg", "default")


async def test_delete_of_a_missing_object_is_not_found(client):
    with pytest.raises(errors.NotFound):
        await client.delete("configmaps", "nope", "default")


async def test_a_bound_pod_is_marked_with_its_grace_period_until_confirmed_with_zero(client):
    await client.create(pod(node="node-1", grace=45))
    marked = await client.delete("pods", "p", "default")
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 45
    assert marked["metadata"]["deletionTimestamp"]
    still = await client.get("pods", "p", "default")
    assert still["metadata"]["deletionTimestamp"] == marked["metadata"]["deletionTimestamp"]
    await client.delete("pods", "p", "default", grace_period_seconds=0)
    with pytest.raises(errors.NotFound):
        await client.get("pods", "p", "default")


async def test_pod_grace_period_defaults_to_30_seconds(client):
    await client.create(pod(node="node-1"))
    marked = await client.delete("pods", "p", "default")
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 30


async def test_an_unscheduled_pod_is_deleted_at_once(client):
    await client.create(pod())
    await client.delete("pods", "p", "default")
    with pytest.raises(errors.NotFound):
        await client.get("pods", "p", "default")


async def test_deletion_timestamp_never_moves_later_and_cannot_be_cleared(client):
    await client.create(pod(node="node-1", grace=30))
    first = await client.delete("pods", "p", "default", grace_period_seconds=10)
    later = await client.delete("pods", "p", "default", grace_period_seconds=60)
    assert later["metadata"]["deletionTimestamp"] == first["metadata"]["deletionTimestamp"]
    current = await client.get("pods", "p", "default")
    body = dict(current, metadata={k: v for k, v in current["metadata"].items()
                                   if k not in ("deletionTimestamp", "deletionGracePeriodSeconds")})
    updated = await client.update(body)
    assert updated["metadata"]["deletionTimestamp"] == first["metadata"]["deletionTimestamp"]


async def test_finalizers_keep_an_object_until_the_last_is_removed(client):
    await client.create(configmap(finalizers=["example.com/a", "example.com/b"]))
    marked = await client.delete("configmaps", "cfg", "default")
    assert marked["metadata"]["deletionTimestamp"]
    current = await client.get("configmaps", "cfg", "default")
    current["metadata"]["finalizers"] = ["example.com/b"]
    await client.update(current)
    assert await client.get("configmaps", "cfg", "default")
    current = await client.get("configmaps", "cfg", "default")
    current["metadata"]["finalizers"] = []
    await client.update(current)
    with pytest.raises(errors.NotFound):
        await client.get("configmaps", "cfg", "default")


async def test_no_new_finalizer_can_be_added_while_deleting(client):
    await client.create(configmap(finalizers=["example.com/a"]))
    await client.delete("configmaps", "cfg", "default")
    current = await client.get("configmaps", "cfg", "default")
    current["metadata"]["finalizers"] = ["example.com/a", "example.com/new"]
    with pytest.raises(errors.Invalid, match="no new finalizers"):
        await client.update(current)


async def test_uid_precondition_mismatch_is_a_conflict_and_deletes_nothing(client):
    await client.create(configmap())
    with pytest.raises(errors.Conflict, match="Precondition failed: UID"):
        await client.delete("configmaps", "cfg", "default", preconditions={"uid": "not-the-uid"})
    assert await client.get("configmaps", "cfg", "default")


async def test_stale_resource_version_precondition_is_a_conflict(client):
    created = await client.create(configmap())
    await client.patch("configmaps", "cfg", {"data": {"k": "changed"}}, "default")
    with pytest.raises(errors.Conflict, match="ResourceVersion in precondition"):
        await client.delete("configmaps", "cfg", "default",
                            preconditions={"resourceVersion": created["metadata"]["resourceVersion"]})


@pytest.mark.parametrize(("policy", "finalizer"), [("Foreground", "foregroundDeletion"), ("Orphan", "orphan")])
async def test_propagation_policy_is_recorded_as_a_finalizer_for_the_garbage_collector(client, policy, finalizer):
    await client.create(configmap())
    marked = await client.delete("configmaps", "cfg", "default", propagation_policy=policy)
    assert marked["metadata"]["finalizers"] == [finalizer]
    assert marked["metadata"]["deletionTimestamp"]


async def test_unknown_propagation_policy_is_a_bad_request(client):
    await client.create(configmap())
    with pytest.raises(errors.BadRequest, match="propagationPolicy"):
        await client.delete("configmaps", "cfg", "default", propagation_policy="Sideways")


async def test_system_namespaces_exist_and_cannot_be_deleted(client):
    for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
        assert (await client.get("namespaces", name))["status"]["phase"] == "Active"
    with pytest.raises(errors.Forbidden, match="may not be deleted"):
        await client.delete("namespaces", "kube-system")


async def test_objects_in_a_missing_namespace_are_not_found(client):
    with pytest.raises(errors.NotFound, match='namespaces "ghost" not found'):
        await client.create({**configmap(), "metadata": {"name": "cfg", "namespace": "ghost"}})


async def test_a_deleted_namespace_is_terminating_and_refuses_new_objects(client):
    await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    marked = await client.delete("namespaces", "team")
    assert marked["status"]["phase"] == "Terminating"
    assert (await client.get("namespaces", "team"))["metadata"]["deletionTimestamp"]
    with pytest.raises(errors.Forbidden, match="being terminated"):
        await client.create({**configmap(), "metadata": {"name": "cfg", "namespace": "team"}})


async def test_a_terminating_namespace_goes_when_its_finalizers_are_cleared(client):
    await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    await client.delete("namespaces", "team")
    current = await client.get("namespaces", "team")
    current["spec"]["finalizers"] = []
    await client.update(current)
    with pytest.raises(errors.NotFound):
        await client.get("namespaces", "team")
