"""Field sets, FieldsV1 and managedFields entries, as structured-merge-diff computes them."""

from __future__ import annotations

import pytest

from apimachinery.managed_fields import (
    APPLY,
    UPDATE,
    ManagedEntry,
    compare_objects,
    decode_managed_fields,
    element_key,
    encode_managed_fields,
    from_fields_v1,
    object_field_set,
    path_string,
    shape_of,
    to_fields_v1,
)

DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"
POD = "io.k8s.api.core.v1.Pod"


def deployment(**container: object) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "uid": "u", "labels": {"app": "web"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"spec": {"containers": [{"name": "web", "image": "nginx", **container}]}}},
            "status": {"replicas": 2}}


CONTAINER = ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"web"}')


def test_field_set_keys_containers_by_name_and_holds_leaves_not_structs():
    fields = object_field_set(deployment(), DEPLOYMENT)
    assert (*CONTAINER, "f:image") in fields
    assert CONTAINER in fields  # the element itself: `.` in FieldsV1
    assert ("f:spec", "f:replicas") in fields
    assert ("f:spec",) not in fields and ("f:spec", "f:template") not in fields


def test_field_set_strips_server_metadata_and_status_on_the_main_resource():
    fields = object_field_set(deployment(), DEPLOYMENT)
    assert ("f:metadata", "f:labels", "f:app") in fields
    assert not any(p[:2] in (("f:metadata", "f:name"), ("f:metadata", "f:uid")) for p in fields)
    assert not any(p[0] in ("f:status", "f:apiVersion", "f:kind") for p in fields)
    assert object_field_set(deployment(), DEPLOYMENT, "status") == {("f:status", "f:replicas")}


def test_an_atomic_struct_is_one_leaf():
    fields = object_field_set(deployment(), DEPLOYMENT)
    assert ("f:spec", "f:selector") in fields
    assert not any(len(p) > 2 and p[:2] == ("f:spec", "f:selector") for p in fields)


def test_ports_are_keyed_by_port_and_protocol_with_tcp_by_default():
    fields = object_field_set(deployment(ports=[{"containerPort": 80}]), DEPLOYMENT)
    assert (*CONTAINER, "f:ports", 'k:{"containerPort":80,"protocol":"TCP"}', "f:containerPort") in fields


def test_env_is_keyed_by_name_and_args_are_atomic():
    fields = object_field_set(deployment(env=[{"name": "A", "value": "1"}], args=["a", "b"]), DEPLOYMENT)
    assert (*CONTAINER, "f:env", 'k:{"name":"A"}', "f:value") in fields
    assert (*CONTAINER, "f:args") in fields
    assert not any(len(p) > len(CONTAINER) + 1 and p[len(CONTAINER)] == "f:args" for p in fields)


def test_finalizers_are_a_set_of_values():
    obj = {"metadata": {"finalizers": ["a/b"]}}
    assert object_field_set(obj, POD) == {("f:metadata", "f:finalizers", 'v:"a/b"')}


def test_without_a_schema_maps_are_granular_and_lists_atomic():
    obj = {"spec": {"size": 1, "items": [{"name": "x"}]}}
    assert object_field_set(obj, None) == {("f:spec",), ("f:spec", "f:size"), ("f:spec", "f:items")}


def test_a_patch_merge_key_without_list_type_makes_a_list_map():
    shape = shape_of({"type": "array", "items": {"type": "object"}, "x-kubernetes-patch-strategy": "merge",
                      "x-kubernetes-patch-merge-key": "ip"})
    assert shape.list_type == "map" and shape.keys == ("ip",)
    assert element_key({"ip": "10.0.0.1"}, shape, 0) == 'k:{"ip":"10.0.0.1"}'


def test_fields_v1_marks_members_with_children_by_a_dot_and_round_trips():
    paths = {CONTAINER, (*CONTAINER, "f:name"), ("f:spec", "f:replicas")}
    trie = to_fields_v1(paths)
    assert trie == {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
        'k:{"name":"web"}': {".": {}, "f:name": {}}}}}}}
    assert list(trie["f:spec"]) == ["f:replicas", "f:template"]
    assert from_fields_v1(trie) == paths


