"""Label selectors parse, print and match as Kubernetes' labels package does.

Most tables are ported from k8s.io/apimachinery pkg/labels/selector_test.go; error texts were
checked against Kubernetes' own parser.
"""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.errors import FIELD_VALUE_FORBIDDEN, FIELD_VALUE_INVALID, FIELD_VALUE_REQUIRED, FieldError
from apimachinery.labels import (
    DOES_NOT_EXIST,
    EQUALS,
    EXISTS,
    GREATER_THAN,
    IN,
    NOT_IN,
    Requirement,
    Selector,
    new_requirement,
    parse_selector,
    selector_from_label_selector,
    selector_from_set,
    validate_label_selector,
    validate_labels,
)

VALUE_ERROR = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


@pytest.mark.parametrize("text", ["x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ", "!x", "x>1",
                                  "x>1,z<5"])
def test_good_selectors_round_trip_through_str(text: str) -> None:
    assert str(parse_selector(text)) == text.replace(" ", "")


# input, canonical string
CANONICAL = [
    ("app=web,tier!=db", "app=web,tier!=db"),
    ("env in (prod, qa)", "env in (prod,qa)"),
    ("env in (qa,prod)", "env in (prod,qa)"),
    ("!canary", "!canary"),
    ("release", "release"),
    ("x notin (a,b)", "x notin (a,b)"),
    ("x==a", "x==a"),
    ("\rx", "x"),
    ("foo  in\t (abc)", "foo in (abc)"),
    ("x notin\n (abc)", "x notin (abc)"),
    ("x in (abc,)", "x in (,abc)"),
    ("x in (abc,abc)", "x in (abc)"),
    ("x in ()", "x in ()"),
    ("x in (a,,a,,a,,a,,)", "x in (,a)"),
    ("x notin (abc,,def),bar,z in (),w", "bar,w,x notin (,abc,def),z in ()"),
    ("x notin (, a)", "x notin (,a)"),
    ("a in (x,y,notin, z,in)", "a in (in,notin,x,y,z)"),
    ("notin=in", "notin=in"),
    ("0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)", "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)"),
    ("z=1,a=2", "a=2,z=1"),
]


@pytest.mark.parametrize(("text", "canonical"), CANONICAL, ids=[c[0] for c in CANONICAL])
def test_parse_renders_canonical_string(text: str, canonical: str) -> None:
    assert str(parse_selector(text)) == canonical


def test_parse_sorts_requirements_by_key_for_determinism() -> None:
    assert parse_selector("x=a,a=x") == parse_selector("a=x,x=a")


def test_parsed_requirements_carry_operator_and_sorted_values() -> None:
    selector = parse_selector("env in (qa,prod),!canary,release,n>3")
    assert selector.requirements == (
        Requirement("canary", DOES_NOT_EXIST),
        Requirement("env", IN, ("prod", "qa")),
        Requirement("n", GREATER_THAN, ("3",)),
        Requirement("release", EXISTS),
    )


