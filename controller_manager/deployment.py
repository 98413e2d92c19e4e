"""The Deployment loop: roll a pod template out through ReplicaSets (Kubernetes' pkg/controller/deployment).

A Deployment never touches pods. It owns ReplicaSets, one per pod template it has had, named
``<deployment>-<pod-template-hash>``; the *new* one carries the current template, the *old* ones earlier templates.
A rollout moves replicas from the old ReplicaSets to the new one; the ReplicaSet controller makes the pods.

reconcile(key), top to bottom (syncDeployment):

1. Read the Deployment from the cache; claim its ReplicaSets (adopt matching orphans, release non-matching).
2. Being deleted: only write the status.
3. Record pausing/resuming in the Progressing condition. Paused: ``sync`` (scaling only, no rollout).
4. A scaling event (a ReplicaSet's desired-replicas annotation differs from spec.replicas): ``sync`` scales the
   active ReplicaSets proportionally.
5. Otherwise roll out: ``deployment_recreate.rollout_recreate`` or ``deployment_rolling.rollout_rolling``.

Rollback is client-side, as in apps/v1 (``kubectl rollout undo``): the Deployment's template is patched back to an
old ReplicaSet's; that ReplicaSet then *is* the new one and gets the next revision number.

Handlers enqueue the owning Deployment of a ReplicaSet event (or every Deployment selecting an orphan), and, for
Recreate, of a deleted pod (it may be the last old one).

Options: ``concurrent_deployment_syncs`` (5).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import Any

from client.informer import Handler
from client.store import split_key
from controller_manager import deployment_sync as sync
from controller_manager import deployment_util as util
from controller_manager.controller import Controller, ControllerContext
from controller_manager.deployment_recreate import rollout_recreate
from controller_manager.deployment_rolling import rollout_rolling
from controller_manager.podutil import controller_ref, owner_selector
from controller_manager.replicaset_claims import claim

log = logging.getLogger(__name__)
Object = dict[str, Any]


class DeploymentController(Controller):
    name = "deployment"
    event_source = "deployment-controller"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.workers = int(ctx.option("concurrent_deployment_syncs", 5))
        self.d_informer = ctx.informers.informer("deployments.apps")
        self.rs_informer = ctx.informers.informer("replicasets.apps")
        self.pod_informer = ctx.informers.informer("pods")
        self.d_informer.add_handler(Handler(on_add=self.enqueue, on_update=lambda _old, new: self.enqueue(new),
                                            on_delete=self.enqueue))
        self.rs_informer.add_handler(Handler(on_add=self._add_rs, on_update=self._update_rs,
                                             on_delete=self._delete_rs))
        self.pod_informer.add_handler(Handler(on_delete=self._delete_pod))

    # -- event handlers ------------------------------------------------------------------------------

    def _resolve(self, namespace: str, ref: Mapping[str, Any] | None) -> Object | None:
        if ref is None or ref.get("kind") != "Deployment":
            return None
        d = self.d_informer.store.get_by_name(namespace, ref.get("name", ""))
        return d if d is not None and d["metadata"].get("uid") == ref.get("uid") else None

    def _selecting(self, rs: Object) -> list[Object]:
        labels = rs["metadata"].get("labels") or {}
        found = []
        for d in self.d_informer.store.list(rs["metadata"].get("namespace", "")):
            try:
                selector = owner_selector(d)
            except ValueError:
                continue
            if not selector.empty and selector.matches(labels):
                found.append(d)
        return found

    def _add_rs(self, rs: Object) -> None:
        if rs["metadata"].get("deletionTimestamp"):
            self._delete_rs(rs)
            return
        ref = controller_ref(rs)
        if ref is not None:
            d = self._resolve(rs["metadata"].get("namespace", ""), ref)
            if d is not None:
                self.enqueue(d)
            return
        for d in self._selecting(rs):
            self.enqueue(d)

    def _update_rs(self, old: Object, new: Object) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        namespace = new["metadata"].get("namespace", "")
        old_ref, new_ref = controller_ref(old), controller_ref(new)
        if old_ref != new_ref and (old_d := self._resolve(namespace, old_ref)) is not None:
            self.enqueue(old_d)
        if new_ref is not None:
            d = self._resolve(namespace, new_ref)
            if d is not None:
                self.enqueue(d)
            return
        if old["metadata"].get("labels") != new["metadata"].get("labels") or old_ref != new_ref:
            for d in self._selecting(new):
                self.enqueue(d)

    def _delete_rs(self, rs: Object) -> None:
        d = self._resolve(rs["metadata"].get("namespace", ""), controller_ref(rs))
        if d is not None:
            self.enqueue(d)

    def _delete_pod(self, pod: Object) -> None:
        """Recreate waits for the old pods to be gone: the last one's deletion must wake it."""
        namespace = pod["metadata"].get("namespace", "")
        rs_ref = controller_ref(pod)
        if rs_ref is None or rs_ref.get("kind") != "ReplicaSet":
            return
        rs = self.rs_informer.store.get_by_name(namespace, rs_ref.get("name", ""))
        d = self._resolve(namespace, controller_ref(rs)) if rs is not None else None
        if d is not None and not util.is_rolling_update(d):
            self.enqueue(d)

    # -- reconcile -----------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        cached = self.d_informer.store.get(key)
        if cached is None:
            return
        d = copy.deepcopy(cached)
        namespace, _ = split_key(key)
        rs_list = await claim(self.client, d, owner_selector(d), self.rs_informer.store.list(namespace),
                              "replicasets.apps")
        if d["metadata"].get("deletionTimestamp"):
            new_rs, old_rss = await sync.get_all_replica_sets_and_sync_revision(self, d, rs_list, False)
            await sync.sync_deployment_status(self, [*old_rss, new_rs], new_rs, d)
            return
        await sync.check_paused_conditions(self, d)
        if d["spec"].get("paused") or await sync.is_scaling_event(self, d, rs_list):
            await sync.sync(self, d, rs_list)
            return
        if util.is_rolling_update(d):
            await rollout_rolling(self, d, rs_list)
        else:
            await rollout_recreate(self, d, rs_list, self._pods_by_rs_uid(namespace, rs_list))

    def _pods_by_rs_uid(self, namespace: str, rs_list: list[Object]) -> dict[str, list[Object]]:
        """getPodMapForDeployment: the pods each claimed ReplicaSet controls."""
        by_uid: dict[str, list[Object]] = {rs["metadata"]["uid"]: [] for rs in rs_list}
        for pod in self.pod_informer.store.list(namespace):
            uid = (controller_ref(pod) or {}).get("uid")
            if uid in by_uid:
                by_uid[uid].append(pod)
        return by_uid
