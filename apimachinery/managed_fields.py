"""Field sets and `metadata.managedFields`, as structured-merge-diff computes them for the apiserver.

A *field set* is a set of paths into an object; a path is a tuple of path elements, each spelled as
in FieldsV1: `f:<name>` (a struct field or map key), `k:{"name":"c"}` (the element of a list-map,
by its key fields, JSON with sorted keys), `v:<json>` (the element of a set-list of scalars) and
`i:<n>` (a position; unused, lists without keys are atomic). Python sets give union, difference
and intersection for free; FieldsV1 (the trie with `.` for "the element itself") is only the wire form.

The schema. Which lists merge by key comes from the kind's upstream OpenAPI definition:
`x-kubernetes-list-type` (`atomic`, `set`, `map` with `x-kubernetes-list-map-keys`), falling back
to `x-kubernetes-patch-strategy: merge` + `x-kubernetes-patch-merge-key`, as kube-openapi's schema
conversion does; `x-kubernetes-map-type: atomic` makes a struct one leaf. Without a definition (or in
a free-form object) maps are granular and lists atomic (SMD's "deduced" type). A key field the
element omits takes its Kubernetes default (`protocol: TCP`), since the packaged schemas carry no
`default`.

What a set holds (SMD's ToFieldSet): every scalar, null, empty map and atomic value; every list
element (so FieldsV1 shows `.` in it); every entry of a real map (labels, annotations, data); a
struct field only through its leaves. Server-owned metadata (name, uid, resourceVersion,
managedFields, ...) is never in a set (Kubernetes' stripMetaManager), nor `status` on the main
resource, nor anything but `status` on the status subresource (the reset fields).

`compare_objects` is SMD's Compare: the paths added, modified and removed between two objects, used to
move ownership on an ordinary write and to find apply conflicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import orjson

from apimachinery.strategic_merge import resolve_schema

Path = tuple[str, ...]
FieldSet = frozenset[Path]
Node = dict[str, Any] | None

APPLY = "Apply"
UPDATE = "Update"
FIELDS_V1 = "FieldsV1"
KEY_DEFAULTS: Mapping[str, Any] = {"protocol": "TCP"}
STRIPPED_METADATA = frozenset({"name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName",
                               "generation", "managedFields", "resourceVersion"})
_RANKS = {".": 0, "f": 1, "k": 2, "v": 3, "i": 4}


# --- schema shapes ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Shape:
    """What a schema node says about its values: declared fields, map values, list type and keys."""

    fields: Mapping[str, Any] = field(default_factory=dict)
    values: Node = None          # the node of a map's values (additionalProperties)
    atomic: bool = False         # x-kubernetes-map-type: atomic — the whole map is one leaf
    list_type: str = "atomic"    # atomic | set | map
    keys: tuple[str, ...] = ()
    items: Node = None


DEDUCED = Shape()
_shapes: dict[int, tuple[Node, Shape]] = {}


@cache
def _root(schema_ref: str) -> dict[str, Any]:
    return {"$ref": schema_ref}


def schema_root(schema_ref: str | None) -> Node:
    """The node of a kind's definition: one per ref, so that its shape is cached."""
    return _root(schema_ref) if schema_ref else None


def shape_of(node: Node) -> Shape:
    """The shape of a (property) node; cached per node of the process-wide definitions."""
    if node is None:
        return DEDUCED
    cached = _shapes.get(id(node))
    if cached is not None and cached[0] is node:
        return cached[1]
    shape = _compute_shape(node)
    _shapes[id(node)] = (node, shape)
    return shape


def _compute_shape(node: dict[str, Any]) -> Shape:
    resolved = resolve_schema(node) or {}
    atomic = "atomic" in (node.get("x-kubernetes-map-type"), resolved.get("x-kubernetes-map-type"))
    items = resolved.get("items")
    if isinstance(items, dict):
        list_type, keys = _list_type(node if "items" in node else resolved)
        return Shape(list_type=list_type, keys=keys, items=items)
    values = resolved.get("additionalProperties")
    return Shape(fields=resolved.get("properties") or {}, values=values if isinstance(values, dict) else None,
                 atomic=atomic)


