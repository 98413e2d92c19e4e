"""ControllerRevision history: how StatefulSets and DaemonSets remember every pod template they ever had
(Kubernetes' pkg/controller/history).

A *revision* is an immutable snapshot of the part of the owner that pods are made from. Its ``data`` is the patch
that, applied to the owner, restores that template::

    {"spec": {"template": {...the pod template..., "$patch": "replace"}}}

It is named ``<owner>-<hash>``, where the hash is FNV-32 over the data (plus the owner's
``status.collisionCount`` when a name collided before), encoded with Kubernetes' vowel-free alphabet so a hash is
never a word. ``revision`` numbers grow monotonically: rolling back to an old template re-uses the old revision
object and bumps its number, so the newest number is always the template in force.

Pods carry the ``controller-revision-hash`` label naming the revision they were made from; that is how the
controllers tell updated pods from old ones, and which revisions are still *live* and must not be truncated when
the history grows past ``spec.revisionHistoryLimit``.

Everything here is a pure function, except :func:`create_controller_revision` (the one write with a retry rule)
at the bottom.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from apimachinery import errors
from apimachinery.labels import Selector, selector_from_label_selector
from client.client import Client

Object = dict[str, Any]

CONTROLLER_REVISION_HASH_LABEL = "controller-revision-hash"
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand: no vowels, no 0/1/3
MAX_PREFIX_LENGTH = 223  # 253 - 1 - len(max hash) keeps the name a valid DNS subdomain
FNV32_OFFSET, FNV32_PRIME = 2166136261, 16777619


# -- hashing and naming -------------------------------------------------------------------------


def fnv32(data: bytes) -> int:
    """Go's hash/fnv New32 (FNV-1: multiply, then xor)."""
    value = FNV32_OFFSET
    for byte in data:
        value = (value * FNV32_PRIME) & 0xFFFFFFFF
        value ^= byte
    return value


def safe_encode(text: str) -> str:
    """rand.SafeEncodeString: every byte mapped onto the vowel-free alphabet."""
    return "".join(SAFE_ALPHABET[b % len(SAFE_ALPHABET)] for b in text.encode())


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def hash_object(value: Any, collision_count: int | None = None) -> str:
    """The hash of a JSON value, salted with the collision count (HashControllerRevision / ComputeHash)."""
    data = canonical_json(value)
    if collision_count is not None:
        data += str(collision_count).encode()
    return safe_encode(str(fnv32(data)))


def revision_name(prefix: str, hash_: str) -> str:
    return f"{prefix[:MAX_PREFIX_LENGTH]}-{hash_}"


