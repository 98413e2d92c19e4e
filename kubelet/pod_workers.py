"""Pod workers: one serial worker per pod; the latest pod object wins. Kubernetes' ``podWorkers``.

Every event about a pod (an update from the apiserver, a container change seen by the PLEG, a probe result, a
timer) only *wakes* that pod's worker. The worker then syncs with the latest pod object it was given; updates that
arrive while a sync runs are coalesced into one more sync. So a pod is never synced twice at once, and a burst of
updates costs one sync, not one per update.

A worker's life:

* live pod → :meth:`PodSyncer.sync_pod` (start what is missing, write the status), again when woken;
* ``deletionTimestamp`` set → :meth:`PodSyncer.terminate_pod` (graceful stop, clean up), then the pod object is
  deleted with grace 0; the worker ends when the apiserver's DELETED event arrives;
* pod object gone (deleted by force, or an orphan found in the runtime after a restart) → terminate and end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from client.backoff import Backoff
from kubelet.pod_sync import PodSyncer, PodSyncState
from kubelet.status_manager import StatusManager

log = logging.getLogger(__name__)
Object = dict[str, Any]


@dataclass
class _Worker:
    pod: Object
    removed: bool = False  # the pod object is gone from the apiserver
    state: PodSyncState = field(default_factory=PodSyncState)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    timer: asyncio.TimerHandle | None = None
    task: asyncio.Task[None] | None = None
    backoff: Backoff = field(default_factory=lambda: Backoff(initial=0.5, factor=2.0, cap=10.0))


class PodWorkers:
    def __init__(self, syncer: PodSyncer, status: StatusManager) -> None:
        self.syncer = syncer
        self.status = status
        self._workers: dict[str, _Worker] = {}
        self.syncs = 0

    def __contains__(self, uid: str) -> bool:
        return uid in self._workers

    def uids(self) -> Iterable[str]:
        return list(self._workers)

    # -- events ------------------------------------------------------------------------------------------------

    def update_pod(self, pod: Object, *, wake: bool = True) -> None:
        """A pod bound to this node was added or changed in the apiserver (``wake``: sync it again)."""
        uid = pod["metadata"]["uid"]
        worker = self._workers.get(uid)
        if worker is None:
            worker = self._workers[uid] = _Worker(pod)
            worker.task = asyncio.create_task(self._run(uid, worker), name=f"pod-worker-{uid}")
            wake = True
        elif not worker.removed:
            worker.pod = pod
        if wake:
            worker.wake.set()

    def remove_pod(self, pod: Object) -> None:
        """The pod object is gone: stop its containers (if any still run) and clean up."""
        uid = pod["metadata"]["uid"]
        if uid not in self._workers:
            self.update_pod(pod)
        worker = self._workers[uid]
        worker.removed = True
        worker.wake.set()

    def wake(self, uid: str) -> None:
        worker = self._workers.get(uid)
        if worker is not None:
            worker.wake.set()

    def wake_all(self) -> None:
        for worker in self._workers.values():
            worker.wake.set()

    async def stop(self) -> None:
        tasks = [w.task for w in self._workers.values() if w.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- the worker loop ---------------------------------------------------------------------------------------

    async def _run(self, uid: str, worker: _Worker) -> None:
        try:
            while True:
                await worker.wake.wait()
                worker.wake.clear()
                if worker.timer is not None:
                    worker.timer.cancel()
                    worker.timer = None
                try:
                    done, delay = await self._sync_once(worker)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    delay = worker.backoff.next()
                    log.exception("pod %s: sync failed; retrying in %.1fs", uid, delay)
                    done = False
                else:
                    worker.backoff.reset()
                if done:
                    return
                if delay is not None:
                    worker.timer = asyncio.get_running_loop().call_later(delay, worker.wake.set)
        finally:
            if worker.timer is not None:
                worker.timer.cancel()
            if self._workers.get(uid) is worker:
                del self._workers[uid]
                self.status.forget(uid)

    async def _sync_once(self, worker: _Worker) -> tuple[bool, float | None]:
        """One sync of the pod's latest object: (worker finished?, seconds until the next sync is due)."""
        self.syncs += 1
        pod = worker.pod
        if worker.removed:
            await self.syncer.terminate_pod(pod, worker.state, write_status=False)
            return True, None
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            await self.syncer.terminate_pod(pod, worker.state)
            await self.status.confirm_deletion(pod)
            return False, 5.0  # the DELETED event ends this worker; until then, re-confirm now and then
        return False, await self.syncer.sync_pod(pod, worker.state)
