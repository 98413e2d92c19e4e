"""The schema half of the published OpenAPI documents: definitions in upstream's v3 and v2 shapes.

The source is `apimachinery.schema.openapi_definitions()` — the upstream definitions as strict
JSON Schema (`#/$defs/...` refs, nullable type lists, `additionalProperties: false`, enums on
`apiVersion`/`kind`). This module converts them back to what kube-apiserver publishes:

- refs point at `#/components/schemas/<name>` (v3) or `#/definitions/<name>` (v2); in v3 a ref
  with sibling keywords (a description) is wrapped as `allOf: [{$ref}]`, as kube-openapi does;
- `type: ["string", "null"]` becomes `type: "string"` (upstream marks no optional field nullable);
- the strict-mode additions (`additionalProperties: false`, apiVersion/kind enums) are dropped;
- IntOrString and Quantity are published as upstream does: v3 `oneOf` of their two types (with
  `format: int-or-string` for IntOrString), v2 `type: string`;
- every `x-kubernetes-*` extension (group-version-kind, patch merge key and strategy, list
  types) is kept.

`reachable(names)` is the closure of definitions a set of roots refers to.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from apimachinery.kinds import KindRegistry
from apimachinery.schema import openapi_definitions

Schema = dict[str, Any]
_DEFS_PREFIX = "#/$defs/"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
# Definitions every group-version document carries, whatever its kinds refer to.
COMMON_DEFINITIONS = (f"{META}Status", f"{META}DeleteOptions", f"{META}ObjectMeta", f"{META}ListMeta",
                      f"{META}WatchEvent", f"{META}Patch", f"{META}APIResourceList")


def ref_name(ref: str) -> str:
    return ref.removeprefix(_DEFS_PREFIX)


def _collect_refs(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            out.add(ref_name(ref))
        for value in node.values():
            _collect_refs(value, out)
    elif isinstance(node, list):
        for value in node:
            _collect_refs(value, out)


@cache
def _direct_refs(name: str) -> frozenset[str]:
    refs: set[str] = set()
    _collect_refs(openapi_definitions().get(name, {}), refs)
    return frozenset(refs)


def reachable(roots: set[str]) -> set[str]:
    """Every definition in `roots` (that exists) and every definition they refer to, transitively."""
    definitions = openapi_definitions()
    seen: set[str] = set()
    stack = [r for r in roots if r in definitions]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        stack.extend(r for r in _direct_refs(name) if r not in seen and r in definitions)
    return seen


def list_definition(schema_ref: str) -> str:
    return f"{schema_ref}List"


def _base_type(value: Any) -> Any:
    if isinstance(value, list):
        types = [t for t in value if t != "null"]
        return types[0] if len(types) == 1 else types
    return value


def _strict_only(keyword: str, value: Any, property_name: str) -> bool:
    """Whether a keyword is one the strict schema variant added and upstream does not publish."""
    if keyword == "additionalProperties":
        return value is False
    return keyword == "enum" and property_name in ("apiVersion", "kind")


def _convert(node: Any, ref_prefix: str, v3: bool, key: str = "") -> Any:
    if isinstance(node, list):
        return [_convert(v, ref_prefix, v3) for v in node]
    if not isinstance(node, dict):
        return node
    out: Schema = {}
    for k, v in node.items():
        if k == "$ref":
            out[k] = ref_prefix + ref_name(v)
        elif k == "type":
            out[k] = _base_type(v)
        elif _strict_only(k, v, key):
            continue
        elif k == "properties":
            out[k] = {name: _convert(prop, ref_prefix, v3, name) for name, prop in v.items()}
        else:
            out[k] = _convert(v, ref_prefix, v3)
    if v3 and "$ref" in out and len(out) > 1:
        out["allOf"] = [{"$ref": out.pop("$ref")}]
    return out


def _special(name: str, description: str | None, v3: bool) -> Schema:
    schema: Schema = {"description": description} if description else {}
    if name == INT_OR_STRING:
        schema["format"] = "int-or-string"
        if v3:
            schema["oneOf"] = [{"type": "integer"}, {"type": "string"}]
        else:
            schema["type"] = "string"
    elif v3:
        schema["oneOf"] = [{"type": "string"}, {"type": "number"}]
    else:
        schema["type"] = "string"
    return schema


def convert_definition(name: str, v3: bool) -> Schema:
    """One definition in the published shape: v3 (`components.schemas`) or v2 (`definitions`)."""
    source = openapi_definitions()[name]
    if name in (INT_OR_STRING, QUANTITY):
        return _special(name, source.get("description"), v3)
    prefix = "#/components/schemas/" if v3 else "#/definitions/"
    converted: Schema = _convert(source, prefix, v3)
    return converted


def with_group_version_kinds(schemas: dict[str, Schema], kinds: KindRegistry) -> None:
    """Add `x-kubernetes-group-version-kind` to a served kind (or its list) that lacks it."""
    for rt in kinds.all():
        if not rt.schema_ref:
            continue
        for name, kind in ((rt.schema_ref, rt.kind), (list_definition(rt.schema_ref), rt.list_kind)):
            schema = schemas.get(name)
            if schema is not None and "x-kubernetes-group-version-kind" not in schema:
                schema["x-kubernetes-group-version-kind"] = [{"group": rt.group, "kind": kind, "version": rt.version}]


def definitions_for(roots: set[str], kinds: KindRegistry, v3: bool) -> dict[str, Schema]:
    """The converted closure of `roots` plus the common meta definitions, sorted by name."""
    names = reachable(roots | set(COMMON_DEFINITIONS))
    schemas = {name: convert_definition(name, v3) for name in sorted(names)}
    with_group_version_kinds(schemas, kinds)
    return schemas
