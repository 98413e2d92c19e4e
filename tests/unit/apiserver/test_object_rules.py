"""Server-owned metadata on create and update, no-op detection, patches and binding, as pure rules."""

from typing import Any

import pytest

from apimachinery import errors
from apimachinery.kinds import ResourceType
from apiserver.registry import objects
from apiserver.registry.binding import compute_binding
from apiserver.registry.patch import apply_patch, merge_patch

DEPLOY = ResourceType("apps", "v1", "Deployment", "deployments")
NODE = ResourceType("", "v1", "Node", "nodes", namespaced=False, create_keeps_status=True)


def stored():
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "uid": "u1", "resourceVersion": "5",
                         "creationTimestamp": "2026-01-01T00:00:00Z", "generation": 3},
            "spec": {"replicas": 1}, "status": {"replicas": 1}}


def test_create_sets_server_metadata_and_drops_status_and_client_uid():
    body: dict[str, Any] = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "uid": "mine", "generation": 9}, "spec": {}, "status": {"x": 1}}
    objects.prepare_for_create(DEPLOY, body, "default")
    meta = body["metadata"]
    assert meta["uid"] != "mine" and meta["generation"] == 1 and meta["namespace"] == "default"
    assert "status" not in body


def test_node_status_survives_create():
    body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n", "namespace": "x"},
            "status": {"capacity": {"cpu": "2"}}}
    objects.prepare_for_create(NODE, body, "")
    assert body["status"] == {"capacity": {"cpu": "2"}} and "namespace" not in body["metadata"]


def test_namespace_in_body_must_match_the_request():
    body = {"metadata": {"name": "web", "namespace": "a"}}
    with pytest.raises(errors.BadRequest, match="does not match the namespace"):
        objects.prepare_for_create(DEPLOY, body, "b")


def test_update_keeps_server_metadata_and_status_and_bumps_generation_on_spec_change():
    new = stored()
    new["metadata"].update(uid="u1", creationTimestamp="1999-01-01T00:00:00Z", generation=1)
    new["spec"] = {"replicas": 4}
    new["status"] = {"replicas": 99}
    merged = objects.prepare_for_update(DEPLOY, new, stored())
    assert merged["metadata"]["creationTimestamp"] == "2026-01-01T00:00:00Z"
    assert merged["metadata"]["generation"] == 4
    assert merged["status"] == {"replicas": 1}


def test_status_update_changes_nothing_but_status():
    new = stored()
    new["spec"] = {"replicas": 9}
    new["metadata"]["labels"] = {"a": "b"}
    new["status"] = {"replicas": 2}
    merged = objects.prepare_for_status_update(DEPLOY, new, stored())
    assert merged["spec"] == {"replicas": 1} and "labels" not in merged["metadata"]
    assert merged["status"] == {"replicas": 2}


def test_an_update_with_the_same_content_is_a_noop():
    assert objects.is_noop(objects.prepare_for_update(DEPLOY, stored(), stored()), stored())
    changed = stored()
    changed["metadata"]["labels"] = {"a": "b"}
    assert not objects.is_noop(objects.prepare_for_update(DEPLOY, changed, stored()), stored())


def test_renaming_through_update_is_rejected():
    new = stored()
    new["metadata"]["name"] = "other"
    with pytest.raises(errors.BadRequest, match="does not match the name"):
        objects.validate_identity(DEPLOY, new, stored(), "default", "web")


def test_storage_form_has_no_resource_version():
    assert b"resourceVersion" not in objects.encode_for_storage(stored())
    assert objects.decode_stored(objects.encode_for_storage(stored()), 42)["metadata"]["resourceVersion"] == "42"


def test_merge_patch_follows_rfc_7386():
    assert merge_patch({"a": {"b": 1, "c": 2}, "d": [1]}, {"a": {"b": None, "e": 3}, "d": [2]}) == {
        "a": {"c": 2, "e": 3}, "d": [2]}


def test_apply_patch_leaves_the_current_object_unchanged():
    current = {"data": {"a": "1"}}
    apply_patch(current, "merge", b'{"data": {"a": "2"}}')
    apply_patch(current, "json", b'[{"op": "replace", "path": "/data/a", "value": "3"}]')
    assert current == {"data": {"a": "1"}}


def test_binding_sets_the_node_once():
    pod = {"metadata": {"name": "p", "uid": "u"}, "spec": {}}
    bound = compute_binding(pod, "n1")
    assert bound["spec"]["nodeName"] == "n1"
    with pytest.raises(errors.Conflict, match="already assigned"):
        compute_binding(bound, "n2")
    with pytest.raises(errors.Conflict, match="being deleted"):
        compute_binding({"metadata": {"name": "p", "deletionTimestamp": "x"}, "spec": {}}, "n1")
