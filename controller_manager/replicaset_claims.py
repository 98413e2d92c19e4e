"""Claiming: which objects an owner controls, adopting matching orphans and releasing those that stopped matching.

Kubernetes' ControllerRefManager (pkg/controller/controller_ref_manager.go). The ReplicaSet controller claims pods,
the Deployment controller claims ReplicaSets; both use this module.

For every candidate (same namespace as the owner):

* controlled by someone else: ignored;
* controlled by the owner and matching its selector: owned;
* controlled by the owner but no longer matching: released (its ownerReference to the owner is removed), unless
  the owner is being deleted;
* an orphan (no controller) that matches, is not being deleted, while the owner is not being deleted: adopted (a
  controller ownerReference is added). Before the first adoption the owner is read fresh from the apiserver, so a
  just-deleted owner (or a new one with the same name) never adopts anything.

Adoption and release are strategic merge patches of ``metadata.ownerReferences`` keyed by uid, with the object's
uid as precondition: exactly the patches Kubernetes sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from apimachinery import errors
from apimachinery.labels import Selector
from client.client import Client
from controller_manager.podutil import controller_ref, new_controller_ref

Object = dict[str, Any]


@dataclass
class Claims:
    owned: list[Object] = field(default_factory=list)
    adopt: list[Object] = field(default_factory=list)
    release: list[Object] = field(default_factory=list)


def compute_claims(owner: Mapping[str, Any], selector: Selector, candidates: list[Object]) -> Claims:
    """Sort ``candidates`` into owned / to adopt / to release (pure)."""
    claims = Claims()
    owner_uid = owner["metadata"]["uid"]
    owner_deleting = bool(owner["metadata"].get("deletionTimestamp"))
    for obj in candidates:
        meta = obj.get("metadata") or {}
        matches = selector.matches(meta.get("labels") or {})
        ref = controller_ref(obj)
        if ref is not None:
            if ref.get("uid") != owner_uid:
                continue
            if matches:
                claims.owned.append(obj)
            elif not owner_deleting:
                claims.release.append(obj)
            continue
        if matches and not owner_deleting and not meta.get("deletionTimestamp"):
            claims.adopt.append(obj)
    return claims


def adopt_patch(owner: Mapping[str, Any], obj: Mapping[str, Any]) -> Object:
    return {"metadata": {"ownerReferences": [new_controller_ref(owner)], "uid": obj["metadata"]["uid"]}}


def release_patch(owner: Mapping[str, Any], obj: Mapping[str, Any]) -> Object:
    return {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": owner["metadata"]["uid"]}],
                         "uid": obj["metadata"]["uid"]}}


async def recheck_owner(client: Client, owner: Mapping[str, Any]) -> None:
    """Kubernetes' RecheckDeletionTimestamp: the owner, read fresh, is the same object and not being deleted."""
    meta = owner["metadata"]
    fresh = await client.get(owner_resource(owner), meta["name"], meta.get("namespace", ""))
    fresh_meta = fresh["metadata"]
    if fresh_meta.get("uid") != meta["uid"]:
        raise errors.conflict(owner_resource(owner), meta["name"],
                              f"original {meta['name']} is gone: got uid {fresh_meta.get('uid')}, wanted {meta['uid']}")
    if fresh_meta.get("deletionTimestamp"):
        raise errors.conflict(owner_resource(owner), meta["name"],
                              f"{meta.get('namespace')}/{meta['name']} has just been deleted at "
                              f"{fresh_meta['deletionTimestamp']}")


def owner_resource(owner: Mapping[str, Any]) -> str:
    return {"ReplicaSet": "replicasets.apps", "Deployment": "deployments.apps"}.get(owner["kind"], owner["kind"])


async def claim(client: Client, owner: Object, selector: Selector, candidates: list[Object],
                resource: str) -> list[Object]:
    """Adopt and release as :func:`compute_claims` says; return what the owner now controls.

    Objects gone meanwhile (NotFound) are skipped; any other error is raised after all patches were tried,
    so the caller requeues without managing replicas on a partial view.
    """
    claims = compute_claims(owner, selector, candidates)
    owned = list(claims.owned)
    failures: list[errors.ApiError] = []
    if claims.adopt:
        try:
            await recheck_owner(client, owner)
        except errors.ApiError as e:
            failures.append(e)
            claims.adopt = []
    for obj in claims.adopt:
        meta = obj["metadata"]
        try:
            owned.append(await client.patch(resource, meta["name"], adopt_patch(owner, obj), meta.get("namespace", ""),
                                            patch_type="strategic"))
        except errors.NotFound:
            pass
        except errors.ApiError as e:
            failures.append(e)
    for obj in claims.release:
        meta = obj["metadata"]
        try:
            await client.patch(resource, meta["name"], release_patch(owner, obj), meta.get("namespace", ""),
                               patch_type="strategic")
        except (errors.NotFound, errors.Invalid):
            pass  # gone, or recreated with another uid: not ours any more either way
        except errors.ApiError as e:
            failures.append(e)
    if failures:
        raise failures[0]
    return owned