def _list_type(node: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    list_type = node.get("x-kubernetes-list-type")
    if list_type == "map":
        return "map", tuple(node.get("x-kubernetes-list-map-keys") or ())
    if list_type in ("set", "atomic"):
        return list_type, ()
    if "merge" in str(node.get("x-kubernetes-patch-strategy", "")).split(","):
        merge_key = node.get("x-kubernetes-patch-merge-key")
        return ("map", (merge_key,)) if merge_key else ("set", ())
    return "atomic", ()


def child_node(shape: Shape, key: str) -> tuple[Node, bool]:
    """(node of field `key`, whether it is a declared struct field rather than a map entry)."""
    if key in shape.fields:
        return shape.fields[key], True
    return shape.values, False


# --- path elements ------------------------------------------------------------------------------

def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def element_key(item: Any, shape: Shape, index: int) -> str:
    """The path element of a list item: `k:{...}` for list-maps, `v:...` for sets, `i:n` otherwise."""
    if shape.list_type == "map" and isinstance(item, dict):
        found = {k: item[k] if k in item else KEY_DEFAULTS[k] for k in shape.keys
                 if k in item or k in KEY_DEFAULTS}
        if found:
            return "k:" + _json(found)
    if shape.list_type == "set":
        return "v:" + _json(item)
    return f"i:{index}"


def path_string(path: Path) -> str:
    """SMD's Path.String(): `.spec.template.spec.containers[name="web"].image`."""
    parts = []
    for element in path:
        kind, _, rest = element.partition(":")
        if kind == "f":
            parts.append("." + rest)
        elif kind == "k":
            keys = orjson.loads(rest)
            parts.append("[" + ",".join(f"{k}={_json(keys[k])}" for k in sorted(keys)) + "]")
        elif kind == "v":
            parts.append(f"[={rest}]")
        else:
            parts.append(f"[{rest}]")
    return "".join(parts)


# --- field sets ---------------------------------------------------------------------------------

def tracked_items(obj: Mapping[str, Any], subresource: str = "", has_status: bool = True
                  ) -> Iterable[tuple[str, Any]]:
    """The top-level (key, value) pairs whose fields are tracked, metadata stripped as Kubernetes does."""
    for key, value in obj.items():
        if key in ("apiVersion", "kind"):
            continue
        if subresource == "status":
            if key == "status":
                yield key, value
            continue
        if key == "status" and has_status:
            continue
        if key == "metadata" and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in STRIPPED_METADATA}
            if not value:
                continue  # `.metadata` itself is stripped too
        yield key, value


def object_field_set(obj: Mapping[str, Any], schema_ref: str | None, subresource: str = "",
                     has_status: bool = True) -> FieldSet:
    """Every tracked field an object (or an applied configuration) sets (SMD's ToFieldSet)."""
    out: set[Path] = set()
    root = shape_of(schema_root(schema_ref))
    for key, value in tracked_items(obj, subresource, has_status):
        node, declared = child_node(root, key)
        _collect(value, node, ("f:" + key,), declared, out, False)
    return frozenset(out)


def _collect(value: Any, node: Node, path: Path, declared: bool, out: set[Path], added: bool) -> None:
    """Insert the paths of `value`. `added`: a Compare's added subtree, where a new map (labels) is a
    member too — Go's optional maps are nil before, its structs are not, so only maps get their `.`."""
    shape = shape_of(node)
    if isinstance(value, dict) and value and not shape.atomic:
        if not declared or (added and shape.values is not None and not shape.fields):
            out.add(path)
        for key, child in value.items():
            child_n, child_declared = child_node(shape, key)
            _collect(child, child_n, (*path, "f:" + key), child_declared, out, added)
    elif isinstance(value, list) and value and shape.list_type != "atomic":
        if not declared:
            out.add(path)
        for index, item in enumerate(value):
            _collect(item, shape.items, (*path, element_key(item, shape, index)), False, out, added)
    else:
        out.add(path)


