"""Helpers for the built-in kind tests: run an object through what the apiserver does before it
stores it (server metadata, defaulting, validation) without an apiserver."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from apimachinery.errors import FieldError
from apimachinery.kinds import ResourceType, default_registry

Object = dict[str, Any]
UID = "0b6e7f7c-6a53-4b0e-9f1e-2f6d2d0a9c11"
REGISTRY = default_registry()


def type_of(obj: Object) -> ResourceType:
    return REGISTRY.for_object(obj)


def admitted(obj: Object, uid: str = UID) -> Object:
    """A deep copy as the apiserver would see it before validation: uid, namespace, defaults."""
    obj = copy.deepcopy(obj)
    rt = type_of(obj)
    metadata = obj.setdefault("metadata", {})
    metadata.setdefault("uid", uid)
    metadata.setdefault("creationTimestamp", "2024-01-01T00:00:00Z")
    if rt.namespaced:
        metadata.setdefault("namespace", "default")
    if rt.has_status and not rt.create_keeps_status:
        obj.pop("status", None)
    rt.default(obj)
    return obj


def create_errors(obj: Object) -> list[FieldError]:
    """Every error a create of `obj` meets, after defaulting."""
    prepared = admitted(obj)
    return type_of(prepared).validate(prepared)


def update_errors(old: Object, new: Object) -> list[FieldError]:
    """Every error an update from (created) `old` to `new` meets, after defaulting `new`."""
    before = admitted(old)
    after = copy.deepcopy(new)
    after.setdefault("metadata", {})["uid"] = UID
    if "status" in before:
        after["status"] = copy.deepcopy(before["status"])
    after = admitted(after)
    rt = type_of(after)
    return rt.validate(after) + rt.validate_update(after, before)


def fields(errors: list[FieldError]) -> set[tuple[str, str]]:
    return {(e.field, e.type) for e in errors}


def changed(obj: Object, mutate: Callable[[Object], Any]) -> Object:
    """A deep copy of `obj` with `mutate` applied (mutate works in place)."""
    copied = copy.deepcopy(obj)
    mutate(copied)
    return copied


def messages(errors: list[FieldError]) -> list[str]:
    return [e.message() for e in errors]
