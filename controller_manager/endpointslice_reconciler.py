"""The fewest EndpointSlice writes that make a Service's slices hold the desired endpoints.

A pure planner after Kubernetes' endpointslice Reconciler (reconcileByAddressType,
reconcileByPortMapping, finalize). Given the slices that exist and the endpoints that should,
grouped by address type and port list (`endpointslice_compute.desired_endpoints`), it answers
which slices to create, update and delete. Per group of slices with the same port list:

1. Walk the existing slices. Keep each endpoint that is still desired (updated in place if it
   changed), drop the ones that are not. A slice that lost or changed endpoints is updated — or
   deleted if it is left empty; a slice whose labels drifted is updated; the others are unchanged.
2. Desired endpoints not placed yet first fill the slices being updated anyway (fullest first),
   up to `max_per_slice`, since those writes happen regardless.
3. The rest go into an unchanged slice they fit into (best fit, when fewer than a full slice
   remain), or into new slices.

Slices of a port list no longer desired, slices of an address type the Service no longer serves
and slices not owned by this Service (left from an earlier Service of the same name) are deleted.
A create and a delete of the same address type become one update of the slice to be deleted
(reusing its name). A Service with no endpoints at all keeps one empty "placeholder" slice.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apimachinery.api.common import semantic
from controller_manager.endpointslice_compute import (
    DesiredEndpoints,
    EndpointKey,
    PortGroup,
    endpoint_key,
    new_slice,
    owned_by,
    ports_key,
    slice_labels,
)

Object = dict[str, Any]
DEFAULT_MAX_ENDPOINTS_PER_SLICE = 100


@dataclass
class SliceChanges:
    create: list[Object] = field(default_factory=list)
    update: list[Object] = field(default_factory=list)
    delete: list[Object] = field(default_factory=list)

    def extend(self, other: SliceChanges) -> None:
        self.create += other.create
        self.update += other.update
        self.delete += other.delete

    def __bool__(self) -> bool:
        return bool(self.create or self.update or self.delete)


def compute_slice_changes(service: Mapping[str, Any], existing: Iterable[Mapping[str, Any]],
                          desired: DesiredEndpoints,
                          max_per_slice: int = DEFAULT_MAX_ENDPOINTS_PER_SLICE) -> SliceChanges:
    """Reconcile: per address type the Service serves; slices of other address types are deleted."""
    changes = SliceChanges()
    by_type: dict[str, list[Object]] = {t: [] for t in desired.by_address_type}
    for slice_ in existing:
        if slice_.get("addressType") in by_type:
            by_type[str(slice_["addressType"])].append(dict(slice_))
        else:
            changes.delete.append(dict(slice_))
    for address_type, groups in desired.by_address_type.items():
        changes.extend(_plan_address_type(service, address_type, by_type[address_type], groups, max_per_slice))
    return changes


def _plan_address_type(service: Mapping[str, Any], address_type: str, slices: list[Object],
                       groups: Mapping[str, PortGroup], max_per_slice: int) -> SliceChanges:
    changes = SliceChanges()
    by_ports: dict[str, list[Object]] = {}
    for slice_ in slices:
        if owned_by(slice_, service):
            by_ports.setdefault(ports_key(slice_.get("ports") or []), []).append(slice_)
        else:
            changes.delete.append(slice_)
    for key, group in groups.items():
        changes.extend(_plan_port_group(service, address_type, by_ports.get(key, []), group, max_per_slice))
    for key, stale in by_ports.items():
        if key not in groups:
            changes.delete += stale
    _keep_placeholder(service, address_type, slices, changes)
    _reuse_deleted_slices(service, changes)
    return changes


def _plan_port_group(service: Mapping[str, Any], address_type: str, slices: list[Object], group: PortGroup,
                     max_per_slice: int) -> SliceChanges:
    """reconcileByPortMapping: steps 1-3 of the module docstring for one port list."""
    changes = SliceChanges()
    remaining = dict(group.endpoints)
    to_update: list[Object] = []
    unchanged: list[Object] = []
    labels = slice_labels(service)
    for slice_ in slices:
        kept, changed = _keep_desired(slice_.get("endpoints") or [], remaining)
        if changed and not kept:
            changes.delete.append(slice_)
        elif changed or (slice_.get("metadata") or {}).get("labels") != labels:
            updated = copy.deepcopy(slice_)
            updated["endpoints"], updated["metadata"]["labels"] = kept, dict(labels)
            to_update.append(updated)
        else:
            unchanged.append(slice_)
    for slice_ in sorted(to_update, key=lambda s: -len(s["endpoints"])):
        _fill(slice_, remaining, max_per_slice)
    while remaining:
        target = None
        if len(remaining) < max_per_slice:
            target = _slice_to_fill(unchanged, len(remaining), max_per_slice)
        if target is None:
            target = new_slice(service, group.ports, address_type)
            changes.create.append(target)
        else:
            unchanged.remove(target)
            target = copy.deepcopy(target)
            to_update.append(target)
        _fill(target, remaining, max_per_slice)
    changes.update += to_update
    return changes


def _keep_desired(endpoints: list[Object], remaining: dict[EndpointKey, Object]) -> tuple[list[Object], bool]:
    """The slice's endpoints that are still desired (in their desired form), and whether any changed."""
    kept: list[Object] = []
    changed = False
    for endpoint in endpoints:
        wanted = remaining.pop(endpoint_key(endpoint), None)
        if wanted is None:
            changed = True
            continue
        kept.append(wanted)
        changed = changed or semantic(wanted) != semantic(endpoint)
    return kept, changed


