"""The schema compiler behind `apimachinery.schema`: JSON Schema nodes in, nested closures out.

A compiled node is a `Spec`: either a frozenset of Python types (a leaf whose only rule is its JSON
type, e.g. `{"type": ["string", "null"]}` -> {str, NoneType}; IntOrString -> {str, int, NoneType})
or a `Check` closure `check(value, parent_path, key, out)`. Containers test leaf children inline
with `type(v) in spec` and call closures only for children that need more than a type test, and a
path string is built only for a container that is descended into or for a value that is wrong. So
a valid object costs a dict lookup and a set lookup per leaf and one call per nested object.
`type(v)` is exact, so `True` is never an integer and `1.0` never an integer (as in Go's decoder).
"""

from __future__ import annotations

import binascii
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from apimachinery.errors import (
    FIELD_VALUE_INVALID,
    FIELD_VALUE_NOT_SUPPORTED,
    FIELD_VALUE_REQUIRED,
    FieldError,
)

NoneType = type(None)


@dataclass(slots=True)
class SchemaResult:
    """Everything wrong with one object: type/enum/required errors and unknown field paths."""

    errors: list[FieldError] = field(default_factory=list)
    # Paths as Kubernetes' strict decoder prints them: `spec.containers[0].imagePullPolicyy`.
    unknown_fields: list[str] = field(default_factory=list)
    # (containing dict, key) for each unknown field, in the same order, so pruning is exact even
    # when a map key contains dots.
    unknown_at: list[tuple[dict[str, Any], str]] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.unknown_fields


Check: TypeAlias = Callable[[Any, str, "str | int", SchemaResult], None]
Spec: TypeAlias = "frozenset[type] | Check"

# Top-level fields whose `enum` the caller has already enforced (it routed the object by them).
CALLER_CHECKED = frozenset({"apiVersion", "kind"})
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "integer": (int,),
    "number": (int, float), "boolean": (bool,), "null": (NoneType,),
}
ANY: frozenset[type] = frozenset({dict, list, str, int, float, bool, NoneType})
_TYPE_NAMES = {dict: "object", list: "array", str: "string", int: "integer", float: "number",
               bool: "boolean", NoneType: "null"}
_NAMED_TYPES = ((str, "string"), (float, "number"), (int, "integer"), (bool, "boolean"), (dict, "object"),
                (list, "array"))
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_NULL_ITEM = "expected a value, got null"
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_REF_PREFIXES = ("#/$defs/", "#/definitions/", "#/components/schemas/")
# Keywords that constrain a value (anything else — description, x-kubernetes-* — is annotation).
_CONSTRAINTS = frozenset({"type", "properties", "additionalProperties", "items", "required", "enum",
                          "format", "oneOf", "anyOf", "allOf", "$ref",
                          "x-kubernetes-preserve-unknown-fields"})


def join(parent: str, key: str | int) -> str:
    """`spec` + `replicas` -> `spec.replicas`; `spec.containers` + 0 -> `spec.containers[0]`."""
    if type(key) is int:
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)


def type_ok(value: Any, types: frozenset[type]) -> bool:
    """Slow path after `type(value) in types` failed: accept subclasses (OrderedDict), never bool as int."""
    if isinstance(value, bool):
        return bool in types
    return any(isinstance(value, t) for t in types if t is not bool)


def expected_text(types: frozenset[type]) -> str:
    names = [name for t, name in _NAMED_TYPES if t in types and not (t is int and float in types)]
    return " or ".join(names) or "null"


def type_error(parent: str, key: str | int, value: Any, types: frozenset[type]) -> FieldError:
    got = _TYPE_NAMES.get(type(value)) or type(value).__name__
    shown = None if isinstance(value, dict | list) else value
    detail = f"expected {expected_text(types)}, got {got}"
    return FieldError(join(parent, key), FIELD_VALUE_INVALID, detail, shown)


def _check_base64(value: str) -> str | None:
    if "\n" in value or "\r" in value:  # Go's base64.StdEncoding skips line breaks
        value = value.replace("\n", "").replace("\r", "")
    try:
        binascii.a2b_base64(value, strict_mode=True)
    except ValueError:  # binascii.Error, or non-ASCII text
        return "illegal base64 data"
    return None


def _check_date_time(value: str) -> str | None:
    return None if _RFC3339.fullmatch(value) else "expected an RFC3339 date-time, e.g. 2006-01-02T15:04:05Z"


def _format_check(fmt: str | None, types: frozenset[type]) -> tuple[Callable[[Any], str | None], bool] | None:
    """(checker, echo_value) for a format we enforce, or None. Secrets are never echoed back."""
    if fmt in _INT_RANGES and int in types:
        low, high = _INT_RANGES[fmt]
        return (lambda v: None if type(v) is not int or low <= v <= high else f"out of range for {fmt}"), True
    if fmt == "byte" and str in types:
        return (lambda v: _check_base64(v) if type(v) is str else None), False
    if fmt == "date-time" and str in types:
        return (lambda v: _check_date_time(v) if type(v) is str else None), True
    return None


