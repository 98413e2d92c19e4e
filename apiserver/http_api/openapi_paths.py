"""The `paths` half of the published OpenAPI documents: every operation on every served resource.

Named and shaped as kube-apiserver names them: operationIds like `readCoreV1NamespacedPod`,
`listAppsV1DeploymentForAllNamespaces`, `watchCoreV1NamespacedPodList`; each operation carries
`x-kubernetes-action` (get, list, watch, watchlist, post, put, patch, delete, deletecollection)
and `x-kubernetes-group-version-kind`. Writes take `dryRun` and `fieldManager`; create, update and
patch also take `fieldValidation` — kubectl looks for that parameter on the PATCH operation of a
kind to decide that the server validates fields itself. Patch bodies are accepted as JSON patch,
merge patch, strategic merge patch and apply (server-side apply YAML).

Operations are built once in a neutral form and rendered as OpenAPI 3.0 (`render_v3`) or
Swagger 2.0 (`render_v2`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apimachinery.kinds import ResourceType

Schema = dict[str, Any]
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
PATCH_TYPES = ("application/apply-patch+yaml", "application/json-patch+json",
               "application/merge-patch+json", "application/strategic-merge-patch+json")
RESPONSE_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
WATCH_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf",
               "application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch")

_DESCRIPTIONS = {
    "dryRun": "When present, indicates that modifications should not be persisted. An invalid or unrecognized "
              "dryRun directive will result in an error response and no further processing of the request. "
              "Valid values are: - All: all dry run stages will be processed",
    "fieldManager": "fieldManager is a name associated with the actor or entity that is making these changes. "
                    "The value must be less than or 128 characters long, and only contain printable characters, "
                    "as defined by https://golang.org/pkg/unicode/#IsPrint.",
    "fieldValidation": "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) "
                       "containing unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict",
    "force": "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields "
             "owned by other people. Force flag must be unset for non-apply patch requests.",
    "pretty": "If 'true', then the output is pretty printed.",
    "gracePeriodSeconds": "The duration in seconds before the object should be deleted.",
    "propagationPolicy": "Whether and how garbage collection will be performed: 'Orphan', 'Background' or "
                         "'Foreground'.",
    "orphanDependents": "Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7.",
    "allowWatchBookmarks": "allowWatchBookmarks requests watch events with type \"BOOKMARK\".",
    "continue": "The continue option should be set when retrieving more results from the server.",
    "fieldSelector": "A selector to restrict the list of returned objects by their fields. Defaults to everything.",
    "labelSelector": "A selector to restrict the list of returned objects by their labels. Defaults to everything.",
    "limit": "limit is a maximum number of responses to return for a list call.",
    "resourceVersion": "resourceVersion sets a constraint on what resource versions a request may be served from.",
    "resourceVersionMatch": "resourceVersionMatch determines how resourceVersion is applied to list calls.",
    "sendInitialEvents": "`sendInitialEvents=true` may be set together with `watch=true`.",
    "timeoutSeconds": "Timeout for the list/watch call.",
    "watch": "Watch for changes to the described resources and return them as a stream of add, update, and "
             "remove notifications.",
}
_TYPES = {"gracePeriodSeconds": "integer", "limit": "integer", "timeoutSeconds": "integer", "force": "boolean",
          "orphanDependents": "boolean", "allowWatchBookmarks": "boolean", "sendInitialEvents": "boolean",
          "watch": "boolean"}
LIST_PARAMS = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit", "resourceVersion",
               "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds", "watch")
WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
DELETE_PARAMS = ("dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy")


@dataclass
class Operation:
    """One HTTP operation in neutral form: query parameter names, body and response definitions."""

    method: str
    operation_id: str
    action: str
    description: str
    tag: str
    gvk: dict[str, str]
    query: tuple[str, ...] = ()
    body: str | None = None
    body_types: tuple[str, ...] = ("*/*",)
    responses: dict[str, str] = field(default_factory=dict)
    response_types: tuple[str, ...] = RESPONSE_TYPES


@dataclass
class PathItem:
    path_params: tuple[str, ...]
    operations: list[Operation] = field(default_factory=list)


def group_camel(group: str) -> str:
    """`` -> Core, `apps` -> Apps, `rbac.authorization.k8s.io` -> RbacAuthorization."""
    if not group:
        return "Core"
    return "".join(part.capitalize() for part in group.removesuffix(".k8s.io").split("."))


def tag(rt: ResourceType) -> str:
    group = rt.group.removesuffix(".k8s.io").replace(".", "_") if rt.group else "core"
    return f"{group}_{rt.version}"


def gvk_of(rt: ResourceType, kind: str | None = None) -> dict[str, str]:
    return {"group": rt.group, "kind": kind or rt.kind, "version": rt.version}


def prefix(rt: ResourceType) -> str:
    return f"/api/{rt.version}" if not rt.group else f"/apis/{rt.group}/{rt.version}"


def resource_paths(rt: ResourceType) -> dict[str, PathItem]:
    """Every path of one resource (collection, item, status, watch) with its operations."""
    if not rt.schema_ref:
        return {}
    gv = group_camel(rt.group) + rt.version.capitalize()
    scope = "Namespaced" if rt.namespaced else ""
    ns = "/namespaces/{namespace}" if rt.namespaced else ""
    ns_params = ("namespace",) if rt.namespaced else ()
    base = f"{prefix(rt)}{ns}/{rt.plural}"
    watch_base = f"{prefix(rt)}/watch{ns}/{rt.plural}"

    def op(method: str, verb: str, action: str, description: str, suffix: str = "", **kw: Any) -> Operation:
        return Operation(method, f"{verb}{gv}{scope}{rt.kind}{suffix}", action, description, tag(rt),
                         gvk_of(rt), **kw)

    ref, list_ref, status = rt.schema_ref, f"{rt.schema_ref}List", f"{META}Status"
    item_ok = {"200": ref}
    verbs = set(rt.verbs)
    paths: dict[str, PathItem] = {base: PathItem(ns_params), f"{base}/{{name}}": PathItem(("name", *ns_params))}
    collection, item = paths[base].operations, paths[f"{base}/{{name}}"].operations
    if "list" in verbs:
        collection.append(op("get", "list", "list", f"list or watch objects of kind {rt.kind}", query=LIST_PARAMS,
                             responses={"200": list_ref}, response_types=WATCH_TYPES))
    if "create" in verbs:
        collection.append(op("post", "create", "post", f"create {article(rt.kind)}", query=WRITE_PARAMS, body=ref,
                             responses={"200": ref, "201": ref, "202": ref}))
    if "deletecollection" in verbs:
        collection.append(op("delete", "deletecollection", "deletecollection",
                             f"delete collection of {rt.kind}", query=DELETE_PARAMS + LIST_PARAMS[1:-1],
                             body=f"{META}DeleteOptions", responses={"200": status}))
    item.extend(_item_operations(rt, op, verbs, item_ok))
    if rt.has_status:
        paths[f"{base}/{{name}}/status"] = PathItem(("name", *ns_params), _status_operations(rt, op, verbs, item_ok))
    _add_watch_and_all_namespaces(rt, paths, watch_base, gv, verbs)
    return {p: item for p, item in paths.items() if item.operations}


def article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "AEIOU" else f"a {kind}"


def _item_operations(rt: ResourceType, op: Any, verbs: set[str], ok: dict[str, str]) -> list[Operation]:
    ops = []
    ref, status = rt.schema_ref or "", f"{META}Status"
    if "get" in verbs:
        ops.append(op("get", "read", "get", f"read the specified {rt.kind}", responses=ok))
    if "update" in verbs:
        ops.append(op("put", "replace", "put", f"replace the specified {rt.kind}", query=WRITE_PARAMS, body=ref,
                      responses={"200": ref, "201": ref}))
    if "delete" in verbs:
        ops.append(op("delete", "delete", "delete", f"delete {article(rt.kind)}", query=DELETE_PARAMS,
                      body=f"{META}DeleteOptions", responses={"200": ref, "202": ref} if rt.kind != "Namespace"
                      else {"200": status, "202": status}))
    if "patch" in verbs:
        ops.append(op("patch", "patch", "patch", f"partially update the specified {rt.kind}",
                      query=(*WRITE_PARAMS, "force"), body=f"{META}Patch", body_types=PATCH_TYPES,
                      responses={"200": ref, "201": ref}))
    return ops


def _status_operations(rt: ResourceType, op: Any, verbs: set[str], ok: dict[str, str]) -> list[Operation]:
    ref = rt.schema_ref or ""
    ops = [op("get", "read", "get", f"read status of the specified {rt.kind}", suffix="Status", responses=ok)]
    if "update" in verbs:
        ops.append(op("put", "replace", "put", f"replace status of the specified {rt.kind}", suffix="Status",
                      query=WRITE_PARAMS, body=ref, responses={"200": ref, "201": ref}))
    if "patch" in verbs:
        ops.append(op("patch", "patch", "patch", f"partially update status of the specified {rt.kind}",
                      suffix="Status", query=(*WRITE_PARAMS, "force"), body=f"{META}Patch",
                      body_types=PATCH_TYPES, responses={"200": ref, "201": ref}))
    return ops


def _add_watch_and_all_namespaces(rt: ResourceType, paths: dict[str, PathItem], watch_base: str, gv: str,
                                  verbs: set[str]) -> None:
    if "watch" not in verbs and "list" not in verbs:
        return
    scope = "Namespaced" if rt.namespaced else ""
    ns_params = ("namespace",) if rt.namespaced else ()
    event = f"{META}WatchEvent"

    def watch(op_id: str, action: str, description: str) -> Operation:
        return Operation("get", op_id, action, description, tag(rt), gvk_of(rt), query=LIST_PARAMS,
                         responses={"200": event}, response_types=WATCH_TYPES)

    if "watch" in verbs:
        paths[watch_base] = PathItem(ns_params, [watch(f"watch{gv}{scope}{rt.kind}List", "watchlist",
                                                       f"watch individual changes to a list of {rt.kind}. "
                                                       "deprecated: use the 'watch' parameter with a list operation "
                                                       "instead.")])
        paths[f"{watch_base}/{{name}}"] = PathItem(("name", *ns_params), [watch(
            f"watch{gv}{scope}{rt.kind}", "watch", f"watch changes to an object of kind {rt.kind}. deprecated: use "
            "the 'watch' parameter with a list operation instead, filtered to a single item with the "
            "'fieldSelector' parameter.")])
    if not rt.namespaced:
        return
    root = prefix(rt)
    if "list" in verbs:
        paths[f"{root}/{rt.plural}"] = PathItem((), [Operation(
            "get", f"list{gv}{rt.kind}ForAllNamespaces", "list", f"list or watch objects of kind {rt.kind}", tag(rt),
            gvk_of(rt), query=LIST_PARAMS, responses={"200": f"{rt.schema_ref}List"}, response_types=WATCH_TYPES)])
    if "watch" in verbs:
        paths[f"{root}/watch/{rt.plural}"] = PathItem((), [watch(
            f"watch{gv}{rt.kind}ListForAllNamespaces", "watchlist", f"watch individual changes to a list of "
            f"{rt.kind}. deprecated: use the 'watch' parameter with a list operation instead.")])


def _path_param(name: str, v3: bool) -> Schema:
    description = "object name and auth scope, such as for teams and projects" if name == "namespace" \
        else "name of the object"
    param: Schema = {"name": name, "in": "path", "description": description, "required": True}
    return param | ({"schema": {"type": "string", "uniqueItems": True}} if v3 else
                    {"type": "string", "uniqueItems": True})


def _query_param(name: str, v3: bool) -> Schema:
    kind = _TYPES.get(name, "string")
    param: Schema = {"name": name, "in": "query", "description": _DESCRIPTIONS.get(name, name)}
    return param | ({"schema": {"type": kind, "uniqueItems": True}} if v3 else {"type": kind, "uniqueItems": True})


def _operation_v3(op: Operation, ref: str) -> Schema:
    out: Schema = {"tags": [op.tag], "description": op.description, "operationId": op.operation_id,
                   "parameters": [_query_param(q, True) for q in op.query]}
    if op.body:
        out["requestBody"] = {"content": {t: {"schema": {"$ref": ref + op.body}} for t in op.body_types},
                              "required": op.method != "delete"}
    out["responses"] = {code: {"description": _status_text(code),
                               "content": {t: {"schema": {"$ref": ref + name}} for t in op.response_types}}
                        for code, name in op.responses.items()} | {"401": {"description": "Unauthorized"}}
    out["x-kubernetes-action"] = op.action
    out["x-kubernetes-group-version-kind"] = op.gvk
    return out


def _operation_v2(op: Operation, ref: str) -> Schema:
    params = [_query_param(q, False) for q in op.query]
    if op.body:
        params.insert(0, {"name": "body", "in": "body", "required": op.method != "delete",
                          "schema": {"$ref": ref + op.body}})
    out: Schema = {"tags": [op.tag], "description": op.description, "operationId": op.operation_id,
                   "consumes": list(op.body_types), "produces": list(op.response_types), "schemes": ["https"],
                   "parameters": params}
    out["responses"] = {code: {"description": _status_text(code), "schema": {"$ref": ref + name}}
                        for code, name in op.responses.items()} | {"401": {"description": "Unauthorized"}}
    out["x-kubernetes-action"] = op.action
    out["x-kubernetes-group-version-kind"] = op.gvk
    return out


def _status_text(code: str) -> str:
    return {"200": "OK", "201": "Created", "202": "Accepted"}.get(code, code)


def render(items: dict[str, PathItem], v3: bool) -> dict[str, Schema]:
    """The `paths` object: OpenAPI 3.0 when `v3`, else Swagger 2.0."""
    ref = "#/components/schemas/" if v3 else "#/definitions/"
    render_op = _operation_v3 if v3 else _operation_v2
    paths: dict[str, Schema] = {}
    for path in sorted(items):
        item = items[path]
        entry: Schema = {op.method: render_op(op, ref) for op in item.operations}
        entry["parameters"] = [_path_param(p, v3) for p in item.path_params] + [_query_param("pretty", v3)]
        paths[path] = entry
    return paths


def referenced_definitions(items: dict[str, PathItem]) -> set[str]:
    """The definitions the operations name (bodies and responses)."""
    names: set[str] = set()
    for item in items.values():
        for op in item.operations:
            names.update(op.responses.values())
            if op.body:
                names.add(op.body)
    return names
