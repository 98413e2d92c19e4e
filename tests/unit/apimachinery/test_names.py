"""Names, label keys/values and ObjectMeta validate exactly as Kubernetes validates them."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.errors import (
    FIELD_VALUE_DUPLICATE,
    FIELD_VALUE_FORBIDDEN,
    FIELD_VALUE_INVALID,
    FIELD_VALUE_REQUIRED,
    FIELD_VALUE_TOO_LONG,
    FieldError,
)
from apimachinery.names import (
    MAX_GENERATED_NAME_LENGTH,
    NAME_ALPHABET,
    generate_name,
    is_c_identifier,
    is_config_map_key,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_env_var_name,
    is_qualified_name,
    is_valid_label_value,
    mask_trailing_dash,
    validate_object_meta,
)

SUBDOMAIN_ERROR = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_ERROR = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_ERROR = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
NAME_PART_ERROR = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_ERROR = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


@pytest.mark.parametrize("name", ["a", "example.com", "my-app.v1", "0", "a" * 253, "1.2.3.4"])
def test_dns1123_subdomain_accepts(name: str) -> None:
    assert is_dns1123_subdomain(name) == []


@pytest.mark.parametrize(("name", "errors"), [
    ("", [SUBDOMAIN_ERROR]),
    ("Example.com", [SUBDOMAIN_ERROR]),
    ("-a", [SUBDOMAIN_ERROR]),
    ("a-", [SUBDOMAIN_ERROR]),
    ("a..b", [SUBDOMAIN_ERROR]),
    ("a_b", [SUBDOMAIN_ERROR]),
    ("a\n", [SUBDOMAIN_ERROR]),
    ("a" * 254, ["must be no more than 253 characters"]),
    ("A" * 254, ["must be no more than 253 characters", SUBDOMAIN_ERROR]),
])
def test_dns1123_subdomain_rejects_with_kubernetes_messages(name: str, errors: list[str]) -> None:
    assert is_dns1123_subdomain(name) == errors


@pytest.mark.parametrize(("name", "errors"), [
    ("my-name", []),
    ("123-abc", []),
    ("a" * 63, []),
    ("a" * 64, ["must be no more than 63 characters"]),
    ("a.b", ["must not contain dots"]),
    ("My-Name", [LABEL_ERROR]),
    ("", [LABEL_ERROR]),
])
def test_dns1123_label(name: str, errors: list[str]) -> None:
    assert is_dns1123_label(name) == errors


@pytest.mark.parametrize(("name", "errors"), [
    ("my-svc", []),
    ("abc-123", []),
    ("1abc", [DNS1035_ERROR]),
    ("a.b", [DNS1035_ERROR]),
    ("a" * 64, ["must be no more than 63 characters"]),
])
def test_dns1035_label_is_the_service_name_rule(name: str, errors: list[str]) -> None:
    assert is_dns1035_label(name) == errors


@pytest.mark.parametrize("key", ["app", "MyName", "my.name", "123-abc", "example.com/My_Name", "a" * 63,
                                 "k8s.io/" + "a" * 63, "a" * 253 + "/b"])
def test_qualified_name_accepts(key: str) -> None:
    assert is_qualified_name(key) == []


@pytest.mark.parametrize(("key", "errors"), [
    ("", ["name part must be non-empty", NAME_PART_ERROR]),
    ("-app", [NAME_PART_ERROR]),
    ("app_", [NAME_PART_ERROR]),
    ("a" * 64, ["name part must be no more than 63 bytes"]),
    ("/app", ["prefix part must be non-empty"]),
    ("example.com/", ["name part must be non-empty", NAME_PART_ERROR]),
    ("Example.com/app", ["prefix part " + SUBDOMAIN_ERROR]),
    ("a" * 254 + "/b", ["prefix part must be no more than 253 bytes"]),
])
def test_qualified_name_rejects_with_kubernetes_messages(key: str, errors: list[str]) -> None:
    assert is_qualified_name(key) == errors


def test_qualified_name_with_two_slashes_gets_one_summary_error() -> None:
    errors = is_qualified_name("a/b/c")
    assert len(errors) == 1
    assert errors[0].startswith("a valid label key must consist of alphanumeric characters")
    assert errors[0].endswith("with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')")


def test_length_limits_count_utf8_bytes_like_go() -> None:
    assert "name part must be no more than 63 bytes" in is_qualified_name("é" * 32)


@pytest.mark.parametrize(("value", "errors"), [
    ("", []),
    ("web", []),
    ("v1.2_3-x", []),
    ("a" * 63, []),
    ("a" * 64, ["must be no more than 63 bytes"]),
    ("-web", [LABEL_VALUE_ERROR]),
    ("a b", [LABEL_VALUE_ERROR]),
])
def test_label_value(value: str, errors: list[str]) -> None:
    assert is_valid_label_value(value) == errors


@pytest.mark.parametrize(("name", "ok"), [("my_name", True), ("MY_NAME", True), ("_x", True), ("1x", False),
                                          ("a-b", False), ("", False)])
def test_c_identifier(name: str, ok: bool) -> None:
    assert (is_c_identifier(name) == []) is ok


@pytest.mark.parametrize(("name", "errors"), [
    ("my.env-name", []),
    ("MY_ENV.NAME", []),
    ("MyEnvName1", []),
    ("-x", []),
    ("1x", ["a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or "
            "'.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', "
            "regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"]),
    ("..x", ["must not start with '..'"]),
    (".", ["must not be '.'"]),
])
def test_env_var_name(name: str, errors: list[str]) -> None:
    assert is_env_var_name(name) == errors


@pytest.mark.parametrize(("key", "errors"), [
    ("key.name", []),
    ("KEY_NAME", []),
    (".env", []),
    ("..", ["must not be '..'"]),
    ("..data", ["must not start with '..'"]),
    ("a/b", ["a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  "
             "or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"]),
    ("a" * 254, ["must be no more than 253 characters"]),
])
def test_config_map_key(key: str, errors: list[str]) -> None:
    assert is_config_map_key(key) == errors


@pytest.mark.parametrize(("prefix", "masked"), [("web-", "wea"), ("-", "-"), ("web", "web"), ("a-", "a")])
def test_mask_trailing_dash_keeps_kubernetes_quirk(prefix: str, masked: str) -> None:
    assert mask_trailing_dash(prefix) == masked


def test_generated_name_is_prefix_plus_five_safe_characters() -> None:
    name = generate_name("web-")
    assert name.startswith("web-")
    assert len(name) == 9
    assert set(name[4:]) <= set(NAME_ALPHABET)


def test_generated_name_truncates_long_prefix_to_63_characters() -> None:
    name = generate_name("x" * 100)
    assert len(name) == 63
    assert name[:MAX_GENERATED_NAME_LENGTH] == "x" * 58


def test_generated_names_differ() -> None:
    assert len({generate_name("p-") for _ in range(50)}) > 40


def _meta(**fields: Any) -> dict[str, Any]:
    return {"name": "web", "namespace": "default", **fields}


def test_valid_namespaced_metadata_has_no_errors() -> None:
    meta = _meta(labels={"app": "web", "k8s.io/tier": ""}, annotations={"Example.com/Note": "x"},
                 finalizers=["example.com/cleanup"],
                 ownerReferences=[{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "1",
                                   "controller": True}])
    assert validate_object_meta(meta, namespaced=True) == []


def test_name_or_generate_name_is_required() -> None:
    assert validate_object_meta({"namespace": "default"}, namespaced=True) == [
        FieldError("metadata.name", FIELD_VALUE_REQUIRED, "name or generateName is required")]


def test_generate_name_alone_is_enough_and_may_end_with_a_dash() -> None:
    assert validate_object_meta({"generateName": "web-", "namespace": "ns"}, namespaced=True) == []


def test_bad_generate_name_is_reported_on_generate_name() -> None:
    errors = validate_object_meta({"generateName": "Web-", "namespace": "ns"}, namespaced=True)
    assert errors == [FieldError("metadata.generateName", FIELD_VALUE_INVALID, SUBDOMAIN_ERROR, "Web-")]


def test_invalid_name_uses_the_kinds_name_validator() -> None:
    errors = validate_object_meta(_meta(name="my.svc"), namespaced=True, name_validator=is_dns1035_label)
    assert errors == [FieldError("metadata.name", FIELD_VALUE_INVALID, DNS1035_ERROR, "my.svc")]


def test_namespace_is_required_for_namespaced_kinds() -> None:
    assert validate_object_meta({"name": "web"}, namespaced=True) == [
        FieldError("metadata.namespace", FIELD_VALUE_REQUIRED)]


def test_namespace_must_be_a_dns_label() -> None:
    errors = validate_object_meta(_meta(namespace="a.b"), namespaced=True)
    assert errors == [FieldError("metadata.namespace", FIELD_VALUE_INVALID, "must not contain dots", "a.b")]


def test_namespace_is_forbidden_on_cluster_scoped_kinds() -> None:
    assert validate_object_meta(_meta(), namespaced=False) == [
        FieldError("metadata.namespace", FIELD_VALUE_FORBIDDEN, "not allowed on this type")]


def test_negative_generation_is_invalid() -> None:
    assert validate_object_meta(_meta(generation=-1), namespaced=True) == [
        FieldError("metadata.generation", FIELD_VALUE_INVALID, "must be greater than or equal to 0", -1)]


def test_bad_label_key_and_value_are_reported_at_metadata_labels() -> None:
    errors = validate_object_meta(_meta(labels={"app_": "ok", "tier": "-db"}), namespaced=True)
    assert errors == [
        FieldError("metadata.labels", FIELD_VALUE_INVALID, NAME_PART_ERROR, "app_"),
        FieldError("metadata.labels", FIELD_VALUE_INVALID, LABEL_VALUE_ERROR, "-db"),
    ]


def test_annotation_keys_are_checked_case_insensitively() -> None:
    assert validate_object_meta(_meta(annotations={"Example.COM/Key": "v"}), namespaced=True) == []
    errors = validate_object_meta(_meta(annotations={"bad key": "v"}), namespaced=True)
    assert [(e.field, e.value) for e in errors] == [("metadata.annotations", "bad key")]


def test_annotations_larger_than_256_kib_are_too_long() -> None:
    errors = validate_object_meta(_meta(annotations={"big": "x" * (256 * 1024)}), namespaced=True)
    assert errors == [FieldError("metadata.annotations", FIELD_VALUE_TOO_LONG, "may not be more than 262144 bytes")]


def test_annotations_of_exactly_256_kib_are_fine() -> None:
    assert validate_object_meta(_meta(annotations={"big": "x" * (256 * 1024 - 3)}), namespaced=True) == []


def test_owner_reference_fields_are_required() -> None:
    errors = validate_object_meta(_meta(ownerReferences=[{}]), namespaced=True)
    assert [(e.field, e.type) for e in errors] == [
        ("metadata.ownerReferences[0].apiVersion", FIELD_VALUE_REQUIRED),
        ("metadata.ownerReferences[0].kind", FIELD_VALUE_REQUIRED),
        ("metadata.ownerReferences[0].name", FIELD_VALUE_REQUIRED),
        ("metadata.ownerReferences[0].uid", FIELD_VALUE_REQUIRED),
    ]


@pytest.mark.parametrize("api_version", ["a/b/c", "apps/", "/"])
def test_owner_reference_api_version_must_have_a_version(api_version: str) -> None:
    ref = {"apiVersion": api_version, "kind": "K", "name": "n", "uid": "u"}
    errors = validate_object_meta(_meta(ownerReferences=[ref]), namespaced=True)
    assert errors == [FieldError("metadata.ownerReferences[0].apiVersion", FIELD_VALUE_INVALID,
                                 "must be <group>/<version> or <version>", api_version)]


def test_events_cannot_own_objects() -> None:
    ref = {"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "u"}
    errors = validate_object_meta(_meta(ownerReferences=[ref]), namespaced=True)
    assert [e.detail for e in errors] == ["/v1, Kind=Event is disallowed from being an owner"]


def test_only_one_owner_reference_may_be_the_controller() -> None:
    refs = [{"apiVersion": "apps/v1", "kind": k, "name": n, "uid": n, "controller": True}
            for k, n in [("ReplicaSet", "a"), ("Deployment", "b")]]
    errors = validate_object_meta(_meta(ownerReferences=refs), namespaced=True)
    assert [(e.field, e.detail) for e in errors] == [(
        "metadata.ownerReferences",
        'Only one reference can have Controller set to true. Found "true" in references for ReplicaSet/a and '
        "Deployment/b")]


def test_finalizers_must_be_qualified_names() -> None:
    errors = validate_object_meta(_meta(finalizers=["bad finalizer"]), namespaced=True)
    assert [(e.field, e.value) for e in errors] == [("metadata.finalizers", "bad finalizer")]


def test_duplicate_finalizers_are_rejected() -> None:
    errors = validate_object_meta(_meta(finalizers=["a.io/x", "a.io/x"]), namespaced=True)
    assert errors == [FieldError("metadata.finalizers[1]", FIELD_VALUE_DUPLICATE, "", "a.io/x")]


def test_orphan_and_foreground_deletion_finalizers_conflict() -> None:
    errors = validate_object_meta(_meta(finalizers=["orphan", "foregroundDeletion"]), namespaced=True)
    assert [e.detail for e in errors] == ["finalizer orphan and foregroundDeletion cannot be both set"]


def test_non_string_name_is_invalid_not_a_crash() -> None:
    errors = validate_object_meta({"name": 5, "namespace": "ns"}, namespaced=True)
    assert errors == [FieldError("metadata.name", FIELD_VALUE_INVALID, "must be a string", 5)]


def test_field_error_message_reads_like_kubectl() -> None:
    error = validate_object_meta(_meta(name="Web"), namespaced=True)[0]
    assert error.message() == f'metadata.name: Invalid value: "Web": {SUBDOMAIN_ERROR}'


def test_labels_that_are_not_a_map_are_invalid_not_a_crash() -> None:
    errors = validate_object_meta(_meta(labels=["app"]), namespaced=True)
    assert errors == [FieldError("metadata.labels", FIELD_VALUE_INVALID, "must be an object", ["app"])]
