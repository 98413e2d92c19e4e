"""TTL after finished: delete a finished Job ``ttlSecondsAfterFinished`` after it finished
(Kubernetes' pkg/controller/ttlafterfinished).

reconcile(key):

1. Read the Job from the cache; nothing to do unless it has a TTL, is finished (Complete or Failed) and is not
   already being deleted.
2. Not yet expired (finish time = the terminal condition's lastTransitionTime, + TTL): look again then.
3. Expired: re-read the Job from the apiserver (the TTL may have been changed or the Job recreated meanwhile),
   check again, and delete it with ``propagationPolicy: Background`` and a resourceVersion precondition, so a Job
   modified after the check is not deleted by mistake (the garbage collector removes its pods).

Options: ``clock`` (time.time), ``concurrent_ttl_syncs`` (5).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from apimachinery import errors
from client.informer import Handler
from client.store import split_key
from controller_manager.controller import Controller, ControllerContext
from controller_manager.job_conditions import COMPLETE, FAILED
from controller_manager.podutil import parse_time

Object = dict[str, Any]


def finish_time(job: Mapping[str, Any]) -> float | None:
    """When the Job finished: its True Complete/Failed condition's lastTransitionTime (None if not finished)."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") in (COMPLETE, FAILED) and condition.get("status") == "True":
            return parse_time(condition.get("lastTransitionTime"))
    return None


def needs_cleanup(job: Mapping[str, Any]) -> bool:
    return ((job.get("spec") or {}).get("ttlSecondsAfterFinished") is not None
            and finish_time(job) is not None and not (job.get("metadata") or {}).get("deletionTimestamp"))


def compute_time_left(job: Mapping[str, Any], now: float) -> float | None:
    """Seconds until the Job expires (≤ 0: expired), or None when it needs no clean-up."""
    finished = finish_time(job)
    if not needs_cleanup(job) or finished is None:
        return None
    return finished + float(job["spec"]["ttlSecondsAfterFinished"]) - now


class TTLAfterFinishedController(Controller):
    name = "ttl-after-finished"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.workers = int(ctx.option("concurrent_ttl_syncs", 5))
        self.clock: Callable[[], float] = ctx.option("clock", time.time)
        self.jobs = ctx.informers.informer("jobs.batch")
        self.jobs.add_handler(Handler(on_add=self._maybe_enqueue, on_update=lambda _old, new: self._maybe_enqueue(new)))

    def _maybe_enqueue(self, job: Object) -> None:
        if needs_cleanup(job):
            self.enqueue(job)

    async def reconcile(self, key: str) -> None:
        cached = self.jobs.store.get(key)
        if cached is None or not self._expired(key, cached):
            return
        namespace, name = split_key(key)
        try:
            fresh = await self.client.get("jobs.batch", name, namespace)
        except errors.NotFound:
            return
        if not self._expired(key, fresh):
            return
        try:
            await self.client.delete("jobs.batch", name, namespace, propagation_policy="Background",
                                     preconditions={"resourceVersion": fresh["metadata"]["resourceVersion"]})
        except errors.NotFound:
            return

    def _expired(self, key: str, job: Mapping[str, Any]) -> bool:
        """True when expired; else requeue for when it will be (if it needs clean-up at all)."""
        left = compute_time_left(job, self.clock())
        if left is None:
            return False
        if left > 0:
            self.requeue_after(key, left)
            return False
        return True