@dataclass
class Comparison:
    added: set[Path] = field(default_factory=set)
    modified: set[Path] = field(default_factory=set)
    removed: set[Path] = field(default_factory=set)

    def changed(self) -> set[Path]:
        return self.added | self.modified


_MISSING: Any = object()


def compare_objects(old: Mapping[str, Any], new: Mapping[str, Any], schema_ref: str | None,
                    subresource: str = "", has_status: bool = True) -> Comparison:
    """The tracked paths `new` adds, modifies and removes relative to `old`."""
    result = Comparison()
    root = shape_of(schema_root(schema_ref))
    before = dict(tracked_items(old, subresource, has_status))
    after = dict(tracked_items(new, subresource, has_status))
    for key in before.keys() | after.keys():
        node, declared = child_node(root, key)
        _compare(before.get(key, _MISSING), after.get(key, _MISSING), node, ("f:" + key,), declared, result)
    return result


def _compare(lhs: Any, rhs: Any, node: Node, path: Path, declared: bool, out: Comparison) -> None:
    if lhs is _MISSING:
        _collect(rhs, node, path, declared, out.added, True)
        return
    if rhs is _MISSING:
        _collect(lhs, node, path, declared, out.removed, True)
        return
    shape = shape_of(node)
    if isinstance(lhs, dict) and isinstance(rhs, dict) and not shape.atomic and (lhs or rhs):
        for key in lhs.keys() | rhs.keys():
            child_n, child_declared = child_node(shape, key)
            _compare(lhs.get(key, _MISSING), rhs.get(key, _MISSING), child_n, (*path, "f:" + key),
                     child_declared, out)
    elif isinstance(lhs, list) and isinstance(rhs, list) and shape.list_type != "atomic" and (lhs or rhs):
        left = {element_key(v, shape, i): v for i, v in enumerate(lhs)}
        right = {element_key(v, shape, i): v for i, v in enumerate(rhs)}
        for key in left.keys() | right.keys():
            _compare(left.get(key, _MISSING), right.get(key, _MISSING), shape.items, (*path, key), False, out)
    elif lhs != rhs or type(lhs) is not type(rhs):
        if isinstance(lhs, dict | list) or isinstance(rhs, dict | list):
            _collect(lhs, node, path, declared, out.removed, True)
            _collect(rhs, node, path, declared, out.added, True)
        else:
            out.modified.add(path)


# --- FieldsV1 -----------------------------------------------------------------------------------

def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    """The FieldsV1 trie of a set: a member with children gets `.`; a member leaf is `{}`."""
    members: set[Path] = set(paths)
    tree: dict[str, Any] = {}
    for path in members:
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    return _sorted_trie(tree, (), members)


