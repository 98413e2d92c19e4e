"""Label selectors: the `-l` string syntax and the API `LabelSelector`, as Kubernetes reads them.

A port of k8s.io/apimachinery pkg/labels/selector.go (lexer, parser, Requirement, Selector) and
metav1.LabelSelectorAsSelector / ValidateLabelSelector.

Guarantees:
- `parse_selector` accepts exactly what `labels.Parse` accepts, returns requirements sorted by key,
  and fails with Kubernetes' messages (e.g. "unable to parse requirement: ...");
- `str(selector)` is `Selector.String()`: canonical, re-parseable, values sorted;
- `Selector.matches` runs no regex and allocates nothing: it is meant for the apiserver's
  per-object, per-watcher hot path;
- selectors and requirements are immutable and hashable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apimachinery.errors import FIELD_VALUE_FORBIDDEN, FIELD_VALUE_INVALID, FIELD_VALUE_REQUIRED, FieldError
from apimachinery.names import is_qualified_name, is_valid_label_value, validate_labels
from apimachinery.selection import RequirementSet

# selection.Operator values.
DOES_NOT_EXIST = "!"
EQUALS = "="
DOUBLE_EQUALS = "=="
IN = "in"
NOT_EQUALS = "!="
NOT_IN = "notin"
EXISTS = "exists"
GREATER_THAN = "gt"
LESS_THAN = "lt"
BINARY_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)
VALID_OPERATORS = (*BINARY_OPERATORS, EXISTS, DOES_NOT_EXIST)
_RENDERED_OPERATOR = {EQUALS: "=", DOUBLE_EQUALS: "==", NOT_EQUALS: "!=", IN: " in ", NOT_IN: " notin ",
                      GREATER_THAN: ">", LESS_THAN: "<"}
_API_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _parse_int64(text: str) -> int | None:
    """`strconv.ParseInt(text, 10, 64)`, or None."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not digits or not digits.isascii() or not digits.isdigit() or len(digits.lstrip("0")) > 19:
        return None
    number = int(text)
    return number if _INT64_MIN <= number <= _INT64_MAX else None


def _go_value(value: Any) -> str:
    """A bad value as field.Error prints it (%q for strings, JSON otherwise)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _field_error(path: str, value: Any, detail: str, phrase: str = "Invalid value") -> str:
    """A field.Error's text: `values[0]: Invalid value: "x": detail`."""
    return f"{path}: {phrase}: {_go_value(value)}: {detail}"


