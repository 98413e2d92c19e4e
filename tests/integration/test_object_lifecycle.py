"""Create / get / update semantics against a real etcd, through the gRPC API (API conventions)."""

from __future__ import annotations

import re

import pytest
from aetcd import Client as Etcd

from apimachinery import errors

pytestmark = pytest.mark.integration


def configmap(name: str = "cfg", namespace: str = "default", **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace},
            "data": dict(data) or {"k": "v"}}


def deployment(name: str = "web", replicas: int = 2) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "web", "image": "kubeling/hello:v1"}]}}}}


async def test_create_sets_uid_creation_timestamp_generation_and_resource_version(client):
    created = await client.create(deployment())
    meta = created["metadata"]
    assert re.fullmatch(r"[0-9a-f-]{36}", meta["uid"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])
    assert meta["generation"] == 1
    assert int(meta["resourceVersion"]) > 0


async def test_resource_version_is_the_etcd_mod_revision(client, etcd):
    created = await client.create(configmap())
    host, port = etcd.endpoint.split(":")
    async with Etcd(host=host, port=int(port)) as raw:
        kv = await raw.get(b"/registry/configmaps/default/cfg")
    assert kv is not None
    assert str(kv.mod_revision) == created["metadata"]["resourceVersion"]
    assert b"resourceVersion" not in kv.value


async def test_create_of_an_existing_name_is_already_exists(client):
    await client.create(configmap())
    with pytest.raises(errors.AlreadyExists, match='configmaps "cfg" already exists'):
        await client.create(configmap())


async def test_resource_version_set_on_create_is_rejected(client):
    body = configmap()
    body["metadata"]["resourceVersion"] = "12"
    with pytest.raises(errors.BadRequest, match="resourceVersion should not be set"):
        await client.create(body)
    with pytest.raises(errors.NotFound):
        await client.get("configmaps", "cfg", "default")


async def test_generate_name_appends_five_random_characters(client):
    body = configmap()
    del body["metadata"]["name"]
    body["metadata"]["generateName"] = "web-"
    first, second = await client.create(body), await client.create(body)
    assert re.fullmatch(r"web-[bcdfghjklmnpqrstvwxz2456789]{5}", first["metadata"]["name"])
    assert first["metadata"]["name"] != second["metadata"]["name"]


async def test_get_of_a_missing_object_is_not_found(client):
    with pytest.raises(errors.NotFound, match='configmaps "nope" not found'):
        await client.get("configmaps", "nope", "default")


async def test_stale_update_is_rejected_with_conflict(client):
    created = await client.create(configmap())
    first = dict(created, data={"k": "first"})
    await client.update(first)
    stale = dict(created, data={"k": "second"})
    with pytest.raises(errors.Conflict, match="the object has been modified"):
        await client.update(stale)
    assert (await client.get("configmaps", "cfg", "default"))["data"] == {"k": "first"}


async def test_update_without_resource_version_is_unconditional(client):
    created = await client.create(configmap())
    await client.update(dict(created, data={"k": "first"}))
    body = dict(created, data={"k": "second"})
    body["metadata"] = {k: v for k, v in created["metadata"].items() if k != "resourceVersion"}
    updated = await client.update(body)
    assert updated["data"] == {"k": "second"}


async def test_noop_update_keeps_the_resource_version_and_emits_no_event(client):
    created = await client.create(configmap())
    rv = created["metadata"]["resourceVersion"]
    events = client.watch("configmaps", "default", resource_version=rv)
    again = await client.update(created)
    assert again["metadata"]["resourceVersion"] == rv
    marker = await client.create(configmap("marker"))
    first = await anext(events)
    assert (first.type, first.object["metadata"]["name"]) == ("ADDED", "marker")
    assert first.resource_version == marker["metadata"]["resourceVersion"]
    await events.aclose()


