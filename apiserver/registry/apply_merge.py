"""Pure object surgery for server-side apply: merging an applied configuration into the live object,
and pruning the fields an applier stopped applying (structured-merge-diff's Merge and RemoveItems).

Merge (live ⊕ applied), walked with the kind's schema shapes (`apimachinery.managed_fields`):
maps and structs merge key by key; list-maps merge element by element on their keys (containers by
`name`, ports by `containerPort`+`protocol`, env by `name`); set-lists of scalars are unioned; atomic
lists, atomic maps and scalars are replaced by the applied value; a `null` in the applied
configuration removes the field. Element order: live-only elements keep their places, applied
elements come in the applied order.

Prune removes the paths of a field set from an object: a `k:`/`v:` element from its list, an `f:`
field from its map; a map or list left empty by a removal goes too, unless someone owns it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from apimachinery.managed_fields import Node, Path, Shape, child_node, element_key, schema_root, shape_of

Object = dict[str, Any]


def merge_applied(live: Object, applied: Object, schema_ref: str | None) -> Object:
    """`live` with `applied` merged in; neither argument is modified."""
    merged = _merge(live, applied, schema_root(schema_ref))
    assert isinstance(merged, dict)
    return merged


def _merge(lhs: Any, rhs: Any, node: Node) -> Any:
    shape = shape_of(node)
    if isinstance(rhs, dict) and not shape.atomic:
        out = dict(lhs) if isinstance(lhs, dict) else {}
        for key, value in rhs.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = _merge(out.get(key), value, child_node(shape, key)[0])
        return out
    if isinstance(rhs, list) and shape.list_type != "atomic":
        return _merge_list(lhs if isinstance(lhs, list) else [], rhs, shape)
    return copy.deepcopy(rhs)


def _merge_list(lhs: list[Any], rhs: list[Any], shape: Shape) -> list[Any]:
    left = {element_key(v, shape, i): v for i, v in enumerate(lhs)}
    right: dict[str, Any] = {}
    for index, value in enumerate(rhs):
        right.setdefault(element_key(value, shape, index), value)
    pending = list(right)
    out: list[Any] = []
    emitted: set[str] = set()
    for key in left:
        if key not in right:
            out.append(left[key])
            continue
        while pending and key not in emitted:
            next_key = pending.pop(0)
            out.append(_merge(left.get(next_key), right[next_key], shape.items))
            emitted.add(next_key)
    out.extend(_merge(left.get(k), right[k], shape.items) for k in pending)
    return out


def remove_paths(obj: Object, paths: Iterable[Path], owned: frozenset[Path], schema_ref: str | None) -> Object:
    """`obj` without the given paths (a deep copy); paths that lead to owned fields stay as containers."""
    result = copy.deepcopy(obj)
    prefixes = {p[:i] for p in owned for i in range(1, len(p))}
    root = schema_root(schema_ref)
    for path in sorted(paths, key=len):
        if path not in prefixes:
            _remove(result, path, root, owned)
    return result


def _remove(container: Any, path: Path, node: Node, owned: frozenset[Path]) -> bool:
    """Remove `path` under `container`; True if `container` became empty by it."""
    head, rest = path[0], path[1:]
    shape = shape_of(node)
    if head.startswith("f:") and isinstance(container, dict):
        key = head[2:]
        if key in container and _drops(container[key], rest, child_node(shape, key)[0], _under(owned, head)):
            del container[key]
        return not container
    if isinstance(container, list):
        for index, item in enumerate(container):
            if element_key(item, shape, index) == head:
                if _drops(item, rest, shape.items, _under(owned, head)):
                    del container[index]
                return not container
    return False


def _drops(value: Any, rest: Path, node: Node, owned: frozenset[Path]) -> bool:
    """Whether `value` itself goes: it is the target, or the removal under it emptied it and nobody owns it."""
    if not rest:
        return True
    return _remove(value, rest, node, owned) and () not in owned


def _under(owned: frozenset[Path], head: str) -> frozenset[Path]:
    return frozenset(p[1:] for p in owned if p and p[0] == head)
