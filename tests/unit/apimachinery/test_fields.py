"""Field selectors parse, print and match as Kubernetes' fields package does."""

from __future__ import annotations

import pytest

from apimachinery.fields import (
    EQUALS,
    NOT_EQUALS,
    FieldSelector,
    Requirement,
    escape_value,
    object_fields,
    parse_field_selector,
    selector_from_set,
    unescape_value,
    validate_field_selector,
)

# input, canonical string
CANONICAL = [
    ("metadata.name=web", "metadata.name=web"),
    ("metadata.name==web", "metadata.name=web"),
    ("spec.nodeName!=", "spec.nodeName!="),
    ("spec.nodeName=", "spec.nodeName="),
    ("status.phase=Running,metadata.name=web", "metadata.name=web,status.phase=Running"),
    ("a=b\\,c", "a=b\\,c"),
    ("a=b\\=c", "a=b\\=c"),
    ("a=b\\\\c", "a=b\\\\c"),
    ("", ""),
    (",,", ""),
    ("=", ""),
    ("=,a=1", "a=1"),
    ("a=!b", "a=!b"),
    (" a = b", " a = b"),
]


@pytest.mark.parametrize(("text", "canonical"), CANONICAL, ids=[c[0] for c in CANONICAL])
def test_parse_renders_canonical_string(text: str, canonical: str) -> None:
    assert str(parse_field_selector(text)) == canonical


def test_double_equals_parses_as_equals() -> None:
    assert parse_field_selector("metadata.name==web").requirements == (Requirement("metadata.name", EQUALS, "web"),)


def test_terms_are_sorted_and_values_unescaped() -> None:
    selector = parse_field_selector("spec.nodeName!=,metadata.name=a\\,b")
    assert selector.requirements == (
        Requirement("metadata.name", EQUALS, "a,b"),
        Requirement("spec.nodeName", NOT_EQUALS, ""),
    )
    assert selector.fields() == {"metadata.name", "spec.nodeName"}


@pytest.mark.parametrize(("text", "message"), [
    ("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
    ("a=1,b", "invalid selector: 'a=1,b'; can't understand 'b'"),
    ("a=b=c", "invalid field selector: unescaped character in value: 61"),
    ("x!==y", "invalid field selector: unescaped character in value: 61"),
    ("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
    ("a=b\\", "invalid field selector: invalid escape sequence: \\"),
    ("a=b\\n", "invalid field selector: invalid escape sequence: \\n"),
])
def test_bad_field_selector_is_rejected_with_kubernetes_message(text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_field_selector(text)
    assert str(raised.value) == message


@pytest.mark.parametrize(("text", "fields", "expected"), [
    ("metadata.name=web", {"metadata.name": "web"}, True),
    ("metadata.name=web", {"metadata.name": "db"}, False),
    ("spec.nodeName=", {"metadata.name": "web"}, True),
    ("spec.nodeName=", {"spec.nodeName": "node-1"}, False),
    ("spec.nodeName!=", {"spec.nodeName": "node-1"}, True),
    ("spec.nodeName!=", {}, False),
    ("status.phase!=Running,metadata.namespace=ns", {"status.phase": "Pending", "metadata.namespace": "ns"}, True),
    ("status.phase!=Running,metadata.namespace=ns", {"status.phase": "Running", "metadata.namespace": "ns"}, False),
    ("a=x\\,y", {"a": "x,y"}, True),
    ("", {}, True),
])
def test_field_selector_matching(text: str, fields: dict[str, str], expected: bool) -> None:
    assert parse_field_selector(text).matches(fields) is expected


def test_everything_and_nothing() -> None:
    assert FieldSelector.everything().empty
    assert FieldSelector.everything().matches({})
    assert not FieldSelector.nothing().empty
    assert not FieldSelector.nothing().matches({})
    assert parse_field_selector("") == FieldSelector.everything()


def test_requires_exact_match_only_for_equality() -> None:
    selector = parse_field_selector("metadata.name=web,spec.nodeName!=n1")
    assert selector.requires_exact_match("metadata.name") == "web"
    assert selector.requires_exact_match("spec.nodeName") is None


@pytest.mark.parametrize(("raw", "escaped"), [("a,b", "a\\,b"), ("a=b", "a\\=b"), ("a\\b", "a\\\\b"), ("ab", "ab")])
def test_escape_and_unescape_round_trip(raw: str, escaped: str) -> None:
    assert escape_value(raw) == escaped
    assert unescape_value(escaped) == raw


def test_selector_from_set_matches_exactly_those_fields() -> None:
    selector = selector_from_set({"metadata.name": "web", "metadata.namespace": "ns"})
    assert selector.matches({"metadata.name": "web", "metadata.namespace": "ns"})
    assert not selector.matches({"metadata.name": "web", "metadata.namespace": "other"})
    assert selector_from_set(None).empty


POD = {
    "metadata": {"name": "web-1", "namespace": "default"},
    "spec": {"nodeName": "node-a", "hostNetwork": True, "priority": 10},
    "status": {"phase": "Running"},
}


def test_object_fields_always_include_name_and_namespace() -> None:
    assert object_fields(POD) == {"metadata.name": "web-1", "metadata.namespace": "default"}


def test_object_fields_read_extra_dotted_paths() -> None:
    fields = object_fields(POD, ["spec.nodeName", "status.phase", "spec.hostNetwork", "spec.priority"])
    assert fields["spec.nodeName"] == "node-a"
    assert fields["status.phase"] == "Running"
    assert fields["spec.hostNetwork"] == "true"
    assert fields["spec.priority"] == "10"


def test_missing_fields_read_as_empty_string() -> None:
    node = {"metadata": {"name": "n1"}, "spec": {}}
    fields = object_fields(node, ["spec.unschedulable", "status.phase.deeper"])
    assert fields == {"metadata.name": "n1", "metadata.namespace": "", "spec.unschedulable": "",
                      "status.phase.deeper": ""}


def test_false_boolean_renders_false() -> None:
    node = {"metadata": {"name": "n1"}, "spec": {"unschedulable": False}}
    assert object_fields(node, ["spec.unschedulable"])["spec.unschedulable"] == "false"


def test_event_involved_object_fields() -> None:
    event = {"metadata": {"name": "e", "namespace": "ns"}, "involvedObject": {"kind": "Pod", "name": "web"}}
    selector = parse_field_selector("involvedObject.kind=Pod,involvedObject.name=web")
    assert selector.matches(object_fields(event, ["involvedObject.kind", "involvedObject.name"]))


def test_unscheduled_pods_selector_end_to_end() -> None:
    pending = {"metadata": {"name": "p", "namespace": "ns"}, "spec": {}}
    selector = parse_field_selector("spec.nodeName=")
    assert selector.matches(object_fields(pending, ["spec.nodeName"]))
    assert not selector.matches(object_fields(POD, ["spec.nodeName"]))


def test_validate_field_selector_accepts_supported_fields() -> None:
    selector = parse_field_selector("metadata.name=a,spec.nodeName=b")
    validate_field_selector(selector, {"metadata.name", "metadata.namespace", "spec.nodeName"})


def test_validate_field_selector_rejects_unsupported_field() -> None:
    with pytest.raises(ValueError) as raised:
        validate_field_selector(parse_field_selector("spec.replicas=3"), {"metadata.name"})
    assert str(raised.value) == "field label not supported: spec.replicas"