def test_from_fields_v1_rejects_what_is_not_a_path_element():
    with pytest.raises(ValueError):
        from_fields_v1({"spec": {}})


def test_path_string_is_spelled_as_kubernetes_prints_conflicts():
    assert path_string((*CONTAINER, "f:image")) == '.spec.template.spec.containers[name="web"].image'
    assert path_string(("f:ports", 'k:{"containerPort":80,"protocol":"TCP"}')) == \
        '.ports[containerPort=80,protocol="TCP"]'
    assert path_string(("f:metadata", "f:finalizers", 'v:"a/b"')) == '.metadata.finalizers[="a/b"]'


def test_compare_finds_added_modified_and_removed_paths():
    old = deployment()
    new = deployment(image="nginx:2", ports=[{"containerPort": 80}])
    del new["metadata"]["labels"]
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    result = compare_objects(old, new, DEPLOYMENT)
    assert result.modified == {(*CONTAINER, "f:image")}
    assert (*CONTAINER, "f:ports", 'k:{"containerPort":80,"protocol":"TCP"}', "f:containerPort") in result.added
    assert ("f:metadata", "f:labels", "f:app") in result.removed


def test_compare_gives_a_new_map_its_own_membership():
    old = {"metadata": {"name": "x"}}
    new = {"metadata": {"name": "x", "labels": {"a": "b"}}}
    assert compare_objects(old, new, POD).added == {("f:metadata", "f:labels"), ("f:metadata", "f:labels", "f:a")}


def test_compare_of_equal_objects_is_empty():
    result = compare_objects(deployment(), deployment(), DEPLOYMENT)
    assert not (result.added or result.modified or result.removed)


def entry(manager: str, operation: str = UPDATE, **extra: object) -> dict:
    return {"manager": manager, "operation": operation, "apiVersion": "v1", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {"f:a": {}}}, **extra}


def test_decode_reads_entries_and_rejects_duplicates_and_bad_operations():
    decoded = decode_managed_fields([entry("a"), entry("a", APPLY)])
    assert [e.identity for e in decoded] == [("a", UPDATE, "v1", ""), ("a", APPLY, "", "")]
    with pytest.raises(ValueError, match="duplicate"):
        decode_managed_fields([entry("a"), entry("a")])
    with pytest.raises(ValueError, match="operation"):
        decode_managed_fields([entry("a", "Delete")])
    with pytest.raises(ValueError, match="fieldsType"):
        decode_managed_fields([{**entry("a"), "fieldsType": ""}])


def test_encode_puts_appliers_first_drops_empty_entries_and_keeps_unchanged_ones_verbatim():
    raw = entry("z", time="2026-01-01T00:00:00Z")
    stored = decode_managed_fields([raw])[0]
    applier = ManagedEntry("b", APPLY, "v1", frozenset({("f:data", "f:b")}), "2026-01-02T00:00:00Z")
    empty = ManagedEntry("c", UPDATE, "v1", frozenset())
    encoded = encode_managed_fields([stored, empty, applier])
    assert [e["manager"] for e in encoded] == ["b", "z"]
    assert encoded[1] == raw


def test_an_entry_describes_its_manager_as_conflict_messages_do():
    scale = ManagedEntry("kubectl", UPDATE, "apps/v1", frozenset(), None, "scale")
    assert scale.describe() == '"kubectl" with subresource "scale" using apps/v1'
    assert ManagedEntry("kubectl", APPLY, "apps/v1", frozenset()).describe() == '"kubectl"'


def test_fields_v1_orders_list_keys_by_value_as_structured_merge_diff_does():
    ports = {("f:ports", 'k:{"port":443,"protocol":"TCP"}'), ("f:ports", 'k:{"port":80,"protocol":"TCP"}')}
    assert list(to_fields_v1(ports)["f:ports"]) == ['k:{"port":80,"protocol":"TCP"}',
                                                    'k:{"port":443,"protocol":"TCP"}']