def _sorted_trie(node: dict[str, Any], path: Path, members: set[Path]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if node and path in members:
        out["."] = {}
    for key in sorted(node, key=_element_order):
        out[key] = _sorted_trie(node[key], (*path, key), members)
    return out


def _element_order(element: str) -> tuple[Any, ...]:
    """SMD's PathElement order: `.`, fields, keys, values, indexes; keys and values by value (80 < 443)."""
    kind, _, rest = element.partition(":")
    if kind == "k":
        keys = orjson.loads(rest)
        return (2, tuple((k, *_value_order(keys[k])) for k in sorted(keys)))
    if kind == "v":
        return (3, _value_order(orjson.loads(rest)))
    if kind == "i":
        return (4, int(rest))
    return (_RANKS.get(kind, 5), element)


def _value_order(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, int | float):
        return (2, value)
    if isinstance(value, str):
        return (3, value)
    return (4, _json(value))


def from_fields_v1(trie: Mapping[str, Any], prefix: Path = ()) -> set[Path]:
    """The set a FieldsV1 trie encodes; ValueError if it is not one."""
    out: set[Path] = set()
    for key, sub in trie.items():
        if not isinstance(sub, dict):
            raise ValueError(f"invalid FieldsV1 value at {key!r}")
        if key == ".":
            out.add(prefix)
        elif key[:2] in ("f:", "k:", "v:", "i:"):
            path = (*prefix, key)
            out |= from_fields_v1(sub, path) if sub else {path}
        else:
            raise ValueError(f"invalid FieldsV1 path element {key!r}")
    return out


# --- managedFields entries ----------------------------------------------------------------------

@dataclass(frozen=True)
class ManagedEntry:
    """One `metadata.managedFields` entry: who set which fields, how, and when."""

    manager: str
    operation: str
    api_version: str
    fields: FieldSet
    time: str | None = None
    subresource: str = ""
    raw: Mapping[str, Any] | None = field(default=None, compare=False)  # the stored form, while unchanged

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """BuildManagerIdentifier: appliers are one manager whatever apiVersion they applied with."""
        return (self.manager, self.operation, self.api_version if self.operation == UPDATE else "",
                self.subresource)

    def describe(self) -> str:
        """printManager: `"kubectl" with subresource "scale" using apps/v1`, or `"kubectl"` for an applier."""
        text = _json(self.manager)
        if self.subresource:
            text += f" with subresource {_json(self.subresource)}"
        if self.operation == UPDATE:
            text += f" using {self.api_version}"
        return text

    def with_fields(self, fields: Iterable[Path], time: str | None = None) -> ManagedEntry:
        return ManagedEntry(self.manager, self.operation, self.api_version, frozenset(fields),
                            time if time is not None else self.time, self.subresource)

    def encode(self) -> dict[str, Any]:
        if self.raw is not None:
            return dict(self.raw)
        entry: dict[str, Any] = {"manager": self.manager, "operation": self.operation,
                                 "apiVersion": self.api_version}
        if self.time is not None:
            entry["time"] = self.time
        entry["fieldsType"] = FIELDS_V1
        entry["fieldsV1"] = to_fields_v1(self.fields)
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


def is_reset(value: Any) -> bool:
    """`managedFields: []` (or `[{}]`) in a request clears them (isResetManagedFields)."""
    return value == [] or value == [{}]


def decode_managed_fields(value: Any) -> list[ManagedEntry]:
    """The entries of a managedFields list; ValueError naming what is wrong (DecodeManagedFields)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("managedFields must be a list")
    entries: list[ManagedEntry] = []
    seen: set[tuple[str, str, str, str]] = set()
    for index, raw in enumerate(value):
        entry = _decode_entry(raw, index)
        if entry.identity in seen:
            raise ValueError(f"duplicate entries for manager {entry.manager!r}")
        seen.add(entry.identity)
        entries.append(entry)
    return entries


def _decode_entry(raw: Any, index: int) -> ManagedEntry:
    if not isinstance(raw, dict):
        raise ValueError(f"managed fields entry {index} is not an object")
    if raw.get("operation") not in (APPLY, UPDATE):
        raise ValueError("operation must be `Apply` or `Update`")
    if not raw.get("apiVersion"):
        raise ValueError("apiVersion must not be empty")
    if raw.get("fieldsType") != FIELDS_V1:
        problem = "missing fieldsType" if not raw.get("fieldsType") else f"invalid fieldsType {raw['fieldsType']!r}"
        raise ValueError(f"{problem} in managed fields entry {index}")
    trie = raw.get("fieldsV1") or {}
    if not isinstance(trie, dict):
        raise ValueError(f"invalid fieldsV1 in managed fields entry {index}")
    return ManagedEntry(str(raw.get("manager") or ""), raw["operation"], raw["apiVersion"],
                        frozenset(from_fields_v1(trie)), raw.get("time"), raw.get("subresource") or "", raw)


def encode_managed_fields(entries: Iterable[ManagedEntry]) -> list[dict[str, Any]]:
    """The stored list, in Kubernetes' order: appliers first, then by time, manager, apiVersion."""
    ordered = sorted(entries, key=lambda e: (e.operation, e.time or "", e.manager, e.api_version, e.subresource))
    return [e.encode() for e in ordered if e.fields]