def _fill(slice_: Object, remaining: dict[EndpointKey, Object], max_per_slice: int) -> None:
    endpoints = slice_.setdefault("endpoints", [])
    while remaining and len(endpoints) < max_per_slice:
        key = next(iter(remaining))
        endpoints.append(remaining.pop(key))


def _slice_to_fill(slices: list[Object], count: int, max_per_slice: int) -> Object | None:
    """getSliceToFill: the unchanged slice with the least room left that still fits `count` endpoints."""
    best, best_room = None, max_per_slice
    for slice_ in slices:
        room = max_per_slice - (count + len(slice_.get("endpoints") or []))
        if 0 <= room < best_room:
            best, best_room = slice_, room
    return best


def _keep_placeholder(service: Mapping[str, Any], address_type: str, slices: list[Object],
                      changes: SliceChanges) -> None:
    """With no slice left and none to create, the Service keeps (or gets) one empty slice."""
    if len(slices) != len(changes.delete) or changes.create:
        return
    placeholder = new_slice(service, [], address_type)
    if len(changes.delete) == 1 and is_placeholder(changes.delete[0], placeholder):
        changes.delete.clear()
    else:
        changes.create.append(placeholder)


def is_placeholder(slice_: Mapping[str, Any], placeholder: Mapping[str, Any]) -> bool:
    meta, want = slice_.get("metadata") or {}, placeholder["metadata"]
    return (meta.get("namespace") == want["namespace"] and (meta.get("labels") or {}) == want["labels"]
            and slice_.get("addressType") == placeholder["addressType"]
            and not slice_.get("endpoints") and not slice_.get("ports"))


def _reuse_deleted_slices(service: Mapping[str, Any], changes: SliceChanges) -> None:
    """finalize: rather than create one slice and delete another, update the one to be deleted."""
    for doomed in list(changes.delete):
        if not changes.create:
            return
        if not owned_by(doomed, service) or doomed.get("addressType") != changes.create[-1]["addressType"]:
            continue
        reused = changes.create.pop()
        meta = reused["metadata"]
        meta.pop("generateName", None)
        meta["name"] = doomed["metadata"]["name"]
        meta["resourceVersion"] = doomed["metadata"].get("resourceVersion", "")
        meta["annotations"] = dict(doomed["metadata"].get("annotations") or {})
        changes.delete.remove(doomed)
        changes.update.append(reused)