async def test_generation_bumps_on_spec_change_only(client):
    created = await client.create(deployment())
    relabeled = dict(created)
    relabeled["metadata"] = dict(created["metadata"], labels={"app": "web", "tier": "front"})
    relabeled = await client.update(relabeled)
    assert relabeled["metadata"]["generation"] == 1
    scaled = dict(relabeled, spec=dict(relabeled["spec"], replicas=5))
    scaled = await client.update(scaled)
    assert scaled["metadata"]["generation"] == 2


async def test_main_resource_update_ignores_status(client):
    created = await client.create(deployment())
    body = dict(created, status={"replicas": 7})
    updated = await client.update(body)
    assert "replicas" not in (updated.get("status") or {})


async def test_update_status_changes_only_status(client):
    created = await client.create(deployment())
    body = dict(created, status={"replicas": 2, "readyReplicas": 1},
                spec=dict(created["spec"], replicas=9))
    updated = await client.update_status(body)
    assert updated["status"] == {"replicas": 2, "readyReplicas": 1}
    assert updated["spec"]["replicas"] == 2
    assert updated["metadata"]["generation"] == 1


async def test_status_set_on_create_is_dropped(client):
    body = deployment()
    body["status"] = {"replicas": 3}
    created = await client.create(body)
    assert "replicas" not in (created.get("status") or {})


async def test_cluster_scoped_objects_have_no_namespace(client):
    created = await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    assert "namespace" not in created["metadata"]
    assert created["status"]["phase"] == "Active"
    assert (await client.get("namespaces", "team-a"))["metadata"]["uid"] == created["metadata"]["uid"]


async def test_defaults_are_applied_on_create(client):
    created = await client.create(deployment())
    spec = created["spec"]
    assert spec["strategy"]["type"] == "RollingUpdate"
    assert spec["revisionHistoryLimit"] == 10
    container = spec["template"]["spec"]["containers"][0]
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert spec["template"]["spec"]["restartPolicy"] == "Always"


async def test_merge_patch_changes_only_the_named_fields(client):
    await client.create(configmap(a="1", b="2"))
    patched = await client.patch("configmaps", "cfg", {"data": {"a": "9", "b": None}}, "default")
    assert patched["data"] == {"a": "9"}


async def test_json_patch_applies_and_a_failed_test_is_invalid(client):
    await client.create(configmap(a="1"))
    ops = [{"op": "test", "path": "/data/a", "value": "1"}, {"op": "replace", "path": "/data/a", "value": "2"}]
    patched = await client.patch("configmaps", "cfg", ops, "default", patch_type="json")
    assert patched["data"] == {"a": "2"}
    with pytest.raises(errors.Invalid):
        await client.patch("configmaps", "cfg", [{"op": "test", "path": "/data/a", "value": "1"}], "default",
                           patch_type="json")


async def test_patch_with_a_stale_resource_version_is_a_conflict(client):
    created = await client.create(configmap())
    await client.patch("configmaps", "cfg", {"data": {"k": "x"}}, "default")
    with pytest.raises(errors.Conflict):
        await client.patch("configmaps", "cfg",
                           {"metadata": {"resourceVersion": created["metadata"]["resourceVersion"]},
                            "data": {"k": "y"}}, "default")


async def test_dry_run_create_validates_and_writes_nothing(client):
    answered = await client.create(configmap(), dry_run=True)
    assert answered["metadata"]["name"] == "cfg"
    with pytest.raises(errors.NotFound):
        await client.get("configmaps", "cfg", "default")


async def test_bind_sets_node_name_and_pod_scheduled(client):
    await client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
                         "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    bound = await client.bind("default", "p", "node-1")
    assert bound["spec"]["nodeName"] == "node-1"
    scheduled = [c for c in bound["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert scheduled and scheduled[0]["status"] == "True"
    with pytest.raises(errors.Conflict, match="already assigned"):
        await client.bind("default", "p", "node-2")
    assert (await client.get("pods", "p", "default"))["spec"]["nodeName"] == "node-1"
