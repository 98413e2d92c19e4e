"""Pure rules for the metadata the server owns, on create and on update.

These functions hold the "API conventions" part of the registry (Kubernetes' rest.BeforeCreate /
BeforeUpdate and the generic store): which metadata the server sets, which the client may not
change, when `generation` moves, what a no-op update is. They take and return plain dicts and do
no I/O, so each rule has a unit test.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

from apimachinery import errors
from apimachinery.errors import FieldError
from apimachinery.kinds import ResourceType

Object = dict[str, Any]

# Object size limit: etcd's default request limit is 1.5 MiB; Kubernetes rejects larger objects.
MAX_OBJECT_BYTES = 3 * 512 * 1024

# Metadata the server owns: never taken from a client's update body.
_SERVER_OWNED = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                 "generation", "selfLink")
_NOT_SPEC = ("apiVersion", "kind", "metadata", "status")


def now_rfc3339() -> str:
    """Kubernetes' metav1.Time: second precision, UTC, `Z`."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def encode_for_storage(obj: Object) -> bytes:
    """The stored form: the object without resourceVersion (that is etcd's mod revision)."""
    metadata = obj.get("metadata", {})
    if "resourceVersion" not in metadata:
        return orjson.dumps(obj)
    stripped = {**obj, "metadata": {k: v for k, v in metadata.items() if k != "resourceVersion"}}
    return orjson.dumps(stripped)


def decode_stored(value: bytes, revision: int) -> Object:
    obj: Object = orjson.loads(value)
    obj["metadata"]["resourceVersion"] = str(revision)
    return obj


def check_size(raw_len: int) -> None:
    if raw_len > MAX_OBJECT_BYTES:
        raise errors.too_large(
            f"Request entity too large: the object is {raw_len} bytes, the limit is {MAX_OBJECT_BYTES}")