def _aggregate(messages: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message, or '[a, b]' without duplicates."""
    unique = list(dict.fromkeys(messages))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


@dataclass(frozen=True)
class Requirement:
    """`key operator values`; build validated ones with `new_requirement`."""

    key: str
    operator: str
    values: tuple[str, ...] = ()
    _value_set: frozenset[str] = field(init=False, repr=False, compare=False)
    _bound: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values))
        object.__setattr__(self, "_value_set", frozenset(self.values))
        object.__setattr__(self, "_bound", _parse_int64(self.values[0]) if len(self.values) == 1 else None)

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in (EQUALS, DOUBLE_EQUALS, IN):
            value = labels.get(self.key)
            return value is not None and value in self._value_set
        if op in (NOT_EQUALS, NOT_IN):
            value = labels.get(self.key)
            return value is None or value not in self._value_set
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        if op in (GREATER_THAN, LESS_THAN):
            value = labels.get(self.key)
            number = None if value is None or self._bound is None else _parse_int64(value)
            if number is None or self._bound is None:
                return False
            return number > self._bound if op == GREATER_THAN else number < self._bound
        return False

    def __str__(self) -> str:
        prefix = "!" if self.operator == DOES_NOT_EXIST else ""
        if self.operator in (EXISTS, DOES_NOT_EXIST):
            return prefix + self.key
        values = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if self.operator in (IN, NOT_IN):
            values = f"({values})"
        return f"{self.key}{_RENDERED_OPERATOR.get(self.operator, '')}{values}"


def _count_error(operator: str, values: tuple[str, ...]) -> str | None:
    if operator in (IN, NOT_IN) and not values:
        return "for 'in', 'notin' operators, values set can't be empty"
    if operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS) and len(values) != 1:
        return "exact-match compatibility requires one single value"
    if operator in (EXISTS, DOES_NOT_EXIST) and values:
        return "values set must be empty for exists and does not exist"
    if operator in (GREATER_THAN, LESS_THAN) and len(values) != 1:
        return "for 'Gt', 'Lt' operators, exactly one value is required"
    return None


def _requirement_errors(key: str, operator: str, values: tuple[str, ...]) -> list[str]:
    errs = []
    if key_msgs := is_qualified_name(key):
        errs.append(_field_error("key", key, "; ".join(key_msgs)))
    if detail := _count_error(operator, values):
        errs.append(_field_error("values", list(values), detail))
    if operator in (GREATER_THAN, LESS_THAN):
        errs.extend(_field_error(f"values[{i}]", value, "for 'Gt', 'Lt' operators, the value must be an integer")
                    for i, value in enumerate(values) if _parse_int64(value) is None)
    elif operator not in VALID_OPERATORS:
        supported = ", ".join(f'"{op}"' for op in VALID_OPERATORS)
        errs.append(_field_error("operator", operator, f"supported values: {supported}", "Unsupported value"))
    for i, value in enumerate(values):
        if msgs := is_valid_label_value(value):
            errs.append(_field_error(f"values[{i}][{key}]", value, "; ".join(msgs)))
    return errs


def new_requirement(key: str, operator: str, values: Iterable[str] = ()) -> Requirement:
    """`labels.NewRequirement`: a validated Requirement, or ValueError with Kubernetes' message."""
    values = tuple(values)
    errs = _requirement_errors(key, operator, values)
    if errs:
        raise ValueError(_aggregate(errs))
    return Requirement(key, operator, values)


class Selector(RequirementSet[Requirement]):
    """An AND of requirements (sorted by key), or the selector that matches nothing."""

    __slots__ = ()

    def __init__(self, requirements: Iterable[Requirement] = (), *, nothing: bool = False) -> None:
        super().__init__(sorted(requirements, key=lambda r: r.key), nothing=nothing)

    @classmethod
    def everything(cls) -> Selector:
        return _EVERYTHING

    @classmethod
    def nothing(cls) -> Selector:
        return _NOTHING

    def add(self, *requirements: Requirement) -> Selector:
        return self if self._nothing else Selector(self._requirements + requirements)

    def requires_exact_match(self, label: str) -> str | None:
        """The single value `label` must have (=, ==, or in with one value), if any."""
        for requirement in self._requirements:
            if requirement.key == label:
                exact = requirement.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(requirement.values) == 1
                return requirement.values[0] if exact else None
        return None


_EVERYTHING = Selector()
_NOTHING = Selector(nothing=True)


def selector_from_set(labels: Mapping[str, str] | None) -> Selector:
    """`labels.SelectorFromSet`: key=value for every pair; no validation; empty -> everything."""
    return Selector(Requirement(key, EQUALS, (value,)) for key, value in (labels or {}).items())


_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")
_IDENTIFIER_STOP = _SPECIAL | _WHITESPACE | {"\0"}
_END, _IDENT, _COMMA, _OPEN, _CLOSE, _NOT = "end", "identifier", ",", "(", ")", "!"
_KEYWORDS = {",": _COMMA, "(": _OPEN, ")": _CLOSE, "!": _NOT, "==": "==", "=": "=", ">": ">", "<": "<",
             "!=": "!=", "in": "in", "notin": "notin"}
_OPERATOR_BY_TOKEN = {"in": IN, "notin": NOT_IN, "=": EQUALS, "==": DOUBLE_EQUALS, "!=": NOT_EQUALS,
                      ">": GREATER_THAN, "<": LESS_THAN}


# The string syntax: a lexer and a recursive-descent parser, as in selector.go.


def _token_end(text: str, start: int) -> int:
    """Where the token at `start` ends: the longest operator ("!=", "==") or an identifier."""
    pos = start + 1
    if text[start] in _SPECIAL:
        while pos < len(text) and text[start:pos + 1] in _KEYWORDS:
            pos += 1
        return pos
    while pos < len(text) and text[pos] not in _IDENTIFIER_STOP:
        pos += 1
    return pos


def _lex(text: str) -> list[tuple[str, str]]:
    """The Lexer: (token, literal) pairs up to and including the end token. NUL ends input, as in Go."""
    items: list[tuple[str, str]] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in _WHITESPACE:
            pos += 1
        if pos >= end or text[pos] == "\0":
            items.append((_END, ""))
            return items
        start, pos = pos, _token_end(text, pos)
        literal = text[start:pos]
        items.append((_KEYWORDS.get(literal, _IDENT), literal))
        if pos < end and text[pos] == "\0":
            pos += 1  # Go's reader swallows a NUL that ends a token


_KEY_AND_OPERATOR, _VALUES = False, True


class _Parser:
    """labels.Parser: recursive descent over the scanned tokens, same errors as Kubernetes."""

    def __init__(self, text: str) -> None:
        self._items = _lex(text)
        self._position = 0

    def _lookahead(self, values: bool) -> tuple[str, str]:
        token, literal = self._items[self._position]
        return (_IDENT if values and token in ("in", "notin") else token), literal

    def _consume(self, values: bool) -> tuple[str, str]:
        item = self._lookahead(values)
        self._position += 1
        return item

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            token, literal = self._lookahead(_VALUES)
            if token == _END:
                return requirements
            if token not in (_IDENT, _NOT):
                raise ValueError(f"found '{literal}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self._requirement())
            except ValueError as err:
                raise ValueError(f"unable to parse requirement: {err}") from None
            token, literal = self._consume(_VALUES)
            if token == _END:
                return requirements
            if token != _COMMA:
                raise ValueError(f"found '{literal}', expected: ',' or 'end of string'")
            token, literal = self._lookahead(_VALUES)
            if token not in (_IDENT, _NOT):
                raise ValueError(f"found '{literal}', expected: identifier after ','")

    def _requirement(self) -> Requirement:
        key, operator = self._key_and_inferred_operator()
        if operator in (EXISTS, DOES_NOT_EXIST):
            return new_requirement(key, operator)
        operator = self._operator()
        values = self._values() if operator in (IN, NOT_IN) else self._exact_value()
        return new_requirement(key, operator, sorted(values))

    def _key_and_inferred_operator(self) -> tuple[str, str]:
        operator = ""
        token, literal = self._consume(_VALUES)
        if token == _NOT:
            operator = DOES_NOT_EXIST
            token, literal = self._consume(_VALUES)
        if token != _IDENT:
            raise ValueError(f"found '{literal}', expected: identifier")
        if msgs := is_qualified_name(literal):
            raise ValueError(_field_error("<nil>", literal, "; ".join(msgs)))
        if self._lookahead(_VALUES)[0] in (_END, _COMMA) and operator != DOES_NOT_EXIST:
            operator = EXISTS
        return literal, operator

    def _operator(self) -> str:
        token, literal = self._consume(_KEY_AND_OPERATOR)
        if token not in _OPERATOR_BY_TOKEN:
            raise ValueError(f"found '{literal}', expected: {', '.join(BINARY_OPERATORS)}")
        return _OPERATOR_BY_TOKEN[token]

    def _values(self) -> set[str]:
        token, literal = self._consume(_VALUES)
        if token != _OPEN:
            raise ValueError(f"found '{literal}' expected: '('")
        token, literal = self._lookahead(_VALUES)
        if token == _CLOSE:
            self._consume(_VALUES)
            return {""}
        if token not in (_IDENT, _COMMA):
            raise ValueError(f"found '{literal}', expected: ',', ')' or identifier")
        values = self._identifiers()
        self._consume(_VALUES)  # the ')' that ended the list
        return values

    def _identifiers(self) -> set[str]:
        values: set[str] = set()
        while True:
            token, literal = self._consume(_VALUES)
            if token == _IDENT:
                values.add(literal)
                next_token, next_literal = self._lookahead(_VALUES)
                if next_token == _CLOSE:
                    return values
                if next_token != _COMMA:
                    raise ValueError(f"found '{next_literal}', expected: ',' or ')'")
            elif token == _COMMA:  # "(,", ",)" and ",," all mean an empty value
                next_token = self._lookahead(_VALUES)[0]
                if not values or next_token in (_CLOSE, _COMMA):
                    values.add("")
                if next_token == _CLOSE:
                    return values
            else:
                raise ValueError(f"found '{literal}', expected: ',', or identifier")

    def _exact_value(self) -> set[str]:
        if self._lookahead(_VALUES)[0] in (_END, _COMMA):
            return {""}
        token, literal = self._consume(_VALUES)
        if token != _IDENT:
            raise ValueError(f"found '{literal}', expected: identifier")
        return {literal}


def parse_selector(text: str) -> Selector:
    """`labels.Parse`: `app=web,tier!=db`, `env in (prod, qa)`, `!canary`, `release`, `n>3`."""
    return Selector(_Parser(text).parse())


def selector_from_label_selector(label_selector: Mapping[str, Any] | None) -> Selector:
    """`metav1.LabelSelectorAsSelector`: None -> nothing, {} -> everything; ValueError if invalid."""
    if label_selector is None:
        return _NOTHING
    match_labels = label_selector.get("matchLabels") or {}
    expressions = label_selector.get("matchExpressions") or []
    if not match_labels and not expressions:
        return _EVERYTHING
    requirements = [new_requirement(key, EQUALS, [value]) for key, value in match_labels.items()]
    for expression in expressions:
        api_operator = expression.get("operator", "")
        if api_operator not in _API_OPERATORS:
            raise ValueError(f"{_go_value(api_operator)} is not a valid label selector operator")
        values = list(expression.get("values") or [])
        requirements.append(new_requirement(expression.get("key", ""), _API_OPERATORS[api_operator], values))
    return Selector(requirements)


def _validate_expression(expression: Mapping[str, Any], path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    operator, values = expression.get("operator", ""), list(expression.get("values") or [])
    if operator in ("In", "NotIn") and not values:
        errs.append(FieldError(f"{path}.values", FIELD_VALUE_REQUIRED,
                               "must be specified when `operator` is 'In' or 'NotIn'"))
    elif operator in ("Exists", "DoesNotExist") and values:
        errs.append(FieldError(f"{path}.values", FIELD_VALUE_FORBIDDEN,
                               "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    elif operator not in _API_OPERATORS:
        errs.append(FieldError(f"{path}.operator", FIELD_VALUE_INVALID, "not a valid selector operator", operator))
    key = expression.get("key", "")
    errs.extend(FieldError(f"{path}.key", FIELD_VALUE_INVALID, msg, key) for msg in is_qualified_name(key))
    for index, value in enumerate(values):
        errs.extend(FieldError(f"{path}.values[{index}]", FIELD_VALUE_INVALID, msg, value)
                    for msg in is_valid_label_value(value))
    return errs


def validate_label_selector(label_selector: Mapping[str, Any] | None, path: str) -> list[FieldError]:
    """`ValidateLabelSelector`: matchLabels are valid labels; each expression is well formed."""
    if label_selector is None:
        return []
    errs = validate_labels(label_selector.get("matchLabels"), f"{path}.matchLabels")
    for index, expression in enumerate(label_selector.get("matchExpressions") or []):
        expression_path = f"{path}.matchExpressions[{index}]"
        if not isinstance(expression, Mapping):
            errs.append(FieldError(expression_path, FIELD_VALUE_INVALID, "must be an object", expression))
            continue
        errs.extend(_validate_expression(expression, expression_path))
    return errs
