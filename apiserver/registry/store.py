"""The generic registry: every verb, for every kind, over etcd and the watch caches.

This is Kubernetes' generic `registry.Store` in one place: a write decodes and checks the body
(400 on a malformed or unknown field), sets server metadata, defaults, runs admission, validates
(422), and writes with one compare-and-swap transaction on the key's mod revision. Reads are
served from etcd (consistent) or from the watch cache (resourceVersion "0" / "at least N").
Kind-specific behaviour comes only from the `ResourceType` hooks and the pure rule modules next
to this one (objects, deletion, patch, binding, listing), plus a kind's optional `RestHooks` around
its writes (Services: cluster IP and node port allocation, in service_alloc.py).

Field ownership: every create, update and patch records its `fieldManager`'s fields in
`metadata.managedFields` (field_manager.py); a server-side apply (`Registry.apply`, apply.py) merges
an applied configuration by those rules, and creates the object when it does not exist.

Every write is logged at debug level with its key and resulting revision.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from apimachinery import errors
from apimachinery.kinds import KindRegistry, ResourceType
from apimachinery.names import generate_name
from apiserver.admission import CREATE, DELETE, UPDATE, AdmissionChain, AdmissionRequest
from apiserver.cache_watcher import CacheWatcher
from apiserver.registry import deletion, field_manager, listing, objects
from apiserver.registry.apply import compute_apply, decode_apply_body
from apiserver.registry.binding import compute_binding
from apiserver.registry.patch import APPLY, apply_patch
from apiserver.registry.validation import Validation
from apiserver.storage import Compacted, EtcdStorage, KeyValue, RevisionMismatch, prefix_end
from apiserver.watch_cache import WatchCache, is_marker_key

log = logging.getLogger(__name__)
Object = dict[str, Any]
GENERATE_NAME_ATTEMPTS = 8


@dataclass(frozen=True)
class WriteOptions:
    dry_run: bool = False
    field_validation: str = "Strict"
    field_manager: str = ""  # empty: DEFAULT_FIELD_MANAGER (HTTP requests default to their User-Agent's)
    force: bool = False  # apply only: take the fields other managers own


@dataclass
class WriteResult:
    object: Object
    warnings: list[str] = field(default_factory=list)
    deleted: bool = False
    created: bool = False  # an apply that created the object


@dataclass(frozen=True)
class ListResult:
    items: list[bytes]  # each item serialized once, with its resourceVersion
    revision: int
    continue_token: str = ""
    remaining: int | None = None


class RestHooks(Protocol):
    """What a kind's REST storage adds around the generic writes (see apiserver/registry/service_alloc.py)."""

    def prepare_update(self, new: Object, old: Object) -> None: ...

    def begin_create(self, obj: Object, dry_run: bool) -> AbstractAsyncContextManager[None]: ...

    def begin_update(self, new: Object, old: Object, dry_run: bool) -> AbstractAsyncContextManager[None]: ...

    async def after_delete(self, obj: Object) -> None: ...


