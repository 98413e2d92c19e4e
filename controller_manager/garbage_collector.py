"""The garbage collector (Kubernetes' pkg/controller/garbagecollector): owners take their dependents along.

An object names its owners in ``metadata.ownerReferences``. When an owner is deleted, the apiserver records
how its dependents should go (apiserver/registry/deletion.py, from DeleteOptions.propagationPolicy):

* **Background** (the default): the owner goes at once. Its dependents now have a *dangling* reference (the
  owner is absent, or a new object with another uid took its name — verified with a live GET, as Kubernetes
  does, before anything is deleted); a dependent with no remaining live owner is deleted (with the policy
  its own finalizers call for), and so on down the tree.
* **Foreground**: the owner gets a deletionTimestamp and the ``foregroundDeletion`` finalizer. Its
  dependents are deleted (in foreground themselves if they have dependents); once no dependent with
  ``blockOwnerDeletion: true`` remains, the GC removes the finalizer and the apiserver deletes the owner.
* **Orphan**: the owner gets the ``orphan`` finalizer. The GC removes the references to it from every
  dependent, then removes the finalizer; the dependents live on.

A dependent that still has a live owner besides the deleted one keeps living; the GC just drops its
references to owners that are gone or waiting for their dependents.

Every kind the apiserver serves is watched (events aside), each cache indexed by owner uid
(:mod:`controller_manager.gc_graph`). Work items are ``delete|...`` (attemptToDeleteItem) and ``orphan|...``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from apimachinery import errors
from apimachinery.kinds import ResourceType
from client.informer import Handler, Informer
from controller_manager.controller import Controller, ControllerContext
from controller_manager.gc_graph import (
    ATTEMPT_DELETE,
    FOREGROUND_FINALIZER,
    ORPHAN,
    ORPHAN_FINALIZER,
    OWNER_INDEX,
    WorkItem,
    blocking_dependents,
    classify_references,
    compute_attempt_to_delete,
    is_deleting,
    is_deleting_dependents,
    is_orphaning,
    owner_references,
    owner_uids,
    remove_finalizer_patch,
    remove_references_patch,
    work_item,
)

log = logging.getLogger(__name__)
Object = dict[str, Any]
IGNORED_RESOURCES = frozenset({"events", "events.events.k8s.io"})
UNKNOWN_OWNER: Mapping[str, Any] = {"metadata": {}}


def gc_resources(types: list[ResourceType]) -> list[ResourceType]:
    """The kinds the GC watches: every kind that can be listed, watched and deleted, events aside."""
    needed = {"list", "watch", "delete"}
    return [rt for rt in types if rt.group_resource not in IGNORED_RESOURCES and needed <= set(rt.verbs)]


class GarbageCollector(Controller):
    name = "garbage-collector-controller"
    event_source = "garbage-collector-controller"
    workers = 20  # Kubernetes: --concurrent-gc-syncs

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.workers = int(ctx.option("concurrent_gc_syncs", 20))
        self.kinds = self.client.kinds
        self.informers: dict[str, Informer] = {}
        for rt in gc_resources(self.kinds.all()):
            informer = ctx.informers.informer(rt.group_resource)
            if OWNER_INDEX not in informer.store._indexers:
                informer.store.add_indexer(OWNER_INDEX, owner_uids)
            informer.add_handler(self._handler(rt.group_resource))
            self.informers[rt.group_resource] = informer

    # -- event handlers: only enqueue ---------------------------------------------------------

    def _handler(self, resource: str) -> Handler:
        return Handler(on_add=lambda obj: self._changed(resource, obj),
                       on_update=lambda old, new: self._updated(resource, old, new),
                       on_delete=lambda obj: self._deleted(obj))

    def _changed(self, resource: str, obj: Object) -> None:
        if owner_references(obj) or is_deleting_dependents(obj):
            self.enqueue_key(work_item(ATTEMPT_DELETE, resource, obj).key)
        if is_orphaning(obj):
            self.enqueue_key(work_item(ORPHAN, resource, obj).key)

    def _updated(self, resource: str, old: Object, new: Object) -> None:
        self._changed(resource, new)
        if owner_references(old) != owner_references(new):
            self._enqueue_owners(old)  # a dropped reference may unblock a waiting owner

    def _deleted(self, obj: Object) -> None:
        self._enqueue_dependents(str(obj["metadata"].get("uid")))
        self._enqueue_owners(obj)

    def _enqueue_dependents(self, uid: str) -> None:
        for resource, dependent in self.dependents(uid):
            self.enqueue_key(work_item(ATTEMPT_DELETE, resource, dependent).key)

    def _enqueue_owners(self, obj: Mapping[str, Any]) -> None:
        namespace = str((obj.get("metadata") or {}).get("namespace") or "")
        for ref in owner_references(obj):
            rt = self.owner_type(ref)
            if rt is not None and rt.group_resource in self.informers:
                key = WorkItem(ATTEMPT_DELETE, rt.group_resource, namespace if rt.namespaced else "",
                               str(ref.get("name")), str(ref.get("uid"))).key
                self.enqueue_key(key)

    # -- the graph, read from the caches ------------------------------------------------------

    def dependents(self, uid: str) -> list[tuple[str, Object]]:
        return [(resource, obj) for resource, informer in self.informers.items()
                for obj in informer.store.by_index(OWNER_INDEX, uid)]

    def owner_type(self, ref: Mapping[str, Any]) -> ResourceType | None:
        try:
            return self.kinds.for_object({"apiVersion": ref.get("apiVersion"), "kind": ref.get("kind")})
        except errors.ApiError:
            return None

    async def find_owner(self, ref: Mapping[str, Any], namespace: str) -> Mapping[str, Any] | None:
        """The live owner a reference names, None when it is absent (isDangling)."""
        rt = self.owner_type(ref)
        if rt is None:
            return UNKNOWN_OWNER  # a kind the apiserver does not serve: never treated as absent
        if rt.namespaced and not namespace:
            return None  # a cluster-scoped dependent cannot have a namespaced owner
        namespace = namespace if rt.namespaced else ""
        informer = self.informers.get(rt.group_resource)
        cached = informer.store.get_by_name(namespace, str(ref.get("name"))) if informer else None
        if cached is not None and cached["metadata"].get("uid") == ref.get("uid"):
            return cached
        try:  # absent from the cache, or another uid there: ask the apiserver (isDangling)
            live = await self.client.get(rt.group_resource, str(ref.get("name")), namespace)
        except errors.NotFound:
            return None
        return live if live["metadata"].get("uid") == ref.get("uid") else None

    def cached_item(self, item: WorkItem) -> Object | None:
        informer = self.informers.get(item.resource)
        obj = informer.store.get_by_name(item.namespace, item.name) if informer else None
        return obj if obj is not None and obj["metadata"].get("uid") == item.uid else None

    # -- reconcile ----------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        item = WorkItem.parse(key)
        obj = self.cached_item(item)
        if obj is None:
            return
        if item.action == ORPHAN:
            await self.orphan_dependents(item, obj)
        else:
            await self.attempt_to_delete(item, obj)

    async def attempt_to_delete(self, item: WorkItem, obj: Object) -> None:
        if is_deleting(obj):
            if is_deleting_dependents(obj):
                await self.process_deleting_dependents(item, obj)
            return
        refs = owner_references(obj)
        if not refs:
            return
        owners: dict[str, Mapping[str, Any] | None] = {}
        for ref in refs:
            owners[str(ref.get("uid"))] = await self.find_owner(ref, item.namespace)
        decision = compute_attempt_to_delete(obj, classify_references(refs, owners), bool(self.dependents(item.uid)))
        if decision.remove_owner_uids:
            await self.client.patch(item.resource, item.name, remove_references_patch(obj, decision.remove_owner_uids),
                                    item.namespace)
        elif decision.delete_policy is not None:
            log.info("garbage collecting %s %s/%s (%s)", item.resource, item.namespace, item.name,
                     decision.delete_policy)
            await self.delete(item, decision.delete_policy)

    async def delete(self, item: WorkItem, policy: str) -> None:
        try:
            await self.client.delete(item.resource, item.name, item.namespace, propagation_policy=policy,
                                     preconditions={"uid": item.uid})
        except (errors.NotFound, errors.Conflict):
            return  # gone already, or another object took its name

    async def process_deleting_dependents(self, item: WorkItem, obj: Object) -> None:
        """Foreground: delete the dependents; when no blocking one remains, drop the finalizer."""
        dependents = self.dependents(item.uid)
        for resource, dependent in dependents:
            if not is_deleting(dependent):
                self.enqueue_key(work_item(ATTEMPT_DELETE, resource, dependent).key)
        if blocking_dependents(item.uid, [d for _, d in dependents]):
            return  # a dependent's deletion will enqueue this owner again
        await self.client.patch(item.resource, item.name, remove_finalizer_patch(obj, FOREGROUND_FINALIZER),
                                item.namespace)

    async def orphan_dependents(self, item: WorkItem, obj: Object) -> None:
        """Orphan: drop every dependent's reference to this owner, then the owner's orphan finalizer."""
        if not is_orphaning(obj):
            return
        for resource, dependent in self.dependents(item.uid):
            meta = dependent["metadata"]
            try:
                await self.client.patch(resource, meta["name"], remove_references_patch(dependent, [item.uid]),
                                        str(meta.get("namespace") or ""))
            except errors.NotFound:
                continue
        await self.client.patch(item.resource, item.name, remove_finalizer_patch(obj, ORPHAN_FINALIZER),
                                item.namespace)
