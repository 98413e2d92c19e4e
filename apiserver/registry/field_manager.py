"""Field ownership on ordinary writes (create, update, patch): Kubernetes' FieldManager.Update.

`compute_update_managed_fields(old, new, ...)` returns the managedFields to store with `new`; it does
no I/O. The rules, as kube-apiserver's field manager stack applies them:

- which entries to start from (decodeLiveOrNew): a request that sends `managedFields: []` (or `[{}]`)
  clears them; a request that sends valid entries replaces them; missing, null or undecodable
  entries keep the stored ones; a subresource write always keeps the stored ones;
- an update of an object that has no managedFields is not tracked (skipNonAppliedManager: only a
  create or an apply starts tracking);
- the writer's `Update` entry (one per manager, apiVersion and subresource) gains every field the
  write added or changed, and every other manager loses those fields: an update never conflicts;
  fields the write removed leave every entry; an entry left empty disappears;
- the entry's `time` moves only when the write changed something, so a no-op update stays a no-op;
- past 10 Update entries the oldest merge into `ancient-changes` (capManagersManager).

`manager_from_user_agent` is the default when the request names no fieldManager
(`kubectl/v1.32.4 (linux/amd64) ...` → `kubectl`).
"""

from __future__ import annotations

from typing import Any

from apimachinery import errors
from apimachinery.kinds import ResourceType
from apimachinery.managed_fields import (
    UPDATE,
    ManagedEntry,
    compare_objects,
    decode_managed_fields,
    encode_managed_fields,
    is_reset,
)

Object = dict[str, Any]
FIELD_MANAGER_MAX_LENGTH = 128
MAX_UPDATE_MANAGERS = 10
ANCIENT_CHANGES = "ancient-changes"
DEFAULT_FIELD_MANAGER = "kubeling"  # writes that name no manager (gRPC clients, the apiserver itself)
UNTRACKED_SUBRESOURCES = ("binding",)
_ABSENT: Any = object()


def manager_from_user_agent(user_agent: str) -> str:
    """prefixFromUserAgent: the text before the first `/`, printable characters, at most 128 bytes."""
    out = ""
    for char in user_agent.split("/", 1)[0]:
        if not char.isprintable():
            continue
        if len((out + char).encode()) > FIELD_MANAGER_MAX_LENGTH:
            break
        out += char
    return out


def validate_field_manager(manager: str, options_kind: str) -> None:
    """ValidateFieldManager: at most 128 bytes, printable; 422 on `<options_kind>.meta.k8s.io`."""
    found = []
    if len(manager.encode()) > FIELD_MANAGER_MAX_LENGTH:
        found.append(errors.FieldError("fieldManager", errors.FIELD_VALUE_TOO_LONG,
                                       f"may not be more than {FIELD_MANAGER_MAX_LENGTH} bytes", manager))
    for index, char in enumerate(manager):
        if not char.isprintable():
            found.append(errors.FieldError("fieldManager", errors.FIELD_VALUE_INVALID,
                                           f"invalid character U+{ord(char):04X} (at position {index})", manager))
    if found:
        raise errors.invalid(options_kind, "", found, "meta.k8s.io")


def require_apply_manager(manager: str) -> None:
    """ValidatePatchOptions: an apply names its manager (kubectl defaults it to `kubectl`)."""
    if not manager:
        raise errors.invalid("PatchOptions", "", [errors.FieldError(
            "fieldManager", errors.FIELD_VALUE_REQUIRED, "is required for apply patch")], "meta.k8s.io")
    validate_field_manager(manager, "PatchOptions")


def set_managed_fields(rt: ResourceType, old: Object | None, new: Object, manager: str, subresource: str,
                       now: str) -> None:
    """Store the result of `compute_update_managed_fields` in `new` (omitted when empty)."""
    entries = compute_update_managed_fields(rt, old, new, manager or DEFAULT_FIELD_MANAGER, subresource, now)
    if entries:
        new["metadata"]["managedFields"] = entries
    else:
        new["metadata"].pop("managedFields", None)


def _content(obj: Object) -> Object:
    metadata = {k: v for k, v in obj.get("metadata", {}).items() if k not in ("managedFields", "resourceVersion")}
    return {**obj, "metadata": metadata}


def _stored_entries(obj: Object | None) -> list[ManagedEntry]:
    if obj is None:
        return []
    try:
        return decode_managed_fields(obj.get("metadata", {}).get("managedFields"))
    except ValueError:
        return []