def as_check(spec: Spec) -> Check:
    if not isinstance(spec, frozenset):
        return spec
    types = spec

    def check_type(v: Any, parent: str, key: str | int, out: SchemaResult) -> None:
        if type(v) not in types and not type_ok(v, types):
            out.errors.append(type_error(parent, key, v, types))

    return check_type


class SchemaCompiler:
    """Compiles definitions by name on first use and caches them; safe to share between threads."""

    def __init__(self, definitions: Mapping[str, Any]) -> None:
        self.definitions = definitions
        self._done: dict[str, Spec] = {}  # read without the lock
        self._pending: dict[str, Check] = {}  # definitions being compiled (by the lock holder)
        self._lock = threading.RLock()

    def ref(self, ref: str) -> Spec:
        """The compiled spec of a definition, by name or `#/$defs/<name>`; KeyError if unknown."""
        name = definition_name(ref)
        spec = self._done.get(name)
        if spec is not None:
            return spec
        with self._lock:
            spec = self._done.get(name)
            if spec is None:
                spec = self._pending.get(name)
            if spec is not None:
                return spec
            node = self.definitions[name]
            # A recursive definition (JSONSchemaProps) refers to itself while being compiled: it
            # gets a forwarder that calls the real checker once that exists.
            cell: list[Check] = []

            def forward(v: Any, parent: str, key: str | int, out: SchemaResult) -> None:
                cell[0](v, parent, key, out)

            self._pending[name] = forward
            try:
                spec = self.node(node)
            finally:
                del self._pending[name]
            cell.append(as_check(spec))
            self._done[name] = spec
            return spec

    def node(self, node: Mapping[str, Any]) -> Spec:
        if not isinstance(node, Mapping):
            return ANY
        if "$ref" in node:
            target = self.ref(node["$ref"])
            rest = {k: v for k, v in node.items() if k in _CONSTRAINTS and k != "$ref"}
            return self._all_of([target, self.node(rest)]) if rest else target
        if "allOf" in node:
            rest = {k: v for k, v in node.items() if k != "allOf"}
            return self._all_of([self.node(sub) for sub in node["allOf"]] + [self.node(rest)])
        for keyword in ("oneOf", "anyOf"):
            if keyword in node:
                rest = {k: v for k, v in node.items() if k != keyword}
                branches = [self.node(sub) for sub in node[keyword]]
                return self._all_of([self._any_of(branches), self.node(rest)])
        declared = node.get("type")
        if declared is None:
            if "properties" in node or "additionalProperties" in node:
                declared = ["object", "null"]
            elif "items" in node:
                declared = ["array", "null"]
            elif "enum" not in node:
                return ANY  # free-form: JSON, JSONSchemaPropsOrBool, ...
            else:
                declared = list(_JSON_TYPES)
        names = [declared] if isinstance(declared, str) else list(declared)
        types = frozenset(t for name in names for t in _JSON_TYPES.get(name, ()))
        if dict in types and (node.get("properties") or "additionalProperties" in node):
            return self._object(node, types)
        if list in types and isinstance(node.get("items"), Mapping):
            return self._array(node["items"], types)
        return self._scalar(node, types)

    def _scalar(self, node: Mapping[str, Any], types: frozenset[type]) -> Spec:
        fmt = _format_check(node.get("format"), types)
        enum = node.get("enum")
        if fmt is None and enum is None:
            return types
        fmt_check, echo = fmt if fmt is not None else (None, True)
        allowed = tuple(enum) if enum is not None else None
        supported = "supported values: " + ", ".join(f'"{e}"' for e in allowed) if allowed else ""

        def check_scalar(v: Any, parent: str, key: str | int, out: SchemaResult) -> None:
            if type(v) not in types and not type_ok(v, types):
                out.errors.append(type_error(parent, key, v, types))
                return
            if v is None:
                return
            if fmt_check is not None:
                detail = fmt_check(v)
                if detail:
                    shown = v if echo else None
                    out.errors.append(FieldError(join(parent, key), FIELD_VALUE_INVALID, detail, shown))
                    return
            if allowed is not None and v not in allowed and not (parent == "" and key in CALLER_CHECKED):
                out.errors.append(FieldError(join(parent, key), FIELD_VALUE_NOT_SUPPORTED, supported, v))

        return check_scalar

    def _array(self, items: Mapping[str, Any], types: frozenset[type]) -> Spec:
        # A null *inside* a list is rejected: Go would turn it into a zero value, our code would crash.
        item = self.node(items)
        other = types - {list}
        if item is ANY:
            return types
        if isinstance(item, frozenset):
            item_types = item - {NoneType} or item

            def check_simple_array(v: Any, parent: str, key: str | int, out: SchemaResult) -> None:
                if type(v) is not list and not isinstance(v, list):
                    if type(v) not in other and not type_ok(v, other):
                        out.errors.append(type_error(parent, key, v, types))
                    return
                for i, x in enumerate(v):
                    if type(x) not in item_types and not type_ok(x, item_types):
                        out.errors.append(type_error(join(parent, key), i, x, item_types))

            return check_simple_array
        item_check = item

        def check_array(v: Any, parent: str, key: str | int, out: SchemaResult) -> None:
            if type(v) is not list and not isinstance(v, list):
                if type(v) not in other and not type_ok(v, other):
                    out.errors.append(type_error(parent, key, v, types))
                return
            path = join(parent, key)
            for i, x in enumerate(v):
                if x is None:
                    out.errors.append(FieldError(f"{path}[{i}]", FIELD_VALUE_INVALID, _NULL_ITEM))
                else:
                    item_check(x, path, i, out)

        return check_array

    def _object(self, node: Mapping[str, Any], types: frozenset[type]) -> Spec:
        props: Mapping[str, Any] = node.get("properties") or {}
        required = tuple(node.get("required") or ())
        required_set = frozenset(required)
        simple: dict[str, frozenset[type]] = {}
        nested: dict[str, Check] = {}
        for name, sub in props.items():
            spec = self.node(sub)
            if isinstance(spec, frozenset):
                # A null required field is reported once, as Required, by the loop over `required`.
                simple[name] = spec | {NoneType} if name in required_set else spec
            else:
                nested[name] = spec
        preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
        extra_node = node.get("additionalProperties", preserve or not props)
        if extra_node is True or extra_node == {}:
            extra: Spec | None = ANY
        elif extra_node is False or extra_node is None:
            extra = None  # closed: anything undeclared is an unknown field
        else:
            extra = self.node(extra_node)
        if not props and not required and extra is ANY:
            return types  # free-form object (FieldsV1, RawExtension)
        other = types - {dict}
        simple_get, nested_get = simple.get, nested.get
        extra_types: frozenset[type] | None = None
        extra_check: Check | None = None
        if isinstance(extra, frozenset):
            extra_types = extra if extra is ANY else extra - {NoneType} or extra
        else:
            extra_check = extra

        def check_object(v: Any, parent: str, key: str | int, out: SchemaResult) -> None:
            if type(v) is not dict and not isinstance(v, dict):
                if type(v) not in other and not type_ok(v, other):
                    out.errors.append(type_error(parent, key, v, types))
                return
            path = join(parent, key)
            for k, x in v.items():
                t = simple_get(k)
                if t is not None:
                    if type(x) not in t and not type_ok(x, t):
                        out.errors.append(type_error(path, k, x, t))
                    continue
                c = nested_get(k)
                if c is not None:
                    if x is not None or k not in required_set:
                        c(x, path, k, out)
                elif extra_types is not None:
                    if type(x) not in extra_types and not type_ok(x, extra_types):
                        out.errors.append(type_error(path, k, x, extra_types))
                elif extra_check is not None:
                    if x is None:
                        out.errors.append(FieldError(join(path, k), FIELD_VALUE_INVALID, _NULL_ITEM))
                    else:
                        extra_check(x, path, k, out)
                else:
                    out.unknown_fields.append(join(path, k))
                    out.unknown_at.append((v, k))
            for name in required:
                if v.get(name) is None:
                    out.errors.append(FieldError(join(path, name), FIELD_VALUE_REQUIRED))

        return check_object

    def _any_of(self, specs: list[Spec]) -> Spec:
        """oneOf/anyOf. Treated as anyOf: the packaged IntOrString/Quantity branches both allow null."""
        if all(isinstance(s, frozenset) for s in specs):
            return frozenset().union(*specs)  # type: ignore[arg-type]
        checks = [as_check(s) for s in specs]

        def check_any_of(v: Any, parent: str, key: str | int, out: SchemaResult) -> None:
            first: SchemaResult | None = None
            for c in checks:
                trial = SchemaResult()
                c(v, parent, key, trial)
                if trial.ok:
                    return
                first = first or trial
            if first is not None:
                out.errors.extend(first.errors)
                out.unknown_fields.extend(first.unknown_fields)
                out.unknown_at.extend(first.unknown_at)

        return check_any_of

    def _all_of(self, specs: list[Spec]) -> Spec:
        specs = [s for s in specs if s is not ANY]
        if not specs:
            return ANY
        if all(isinstance(s, frozenset) for s in specs):
            return frozenset.intersection(*specs)  # type: ignore[arg-type]
        if len(specs) == 1:
            return specs[0]
        checks = [as_check(s) for s in specs]

        def check_all_of(v: Any, parent: str, key: str | int, out: SchemaResult) -> None:
            for c in checks:
                c(v, parent, key, out)

        return check_all_of


def definition_name(ref: str) -> str:
    for prefix in _REF_PREFIXES:
        if ref.startswith(prefix):
            return ref[len(prefix):]
    return ref
