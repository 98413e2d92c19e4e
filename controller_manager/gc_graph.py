"""The garbage collector's view of ownership, as pure functions over Kubernetes JSON.

Kubernetes' GC keeps a graph of every object's ownerReferences (the "uid → owners, dependents" graph of
pkg/controller/garbagecollector/graph.go). kubeling keeps the same facts in the informer caches: every
cache the GC watches is indexed by owner uid, so "the dependents of X" is one index lookup per resource
and "the owners of Y" is Y's ownerReferences.

Work items are strings naming the action and the object's identity, uid included (a name may be reused):
``delete|<resource>|<namespace>|<name>|<uid>`` (attemptToDeleteItem) and ``orphan|...`` (orphanDependents).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Object = dict[str, Any]

OWNER_INDEX = "metadata.ownerReferences.uid"
ORPHAN_FINALIZER = "orphan"
FOREGROUND_FINALIZER = "foregroundDeletion"
ATTEMPT_DELETE, ORPHAN = "delete", "orphan"


def owner_uids(obj: Mapping[str, Any]) -> list[str]:
    """Index function: the uids of an object's owners."""
    return [str(ref["uid"]) for ref in owner_references(obj) if ref.get("uid")]


def owner_references(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((obj.get("metadata") or {}).get("ownerReferences") or [])


def finalizers(obj: Mapping[str, Any]) -> list[str]:
    return list((obj.get("metadata") or {}).get("finalizers") or [])


def is_deleting(obj: Mapping[str, Any]) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def is_deleting_dependents(obj: Mapping[str, Any]) -> bool:
    """Foreground deletion in progress: the object waits for its blocking dependents to go."""
    return is_deleting(obj) and FOREGROUND_FINALIZER in finalizers(obj)


def is_orphaning(obj: Mapping[str, Any]) -> bool:
    return is_deleting(obj) and ORPHAN_FINALIZER in finalizers(obj)


@dataclass(frozen=True)
class WorkItem:
    action: str
    resource: str
    namespace: str
    name: str
    uid: str

    @property
    def key(self) -> str:
        return "|".join((self.action, self.resource, self.namespace, self.name, self.uid))

    @classmethod
    def parse(cls, key: str) -> WorkItem:
        action, resource, namespace, name, uid = key.split("|")
        return cls(action, resource, namespace, name, uid)


def work_item(action: str, resource: str, obj: Mapping[str, Any]) -> WorkItem:
    meta = obj.get("metadata") or {}
    return WorkItem(action, resource, str(meta.get("namespace") or ""), str(meta.get("name")), str(meta.get("uid")))


@dataclass(frozen=True)
class References:
    """An item's ownerReferences sorted as classifyReferences does."""

    solid: list[Mapping[str, Any]]      # the owner exists and is not being foreground-deleted
    dangling: list[Mapping[str, Any]]   # the owner is gone (or a new object with another uid has its name)
    waiting: list[Mapping[str, Any]]    # the owner exists and waits for its dependents (foreground)


def classify_references(refs: Iterable[Mapping[str, Any]],
                        owners: Mapping[str, Mapping[str, Any] | None]) -> References:
    """``owners`` maps each ref's uid to the owner found with that uid (None when absent)."""
    solid, dangling, waiting = [], [], []
    for ref in refs:
        owner = owners.get(str(ref.get("uid")))
        if owner is None:
            dangling.append(ref)
        elif is_deleting_dependents(owner):
            waiting.append(ref)
        else:
            solid.append(ref)
    return References(solid, dangling, waiting)


@dataclass(frozen=True)
class Decision:
    """What attemptToDeleteItem does: nothing, drop some ownerReferences, or delete with a policy."""

    remove_owner_uids: tuple[str, ...] = ()
    delete_policy: str | None = None


def compute_attempt_to_delete(item: Mapping[str, Any], refs: References, has_dependents: bool) -> Decision:
    """Kubernetes' attemptToDeleteItem switch, given the classified references."""
    if refs.solid:
        stale = [str(r.get("uid")) for r in [*refs.dangling, *refs.waiting]]
        return Decision(remove_owner_uids=tuple(stale))
    if refs.waiting and has_dependents:
        return Decision(delete_policy="Foreground")
    if ORPHAN_FINALIZER in finalizers(item):
        return Decision(delete_policy="Orphan")
    if FOREGROUND_FINALIZER in finalizers(item):
        return Decision(delete_policy="Foreground")
    return Decision(delete_policy="Background")


def blocking_dependents(owner_uid: str, dependents: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Dependents whose reference to the owner has blockOwnerDeletion: the owner waits for them to go."""
    return [d for d in dependents
            if any(r.get("uid") == owner_uid and r.get("blockOwnerDeletion") for r in owner_references(d))]


def remove_references_patch(obj: Mapping[str, Any], uids: Iterable[str]) -> Object:
    """A merge patch dropping the ownerReferences to ``uids`` (guarded by the resourceVersion)."""
    dropped = set(uids)
    kept = [dict(r) for r in owner_references(obj) if r.get("uid") not in dropped]
    return {"metadata": {"resourceVersion": obj["metadata"]["resourceVersion"], "ownerReferences": kept or None}}


def remove_finalizer_patch(obj: Mapping[str, Any], finalizer: str) -> Object:
    kept = [f for f in finalizers(obj) if f != finalizer]
    return {"metadata": {"resourceVersion": obj["metadata"]["resourceVersion"], "finalizers": kept or None}}
