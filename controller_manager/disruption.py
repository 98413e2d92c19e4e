"""The disruption controller (pkg/controller/disruption): keeps each PodDisruptionBudget's status current.

Keys are PodDisruptionBudgets ("namespace/name"). Events only enqueue:

* a budget added, changed or deleted → that budget;
* a pod added, changed or deleted → every budget in its namespace whose selector matches it (before
  and after a change, so a pod that stops matching is counted out).

The ReplicaSet, Deployment and StatefulSet caches are read only, to find a pod's controller's scale.

`reconcile` reads the caches: the pods the budget's selector matches in its namespace, the expected and
desired counts (`disruption_status.expected_and_desired`), and writes the status `compute_pdb_status`
returns — only when it differs. A budget whose status cannot be computed (a bad selector, a pod whose
controller has no scale) gets the fail-safe status: no disruption allowed, condition SyncFailed. While
status.disruptedPods holds an entry, the budget is looked at again when the entry expires.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from apimachinery import errors
from apimachinery.api.common import selector_matches, sub
from apimachinery.api.policy import selects_pod
from client.informer import Handler
from client.store import object_key
from controller_manager.controller import Controller, ControllerContext
from controller_manager.disruption_status import (
    Expected,
    SyncError,
    compute_pdb_status,
    expected_and_desired,
    expired_disruptions,
    failed_status,
)
from controller_manager.podutil import controller_ref

log = logging.getLogger(__name__)
Object = dict[str, Any]
NORMAL, WARNING = "Normal", "Warning"
UNMANAGED_PODS = ("Pods selected by this PodDisruptionBudget (selector: {selector}) were found to be unmanaged. "
                  "As a result, the status of the PDB cannot be calculated correctly, which may result in undefined "
                  "behavior. To account for these pods please set \".spec.minAvailable\" field of the PDB to an "
                  "integer value.")


class DisruptionController(Controller):
    name = "disruption"
    event_source = "controllermanager"
    workers = 2

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.clock = time.time
        self.budgets = ctx.informers.informer("poddisruptionbudgets.policy").store
        self.pods = ctx.informers.informer("pods").store
        self.replica_sets = ctx.informers.informer("replicasets.apps").store
        self.deployments = ctx.informers.informer("deployments.apps").store
        self.stateful_sets = ctx.informers.informer("statefulsets.apps").store
        ctx.informers.informer("poddisruptionbudgets.policy").add_handler(Handler(
            on_add=self.enqueue, on_update=lambda old, new: self.enqueue(new), on_delete=self.enqueue))
        ctx.informers.informer("pods").add_handler(Handler(
            on_add=self._pod_changed, on_update=self._pod_updated, on_delete=self._pod_changed))

    # -- event handlers: enqueue only ----------------------------------------------------------------

    def _budgets_selecting(self, pod: Object) -> set[str]:
        namespace = str(sub(pod, "metadata").get("namespace", ""))
        return {object_key(pdb) for pdb in self.budgets.list(namespace) if selects_pod(pdb, pod)}

    def _pod_changed(self, pod: Object) -> None:
        for key in self._budgets_selecting(pod):
            self.enqueue_key(key)

    def _pod_updated(self, old: Object, new: Object) -> None:
        for key in self._budgets_selecting(old) | self._budgets_selecting(new):
            self.enqueue_key(key)

    # -- reconcile -----------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        pdb = self.budgets.get(key)
        if pdb is None:
            return
        try:
            await self._try_sync(key, pdb)
        except errors.Conflict:
            raise
        except (SyncError, errors.ApiError) as e:
            log.warning("disruption: failed to sync %s: %s", key, e)
            await self.client.update_status({**pdb, "status": failed_status(pdb, str(e), self.clock())})

    async def _try_sync(self, key: str, pdb: Object) -> None:
        pods = self._pods_for(pdb)
        if not pods:
            self.recorder.event(pdb, NORMAL, "NoPods", "No matching pods found")
        expected = self._expected(pdb, pods)
        now = self.clock()
        for name in expired_disruptions(pdb, pods, now):
            pod = next(p for p in pods if p["metadata"]["name"] == name)
            self.recorder.event(pod, WARNING, "NotDeleted",
                                f"Pod was expected by PDB {key} to be deleted but it wasn't")
        update = compute_pdb_status(pdb, pods, expected, now)
        if update.status is not None:
            await self.client.update_status({**pdb, "status": update.status})
        if update.recheck_after is not None:
            self.requeue_after(key, update.recheck_after)

    def _pods_for(self, pdb: Object) -> list[Object]:
        """getPodsForPdb: the namespace's pods the selector matches (an empty selector matches all)."""
        meta = sub(pdb, "metadata")
        pods = self.pods.list(str(meta.get("namespace", "")))
        if pods and selector_matches(sub(pdb, "spec").get("selector"), {}) is None:
            raise SyncError(f"invalid label selector in PodDisruptionBudget {meta.get('name')}")
        return [pod for pod in pods if selects_pod(pdb, pod)]

    def _expected(self, pdb: Object, pods: list[Object]) -> Expected:
        try:
            expected = expected_and_desired(pdb, pods, self._find_scale)
        except SyncError as e:
            self.recorder.event(pdb, WARNING, "CalculateExpectedPodCountFailed",
                                f"Failed to calculate the number of expected pods: {e}")
            raise
        if expected.unmanaged:
            self.recorder.event(pdb, WARNING, "UnmanagedPods",
                                UNMANAGED_PODS.format(selector=sub(pdb, "spec").get("selector")))
        return expected

    # -- finders: a pod's controller and its scale ------------------------------------------------

    def _find_scale(self, ref: Mapping[str, Any], namespace: str) -> tuple[str, int] | None:
        """The finders in Kubernetes' order: ReplicaSet (not a Deployment's), Deployment, StatefulSet."""
        for finder in (self._replica_set_scale, self._deployment_scale, self._stateful_set_scale):
            found = finder(ref, namespace)
            if found is not None:
                return found
        return None

    def _replica_set(self, ref: Mapping[str, Any], namespace: str) -> Object | None:
        if ref.get("kind") != "ReplicaSet" or not _is_apps(ref):
            return None
        rs = self.replica_sets.get_by_name(namespace, str(ref.get("name", "")))
        return rs if rs is not None and sub(rs, "metadata").get("uid") == ref.get("uid") else None

    def _replica_set_scale(self, ref: Mapping[str, Any], namespace: str) -> tuple[str, int] | None:
        rs = self._replica_set(ref, namespace)
        if rs is None or (controller_ref(rs) or {}).get("kind") == "Deployment":
            return None
        return _scale(rs)

    def _deployment_scale(self, ref: Mapping[str, Any], namespace: str) -> tuple[str, int] | None:
        rs = self._replica_set(ref, namespace)
        owner = controller_ref(rs) if rs is not None else None
        if owner is None or owner.get("kind") != "Deployment" or not _is_apps(owner):
            return None
        deployment = self.deployments.get_by_name(namespace, str(owner.get("name", "")))
        if deployment is None or sub(deployment, "metadata").get("uid") != owner.get("uid"):
            return None
        return _scale(deployment)

    def _stateful_set_scale(self, ref: Mapping[str, Any], namespace: str) -> tuple[str, int] | None:
        if ref.get("kind") != "StatefulSet" or not _is_apps(ref):
            return None
        sts = self.stateful_sets.get_by_name(namespace, str(ref.get("name", "")))
        if sts is None or sub(sts, "metadata").get("uid") != ref.get("uid"):
            return None
        return _scale(sts)


def _scale(obj: Object) -> tuple[str, int]:
    replicas = sub(obj, "spec").get("replicas")
    return str(sub(obj, "metadata").get("uid", "")), replicas if isinstance(replicas, int) else 1


def _is_apps(ref: Mapping[str, Any]) -> bool:
    return str(ref.get("apiVersion", "")).startswith("apps/")