def starting_entries(old: Object | None, new: Object, subresource: str) -> list[ManagedEntry] | None:
    """decodeLiveOrNew: the entries the write starts from; None when the request resets them."""
    sent = new.get("metadata", {}).get("managedFields", _ABSENT)
    if subresource or sent is _ABSENT or sent is None:
        return _stored_entries(old)
    if is_reset(sent):
        return None
    try:
        entries = decode_managed_fields(sent)
    except ValueError:
        return _stored_entries(old)
    return entries or _stored_entries(old)


def compute_update_managed_fields(rt: ResourceType, old: Object | None, new: Object, manager: str,
                                  subresource: str, now: str) -> list[dict[str, Any]]:
    """The managedFields to store with `new` after an ordinary write by `manager`."""
    if subresource in UNTRACKED_SUBRESOURCES:
        return list((old or {}).get("metadata", {}).get("managedFields") or [])
    sent = new.get("metadata", {}).get("managedFields", _ABSENT)
    stored = (old or {}).get("metadata", {}).get("managedFields")
    if old is not None and (sent is _ABSENT or sent is None or sent == stored or subresource) \
            and _content(old) == _content(new):
        return list(stored or [])  # nothing changed: the cheap path, and the timestamps stay
    entries = starting_entries(old, new, subresource)
    if entries is None or (not entries and old is not None):
        return []  # reset, or an untracked object: not tracked until the next apply
    comparison = compare_objects(old or {}, new, rt.schema_ref, _scope(subresource), rt.has_status)
    writer = ManagedEntry(manager, UPDATE, rt.api_version, frozenset(), None, subresource)
    return encode_managed_fields(cap_update_managers(
        _move_ownership(entries, comparison.changed(), comparison.removed, writer, now)))


def cap_update_managers(entries: list[ManagedEntry]) -> list[ManagedEntry]:
    """capManagersManager: past MAX_UPDATE_MANAGERS Update entries, the oldest merge, per apiVersion,
    into one `ancient-changes` entry (which carries the time of the newest entry merged into it)."""
    updaters = sorted((e for e in entries if e.operation == UPDATE), key=lambda e: (e.time or "", e.manager))
    if len(updaters) <= MAX_UPDATE_MANAGERS:
        return entries
    dropped: set[int] = set()
    buckets: dict[str, ManagedEntry] = {}
    first: dict[str, ManagedEntry] = {}
    length = len(updaters)
    for entry in updaters:
        version = entry.api_version
        if length <= MAX_UPDATE_MANAGERS or entry.identity == (ANCIENT_CHANGES, UPDATE, version, ""):
            continue
        if version not in first:
            first[version] = entry
            continue
        bucket = buckets.get(version) or _bucket(entries, first[version])
        dropped.update((id(first[version]), id(entry), *(id(e) for e in entries if e.identity == bucket.identity)))
        buckets[version] = bucket.with_fields(bucket.fields | entry.fields, entry.time)
        length -= 1
    return [e for e in entries if id(e) not in dropped] + list(buckets.values())


def _bucket(entries: list[ManagedEntry], first: ManagedEntry) -> ManagedEntry:
    """The `ancient-changes` entry of `first`'s apiVersion, holding `first`'s fields."""
    identity = (ANCIENT_CHANGES, UPDATE, first.api_version, "")
    existing = next((e for e in entries if e.identity == identity), None)
    fields = first.fields | (existing.fields if existing else frozenset())
    return ManagedEntry(ANCIENT_CHANGES, UPDATE, first.api_version, fields, first.time)


def _scope(subresource: str) -> str:
    return "status" if subresource == "status" else ""


def _move_ownership(entries: list[ManagedEntry], changed: set[Any], removed: set[Any],
                    writer: ManagedEntry, now: str) -> list[ManagedEntry]:
    out: list[ManagedEntry] = []
    previous: ManagedEntry | None = None
    for entry in entries:
        if entry.identity == writer.identity:
            previous = entry
            continue
        kept = entry.fields - changed - removed
        out.append(entry if kept == entry.fields else entry.with_fields(kept))
    base = previous or writer
    if changed:
        out.append(base.with_fields((base.fields - removed) | changed, now))
    elif previous is not None:
        kept = previous.fields - removed
        out.append(previous if kept == previous.fields else previous.with_fields(kept))
    return out