class Registry:
    """Create, get, list, update, patch, delete, watch and bind any registered kind."""

    def __init__(self, storage: EtcdStorage, kinds: KindRegistry, validation: Validation,
                 admission: AdmissionChain, caches: dict[str, WatchCache],
                 hooks: Mapping[str, RestHooks] | None = None) -> None:
        self.storage = storage
        self.kinds = kinds
        self.validation = validation
        self.admission = admission
        self.caches = caches  # by ResourceType.group_resource
        self.hooks = dict(hooks or {})  # kind-specific REST hooks by group_resource (services: IP/port allocation)

    def _hooks(self, rt: ResourceType, subresource: str = "") -> RestHooks | None:
        return None if subresource else self.hooks.get(rt.group_resource)

    def cache(self, rt: ResourceType) -> WatchCache:
        return self.caches[rt.group_resource]

    # -- reads -----------------------------------------------------------------------------

    async def get(self, rt: ResourceType, namespace: str, name: str, resource_version: str = "") -> Object:
        if resource_version:
            cache = self.cache(rt)
            await cache.wait_fresh(objects.parse_resource_version(resource_version, "resourceVersion"))
            cached = cache.state.get(rt.key(namespace, name))
            if cached is None:
                raise errors.not_found(rt.plural, name, rt.group)
            return dict(cached.obj)
        kv = await self.storage.get(rt.key(namespace, name))
        if kv is None:
            raise errors.not_found(rt.plural, name, rt.group)
        return objects.decode_stored(kv.value, kv.mod_revision)

    async def list(self, rt: ResourceType, options: listing.ListOptions) -> ListResult:
        listing.validate_list_options(options)
        filter_ = listing.parse_filter(rt, options)
        if listing.serve_from_cache(options):
            cache = self.cache(rt)
            await cache.wait_fresh(objects.parse_resource_version(options.resource_version, "resourceVersion"))
            items, revision = cache.list(filter_)
            return ListResult([c.raw for c in items], revision)
        return await self._list_from_etcd(rt, options, filter_)

    async def _list_from_etcd(self, rt: ResourceType, options: listing.ListOptions,
                              filter_: Any) -> ListResult:
        prefix = rt.key_prefix(options.namespace)
        revision, start = 0, prefix
        if options.continue_token:
            resume = listing.decode_continue(options.continue_token)
            revision, start = resume.revision, rt.key_prefix() + resume.start
        elif options.resource_version_match == "Exact":
            revision = objects.parse_resource_version(options.resource_version, "resourceVersion")
        cache_fields = self.cache(rt)
        items: builtins.list[bytes] = []
        end = prefix_end(prefix)
        while True:
            want = options.limit - len(items) if options.limit else 0
            try:
                page = await self.storage.range(start, end, limit=want, revision=revision)
            except Compacted:
                raise errors.gone(listing.EXPIRED_CONTINUE if options.continue_token else
                                  f"too old resource version: {revision}") from None
            revision = page.revision
            items.extend(self._selected(cache_fields, page.kvs, filter_))
            if not page.more or not page.kvs or (options.limit and len(items) >= options.limit):
                break
            start = page.kvs[-1].key + "\0"
        if not page.more:
            return ListResult(items, revision)
        next_start = page.kvs[-1].key + "\0"
        remaining = page.count - len(page.kvs) if not (filter_.labels or filter_.fields) else None
        token = listing.encode_continue(revision, next_start[len(rt.key_prefix()):])
        return ListResult(items, revision, token, remaining)

    @staticmethod
    def _selected(cache: WatchCache, kvs: builtins.list[KeyValue], filter_: Any) -> builtins.list[bytes]:
        selected = []
        for kv in kvs:
            if is_marker_key(kv.key):
                continue
            cached = cache.decode(kv.key, kv.value, kv.mod_revision)
            if filter_.matches(cached):
                selected.append(cached.raw)
        return selected

    async def watch(self, rt: ResourceType, options: listing.ListOptions, name: str = "", *,
                    allow_bookmarks: bool = False, send_initial_events: bool = False) -> CacheWatcher:
        filter_ = listing.parse_filter(rt, options, name)
        cache = self.cache(rt)
        from_revision: int | None = None
        if options.resource_version not in ("", "0"):
            from_revision = objects.parse_resource_version(options.resource_version, "resourceVersion")
            await cache.wait_fresh(from_revision)
        return cache.watch(filter_, from_revision, allow_bookmarks=allow_bookmarks,
                           send_initial_events=send_initial_events)

    # -- create ----------------------------------------------------------------------------

    async def create(self, rt: ResourceType, obj: Object, namespace: str,
                     options: WriteOptions = WriteOptions(), *, track_fields: bool = True) -> WriteResult:
        warnings = self.validation.decode_checks(rt, obj, options.field_validation)
        objects.prepare_for_create(rt, obj, namespace)
        metadata = obj["metadata"]
        generated = not metadata.get("name") and bool(metadata.get("generateName"))
        for _ in range(GENERATE_NAME_ATTEMPTS):
            if generated:
                metadata["name"] = generate_name(metadata["generateName"])
            try:
                return await self._create_once(rt, obj, options, warnings, track_fields)
            except errors.AlreadyExists:
                if not generated:
                    raise
        raise errors.ApiError(504, errors.REASON_TIMEOUT,
                              f"could not generate a unique name from generateName {metadata['generateName']!r}")

    async def _create_once(self, rt: ResourceType, obj: Object, options: WriteOptions,
                           warnings: builtins.list[str], track_fields: bool) -> WriteResult:
        metadata = obj["metadata"]
        name, namespace = metadata.get("name", ""), metadata.get("namespace", "")
        rt.default(obj)
        if track_fields:
            _track_fields(rt, None, obj, options, "")
        await self.admission.admit(AdmissionRequest(CREATE, rt, namespace, name, obj))
        warnings = warnings + self.validation.validate(rt, obj, None)
        hooks = self._hooks(rt)
        async with hooks.begin_create(obj, options.dry_run) if hooks else contextlib.nullcontext():
            value = objects.encode_for_storage(obj)
            objects.check_size(len(value))
            if options.dry_run:
                return WriteResult(obj, warnings)
            try:
                revision = await self.storage.create(rt.key(namespace, name), value)
            except RevisionMismatch:
                raise errors.already_exists(rt.plural, name, rt.group) from None
        log.debug("create %s at revision %d", rt.key(namespace, name), revision)
        metadata["resourceVersion"] = str(revision)
        return WriteResult(obj, warnings)

    # -- update / patch --------------------------------------------------------------------

    async def update(self, rt: ResourceType, obj: Object, namespace: str, name: str,
                     options: WriteOptions = WriteOptions(), subresource: str = "") -> WriteResult:
        warnings = self.validation.decode_checks(rt, obj, options.field_validation)
        expected = obj.get("metadata", {}).get("resourceVersion") if isinstance(obj.get("metadata"), dict) else None
        if expected:
            objects.parse_resource_version(expected)

        def transform(current: Object) -> Object:
            objects.validate_identity(rt, obj, current, namespace, name)
            if expected and expected != current["metadata"]["resourceVersion"]:
                raise errors.conflict(rt.group_resource, name, errors.STALE_OBJECT_TEXT)
            if subresource == "status":
                return objects.prepare_for_status_update(rt, obj, current)
            return objects.prepare_for_update(rt, obj, current)

        return await self._guaranteed_update(rt, namespace, name, transform, options, warnings, subresource)

    async def patch(self, rt: ResourceType, namespace: str, name: str, patch_type: str, body: bytes,
                    options: WriteOptions = WriteOptions(), subresource: str = "") -> WriteResult:
        if patch_type == APPLY:
            return await self.apply(rt, namespace, name, body, options, subresource)

        def transform(current: Object) -> Object:
            patched = apply_patch(current, patch_type, body, rt.kind, name, rt.schema_ref)
            return self._prepare_patched(rt, current, patched, namespace, name, options, subresource)

        return await self._guaranteed_update(rt, namespace, name, transform, options, [], subresource)

    def _prepare_patched(self, rt: ResourceType, current: Object, patched: Object, namespace: str, name: str,
                         options: WriteOptions, subresource: str) -> Object:
        self.validation.decode_checks(rt, patched, options.field_validation)
        expected = (patched.get("metadata") or {}).get("resourceVersion")
        if expected and expected != current["metadata"]["resourceVersion"]:
            raise errors.conflict(rt.group_resource, name, errors.STALE_OBJECT_TEXT)
        objects.validate_identity(rt, patched, current, namespace, name)
        if subresource == "status":
            return objects.prepare_for_status_update(rt, patched, current)
        return objects.prepare_for_update(rt, patched, current)

    async def apply(self, rt: ResourceType, namespace: str, name: str, body: bytes,
                    options: WriteOptions = WriteOptions(), subresource: str = "") -> WriteResult:
        """Server-side apply: merge the applied configuration into the object, or create it (201)."""
        applied = decode_apply_body(body)
        field_manager.require_apply_manager(options.field_manager)

        def transform(current: Object) -> Object:
            merged = compute_apply(rt, current, applied, options.field_manager, options.force,
                                   objects.now_rfc3339(), subresource)
            prepared = self._prepare_patched(rt, current, merged, namespace, name, options, subresource)
            prepared["metadata"]["managedFields"] = merged["metadata"]["managedFields"]
            return prepared

        while True:
            try:
                return await self._guaranteed_update(rt, namespace, name, transform, options, [], subresource,
                                                     track_fields=False)
            except errors.NotFound:
                if subresource:
                    raise
            obj = compute_apply(rt, None, applied, options.field_manager, options.force, objects.now_rfc3339())
            if (obj.get("metadata") or {}).get("name") != name:
                raise errors.bad_request(f"the name of the object ({obj['metadata'].get('name', '')}) does not "
                                         f"match the name on the URL ({name})")
            try:
                result = await self.create(rt, obj, namespace, options, track_fields=False)
            except errors.AlreadyExists:
                continue  # created in between: apply to it
            result.created = True
            return result

    async def _guaranteed_update(self, rt: ResourceType, namespace: str, name: str, transform: Any,
                                 options: WriteOptions, warnings: builtins.list[str], subresource: str,
                                 track_fields: bool = True) -> WriteResult:
        """Read, transform, write with compare-and-swap; retry when someone else wrote in between."""
        key = rt.key(namespace, name)
        while True:
            current = await self.get(rt, namespace, name)
            new = transform(current)
            rt.default(new)
            if track_fields:
                _track_fields(rt, current, new, options, subresource)
            hooks = self._hooks(rt, subresource)
            if hooks:
                hooks.prepare_update(new, current)
            await self.admission.admit(AdmissionRequest(UPDATE, rt, namespace, name, new, current, subresource))
            new_warnings = warnings + self.validation.validate(rt, new, current, subresource)
            expected = int(current["metadata"]["resourceVersion"])
            try:
                async with hooks.begin_update(new, current, options.dry_run) if hooks else contextlib.nullcontext():
                    if objects.is_noop(new, current):
                        return WriteResult(current, new_warnings)
                    value = objects.encode_for_storage(new)
                    objects.check_size(len(value))
                    if options.dry_run:
                        new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                        return WriteResult(new, new_warnings)
                    if objects.should_delete_after_update(new) and not _namespace_finalizers(rt, new):
                        revision = await self.storage.delete(key, expected)
                        new["metadata"]["resourceVersion"] = str(revision)
                        if hooks:
                            await hooks.after_delete(new)
                        return WriteResult(new, new_warnings, deleted=True)
                    revision = await self.storage.update(key, value, expected)
            except RevisionMismatch as e:
                if e.current is None:
                    raise errors.not_found(rt.plural, name, rt.group) from None
                continue  # someone wrote in between: re-read, re-apply (a stale client RV fails above)
            log.debug("update %s at revision %d", key, revision)
            new["metadata"]["resourceVersion"] = str(revision)
            return WriteResult(new, new_warnings)

    # -- delete ----------------------------------------------------------------------------

    async def delete(self, rt: ResourceType, namespace: str, name: str,
                     options: deletion.DeleteOptions | None = None) -> WriteResult:
        options = options or deletion.DeleteOptions()
        key = rt.key(namespace, name)
        while True:
            current = await self.get(rt, namespace, name)
            await self.admission.admit(AdmissionRequest(DELETE, rt, namespace, name, None, current))
            plan = deletion.compute_deletion(rt, current, options, datetime.now(UTC))
            expected = int(current["metadata"]["resourceVersion"])
            if options.dry_run:
                return WriteResult(plan.marked or current, deleted=plan.delete_now)
            try:
                if plan.delete_now:
                    revision = await self.storage.delete(key, expected)
                    log.debug("delete %s at revision %d", key, revision)
                    current["metadata"]["resourceVersion"] = str(revision)
                    if hooks := self._hooks(rt):
                        await hooks.after_delete(current)
                    return WriteResult(current, deleted=True)
                assert plan.marked is not None
                if objects.is_noop(plan.marked, current):
                    return WriteResult(current)
                revision = await self.storage.update(key, objects.encode_for_storage(plan.marked), expected)
            except RevisionMismatch as e:
                if e.current is None:
                    raise errors.not_found(rt.plural, name, rt.group) from None
                continue
            log.debug("mark %s for deletion at revision %d", key, revision)
            plan.marked["metadata"]["resourceVersion"] = str(revision)
            return WriteResult(plan.marked)

    # -- bind ------------------------------------------------------------------------------

    async def bind(self, namespace: str, name: str, node_name: str, uid: str = "") -> Object:
        rt = self.kinds.get("", "pods")
        assert rt is not None
        result = await self._guaranteed_update(
            rt, namespace, name, lambda pod: compute_binding(pod, node_name, uid),
            WriteOptions(), [], "binding")
        return result.object


def _track_fields(rt: ResourceType, old: Object | None, new: Object, options: WriteOptions,
                  subresource: str) -> None:
    field_manager.set_managed_fields(rt, old, new, options.field_manager, subresource, objects.now_rfc3339())


def _namespace_finalizers(rt: ResourceType, obj: Object) -> bool:
    return rt.group == "" and rt.kind == "Namespace" and bool((obj.get("spec") or {}).get("finalizers"))


def decode_body(raw: bytes) -> Object:
    """A request body as a JSON object; BadRequest for anything else."""
    objects.check_size(len(raw))
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise errors.bad_request(f"the request body is not valid JSON: {e}") from None
    if not isinstance(obj, dict):
        raise errors.bad_request("the request body must be a JSON object")
    return obj
