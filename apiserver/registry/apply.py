"""Server-side apply, decided without I/O: `compute_apply(rt, live, applied, manager, force, now)`.

What Kubernetes' field manager does for a `PATCH` with `application/apply-patch+yaml`, in order:

1. the applied configuration must be the kind the URL addresses (`invalid object type: apps/v1,
   Kind=Deployment` otherwise) and may not carry `metadata.managedFields`;
2. a live object that has no managedFields first gets a `before-first-apply` Update entry owning
   everything it holds (skipNonAppliedManager), so nothing set before is silently pruned;
3. the configuration is merged into the live object (`apply_merge.merge_applied`), and its field set
   becomes the applier's `Apply` entry;
4. the fields the applier owned through its previous apply and no longer applies are removed from
   the object, unless another manager owns them too;
5. every field the result adds or changes that another manager owns is a conflict: the apply fails
   with 409 listing each field and its owner (`Apply failed with 1 conflict: conflict with "kubectl"
   with subresource "scale" using apps/v1: .spec.replicas`), unless `force`, which moves the fields
   to the applier; a field applied with the value it already has is shared, not a conflict;
6. for the manager `kubectl` on an object with the client-side `last-applied-configuration`
   annotation, conflicts on fields that annotation still vouches for are forced (the client-side →
   server-side migration), and the annotation is rewritten from the applied configuration.

The applier's entry time moves only when the object changed, so a repeated apply is a no-op.
"""

from __future__ import annotations

from typing import Any

import orjson
import yaml

from apimachinery import errors
from apimachinery.kinds import ResourceType
from apimachinery.managed_fields import (
    APPLY,
    UPDATE,
    ManagedEntry,
    Path,
    compare_objects,
    decode_managed_fields,
    encode_managed_fields,
    object_field_set,
    path_string,
)
from apiserver.registry.apply_merge import merge_applied, remove_paths
from apiserver.registry.field_manager import cap_update_managers

Object = dict[str, Any]
BEFORE_FIRST_APPLY = "before-first-apply"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
KUBECTL_MANAGER = "kubectl"
CAUSE_FIELD_MANAGER_CONFLICT = "FieldManagerConflict"


class _JSONishLoader(yaml.SafeLoader):
    """YAML as sigs.k8s.io/yaml reads it: timestamps stay strings."""


_JSONishLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def decode_apply_body(body: bytes) -> Object:
    """The applied configuration (YAML or JSON); 400 `error decoding YAML` otherwise."""
    try:
        obj = yaml.load(body, Loader=_JSONishLoader)  # a SafeLoader subclass
    except yaml.YAMLError as e:
        raise errors.bad_request(f"error decoding YAML: {e}") from None
    if not isinstance(obj, dict):
        raise errors.bad_request("error decoding YAML: the applied configuration must be an object")
    return obj


def check_applied(rt: ResourceType, applied: Object) -> None:
    """versionCheckManager and the managedFields rule of FieldManager.Apply."""
    api_version, kind = applied.get("apiVersion") or "", applied.get("kind") or ""
    if api_version != rt.api_version or kind != rt.kind:
        group_version = api_version if "/" in api_version else f"/{api_version}"
        raise errors.bad_request(f"invalid object type: {group_version}, Kind={kind}")
    metadata = applied.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise errors.bad_request("metadata must be an object")
    if (metadata or {}).get("managedFields") is not None:
        raise errors.bad_request("metadata.managedFields must be nil")


def compute_apply(rt: ResourceType, live: Object | None, applied: Object, manager: str, force: bool,
                  now: str, subresource: str = "") -> Object:
    """The object to store after `manager` applies `applied` (with its managedFields); 409 on conflicts."""
    check_applied(rt, applied)
    base: Object = live if live is not None else {}
    entries = _live_entries(rt, live, now)
    scope = "status" if subresource == "status" else ""
    applier = ManagedEntry(manager, APPLY, rt.api_version,
                           object_field_set(applied, rt.schema_ref, scope, rt.has_status), now, subresource)
    previous = next((e for e in entries if e.identity == applier.identity), None)
    others = [e for e in entries if e.identity != applier.identity]
    merged = _merge_and_prune(rt, base, applied, applier, previous, others)
    comparison = compare_objects(base, merged, rt.schema_ref, scope, rt.has_status)
    changed = comparison.changed()
    conflicts = [(e, p) for e in others for p in sorted(e.fields & changed)]
    if conflicts and not force and not _migrating(rt, live, manager, conflicts):
        raise conflict_error(conflicts)
    lost = changed | comparison.removed
    others = [e.with_fields(e.fields - lost) if e.fields & lost else e for e in others]
    if previous is not None and not changed and not comparison.removed:
        applier = applier.with_fields(applier.fields, previous.time)
    metadata = merged["metadata"] = dict(merged.get("metadata") or {})
    metadata["managedFields"] = encode_managed_fields(cap_update_managers([*others, applier]))
    _sync_last_applied(live, applied, merged, manager)
    return merged