# input, error message
BAD = [
    ("x=a||y=b", "unable to parse requirement: values[0][x]: Invalid value: \"a||y\": " + VALUE_ERROR),
    ("x==a==b", "found '==', expected: ',' or 'end of string'"),
    ("!x=a", "found '=', expected: ',' or 'end of string'"),
    ("x<a", "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, "
            "the value must be an integer"),
    ("x,,y", "found ',', expected: identifier after ','"),
    (",x,y", "found ',', expected: !, identifier, or 'end of string'"),
    ("x nott in (y)", "unable to parse requirement: found 'nott', expected: in, notin, =, ==, !=, gt, lt"),
    ("a in (xyz),", "found '', expected: identifier after ','"),
    ("a in (xyz)b notin ()", "found 'b', expected: ',' or 'end of string'"),
    ("a in (xyz abc)", "unable to parse requirement: found 'abc', expected: ',' or ')'"),
    ("a notin(", "unable to parse requirement: found '', expected: ',', ')' or identifier"),
    ("a (", "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt"),
    ("(", "found '(', expected: !, identifier, or 'end of string'"),
    ("x in a", "unable to parse requirement: found 'a' expected: '('"),
    ("x=(", "unable to parse requirement: found '(', expected: identifier"),
    ("x>-1", "unable to parse requirement: values[0][x]: Invalid value: \"-1\": " + VALUE_ERROR),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_selector_is_rejected_with_kubernetes_message(text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_selector(text)
    assert str(raised.value) == message


def test_invalid_key_is_reported_like_kubernetes_with_nil_path() -> None:
    with pytest.raises(ValueError) as raised:
        parse_selector("app_=web")
    assert str(raised.value).startswith('unable to parse requirement: <nil>: Invalid value: "app_": name part ')


def test_nul_character_after_an_operator_is_swallowed_like_go() -> None:
    with pytest.raises(ValueError, match="found '=', expected: identifier"):
        parse_selector("app!=\0\t=")


# selector, labels, matches?
MATCHES = [
    ("", {"x": "y"}, True),
    ("x=y", {"x": "y"}, True),
    ("x=y,z=w", {"x": "y", "z": "w"}, True),
    ("x!=y,z!=w", {"x": "z", "z": "a"}, True),
    ("notin=in", {"notin": "in"}, True),
    ("x", {"x": "z"}, True),
    ("!x", {"y": "z"}, True),
    ("x>1", {"x": "2"}, True),
    ("x<1", {"x": "0"}, True),
    ("x=z", {}, False),
    ("x=y", {"x": "z"}, False),
    ("x=y,z=w", {"x": "w", "z": "w"}, False),
    ("x!=y,z!=w", {"x": "z", "z": "w"}, False),
    ("x", {"y": "z"}, False),
    ("!x", {"x": "z"}, False),
    ("x>1", {"x": "0"}, False),
    ("x<1", {"x": "2"}, False),
    ("x>1", {}, False),
    ("x>1", {"x": "v2"}, False),
    ("x>1", {"x": " 2"}, False),
    ("x>1", {"x": "9223372036854775808"}, False),
    ("x!=y", {}, True),
    ("x notin (a)", {}, True),
    ("x in (a,b)", {"x": "b"}, True),
    ("x in (a,b)", {"x": "c"}, False),
    ("x notin (a,b)", {"x": "b"}, False),
    ("x=", {"x": ""}, True),
    ("x=", {}, False),
    ("x in ()", {"x": ""}, True),
    ("env in (prod, qa),tier!=db,!canary", {"env": "qa", "tier": "web"}, True),
    ("env in (prod, qa),tier!=db,!canary", {"env": "qa", "tier": "web", "canary": "true"}, False),
]


@pytest.mark.parametrize(("text", "labels", "expected"), MATCHES,
                         ids=[f"{m[0]}|{sorted(m[1].items())}" for m in MATCHES])
def test_selector_matching(text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_selector(text).matches(labels) is expected


def test_everything_matches_all_and_is_empty() -> None:
    assert Selector.everything().matches({"x": "y"})
    assert Selector.everything().empty
    assert str(Selector.everything()) == ""


def test_nothing_matches_nothing_and_is_not_empty() -> None:
    assert not Selector.nothing().matches({})
    assert not Selector.nothing().empty
    assert str(Selector.nothing()) == ""
    assert Selector.nothing() != Selector.everything()


def test_selector_and_requirement_are_immutable_and_hashable() -> None:
    requirement = parse_selector("a in (x)").requirements[0]
    with pytest.raises(AttributeError):
        requirement.key = "b"  # type: ignore[misc]
    assert len({parse_selector("a=1,b=2"), parse_selector("b=2,a=1")}) == 1


def test_requires_exact_match() -> None:
    selector = parse_selector("app=web,env in (prod),tier in (a,b),x!=y")
    assert selector.requires_exact_match("app") == "web"
    assert selector.requires_exact_match("env") == "prod"
    assert selector.requires_exact_match("tier") is None
    assert selector.requires_exact_match("x") is None
    assert selector.requires_exact_match("missing") is None


def test_add_keeps_requirements_sorted() -> None:
    selector = parse_selector("b=1").add(new_requirement("a", EQUALS, ["2"]))
    assert str(selector) == "a=2,b=1"


def test_selector_from_set() -> None:
    assert str(selector_from_set({"z": "1", "a": "2"})) == "a=2,z=1"
    assert selector_from_set({}).empty
    assert selector_from_set(None).matches({"any": "thing"})


@pytest.mark.parametrize(("key", "operator", "values", "message"), [
    ("x1", IN, [], "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty"),
    ("x5", EQUALS, ["bar", "foo"], 'values: Invalid value: ["bar","foo"]: exact-match compatibility requires '
                                   "one single value"),
    ("x8", EXISTS, ["foo"], 'values: Invalid value: ["foo"]: values set must be empty for exists and does not '
                            "exist"),
    ("x13", GREATER_THAN, [], "values: Invalid value: []: for 'Gt', 'Lt' operators, exactly one value is "
                              "required"),
    ("x18", "unsupportedOp", [], 'operator: Unsupported value: "unsupportedOp": supported values: "in", '
                                 '"notin", "=", "==", "!=", "gt", "lt", "exists", "!"'),
])
def test_new_requirement_errors_match_kubernetes(key: str, operator: str, values: list[str], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        new_requirement(key, operator, values)
    assert str(raised.value) == message


def test_new_requirement_aggregates_several_errors_in_brackets() -> None:
    with pytest.raises(ValueError) as raised:
        new_requirement("x", GREATER_THAN, ["a", "b"])
    assert str(raised.value).startswith("[values: Invalid value: [\"a\",\"b\"]: for 'Gt', 'Lt' operators, exactly")
    assert str(raised.value).count("the value must be an integer") == 2


def _label_selector(**fields: Any) -> dict[str, Any]:
    return fields


def test_nil_label_selector_selects_nothing() -> None:
    assert selector_from_label_selector(None) is Selector.nothing()


def test_empty_label_selector_selects_everything() -> None:
    assert selector_from_label_selector({}).empty
    assert selector_from_label_selector({"matchLabels": {}, "matchExpressions": []}).matches({"a": "b"})


def test_label_selector_converts_match_labels_and_expressions() -> None:
    selector = selector_from_label_selector(_label_selector(
        matchLabels={"app": "web"},
        matchExpressions=[{"key": "env", "operator": "In", "values": ["qa", "prod"]},
                          {"key": "canary", "operator": "DoesNotExist"},
                          {"key": "tier", "operator": "NotIn", "values": ["db"]},
                          {"key": "release", "operator": "Exists"}]))
    assert str(selector) == "app=web,!canary,env in (prod,qa),release,tier notin (db)"
    assert selector.matches({"app": "web", "env": "qa", "release": "1"})
    assert not selector.matches({"app": "web", "env": "qa"})


@pytest.mark.parametrize(("label_selector", "message"), [
    ({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]},
     '"Gt" is not a valid label selector operator'),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
     "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty"),
    ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
     'values: Invalid value: ["x"]: values set must be empty for exists and does not exist'),
    ({"matchLabels": {"a": "-x"}}, 'values[0][a]: Invalid value: "-x": ' + VALUE_ERROR),
])
def test_invalid_label_selector_cannot_become_a_selector(label_selector: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        selector_from_label_selector(label_selector)
    assert str(raised.value) == message


def test_validate_label_selector_accepts_a_good_selector() -> None:
    good = {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "env", "operator": "In", "values": ["a"]}]}
    assert validate_label_selector(good, "spec.selector") == []
    assert validate_label_selector(None, "spec.selector") == []


