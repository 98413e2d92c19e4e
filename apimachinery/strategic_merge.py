"""Strategic merge patch, applied the way the apiserver applies it.

A port of the *apply* side of k8s.io/apimachinery/pkg/util/strategicpatch (`StrategicMergeMapPatch`
with `MergeParallelList` and `IgnoreUnmatchedNulls`: `mergeMap`, `mergeSlice`, the directive
handlers and the element-order normalisation); the diff side (creating patches) is kubectl's job.

Patch metadata. Go reads `patchStrategy`/`patchMergeKey` struct tags; we read the same facts from
the upstream OpenAPI definitions (`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`) via
`apimachinery.schema.openapi_definitions`. A schema node is walked alongside the object: a property
gives the field's node and metadata, `additionalProperties` (labels, annotations, data) gives the
value node of a map, `items` the element node of a list. A field with no metadata merges as a map
or is replaced as a list; with `schema_ref=None` the whole patch is therefore a JSON merge patch
(plus the directives).

Semantics, as upstream:
- maps merge recursively; `null` deletes a key; `{"$patch": "replace"}` replaces the map,
  `{"$patch": "delete"}` empties it; `"$retainKeys": [...]` drops the keys of the original it does
  not list (and every non-null patch key must be listed);
- a list whose strategy is `merge` merges: maps by their merge key (`{"$patch": "delete", key: v}`
  removes an element, `{"$patch": "replace"}` makes the rest of the patch list the whole list),
  scalars as an ordered set; `$deleteFromPrimitiveList/<f>` removes scalars;
  `$setElementOrder/<f>` fixes the order of the listed elements. Without `$setElementOrder`, the
  merged list keeps the original's order, and elements new in the patch come *before* the original
  elements they cannot be compared with — `mergeSortedSlice`'s rule, kept as is;
- any other list is replaced.

A patch value for a key the original lacks is merged into an empty value, so no directive or null
reaches the result; `$deleteFromPrimitiveList` works on any list and is a no-op on a missing one (both
as in upstream's current tests). The input is never mutated. Malformed patches raise
`StrategicMergeError` with upstream's messages; `$patch: merge` is one of them, as upstream.
"""

from __future__ import annotations

import copy
from typing import Any

from apimachinery.schema import openapi_definitions
from apimachinery.schema_compile import definition_name

__all__ = ["StrategicMergeError", "apply_strategic_merge_patch", "resolve_schema"]

Node = dict[str, Any] | None

DIRECTIVE = "$patch"
REPLACE = "replace"
DELETE = "delete"
MERGE = "merge"
RETAIN_KEYS = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
SET_ELEMENT_ORDER = "$setElementOrder"


class StrategicMergeError(ValueError):
    """The patch cannot be applied as a strategic merge patch (Kubernetes answers 4xx)."""


def apply_strategic_merge_patch(original: dict[str, Any], patch: dict[str, Any], schema_ref: str | None) -> dict:
    """`original` with `patch` applied; neither argument is modified."""
    if not isinstance(patch, dict):
        raise StrategicMergeError("a strategic merge patch must be a JSON object")
    node = _resolve({"$ref": schema_ref}) if schema_ref else None
    return _merge_map(copy.deepcopy(original), copy.deepcopy(patch), node)


# --- schema metadata ---------------------------------------------------------------------------

def _resolve(node: Node) -> Node:
    """Follow `$ref` (and a single-branch `allOf`) to the definition; None if unknown."""
    while isinstance(node, dict):
        if "$ref" in node:
            node = openapi_definitions().get(definition_name(node["$ref"]))
        elif len(node.get("allOf") or ()) == 1:
            node = node["allOf"][0]
        else:
            return node
    return None


def _lookup(node: Node, key: str) -> tuple[Node, str, str]:
    """(value node, patch strategy without retainKeys, merge key) of field `key` of `node`."""
    if node is None:
        return None, "", ""
    prop = (node.get("properties") or {}).get(key)
    if isinstance(prop, dict):
        return _resolve(prop), _strategy(prop.get("x-kubernetes-patch-strategy", "")), \
            prop.get("x-kubernetes-patch-merge-key", "")
    additional = node.get("additionalProperties")
    return (_resolve(additional) if isinstance(additional, dict) else None), "", ""


def _strategy(tag: str) -> str:
    """extractRetainKeysPatchStrategy: `retainKeys` is handled by the directive; keep the other one."""
    strategies = [s for s in tag.split(",") if s]
    if len(strategies) > 2 or (len(strategies) == 2 and "retainKeys" not in strategies):
        raise StrategicMergeError(f"unexpected patch strategy: {tag}")
    others = [s for s in strategies if s != "retainKeys"]
    return others[0] if others else ""


def resolve_schema(node: Node) -> Node:
    """A schema node with `$ref` (and single-branch `allOf`) followed; for apimachinery.managed_fields."""
    return _resolve(node)


def _items(node: Node) -> Node:
    return _resolve(node.get("items")) if node is not None else None


# --- maps --------------------------------------------------------------------------------------

