"""The namespace controller (Kubernetes' pkg/controller/namespace): a deleted namespace is emptied, then goes.

Deleting a namespace only marks it: the apiserver sets its deletionTimestamp and phase Terminating, and keeps
it while ``spec.finalizers`` holds ``kubernetes``. This controller then, for a terminating namespace:

1. deletes every object of every namespaced kind the apiserver serves in that namespace (propagation
   Background, as the namespaced-resources deleter does);
2. lists again what remains, and writes the namespace's deletion conditions as Kubernetes does:
   NamespaceDeletionDiscoveryFailure, NamespaceDeletionGroupVersionParsingFailure,
   NamespaceDeletionContentFailure (a delete failed), NamespaceContentRemaining ("Some resources are
   remaining: pods has 2 resource instances") and NamespaceFinalizersRemaining ("Some content in the namespace
   has finalizers remaining: example.com/x in 1 resource instances") — each False with its "all good" reason
   when it does not apply;
3. when nothing remains, removes ``kubernetes`` from ``spec.finalizers`` — the finalize step; over gRPC it
   is an update of the Namespace (the HTTP ``namespaces/<name>/finalize`` subresource is the same update) —
   and the apiserver deletes the namespace. While something remains (pods terminating gracefully, objects
   with finalizers) it checks again after half the longest remaining grace period plus a second.

Every step is safe to repeat: a controller killed half-way deletes what is left on its next attempt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from apimachinery import errors
from client.informer import Handler
from controller_manager.controller import Controller, ControllerContext
from controller_manager.podutil import format_time, parse_time

log = logging.getLogger(__name__)
Object = dict[str, Any]
KUBERNETES_FINALIZER = "kubernetes"

# type → (reason when it applies, reason and message when it does not), in Kubernetes' order
CONDITIONS: dict[str, tuple[str, str, str]] = {
    "NamespaceDeletionDiscoveryFailure": ("DiscoveryFailed", "ResourcesDiscovered",
                                          "All resources successfully discovered"),
    "NamespaceDeletionGroupVersionParsingFailure": ("GroupVersionParsingFailed", "ParsedGroupVersions",
                                                    "All legacy kube types successfully parsed"),
    "NamespaceDeletionContentFailure": ("ContentDeletionFailed", "ContentDeleted",
                                        "All content successfully deleted, may be waiting on finalization"),
    "NamespaceContentRemaining": ("SomeResourcesRemain", "ContentRemoved", "All content successfully removed"),
    "NamespaceFinalizersRemaining": ("SomeFinalizersRemain", "ContentHasNoFinalizers",
                                     "All content-preserving finalizers finished"),
}


@dataclass
class ContentReport:
    """What one deletion sweep over a namespace found."""

    failures: list[str] = field(default_factory=list)           # "pods: <error>"
    remaining: dict[str, int] = field(default_factory=dict)     # group resource → objects left
    finalizers: dict[str, int] = field(default_factory=dict)    # finalizer → objects carrying it
    estimate: float = 0.0                                       # seconds until the rest should be gone

    @property
    def empty(self) -> bool:
        return not self.failures and not self.remaining


def condition_messages(report: ContentReport) -> dict[str, str]:
    """The message of each condition that applies (the others are absent)."""
    messages = {}
    if report.failures:
        messages["NamespaceDeletionContentFailure"] = (
            f"Failed to delete all resource types, {len(report.failures)} remaining: " + ", ".join(report.failures))
    if report.remaining:
        messages["NamespaceContentRemaining"] = "Some resources are remaining: " + ", ".join(
            f"{r} has {n} resource instances" for r, n in sorted(report.remaining.items()))
    if report.finalizers:
        messages["NamespaceFinalizersRemaining"] = "Some content in the namespace has finalizers remaining: " + \
            ", ".join(f"{f} in {n} resource instances" for f, n in sorted(report.finalizers.items()))
    return messages


def compute_conditions(report: ContentReport, existing: Sequence[Mapping[str, Any]], now: float) -> list[Object]:
    """The namespace's deletion conditions for this report (lastTransitionTime kept unless status changes)."""
    messages = condition_messages(report)
    before = {c.get("type"): c for c in existing}
    conditions = [dict(c) for c in existing if c.get("type") not in CONDITIONS]
    for kind, (bad_reason, ok_reason, ok_message) in CONDITIONS.items():
        message = messages.get(kind, "")
        status, reason = ("True", bad_reason) if message else ("False", ok_reason)
        old = before.get(kind) or {}
        since = old.get("lastTransitionTime") if old.get("status") == status else format_time(now)
        conditions.append({"type": kind, "status": status, "lastTransitionTime": since or format_time(now),
                           "reason": reason, "message": message or ok_message})
    return conditions