def test_validate_label_selector_reports_each_problem_at_its_path() -> None:
    selector = {
        "matchLabels": {"app_": "web"},
        "matchExpressions": [
            {"key": "a", "operator": "In"},
            {"key": "b", "operator": "Exists", "values": ["x"]},
            {"key": "c", "operator": "Gt", "values": ["1"]},
            {"key": "-d", "operator": "NotIn", "values": ["-v"]},
        ],
    }
    errors = validate_label_selector(selector, "spec.selector")
    assert [(e.field, e.type) for e in errors] == [
        ("spec.selector.matchLabels", FIELD_VALUE_INVALID),
        ("spec.selector.matchExpressions[0].values", FIELD_VALUE_REQUIRED),
        ("spec.selector.matchExpressions[1].values", FIELD_VALUE_FORBIDDEN),
        ("spec.selector.matchExpressions[2].operator", FIELD_VALUE_INVALID),
        ("spec.selector.matchExpressions[3].key", FIELD_VALUE_INVALID),
        ("spec.selector.matchExpressions[3].values[0]", FIELD_VALUE_INVALID),
    ]
    assert errors[1].detail == "must be specified when `operator` is 'In' or 'NotIn'"
    assert errors[2].detail == "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
    assert errors[3] == FieldError("spec.selector.matchExpressions[2].operator", FIELD_VALUE_INVALID,
                                   "not a valid selector operator", "Gt")


def test_validate_labels_reports_key_and_value_at_the_map_path() -> None:
    errors = validate_labels({"ok": "-bad"}, "metadata.labels")
    assert errors == [FieldError("metadata.labels", FIELD_VALUE_INVALID, VALUE_ERROR, "-bad")]


def test_not_in_with_missing_key_matches_like_kubernetes() -> None:
    assert parse_selector("x notin (a)").matches({"y": "1"})
    assert not parse_selector("x in (a)").matches({"y": "1"})
    assert NOT_IN == "notin"
