"""The eviction subresource's storage (EvictionREST.Create): ask the pod's PodDisruptionBudget, then delete.

The decisions are `eviction.py`'s pure functions; this module does the reads and writes around them,
in Kubernetes' order:

1. Read the pod. If it may ignore budgets (pending, terminal, terminating) delete it now — a pending
   pod with its resourceVersion as a precondition. A conflict re-reads and tries again.
2. List the namespace's budgets; `compute_eviction` picks the budget that pays, or a guarded delete
   of an unready pod (a conflict on that precondition answers 429: the pod changed meanwhile).
3. Spend one disruption: `compute_decrement` on the budget, written through the status subresource
   with the budget's resourceVersion (compare-and-swap); on a conflict read the budget again and
   decide again, up to EVICTION_RETRIES times.
4. Delete the pod with the Eviction's DeleteOptions (graceful, as any pod delete).

A dry run decides everything and writes nothing: the budget's status write and the delete are dry.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from apimachinery import errors
from apimachinery.kinds import ResourceType
from apiserver.registry import eviction
from apiserver.registry.deletion import DeleteOptions
from apiserver.registry.listing import ListOptions
from apiserver.registry.objects import now_rfc3339
from apiserver.registry.store import Registry, WriteOptions

Object = dict[str, Any]
EVICTION_RETRIES = 20
FIELD_MANAGER = "kube-apiserver"


class EvictionREST:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.pods = registry.kinds.get("", "pods")
        self.budgets = registry.kinds.get("policy", "poddisruptionbudgets")

    async def evict(self, namespace: str, name: str, options: DeleteOptions) -> None:
        pod = await self._pod_checking_budgets(namespace, name, options)
        if pod is None:
            return
        plan = eviction.compute_eviction(pod, await self._list_budgets(namespace))
        if plan.budget is not None:
            await self._spend_disruption(plan.budget, name, options.dry_run)
        if plan.precondition_rv is None:
            await self._delete(namespace, name, options)
            return
        try:
            await self._delete(namespace, name, _with_resource_version(options, plan.precondition_rv))
        except errors.Conflict:
            if options.precondition_resource_version:
                raise
            raise eviction.still_being_processed(plan.budget_name) from None

    async def _pod_checking_budgets(self, namespace: str, name: str, options: DeleteOptions) -> Object | None:
        """The pod whose budgets must be asked, or None once a pod that may ignore them is deleted."""
        for _ in range(EVICTION_RETRIES):
            pod = await self.registry.get(self._rt(self.pods), namespace, name)
            if not eviction.can_ignore_budgets(pod):
                return pod
            delete_options = options
            if eviction.enforces_resource_version(pod) and not options.precondition_resource_version:
                delete_options = _with_resource_version(options, pod["metadata"]["resourceVersion"])
            try:
                await self._delete(namespace, name, delete_options)
                return None
            except errors.Conflict:
                if options.precondition_resource_version:
                    raise
        raise errors.conflict("pods", name, errors.STALE_OBJECT_TEXT)

    async def _list_budgets(self, namespace: str) -> list[Object]:
        if self.budgets is None:
            return []
        listed = await self.registry.list(self.budgets, ListOptions(namespace=namespace))
        return [orjson.loads(raw) for raw in listed.items]

    async def _spend_disruption(self, pdb: Object, pod_name: str, dry_run: bool) -> None:
        rt = self._rt(self.budgets)
        meta = pdb["metadata"]
        for attempt in range(EVICTION_RETRIES):
            if attempt:
                pdb = await self.registry.get(rt, meta["namespace"], meta["name"])
            spent = eviction.compute_decrement(pdb, pod_name, now_rfc3339(), dry_run=dry_run)
            if dry_run:
                return
            try:
                await self.registry.update(rt, spent, meta["namespace"], meta["name"],
                                           WriteOptions(field_manager=FIELD_MANAGER), "status")
                return
            except errors.Conflict:
                continue
        raise eviction.conflicts_exhausted(meta["name"])

    async def _delete(self, namespace: str, name: str, options: DeleteOptions) -> None:
        await self.registry.delete(self._rt(self.pods), namespace, name, options)

    @staticmethod
    def _rt(rt: ResourceType | None) -> ResourceType:
        if rt is None:
            raise errors.internal("the eviction subresource needs pods and poddisruptionbudgets to be served")
        return rt


def _with_resource_version(options: DeleteOptions, resource_version: str) -> DeleteOptions:
    return dataclasses.replace(options, precondition_resource_version=resource_version)