def count_remaining(report: ContentReport, resource: str, items: Sequence[Mapping[str, Any]], now: float) -> None:
    """Add the objects still present of one resource to the report (and the time pods still need)."""
    if not items:
        return
    report.remaining[resource] = len(items)
    for item in items:
        for finalizer in (item.get("metadata") or {}).get("finalizers") or []:
            report.finalizers[finalizer] = report.finalizers.get(finalizer, 0) + 1
        deadline = parse_time((item.get("metadata") or {}).get("deletionTimestamp"))
        if deadline is not None:
            report.estimate = max(report.estimate, deadline - now)


class NamespaceController(Controller):
    name = "namespace-controller"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.workers = int(ctx.option("concurrent_namespace_syncs", 10))
        self.namespaces = ctx.informers.informer("namespaces")
        self.namespaces.add_handler(Handler(on_add=self._changed, on_update=lambda old, new: self._changed(new)))

    def _changed(self, namespace: Object) -> None:
        if namespace["metadata"].get("deletionTimestamp"):
            self.enqueue(namespace)

    def namespaced_resources(self) -> list[str]:
        return [rt.group_resource for rt in self.client.kinds.all()
                if rt.namespaced and {"list", "delete"} <= set(rt.verbs)]

    async def reconcile(self, key: str) -> None:
        namespace = self.namespaces.store.get(key)
        if namespace is None or not namespace["metadata"].get("deletionTimestamp"):
            return
        if KUBERNETES_FINALIZER not in ((namespace.get("spec") or {}).get("finalizers") or []):
            return
        now = time.time()
        report = await self.delete_all_content(key, now)
        await self.write_conditions(namespace, compute_conditions(
            report, (namespace.get("status") or {}).get("conditions") or [], now))
        if not report.empty:
            self.requeue_after(key, report.estimate / 2 + 1)
            return
        await self.finalize(key)

    async def delete_all_content(self, namespace: str, now: float) -> ContentReport:
        report = ContentReport()
        for resource in self.namespaced_resources():
            try:
                items = (await self.client.list(resource, namespace))["items"]
                for item in items:
                    if not item["metadata"].get("deletionTimestamp"):
                        await self._delete(resource, item)
                left = (await self.client.list(resource, namespace))["items"]
            except errors.ApiError as e:
                report.failures.append(f"{resource}: {e}")
                continue
            count_remaining(report, resource, left, now)
        return report

    async def _delete(self, resource: str, item: Mapping[str, Any]) -> None:
        meta = item["metadata"]
        try:
            await self.client.delete(resource, meta["name"], meta["namespace"], propagation_policy="Background")
        except errors.NotFound:
            return

    async def write_conditions(self, namespace: Object, conditions: list[Object]) -> None:
        if conditions == (namespace.get("status") or {}).get("conditions"):
            return
        try:
            await self.client.patch("namespaces", namespace["metadata"]["name"], {"status": {"conditions": conditions}},
                                    subresource="status")
        except errors.NotFound:
            return

    async def finalize(self, name: str) -> None:
        """Remove the ``kubernetes`` finalizer (namespaces/finalize); the apiserver then deletes the namespace."""
        try:
            live = await self.client.get("namespaces", name)
        except errors.NotFound:
            return
        finalizers = (live.get("spec") or {}).get("finalizers") or []
        if KUBERNETES_FINALIZER not in finalizers:
            return
        live.setdefault("spec", {})["finalizers"] = [f for f in finalizers if f != KUBERNETES_FINALIZER]
        try:
            await self.client.update(live)
        except errors.NotFound:
            return
        log.info("namespace %s is empty: finalized", name)
