import pytest

from apimachinery.manifest import ManifestError, load_manifests


def test_multi_document_yaml_yields_objects_in_order_and_skips_empty_documents():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Pod\n"
    assert [o["kind"] for o in load_manifests(text)] == ["ConfigMap", "Pod"]


def test_a_list_is_flattened_into_its_items():
    text = '{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Pod"}]}'
    assert load_manifests(text) == [{"apiVersion": "v1", "kind": "Pod"}]


def test_malformed_yaml_names_the_line_and_column():
    with pytest.raises(ManifestError, match="line 4, column 1"):
        load_manifests("apiVersion: v1\nkind: Pod\nmetadata: {name: [\n", "pod.yaml")


def test_a_document_that_is_not_an_object_is_rejected_naming_it():
    with pytest.raises(ManifestError, match="document 2 is a list"):
        load_manifests("apiVersion: v1\nkind: Pod\n---\n- a\n- b\n")


def test_a_document_without_kind_is_rejected_naming_the_field():
    with pytest.raises(ManifestError, match="'kind' is missing"):
        load_manifests("apiVersion: v1\nmetadata: {name: x}\n")