def _merge_and_prune(rt: ResourceType, base: Object, applied: Object, applier: ManagedEntry,
                     previous: ManagedEntry | None, others: list[ManagedEntry]) -> Object:
    """The applied configuration merged in, minus what the applier no longer applies and nobody owns."""
    merged = merge_applied(base, applied, rt.schema_ref)
    if previous is None:
        return merged
    owned = frozenset(applier.fields.union(*(e.fields for e in others)))
    return remove_paths(merged, previous.fields - owned, owned, rt.schema_ref)


def _live_entries(rt: ResourceType, live: Object | None, now: str) -> list[ManagedEntry]:
    if live is None:
        return []
    try:
        entries = decode_managed_fields(live.get("metadata", {}).get("managedFields"))
    except ValueError:
        entries = []
    if entries:
        return entries
    everything = compare_objects({}, live, rt.schema_ref, "", rt.has_status).added
    return [ManagedEntry(BEFORE_FIRST_APPLY, UPDATE, rt.api_version, frozenset(everything), now)]


def conflict_error(conflicts: list[tuple[ManagedEntry, Path]]) -> errors.ApiError:
    """NewConflictError: 409 Conflict, one FieldManagerConflict cause per field."""
    causes = [{"type": CAUSE_FIELD_MANAGER_CONFLICT, "message": f"conflict with {entry.describe()}",
               "field": path_string(path)} for entry, path in conflicts]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {entry.describe()}: {path_string(path)}"
    else:
        lines: list[str] = []
        for entry in sorted({e for e, _ in conflicts}, key=lambda e: e.identity):
            lines.append(f"conflicts with {entry.describe()}:")
            lines.extend(f"- {path_string(p)}" for e, p in conflicts if e is entry)
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return errors.Conflict(409, errors.REASON_CONFLICT, message, {"causes": causes})


# --- client-side apply migration ----------------------------------------------------------------

def _last_applied(live: Object | None) -> Object | None:
    annotations = ((live or {}).get("metadata") or {}).get("annotations") or {}
    raw = annotations.get(LAST_APPLIED)
    if not raw:
        return None
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _migrating(rt: ResourceType, live: Object | None, manager: str,
               conflicts: list[tuple[ManagedEntry, Path]]) -> bool:
    """lastAppliedManager: kubectl's conflicts are allowed on fields last-applied still matches."""
    last = _last_applied(live) if manager == KUBECTL_MANAGER else None
    if last is None or live is None:
        return False
    vouched = object_field_set(last, rt.schema_ref, "", rt.has_status)
    drift = compare_objects(last, live, rt.schema_ref, "", rt.has_status)
    allowed = vouched - drift.added - drift.modified - drift.removed
    return all(path in allowed for _, path in conflicts)


def _sync_last_applied(live: Object | None, applied: Object, merged: Object, manager: str) -> None:
    """lastAppliedUpdater: kubectl's apply keeps an existing last-applied annotation current."""
    if manager != KUBECTL_MANAGER or _last_applied(live) is None:
        return
    config = {**applied, "metadata": dict(applied.get("metadata") or {})}
    annotations = {k: v for k, v in (config["metadata"].get("annotations") or {}).items() if k != LAST_APPLIED}
    if annotations:
        config["metadata"]["annotations"] = annotations
    else:
        config["metadata"].pop("annotations", None)
    value = orjson.dumps(config, option=orjson.OPT_SORT_KEYS).decode() + "\n"
    merged["metadata"]["annotations"] = {**(merged["metadata"].get("annotations") or {}), LAST_APPLIED: value}
