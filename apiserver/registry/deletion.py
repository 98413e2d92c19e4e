"""Pure rules for DELETE: preconditions, grace periods, finalizers, propagation policy.

Kubernetes deletes in two steps when anything must happen first: the object is *marked* (it gets
`deletionTimestamp` and `deletionGracePeriodSeconds`) and stays visible until its finalizers are
gone and, for pods, until the kubelet confirms with a grace period of 0. `compute_deletion`
decides, from the stored object and the DeleteOptions, whether the object goes now or is marked,
and how. The deletionTimestamp it computes never clears and never moves later.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apimachinery import errors
from apimachinery.kinds import ResourceType

Object = dict[str, Any]

ORPHAN_FINALIZER = "orphan"
FOREGROUND_FINALIZER = "foregroundDeletion"
PROPAGATION_POLICIES = ("Orphan", "Background", "Foreground")
DEFAULT_POD_GRACE_SECONDS = 30


@dataclass(frozen=True)
class DeleteOptions:
    grace_period_seconds: int | None = None
    precondition_uid: str | None = None
    precondition_resource_version: str | None = None
    propagation_policy: str | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class DeletionPlan:
    """Either delete the stored object now, or store `marked` (the object with deletion metadata)."""

    delete_now: bool
    marked: Object | None = None


def parse_delete_options(raw: dict[str, Any] | None) -> DeleteOptions:
    """DeleteOptions from its JSON form; BadRequest naming the field on bad values."""
    raw = raw or {}
    grace = raw.get("gracePeriodSeconds")
    if grace is not None and (not isinstance(grace, int) or isinstance(grace, bool) or grace < 0):
        raise errors.bad_request(f"gracePeriodSeconds: Invalid value: {grace}: must be >= 0")
    policy = raw.get("propagationPolicy")
    if raw.get("orphanDependents") is not None:
        if policy is not None:
            raise errors.bad_request("propagationPolicy: Invalid value: orphanDependents and "
                                     "propagationPolicy cannot be both set")
        policy = "Orphan" if raw["orphanDependents"] else "Background"
    if policy is not None and policy not in PROPAGATION_POLICIES:
        raise errors.bad_request(f'propagationPolicy: Unsupported value: "{policy}": supported values: '
                                 '"Orphan", "Background", "Foreground"')
    preconditions = raw.get("preconditions") or {}
    dry_run = raw.get("dryRun") or []
    return DeleteOptions(grace, preconditions.get("uid"), preconditions.get("resourceVersion"), policy,
                         "All" in dry_run)


def check_preconditions(rt: ResourceType, obj: Object, options: DeleteOptions) -> None:
    metadata = obj["metadata"]
    name = metadata["name"]
    if options.precondition_uid and options.precondition_uid != metadata.get("uid"):
        raise errors.conflict(rt.group_resource, name,
                              f"Precondition failed: UID in precondition: {options.precondition_uid}, "
                              f"UID in object meta: {metadata.get('uid')}")
    rv = options.precondition_resource_version
    if rv and rv != metadata.get("resourceVersion"):
        raise errors.conflict(rt.group_resource, name,
                              f"Precondition failed: ResourceVersion in precondition: {rv}, "
                              f"ResourceVersion in meta: {metadata.get('resourceVersion')}")


def grace_period(rt: ResourceType, obj: Object, options: DeleteOptions) -> int:
    """Seconds the object may take to go: pods get their termination grace period, others none."""
    if rt.group != "" or rt.kind != "Pod":
        return 0
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
        return 0  # never started, or already finished: nothing to wait for
    if options.grace_period_seconds is not None:
        return options.grace_period_seconds
    configured = spec.get("terminationGracePeriodSeconds")
    return DEFAULT_POD_GRACE_SECONDS if configured is None else int(configured)


def compute_finalizers(current: list[str], policy: str | None) -> list[str]:
    """The finalizers after applying a propagation policy (Background: no GC finalizer)."""
    kept = [f for f in current if f not in (ORPHAN_FINALIZER, FOREGROUND_FINALIZER)]
    if policy == "Orphan":
        return [*kept, ORPHAN_FINALIZER]
    if policy == "Foreground":
        return [*kept, FOREGROUND_FINALIZER]
    if policy is None:
        return list(current)
    return kept


def compute_deletion(rt: ResourceType, obj: Object, options: DeleteOptions, now: datetime) -> DeletionPlan:
    """Delete now, or mark: deletionTimestamp = now + grace (never later than an existing one)."""
    check_preconditions(rt, obj, options)
    metadata = obj["metadata"]
    deleting = bool(metadata.get("deletionTimestamp"))
    finalizers = compute_finalizers(list(metadata.get("finalizers") or []), options.propagation_policy)
    if deleting and options.propagation_policy is None:
        finalizers = list(metadata.get("finalizers") or [])
    grace = grace_period(rt, obj, options)
    namespace_finalizers = rt.kind == "Namespace" and bool((obj.get("spec") or {}).get("finalizers"))
    if not finalizers and grace == 0 and not namespace_finalizers:
        return DeletionPlan(delete_now=True)
    marked = copy.deepcopy(obj)
    marked_meta = marked["metadata"]
    marked_meta.pop("resourceVersion", None)
    if finalizers:
        marked_meta["finalizers"] = finalizers
    else:
        marked_meta.pop("finalizers", None)
    deadline = now + timedelta(seconds=grace)
    existing = metadata.get("deletionTimestamp")
    if existing is None or _parse_time(existing) > deadline:
        marked_meta["deletionTimestamp"] = deadline.strftime("%Y-%m-%dT%H:%M:%SZ")
        marked_meta["deletionGracePeriodSeconds"] = grace
    if rt.kind == "Namespace":
        marked.setdefault("status", {})["phase"] = "Terminating"
    return DeletionPlan(delete_now=False, marked=marked)


def _parse_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