def template_patch(owner: Mapping[str, Any]) -> Object:
    """The revision data of an owner: its pod template as a strategic-merge patch that replaces the template."""
    template = copy.deepcopy((owner.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def template_of(revision: Mapping[str, Any]) -> Object:
    """The pod template a revision restores (the inverse of :func:`template_patch`)."""
    template = copy.deepcopy(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def apply_revision(owner: Mapping[str, Any], revision: Mapping[str, Any]) -> Object:
    """The owner as it was when ``revision`` was taken (ApplyRevision): its template replaced by the revision's."""
    restored = copy.deepcopy(dict(owner))
    restored.setdefault("spec", {})["template"] = template_of(revision)
    return restored


# -- revision objects ---------------------------------------------------------------------------


def new_controller_revision(owner: Mapping[str, Any], data: Mapping[str, Any], revision: int,
                            collision_count: int = 0, hash_: str | None = None) -> Object:
    """NewControllerRevision: labelled like the owner's template, owned (as controller) by the owner.

    ``hash_`` defaults to the hash of ``data``; DaemonSets pass the hash of their template instead."""
    meta = owner["metadata"]
    hash_ = hash_ if hash_ is not None else hash_object(data, collision_count)
    template_labels = dict((((owner.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels")
                           or {})
    labels = {**template_labels, CONTROLLER_REVISION_HASH_LABEL: hash_}
    owner_ref = {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta["name"],
                 "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": revision_name(meta["name"], hash_), "namespace": meta.get("namespace", ""),
                         "labels": labels, "ownerReferences": [owner_ref]},
            "data": copy.deepcopy(dict(data)), "revision": revision}


def revision_number(revision: Mapping[str, Any]) -> int:
    return int(revision.get("revision") or 0)


def revision_hash(revision: Mapping[str, Any]) -> str:
    return str(((revision.get("metadata") or {}).get("labels") or {}).get(CONTROLLER_REVISION_HASH_LABEL) or "")


def sort_revisions(revisions: Iterable[Object]) -> list[Object]:
    """Oldest first: by revision number, then creation time, then name (SortControllerRevisions)."""
    return sorted(revisions, key=lambda r: (revision_number(r), (r.get("metadata") or {}).get("creationTimestamp")
                                            or "", r["metadata"]["name"]))


def next_revision_number(revisions: Sequence[Mapping[str, Any]]) -> int:
    """One more than the highest revision number (1 for an empty history)."""
    return max((revision_number(r) for r in revisions), default=0) + 1


def equal_revision(lhs: Mapping[str, Any] | None, rhs: Mapping[str, Any] | None) -> bool:
    """EqualRevision: same hash label (when both have one) and the same data."""
    if lhs is None or rhs is None:
        return lhs is rhs
    lhs_hash, rhs_hash = revision_hash(lhs), revision_hash(rhs)
    if lhs_hash and rhs_hash and lhs_hash != rhs_hash:
        return False
    return bool(lhs.get("data") == rhs.get("data"))


def find_equal_revisions(revisions: Iterable[Object], needle: Mapping[str, Any]) -> list[Object]:
    return [r for r in revisions if equal_revision(r, needle)]


def compute_revisions_to_truncate(revisions: Iterable[Object], live: set[str], limit: int) -> list[Object]:
    """The oldest revisions that are not live (named in ``live``) beyond ``limit`` such revisions."""
    history = [r for r in sort_revisions(revisions) if r["metadata"]["name"] not in live]
    excess = len(history) - max(limit, 0)
    return history[:excess] if excess > 0 else []


# -- claiming: which objects an owner controls (the ControllerRefManager rule) ---------------------


def compute_claims(owner: Mapping[str, Any], selector: Selector, objects: Iterable[Object]
                   ) -> tuple[list[Object], list[Object], list[Object]]:
    """(owned, to_adopt, to_release) among ``objects`` (pods or revisions), as ClaimPods/ClaimControllerRevisions:

    * controlled by the owner and matching the selector: owned;
    * controlled by the owner but no longer matching: release (drop our ownerReference);
    * controlled by nobody, matching, not being deleted, and the owner is not being deleted: adopt.
    """
    uid = owner["metadata"]["uid"]
    owner_deleting = bool(owner["metadata"].get("deletionTimestamp"))
    owned: list[Object] = []
    adopt: list[Object] = []
    release: list[Object] = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        ref = next((r for r in meta.get("ownerReferences") or [] if r.get("controller")), None)
        matches = selector.matches(meta.get("labels") or {})
        if ref is not None and ref.get("uid") == uid:
            (owned if matches else release).append(obj)
        elif ref is None and matches and not owner_deleting and not meta.get("deletionTimestamp"):
            adopt.append(obj)
    return owned, adopt, release


def adoption_patch(owner: Mapping[str, Any], obj: Mapping[str, Any]) -> Object:
    """A merge patch making ``owner`` the controller of ``obj`` (uid precondition guards against a re-created obj)."""
    meta = owner["metadata"]
    ref = {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta["name"], "uid": meta["uid"],
           "controller": True, "blockOwnerDeletion": True}
    refs = [r for r in (obj.get("metadata") or {}).get("ownerReferences") or [] if r.get("uid") != meta["uid"]]
    return {"metadata": {"ownerReferences": [*refs, ref], "uid": obj["metadata"]["uid"]}}


def release_patch(owner: Mapping[str, Any], obj: Mapping[str, Any]) -> Object:
    refs = [r for r in (obj.get("metadata") or {}).get("ownerReferences") or []
            if r.get("uid") != owner["metadata"]["uid"]]
    return {"metadata": {"ownerReferences": refs or None, "uid": obj["metadata"]["uid"]}}


# -- the writes with rules of their own ---------------------------------------------------------


async def claim(client: Client, owner: Mapping[str, Any], objects: Iterable[Object], resource: str) -> list[Object]:
    """Adopt and release as :func:`compute_claims` says; returns what the owner controls now."""
    selector = selector_from_label_selector((owner.get("spec") or {}).get("selector"))
    owned, adopt, release = compute_claims(owner, selector, objects)
    namespace = owner["metadata"].get("namespace", "")
    for obj in adopt:
        with contextlib.suppress(errors.NotFound):
            owned.append(await client.patch(resource, obj["metadata"]["name"], adoption_patch(owner, obj), namespace))
    for obj in release:
        with contextlib.suppress(errors.NotFound):
            await client.patch(resource, obj["metadata"]["name"], release_patch(owner, obj), namespace)
    return owned


async def delete_revisions(client: Client, revisions: Iterable[Object]) -> None:
    for revision in revisions:
        with contextlib.suppress(errors.NotFound):
            await client.delete("controllerrevisions.apps", revision["metadata"]["name"],
                                revision["metadata"].get("namespace", ""))


async def create_controller_revision(client: Client, owner: Mapping[str, Any], revision: Object,
                                     collision_count: int, hash_of: Any = None) -> tuple[Object, int]:
    """Create ``revision``; on a name collision with *different* data, bump the collision count and retry.

    Returns the stored revision (an existing equal one counts) and the collision count to record in the owner's
    status. ``hash_of`` is what the hash covers (the data by default; a DaemonSet's template)."""
    hashed = revision["data"] if hash_of is None else hash_of
    candidate = copy.deepcopy(revision)
    while True:
        hash_ = hash_object(hashed, collision_count)
        candidate["metadata"]["name"] = revision_name(owner["metadata"]["name"], hash_)
        candidate["metadata"]["labels"][CONTROLLER_REVISION_HASH_LABEL] = hash_
        try:
            return await client.create(candidate), collision_count
        except errors.AlreadyExists:
            existing = await client.get("controllerrevisions.apps", candidate["metadata"]["name"],
                                        owner["metadata"].get("namespace", ""))
            if existing.get("data") == candidate["data"]:
                return existing, collision_count
            collision_count += 1