def check_type(rt: ResourceType, obj: Object) -> None:
    """The body must be the kind the request addresses (apiVersion and kind may be omitted)."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if api_version and api_version != rt.api_version:
        raise errors.bad_request(f"the API version in the data ({api_version}) does not match "
                                 f"the expected API version ({rt.api_version})")
    if kind and kind != rt.kind:
        raise errors.bad_request(f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")
    obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind


def metadata_of(obj: Object) -> Object:
    metadata = obj.get("metadata")
    if metadata is None:
        metadata = obj["metadata"] = {}
    if not isinstance(metadata, dict):
        raise errors.bad_request("metadata must be an object")
    return metadata


def prepare_for_create(rt: ResourceType, obj: Object, namespace: str) -> None:
    """Set what the server owns on a new object; reject what a client may not set."""
    check_type(rt, obj)
    metadata = metadata_of(obj)
    if metadata.get("resourceVersion"):
        raise errors.bad_request("resourceVersion should not be set on objects to be created")
    _settle_namespace(rt, metadata, namespace)
    for owned in _SERVER_OWNED:
        metadata.pop(owned, None)
    metadata["uid"] = str(uuid.uuid4())
    metadata["creationTimestamp"] = now_rfc3339()
    if has_spec(obj):
        metadata["generation"] = 1
    if rt.has_status and not rt.create_keeps_status:
        obj.pop("status", None)


def _settle_namespace(rt: ResourceType, metadata: Object, namespace: str) -> None:
    if not rt.namespaced:
        metadata.pop("namespace", None)
        return
    given = metadata.get("namespace")
    if given and namespace and given != namespace:
        raise errors.bad_request("the namespace of the provided object does not match the namespace "
                                 "sent on the request")
    metadata["namespace"] = given or namespace or "default"


def has_spec(obj: Object) -> bool:
    return any(k not in _NOT_SPEC for k in obj)


def spec_part(obj: Object) -> Object:
    """Everything generation tracks: all top-level fields but metadata and status."""
    return {k: v for k, v in obj.items() if k not in _NOT_SPEC}


def prepare_for_update(rt: ResourceType, new: Object, old: Object) -> Object:
    """The object to store for a main-resource update: status and server metadata from `old`."""
    check_type(rt, new)
    merged = copy.copy(new)
    metadata = dict(metadata_of(new))
    old_meta = old["metadata"]
    for owned in _SERVER_OWNED:
        if owned in old_meta:
            metadata[owned] = old_meta[owned]
        else:
            metadata.pop(owned, None)
    metadata["name"] = old_meta["name"]
    metadata.pop("resourceVersion", None)
    if rt.namespaced:
        metadata["namespace"] = old_meta.get("namespace")
    merged["metadata"] = metadata
    if rt.has_status:
        if "status" in old:
            merged["status"] = old["status"]
        else:
            merged.pop("status", None)
    if spec_part(merged) != spec_part(old) and "generation" in old_meta:
        metadata["generation"] = int(old_meta["generation"]) + 1
    return merged


def prepare_for_status_update(rt: ResourceType, new: Object, old: Object) -> Object:
    """The object to store for an update of the status subresource: only status changes."""
    check_type(rt, new)
    merged = copy.deepcopy(old)
    merged["metadata"].pop("resourceVersion", None)
    if "status" in new:
        merged["status"] = new["status"]
    else:
        merged.pop("status", None)
    return merged


def validate_identity(rt: ResourceType, new: Object, old: Object, namespace: str, name: str) -> None:
    """An update may not rename an object or move it; its uid, when given, must be the stored one."""
    metadata = metadata_of(new)
    if metadata.get("name") and metadata["name"] != name:
        raise errors.bad_request(f'the name of the object ({metadata["name"]}) does not match the name on '
                                 f"the URL ({name})")
    if rt.namespaced and metadata.get("namespace") and metadata["namespace"] != namespace:
        raise errors.bad_request("the namespace of the provided object does not match the namespace "
                                 "sent on the request")
    uid = metadata.get("uid")
    if uid and uid != old["metadata"].get("uid"):
        raise errors.conflict(rt.group_resource, name,
                              f"Precondition failed: UID in precondition: {uid}, "
                              f"UID in object meta: {old['metadata'].get('uid')}")


def validate_finalizer_changes(new: Object, old: Object) -> list[FieldError]:
    """No new finalizers on an object that is being deleted (Kubernetes' rule)."""
    if not old["metadata"].get("deletionTimestamp"):
        return []
    before = set(old["metadata"].get("finalizers") or [])
    added = [f for f in new["metadata"].get("finalizers") or [] if f not in before]
    if added:
        return [FieldError("metadata.finalizers", errors.FIELD_VALUE_FORBIDDEN,
                           f"no new finalizers can be added if the object is being deleted, found new "
                           f"finalizers {added}")]
    return []


def is_noop(new: Object, old: Object) -> bool:
    """True if storing `new` would change nothing (resourceVersion aside)."""
    old_meta = {k: v for k, v in old["metadata"].items() if k != "resourceVersion"}
    new_meta = {k: v for k, v in new["metadata"].items() if k != "resourceVersion"}
    return new_meta == old_meta and {k: v for k, v in new.items() if k != "metadata"} == {
        k: v for k, v in old.items() if k != "metadata"}


def should_delete_after_update(obj: Object) -> bool:
    """A deleting object whose last finalizer is gone and whose grace period is over goes away."""
    metadata = obj["metadata"]
    return (bool(metadata.get("deletionTimestamp")) and not metadata.get("finalizers")
            and metadata.get("deletionGracePeriodSeconds", 0) == 0)


def parse_resource_version(value: Any, field: str = "metadata.resourceVersion") -> int:
    """A resourceVersion as etcd's revision; Invalid naming the field if it is not one."""
    try:
        revision = int(value)
    except (TypeError, ValueError):
        revision = -1
    if revision < 0:
        raise errors.bad_request(f'{field}: Invalid value: "{value}": must be a valid resource version')
    return revision