def _merge_map(original: dict[str, Any], patch: dict[str, Any], node: Node) -> dict[str, Any]:
    if DIRECTIVE in patch:
        return _map_directive(patch)
    _apply_retain_keys(original, patch)
    _apply_set_element_orders(original, patch, node)
    for key, value in patch.items():
        is_delete_list = key.startswith(DELETE_FROM_PRIMITIVE_LIST)
        if is_delete_list:
            key = _extract_key(key, DELETE_FROM_PRIMITIVE_LIST, "invalid patch format of primitive list")
            _delete_from_primitive_list(original, key, value, _lookup(node, key))
        elif value is None:
            original.pop(key, None)  # IgnoreUnmatchedNulls: a null never reaches the result
        else:
            original[key] = _merge_value(original.get(key), value, _lookup(node, key))
    return original


def _delete_from_primitive_list(original: dict[str, Any], key: str, value: Any, meta: tuple[Node, str, str]) -> None:
    if not isinstance(value, list):
        raise StrategicMergeError("invalid patch format of primitive list")
    current = original.get(key)
    if isinstance(current, list):
        original[key] = _merge_slice(current, value, _items(meta[0]), meta[2], True)


def _merge_value(current: Any, value: Any, meta: tuple[Node, str, str]) -> Any:
    field_node, strategy, merge_key = meta
    if isinstance(value, dict):
        if strategy == REPLACE:
            return value
        return _merge_map(current if isinstance(current, dict) else {}, value, field_node)
    if isinstance(value, list) and strategy == MERGE:
        base = current if isinstance(current, list) else []
        return _merge_slice(base, value, _items(field_node), merge_key, False)
    return value


def _map_directive(patch: dict[str, Any]) -> dict[str, Any]:
    directive = patch[DIRECTIVE]
    if directive == REPLACE:
        return {k: v for k, v in patch.items() if k != DIRECTIVE}
    if directive == DELETE:
        return {}
    raise StrategicMergeError(f"unknown patch type: {directive} in map: {patch}")


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    if RETAIN_KEYS not in patch:
        return
    retain = patch.pop(RETAIN_KEYS)
    if not isinstance(retain, list):
        raise StrategicMergeError("invalid patch format of retainKeys")
    keep = {k for k in retain if isinstance(k, str)}
    for key, value in patch.items():
        if value is None or key.startswith((DELETE_FROM_PRIMITIVE_LIST, SET_ELEMENT_ORDER)):
            continue
        if key not in keep:
            raise StrategicMergeError(f"invalid patch format of retainKeys: {key!r} is not in {retain}")
    for key in [k for k in original if k not in keep]:
        del original[key]


def _extract_key(key: str, prefix: str, message: str) -> str:
    head, sep, tail = key.partition("/")
    if not sep or head != prefix:
        raise StrategicMergeError(message)
    return tail


# --- $setElementOrder --------------------------------------------------------------------------

def _apply_set_element_orders(original: dict[str, Any], patch: dict[str, Any], node: Node) -> None:
    """mergePatchIntoOriginal: merge each ordered list now, in the order given, and drop it from `patch`."""
    bad = "invalid patch format of setElementOrder list"
    for directive in [k for k in patch if k.startswith(SET_ELEMENT_ORDER)]:
        order = patch.pop(directive)
        key = _extract_key(directive, SET_ELEMENT_ORDER, bad)
        if not isinstance(order, list):
            raise StrategicMergeError(bad)
        field_node, strategy, merge_key = _lookup(node, key)
        in_original, in_patch = key in original, key in patch
        current, patch_list = original.get(key, []), patch.pop(key, [])
        if not isinstance(current, list) or not isinstance(patch_list, list):
            raise StrategicMergeError(bad)
        _validate_order(patch_list, order, merge_key)
        if not in_original and not in_patch:
            continue
        if in_original and in_patch:
            merged = _merge_slice(current, patch_list, _items(field_node), merge_key, False) \
                if strategy == MERGE else patch_list
        else:
            merged = current if in_original else patch_list
        ordered, rest = _partition(merged, order, merge_key)
        original[key] = _normalize_order(ordered, rest, order, current, merge_key)


def _validate_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    """validatePatchWithSetOrderList: patch items appear in `order`, in the same relative order."""
    items = [v for v in patch_list if not (isinstance(v, dict) and DIRECTIVE in v)] if merge_key else patch_list
    i = 0
    for wanted in order:
        if i < len(items) and _key_of(items[i], merge_key) == _key_of(wanted, merge_key):
            i += 1
    if i < len(items):
        raise StrategicMergeError(f"The order in patch list:\n{patch_list}\n doesn't match "
                                  f"{SET_ELEMENT_ORDER} list:\n{order}\n")


# --- lists -------------------------------------------------------------------------------------

def _merge_slice(original: list[Any], patch: list[Any], item_node: Node, merge_key: str,
                 is_delete_list: bool) -> list[Any]:
    if not original and not patch:
        return original
    kind = _element_kind(original + patch)
    if kind is not dict:
        if is_delete_list:
            remove = {_hashable(v) for v in patch}
            return [v for v in original if _hashable(v) not in remove]
        merged = _dedupe(original + patch)
        merge_key = ""
    else:
        if not merge_key:
            raise StrategicMergeError("cannot merge lists without merge key for type map")
        original, patch = _special_elements(original, patch, merge_key)
        merged = _merge_maps_by_key(original, patch, item_node, merge_key)
    in_patch, server_only = _partition(merged, patch, merge_key)
    return _normalize_order(in_patch, server_only, patch, original, merge_key)


