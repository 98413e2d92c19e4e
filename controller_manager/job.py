"""The Job controller: run pods until enough succeed, or give up (Kubernetes' pkg/controller/job).

reconcile(key), top to bottom:

1. Read the Job and the pods it controls from the caches. Job gone, finished or being deleted: release the
   ``batch.kubernetes.io/job-tracking`` finalizer of its pods and stop.
2. Preview which finished pods are new (``job_tracking``) to know how many succeeded and failed so far; feed
   them to the pod failure back-off record (``job_backoff``).
3. Decide whether the Job has failed (``job_conditions``): more failures than ``backoffLimit``, or
   ``activeDeadlineSeconds`` passed since ``startTime`` (else look again when it will have).
4. Failed (or already decided): delete the active pods. Otherwise manage pods (``job_manage``), unless earlier
   creates/deletes are still unobserved: suspended -> delete all; too many -> delete; too few -> create the
   difference with the tracking finalizer, unless the back-off since the last failure has not yet passed.
   Enough successes -> the Job's success is decided.
5. Count finished pods through ``status.uncountedTerminatedPods`` (write status, remove finalizers, move the
   counted uids into ``succeeded``/``failed``); once nothing is uncounted and no pod is terminating, write the
   terminal condition ``Complete``/``Failed`` and record the event.

Options: ``clock`` (time.time), ``concurrent_job_syncs`` (5), ``job_pod_failure_backoff`` (10 s),
``job_pod_failure_backoff_max`` (360 s), ``expectations_timeout`` (300 s).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from client.events import NORMAL, WARNING
from client.informer import Handler
from client.store import object_key
from controller_manager.controller import Controller, ControllerContext
from controller_manager.expectations import EXPECTATIONS_TIMEOUT, ControllerExpectations
from controller_manager.job_backoff import (
    DEFAULT_POD_FAILURE_BACKOFF,
    MAX_POD_FAILURE_BACKOFF,
    BackoffRecord,
    compute_backoff_record,
    compute_remaining_backoff,
)
from controller_manager.job_conditions import (
    COMPLETE,
    SUCCEEDED,
    SUSPENDED,
    Outcome,
    compute_complete,
    compute_failure,
    deadline_remaining,
    ensure_condition,
    existing_outcome,
    is_job_finished,
    is_suspended,
)
from controller_manager.job_indexes import format_indexes, parse_indexes
from controller_manager.job_manage import compute_manage_plan, sort_for_removal
from controller_manager.job_pod_control import FinalizerExpectations, JobPodControl
from controller_manager.job_tracking import (
    compute_counted,
    compute_tracking,
    has_tracking_finalizer,
    is_terminating,
    uid_of,
)
from controller_manager.podutil import controller_ref, format_time, is_pod_active, is_pod_ready

Object = dict[str, Any]
OWNER_INDEX = "job-controller/owner"


def job_owner_index(pod: Object) -> list[str]:
    """`namespace/name` of the Job controlling the pod (whatever its uid: stale pods of a deleted Job too)."""
    ref = controller_ref(pod)
    if ref is None or ref.get("kind") != "Job" or not str(ref.get("apiVersion", "")).startswith("batch/"):
        return []
    namespace = (pod.get("metadata") or {}).get("namespace", "")
    return [f"{namespace}/{ref.get('name', '')}"]


class JobController(Controller):
    name = "job"
    event_source = "job-controller"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.workers = int(ctx.option("concurrent_job_syncs", 5))
        self.clock: Callable[[], float] = ctx.option("clock", time.time)
        self.backoff_base = float(ctx.option("job_pod_failure_backoff", DEFAULT_POD_FAILURE_BACKOFF))
        self.backoff_max = float(ctx.option("job_pod_failure_backoff_max", MAX_POD_FAILURE_BACKOFF))
        self.expectations = ControllerExpectations(float(ctx.option("expectations_timeout", EXPECTATIONS_TIMEOUT)))
        self.finalizer_expectations = FinalizerExpectations()
        self.pod_control = JobPodControl(ctx, self.expectations, self.finalizer_expectations)
        self.backoff: dict[str, BackoffRecord] = {}
        self.jobs = ctx.informers.informer("jobs.batch")
        self.pods = ctx.informers.informer("pods")
        if OWNER_INDEX not in self.pods.store._indexers:
            self.pods.store.add_indexer(OWNER_INDEX, job_owner_index)
        self.jobs.add_handler(Handler(on_add=self.enqueue, on_update=lambda _old, new: self.enqueue(new),
                                      on_delete=self.enqueue))
        self.pods.add_handler(Handler(on_add=self._add_pod, on_update=self._update_pod, on_delete=self._delete_pod))

    # -- event handlers: lower expectations, enqueue the owning Job ------------------------------------------

    def _add_pod(self, pod: Object) -> None:
        for key in job_owner_index(pod):
            self.expectations.creation_observed(key)
            if pod["metadata"].get("deletionTimestamp"):
                self.expectations.deletion_observed(key, object_key(pod))
            self.enqueue_key(key)

    def _update_pod(self, old: Object, new: Object) -> None:
        for key in set(job_owner_index(old)) | set(job_owner_index(new)):
            if new["metadata"].get("deletionTimestamp") and not old["metadata"].get("deletionTimestamp"):
                self.expectations.deletion_observed(key, object_key(new))
            if has_tracking_finalizer(old) and not has_tracking_finalizer(new):
                self.finalizer_expectations.removal_observed(key, uid_of(new))
            self.enqueue_key(key)

    def _delete_pod(self, pod: Object) -> None:
        for key in job_owner_index(pod):
            self.expectations.deletion_observed(key, object_key(pod))
            self.finalizer_expectations.removal_observed(key, uid_of(pod))
            self.enqueue_key(key)

    # -- reconcile -------------------------------------------------------------------------------------------

    async def reconcile(self, key: str) -> None:
        job = self.jobs.store.get(key)
        owned = self.pods.store.by_index(OWNER_INDEX, key)
        uid = uid_of(job) if job is not None else None
        pods = [p for p in owned if (controller_ref(p) or {}).get("uid") == uid]
        strays = [p for p in owned if (controller_ref(p) or {}).get("uid") != uid]
        await self._release(key, strays)  # pods of a deleted Job, or of an older Job with the same name
        if job is None:
            self.expectations.delete_expectations(key)
            self.backoff.pop(key, None)
            return
        if is_job_finished(job) or job["metadata"].get("deletionTimestamp"):
            await self._release(key, pods)
            return
        await self._sync(key, job, pods)

    async def _release(self, key: str, pods: Sequence[Mapping[str, Any]]) -> None:
        expected = self.finalizer_expectations.expected(key)
        holding = [p for p in pods if has_tracking_finalizer(p) and uid_of(p) not in expected]
        if holding:
            await self.pod_control.remove_finalizers(key, holding)

    async def _sync(self, key: str, job: Object, pods: list[Object]) -> None:
        now = self.clock()
        spec, status = job["spec"], copy.deepcopy(job.get("status") or {})
        indexed = spec.get("completionMode") == "Indexed"
        expected_removals = self.finalizer_expectations.expected(key)
        active = [p for p in pods if is_pod_active(p)]
        terminating = sum(1 for p in pods if is_terminating(p))
        prev_indexes = parse_indexes(status.get("completedIndexes"), int(spec.get("completions") or 0)) \
            if indexed else set()

        outcome = existing_outcome(job)
        preview = compute_tracking(job, pods, expected_removals, prev_indexes, finishing=outcome is not None)
        succeeded = len(preview.succeeded_indexes) if indexed \
            else int(status.get("succeeded") or 0) + len(preview.uncounted_succeeded)
        failed = int(status.get("failed") or 0) + len(preview.uncounted_failed)
        record = compute_backoff_record(self.backoff.get(key, BackoffRecord()), preview.new_succeeded,
                                        preview.new_failed, now)
        self.backoff[key] = record

        self._update_suspension(job, status, now)
        if not status.get("startTime") and not is_suspended(job):
            status["startTime"] = format_time(now)
        view = {**job, "status": status}
        if outcome is None:
            outcome = compute_failure(view, failed, active, now)
            remaining = deadline_remaining(view, now)
            if outcome is None and remaining is not None:
                self.requeue_after(key, remaining)

        if outcome is not None:
            terminating += await self.pod_control.delete_pods(key, job, sort_for_removal(active))
            active_count = 0
        elif self.expectations.satisfied(key):
            active_count, deleted = await self._manage(key, job, active, succeeded, preview.succeeded_indexes,
                                                       terminating, record, now)
            terminating += deleted
        else:
            active_count = len(active)
        if outcome is None and compute_complete(job, succeeded, active_count, terminating):
            outcome = SUCCEEDED

        status["active"] = active_count
        status["ready"] = sum(1 for p in active if is_pod_ready(p)) if active_count else 0
        status["terminating"] = terminating
        if outcome is not None:
            status["conditions"], _ = ensure_condition(status.get("conditions") or [], outcome.interim, "True",
                                                       outcome.reason, outcome.message, now)
        await self._track(key, job, pods, status, outcome, terminating, expected_removals, prev_indexes, now)

    def _update_suspension(self, job: Object, status: Object, now: float) -> None:
        """The Suspended condition; resuming restarts startTime (so activeDeadlineSeconds counts afresh)."""
        conditions = status.get("conditions") or []
        if is_suspended(job):
            status["conditions"], changed = ensure_condition(conditions, SUSPENDED, "True", "JobSuspended",
                                                             "Job suspended", now)
            if changed:
                self.recorder.event(job, NORMAL, "Suspended", "Job suspended")
            return
        status["conditions"], changed = ensure_condition(conditions, SUSPENDED, "False", "JobResumed",
                                                         "Job resumed", now)
        if changed:
            self.recorder.event(job, NORMAL, "Resumed", "Job resumed")
            status["startTime"] = format_time(now)

    async def _manage(self, key: str, job: Object, active: list[Object], succeeded: int, indexes: set[int],
                      terminating: int, record: BackoffRecord, now: float) -> tuple[int, int]:
        """Create or delete pods toward the wanted number; returns (active pods after, pods deleted)."""
        if job["metadata"].get("deletionTimestamp"):
            return len(active), 0
        plan = compute_manage_plan(job, active, succeeded, indexes, terminating)
        if plan.delete:
            deleted = await self.pod_control.delete_pods(key, job, plan.delete)
            return len(active) - deleted, deleted
        if not plan.create:
            return len(active), 0
        wait = compute_remaining_backoff(record, now, self.backoff_base, self.backoff_max)
        if wait > 0:
            self.requeue_after(key, wait)
            return len(active), 0
        created = await self.pod_control.create_pods(key, job, plan.create)
        return len(active) + created, 0

    async def _track(self, key: str, job: Object, pods: list[Object], status: Object, outcome: Outcome | None,
                     terminating: int, expected_removals: set[str], prev_indexes: set[int], now: float) -> None:
        """Count finished pods in two phases through uncountedTerminatedPods; then maybe end the Job."""
        tracking = compute_tracking(job, pods, expected_removals, prev_indexes, finishing=outcome is not None)
        status["uncountedTerminatedPods"] = _uncounted(tracking.uncounted_succeeded, tracking.uncounted_failed)
        if job["spec"].get("completionMode") == "Indexed":
            status["succeeded"] = len(tracking.succeeded_indexes)
            status["completedIndexes"] = format_indexes(tracking.succeeded_indexes)
        job = await self._write_status(job, status)  # phase 1: the uids are recorded before any finalizer goes

        removed = await self.pod_control.remove_finalizers(key, tracking.remove_finalizer)  # phase 2
        holding = {uid_of(p) for p in pods if has_tracking_finalizer(p)} - expected_removals - removed
        status = copy.deepcopy(job.get("status") or {})
        still_succeeded, newly_succeeded = compute_counted(tracking.uncounted_succeeded, holding)  # phase 3
        still_failed, newly_failed = compute_counted(tracking.uncounted_failed, holding)
        status["succeeded"] = int(status.get("succeeded") or 0) + newly_succeeded
        status["failed"] = int(status.get("failed") or 0) + newly_failed
        status["uncountedTerminatedPods"] = _uncounted(still_succeeded, still_failed)
        if outcome is not None and not still_succeeded and not still_failed and terminating == 0:
            self._finish(job, status, outcome, now)
        await self._write_status(job, status)

    def _finish(self, job: Object, status: Object, outcome: Outcome, now: float) -> None:
        status["conditions"], changed = ensure_condition(status.get("conditions") or [], outcome.terminal, "True",
                                                         outcome.reason, outcome.message, now)
        if not changed:
            return
        if outcome.terminal == COMPLETE:
            status["completionTime"] = format_time(now)
            self.recorder.event(job, NORMAL, "Completed", "Job completed")
        else:
            self.recorder.event(job, WARNING, outcome.reason, outcome.message)

    async def _write_status(self, job: Object, status: Object) -> Object:
        """update_status with the cached resourceVersion (a stale cache answers Conflict and the key is retried)."""
        status = {k: v for k, v in status.items() if v not in (None, [], "") or k in ("ready", "terminating")}
        for count in ("active", "succeeded", "failed"):
            if not status.get(count):
                status.pop(count, None)
        if status == (job.get("status") or {}):
            return job
        return await self.client.update_status({**job, "status": status})


def _uncounted(succeeded: list[str], failed: list[str]) -> Object:
    """Kubernetes writes the object always and omits empty lists."""
    result: Object = {}
    if succeeded:
        result["succeeded"] = succeeded
    if failed:
        result["failed"] = failed
    return result
