"""The StatefulSet controller: pods with stable names, created and deleted in order (pkg/controller/statefulset).

A StatefulSet ``web`` with ``replicas: 3`` owns pods ``web-0``, ``web-1``, ``web-2``. Unlike a ReplicaSet's
interchangeable pods, each has a stable identity (see ``statefulset_pods``) and, with the default
``podManagementPolicy: OrderedReady``, they come and go in order: ``web-1`` is created only once ``web-0`` is
Running and Ready, and scale-down removes the highest ordinal first, one at a time.

One reconcile of ``namespace/name``:

1. read the set from the cache (gone: nothing to do; the garbage collector deletes its pods);
2. claim its pods and ControllerRevisions (adopt matching orphans, release owned ones that stopped matching);
3. find the *update revision* (a ControllerRevision of the current template; created if new, re-numbered on a
   rollback) and the *current revision* (``status.currentRevision``);
4. decide the writes of this pass (``statefulset_sync.compute_stateful_set_plan``) and make them;
5. write the status (``statefulset_status``) and delete revisions beyond ``spec.revisionHistoryLimit`` that no
   pod uses any more.

Everything is re-derived from the caches each time, so a controller killed at any line converges when restarted.
``spec.volumeClaimTemplates`` are accepted but kubeling has no PersistentVolumeClaims: the controller records an
Event saying so and creates none.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Mapping
from typing import Any

from apimachinery import errors
from client.informer import Handler
from client.store import split_key
from controller_manager import history
from controller_manager.controller import Controller, ControllerContext
from controller_manager.podutil import controller_ref, owner_selector
from controller_manager.statefulset_pods import is_member_of, pod_revision
from controller_manager.statefulset_status import compute_stateful_set_status, status_changed
from controller_manager.statefulset_sync import Action, compute_stateful_set_plan

log = logging.getLogger(__name__)
Object = dict[str, Any]
KIND = "StatefulSet"
REVISIONS = "controllerrevisions.apps"


class StatefulSetController(Controller):
    name = "statefulset"
    event_source = "statefulset-controller"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.workers = int(ctx.option("concurrent_statefulset_syncs", 5))
        self.clock = time.time
        self.sets = ctx.informers.informer("statefulsets.apps")
        self.pods = ctx.informers.informer("pods")
        self.revisions = ctx.informers.informer(REVISIONS)
        self.sets.add_handler(Handler(on_add=self.enqueue, on_update=lambda _old, new: self.enqueue(new),
                                      on_delete=self.enqueue))
        owned = Handler(on_add=self._on_owned, on_update=self._on_owned_update, on_delete=self._on_owned)
        self.pods.add_handler(owned)
        self.revisions.add_handler(owned)

    # -- event handlers: only enqueue ----------------------------------------------------------

    def _on_owned(self, obj: Object) -> None:
        """A pod or revision changed: look at its controlling StatefulSet, or at every set that could adopt it."""
        ref = controller_ref(obj)
        namespace = obj["metadata"].get("namespace", "")
        if ref is not None:
            if ref.get("kind") == KIND:
                self.enqueue_key(f"{namespace}/{ref['name']}")
            return
        labels = obj["metadata"].get("labels") or {}
        for sts in self.sets.store.list(namespace):
            if owner_selector(sts).matches(labels):
                self.enqueue(sts)

    def _on_owned_update(self, old: Object, new: Object) -> None:
        if controller_ref(old) != controller_ref(new):
            self._on_owned(old)
        self._on_owned(new)

    # -- reconcile -----------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        namespace, name = split_key(key)
        sts = self.sets.store.get_by_name(namespace, name)
        if sts is None:
            return
        members = [p for p in self.pods.store.list(namespace) if is_member_of(sts, p)]
        pods = await history.claim(self.client, sts, members, "pods")
        revisions = await history.claim(self.client, sts, self.revisions.store.list(namespace), REVISIONS)
        current, update, collision_count = await self._find_revisions(sts, revisions)
        self._warn_volume_claim_templates(sts)
        plan = compute_stateful_set_plan(sts, pods, current, update, self.clock())
        for action in plan.actions:
            await self._execute(sts, action)
        status = compute_stateful_set_status(sts, pods, current["metadata"]["name"], update["metadata"]["name"],
                                             collision_count, self.clock())
        if status_changed(sts, status):
            await self.client.update_status({**copy.deepcopy(sts), "status": {**(sts.get("status") or {}),
                                                                               **status}})
        await self._truncate_history(sts, pods, revisions, current, update)
        if plan.requeue_after is not None:
            self.requeue_after(key, plan.requeue_after)

    async def _find_revisions(self, sts: Object, revisions: list[Object]) -> tuple[Object, Object, int]:
        """(current revision, update revision, collision count): getStatefulSetRevisions."""
        revisions = history.sort_revisions(revisions)
        collision_count = int((sts.get("status") or {}).get("collisionCount") or 0)
        update = history.new_controller_revision(sts, history.template_patch(sts),
                                                 history.next_revision_number(revisions), collision_count)
        equal = history.find_equal_revisions(revisions, update)
        if equal and history.equal_revision(revisions[-1], equal[-1]):
            update = revisions[-1]  # the template has not changed
        elif equal:  # a rollback to an older template: that revision becomes the newest
            update = await self.client.update({**copy.deepcopy(equal[-1]), "revision": update["revision"]})
        else:
            update, collision_count = await history.create_controller_revision(self.client, sts, update,
                                                                               collision_count)
        current_name = (sts.get("status") or {}).get("currentRevision")
        current = next((r for r in revisions if r["metadata"]["name"] == current_name), update)
        return current, update, collision_count

    def _warn_volume_claim_templates(self, sts: Object) -> None:
        generation = sts["metadata"].get("generation", 0)
        if (sts.get("spec") or {}).get("volumeClaimTemplates") and \
                (sts.get("status") or {}).get("observedGeneration") != generation:
            self.recorder.event(sts, "Warning", "VolumeClaimTemplatesNotEmulated",
                                "spec.volumeClaimTemplates is accepted but not emulated by kubeling: "
                                "no PersistentVolumeClaims are created")

    async def _execute(self, sts: Object, action: Action) -> None:
        pod = action.pod
        name, namespace = pod["metadata"]["name"], sts["metadata"].get("namespace", "")
        verb = action.verb
        try:
            if verb == "create":
                await self.client.create(pod)
            elif verb == "delete":
                await self.client.delete("pods", name, namespace)
            else:
                await self.client.update(pod)
        except (errors.AlreadyExists, errors.NotFound):
            return  # the cache is behind: the pod's own event brings us back
        except errors.ApiError as e:
            self.recorder.event(sts, "Warning", f"Failed{verb.capitalize()}",
                                f"{verb} Pod {name} in StatefulSet {sts['metadata']['name']} failed error: {e}")
            raise
        self.recorder.event(sts, "Normal", f"Successful{verb.capitalize()}",
                            f"{verb} Pod {name} in StatefulSet {sts['metadata']['name']} successful")

    async def _truncate_history(self, sts: Object, pods: list[Object], revisions: list[Object],
                                current: Mapping[str, Any], update: Mapping[str, Any]) -> None:
        live = {current["metadata"]["name"], update["metadata"]["name"], *(pod_revision(p) for p in pods)}
        limit = int((sts.get("spec") or {}).get("revisionHistoryLimit", 10))
        await history.delete_revisions(self.client, history.compute_revisions_to_truncate(revisions, live, limit))