def _element_kind(items: list[Any]) -> type:
    kinds = {_kind(v) for v in items}
    if list in kinds:
        raise StrategicMergeError("lists of lists are not supported")
    if len(kinds) != 1:
        raise StrategicMergeError(f"list element types are not identical: {items}")
    return kinds.pop()


def _kind(value: Any) -> type:
    if isinstance(value, bool):
        return bool
    if isinstance(value, int | float):
        return float
    return type(value)


def _special_elements(original: list[Any], patch: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    """mergeSliceWithSpecialElements: apply `$patch` elements; return (original, patch without them)."""
    plain: list[Any] = []
    replace = False
    for item in patch:
        if DIRECTIVE not in item:
            plain.append(item)
        elif item[DIRECTIVE] == DELETE:
            if merge_key not in item:
                raise _no_merge_key(item, merge_key)
            target = _hashable(item[merge_key])
            original = [v for v in original if not (merge_key in v and _hashable(v[merge_key]) == target)]
        elif item[DIRECTIVE] == REPLACE:
            replace = True
        elif item[DIRECTIVE] == MERGE:
            raise StrategicMergeError("merging lists cannot yet be specified in the patch")
        else:
            raise StrategicMergeError(f"unknown patch type: {item[DIRECTIVE]} in map: {item}")
    return (plain, []) if replace else (original, plain)


def _merge_maps_by_key(original: list[Any], patch: list[Any], item_node: Node, merge_key: str) -> list[Any]:
    merged = list(original)
    for item in patch:
        if merge_key not in item:
            raise _no_merge_key(item, merge_key)
        index = _find(merged, item[merge_key], merge_key)
        if index is None:
            merged.append(_merge_map({}, item, item_node))
        else:
            merged[index] = _merge_map(merged[index], item, item_node)
    return merged


def _find(items: list[Any], value: Any, merge_key: str) -> int | None:
    target = _hashable(value)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise StrategicMergeError(f"value for key {index} is not a map.")
        if merge_key in item and _hashable(item[merge_key]) == target:
            return index
    return None


# --- ordering ----------------------------------------------------------------------------------

def _partition(merged: list[Any], by: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    """partition{Primitives,Maps}ByPresentInList: (items present in `by`, the others)."""
    keys = {_key_of(v, merge_key) for v in by}
    present = [v for v in merged if _key_of(v, merge_key) in keys]
    return present, [v for v in merged if _key_of(v, merge_key) not in keys]


def _normalize_order(patch_items: list[Any], server_only: list[Any], patch_order: list[Any],
                     server_order: list[Any], merge_key: str) -> list[Any]:
    """normalizeElementOrder: sort each side by its order, then interleave (mergeSortedSlice)."""
    patch_items = _sort_by(patch_items, patch_order, merge_key)
    server_only = _sort_by(server_only, server_order, merge_key)
    positions = {k: i for i, k in reversed(list(enumerate(_key_of(v, merge_key) for v in server_order)))}
    result: list[Any] = []
    i = j = 0
    while i < len(server_only) or j < len(patch_items):
        if j >= len(patch_items):
            result.append(server_only[i])
            i += 1
            continue
        if i < len(server_only):
            left = positions.get(_key_of(server_only[i], merge_key))
            right = positions.get(_key_of(patch_items[j], merge_key))
            if left is not None and right is not None and left < right:
                result.append(server_only[i])
                i += 1
                continue
        result.append(patch_items[j])
        j += 1
    return result


def _sort_by(items: list[Any], order: list[Any], merge_key: str) -> list[Any]:
    positions: dict[Any, int] = {}
    for index, item in enumerate(order):
        positions.setdefault(_key_of(item, merge_key), index)
    return sorted(items, key=lambda v: positions.get(_key_of(v, merge_key), len(order)))


# --- helpers -----------------------------------------------------------------------------------

def _key_of(item: Any, merge_key: str) -> Any:
    """The identity of a list element: its merge key's value for maps, the value itself otherwise."""
    if not merge_key:
        return _hashable(item)
    if not isinstance(item, dict):
        raise StrategicMergeError(f"expected a map, but received a {type(item).__name__}")
    if merge_key not in item:
        raise _no_merge_key(item, merge_key)
    return _hashable(item[merge_key])


def _hashable(value: Any) -> Any:
    """Go's interface equality: 1 == 1.0, but true != 1; maps and lists never match a scalar."""
    if isinstance(value, dict | list):
        return ("json", repr(value))
    return (isinstance(value, bool), value)


def _dedupe(items: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    result = []
    for item in items:
        key = _hashable(item)
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result


def _no_merge_key(item: Any, merge_key: str) -> StrategicMergeError:
    return StrategicMergeError(f"map: {item} does not contain declared merge key: {merge_key}")
