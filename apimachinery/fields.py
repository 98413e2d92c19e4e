"""Field selectors (`--field-selector metadata.name=web,spec.nodeName!=`), as Kubernetes reads them.

A port of k8s.io/apimachinery pkg/fields/selector.go plus the per-kind field sets the apiserver
exposes for selection (`GetAttrs` / `ToSelectableFields`).

Guarantees:
- `parse_field_selector` accepts exactly what `fields.ParseSelector` accepts: terms split on
  unescaped commas and sorted, `!=` / `==` / `=` operators, `\\`, `\\,` and `\\=` escapes in values;
  errors carry Kubernetes' messages;
- a field missing from an object reads as "", so `spec.nodeName=` selects unscheduled pods;
- `FieldSelector.matches` is two dict lookups per term: no regex, no parsing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from apimachinery.selection import RequirementSet

EQUALS = "="
DOUBLE_EQUALS = "=="
NOT_EQUALS = "!="
_TERM_OPERATORS = (NOT_EQUALS, DOUBLE_EQUALS, EQUALS)  # "==" before "=", so no '=' is left in values
_ESCAPES = {"\\": "\\", ",": ",", "=": "="}


@dataclass(frozen=True)
class Requirement:
    """`field operator value`; operator is "=" or "!=" ("==" parses as "=")."""

    field: str
    operator: str
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        equal = fields.get(self.field, "") == self.value
        return equal if self.operator == EQUALS else not equal

    def __str__(self) -> str:
        return f"{self.field}{self.operator}{escape_value(self.value)}"


class FieldSelector(RequirementSet[Requirement]):
    """An AND of field requirements, or the selector that matches nothing."""

    __slots__ = ()

    @classmethod
    def everything(cls) -> FieldSelector:
        return _EVERYTHING

    @classmethod
    def nothing(cls) -> FieldSelector:
        return _NOTHING

    def fields(self) -> set[str]:
        """The field names this selector reads."""
        return {requirement.field for requirement in self._requirements}

    def requires_exact_match(self, field: str) -> str | None:
        """The value `field` must equal (the first `field=value` term), if any."""
        for requirement in self._requirements:
            if requirement.field == field and requirement.operator == EQUALS:
                return requirement.value
        return None


_EVERYTHING = FieldSelector()
_NOTHING = FieldSelector(nothing=True)


def escape_value(value: str) -> str:
    """`fields.EscapeValue`: backslash-escape `\\`, `,` and `=`."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def unescape_value(value: str) -> str:
    """`fields.UnescapeValue`: undo `escape_value`; ValueError on a bad escape or a bare `,`/`=`."""
    if not any(ch in value for ch in "\\,="):
        return value
    out: list[str] = []
    escaped = False
    for ch in value:
        if escaped:
            if ch not in _ESCAPES:
                raise ValueError(f"invalid field selector: invalid escape sequence: \\{ch}")
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in ",=":
            raise ValueError(f"invalid field selector: unescaped character in value: {ord(ch)}")
        else:
            out.append(ch)
    if escaped:
        raise ValueError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_terms(selector: str) -> list[str]:
    """Split on commas that are not backslash-escaped (escapes stay in the terms)."""
    if not selector:
        return []
    terms, start, escaped = [], 0, False
    for index, ch in enumerate(selector):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            terms.append(selector[start:index])
            start = index + 1
    terms.append(selector[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    """(field, operator, raw value) at the first operator in `term`, or None."""
    for index in range(len(term)):
        for operator in _TERM_OPERATORS:
            if term.startswith(operator, index):
                return term[:index], operator, term[index + len(operator):]
    return None


def parse_field_selector(selector: str) -> FieldSelector:
    """`fields.ParseSelector`: `metadata.name=web,spec.nodeName!=`; ValueError if malformed."""
    requirements = []
    for term in sorted(_split_terms(selector)):  # code-point order == Go's byte order for UTF-8
        if not term:
            continue
        parts = _split_term(term)
        if parts is None:
            raise ValueError(f"invalid selector: '{selector}'; can't understand '{term}'")
        field, operator, raw = parts
        value = unescape_value(raw)
        if not field and not value:
            continue  # Kubernetes' Transform drops a term with neither field nor value
        requirements.append(Requirement(field, NOT_EQUALS if operator == NOT_EQUALS else EQUALS, value))
    return FieldSelector(requirements)


def selector_from_set(fields: Mapping[str, str] | None) -> FieldSelector:
    """`fields.SelectorFromSet`: field=value for every pair; None or {} -> everything."""
    return FieldSelector(Requirement(name, EQUALS, value) for name, value in (fields or {}).items())


def _render(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _lookup(obj: Mapping[str, Any], path: str) -> Any:
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def object_fields(obj: Mapping[str, Any], extra: Sequence[str] = ()) -> dict[str, str]:
    """The flat field set an object exposes: metadata.name, metadata.namespace, plus `extra` paths.

    A missing field reads "", booleans read "true"/"false", numbers their decimal text.
    """
    metadata = obj.get("metadata") or {}
    fields = {
        "metadata.name": _render(metadata.get("name")),
        "metadata.namespace": _render(metadata.get("namespace")),
    }
    for path in extra:
        fields[path] = _render(_lookup(obj, path))
    return fields


def validate_field_selector(selector: FieldSelector, allowed: set[str] | frozenset[str]) -> None:
    """ValueError(`field label not supported: <name>`) for the first field not in `allowed`."""
    for requirement in selector.requirements:
        if requirement.field not in allowed:
            raise ValueError(f"field label not supported: {requirement.field}")
