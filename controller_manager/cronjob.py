"""The CronJob controller: create a Job at every scheduled time (Kubernetes' cronjob controller v2).

reconcile(key), top to bottom:

1. Read the CronJob and the Jobs it controls from the caches. Reconcile ``status.active`` with them: finished
   Jobs leave it (event SawCompletedJob), Jobs gone from the apiserver too (MissingJob); the latest successful
   completion becomes ``lastSuccessfulTime``.
2. Unless being deleted, suspended or unparseable: find the most recent unmet schedule time (``cronjob_schedule``);
   too many missed -> event TooManyMissedTimes; older than ``startingDeadlineSeconds`` -> event MissSchedule.
3. Already run for that time (``lastScheduleTime`` or a Job of that name active) -> nothing. ``Forbid`` with an
   active Job -> skip (JobAlreadyActive). ``Replace`` -> delete the active Jobs first.
4. Create ``<cronjob>-<minutes since epoch>`` (the name makes a second try after a crash answer AlreadyExists),
   add it to ``status.active`` and set ``lastScheduleTime``.
5. Delete the oldest finished Jobs beyond ``successfulJobsHistoryLimit`` / ``failedJobsHistoryLimit``; write the
   status; look again just after the next schedule time.

Options: ``clock`` (time.time), ``concurrent_cron_job_syncs`` (5).
"""

from __future__ import annotations

import copy
import time
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from apimachinery import cron, errors
from client.events import NORMAL, WARNING
from client.informer import Handler
from controller_manager.controller import Controller, ControllerContext
from controller_manager.cronjob_history import compute_jobs_to_clean_up
from controller_manager.cronjob_schedule import (
    Missed,
    job_from_template,
    job_name,
    location,
    next_schedule_time,
    requeue_delay,
    time_zone_name,
)
from controller_manager.job_conditions import COMPLETE, FAILED, is_job_finished, is_true
from controller_manager.job_tracking import uid_of
from controller_manager.podutil import controller_ref, format_time, is_controlled_by, parse_time

Object = dict[str, Any]
OWNER_INDEX = "cronjob-controller/owner"


def cron_job_owner_index(job: Object) -> list[str]:
    ref = controller_ref(job)
    if ref is None or ref.get("kind") != "CronJob":
        return []
    return [f"{(job.get('metadata') or {}).get('namespace', '')}/{ref.get('name', '')}"]


def job_ref(job: Mapping[str, Any]) -> Object:
    meta = job["metadata"]
    return {"apiVersion": "batch/v1", "kind": "Job", "namespace": meta.get("namespace"), "name": meta["name"],
            "uid": meta.get("uid"), "resourceVersion": meta.get("resourceVersion")}


def rfc1123z(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


class CronJobController(Controller):
    name = "cronjob"
    event_source = "cronjob-controller"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.workers = int(ctx.option("concurrent_cron_job_syncs", 5))
        self.clock: Callable[[], float] = ctx.option("clock", time.time)
        self.cron_jobs = ctx.informers.informer("cronjobs.batch")
        self.jobs = ctx.informers.informer("jobs.batch")
        if OWNER_INDEX not in self.jobs.store._indexers:
            self.jobs.store.add_indexer(OWNER_INDEX, cron_job_owner_index)
        self.cron_jobs.add_handler(Handler(on_add=self.enqueue, on_update=lambda _old, new: self.enqueue(new)))
        self.jobs.add_handler(Handler(on_add=self._enqueue_owner, on_update=self._job_updated,
                                      on_delete=self._enqueue_owner))

    def _job_updated(self, old: Object, new: Object) -> None:
        self._enqueue_owner(old)
        self._enqueue_owner(new)

    def _enqueue_owner(self, job: Object) -> None:
        for key in cron_job_owner_index(job):
            self.enqueue_key(key)

    async def reconcile(self, key: str) -> None:
        cron_job = self.cron_jobs.store.get(key)
        if cron_job is None:
            return
        jobs = [j for j in self.jobs.store.by_index(OWNER_INDEX, key) if is_controlled_by(j, cron_job)]
        status = copy.deepcopy(cron_job.get("status") or {})
        await self._sync_active(cron_job, jobs, status)
        delay = await self._schedule(cron_job, status)
        if not cron_job["metadata"].get("deletionTimestamp"):
            await self._clean_up_history(cron_job, jobs, status)
        if status != (cron_job.get("status") or {}):
            await self.client.update_status({**cron_job, "status": status})
        if delay is not None:
            self.requeue_after(key, max(delay, 0.0))

    async def _sync_active(self, cron_job: Object, jobs: Sequence[Object], status: Object) -> None:
        """status.active against the Jobs that exist; lastSuccessfulTime from the latest completion."""
        active_uids = {ref.get("uid") for ref in status.get("active") or []}
        for job in jobs:
            finished = is_job_finished(job)
            if uid_of(job) not in active_uids and not finished:
                self.recorder.event(cron_job, WARNING, "UnexpectedJob", "Saw a job that the controller did not "
                                    f"create or forgot: {job['metadata']['name']}")
            elif uid_of(job) in active_uids and finished:
                condition = COMPLETE if is_true(job, COMPLETE) else FAILED
                _remove_active(status, uid_of(job))
                self.recorder.event(cron_job, NORMAL, "SawCompletedJob",
                                    f"Saw completed job: {job['metadata']['name']}, condition: {condition}")
            if is_true(job, COMPLETE):
                completed = parse_time((job.get("status") or {}).get("completionTime"))
                last = parse_time(status.get("lastSuccessfulTime"))
                if completed is not None and (last is None or completed > last):
                    status["lastSuccessfulTime"] = format_time(completed)
        existing = {uid_of(j) for j in jobs}
        for ref in list(status.get("active") or []):
            if ref.get("uid") in existing:
                continue
            try:  # the cache may just be slow: ask the apiserver
                await self.client.get("jobs.batch", ref.get("name", ""), ref.get("namespace", ""))
            except errors.NotFound:
                self.recorder.event(cron_job, NORMAL, "MissingJob", f"Active job went missing: {ref.get('name')}")
                _remove_active(status, ref.get("uid"))

    async def _schedule(self, cron_job: Object, status: Object) -> float | None:
        """Start the Job of the most recent unmet schedule time, if due; the delay until the next look."""
        spec = cron_job["spec"]
        if cron_job["metadata"].get("deletionTimestamp"):
            return None
        zone_name = time_zone_name(cron_job)
        try:
            zone = location(zone_name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
            self.recorder.event(cron_job, WARNING, "UnknownTimeZone", f'invalid timeZone: "{zone_name}": {e}')
            return None
        if spec.get("suspend"):
            return None
        try:
            schedule = cron.parse(str(spec.get("schedule") or ""))
        except cron.CronError as e:
            self.recorder.event(cron_job, WARNING, "UnparseableSchedule",
                                f'unparseable schedule: "{spec.get("schedule")}" : {e}')
            return None
        now = self.clock()
        view = {**cron_job, "status": status}
        try:
            scheduled, missed = next_schedule_time(view, now, schedule, zone)
        except ValueError as e:
            self.recorder.event(cron_job, WARNING, "InvalidSchedule", f"invalid schedule: {spec.get('schedule')} : {e}")
            return None
        if missed is Missed.MANY:
            self.recorder.event(cron_job, WARNING, "TooManyMissedTimes", "too many missed start times. Set or "
                                "decrease .spec.startingDeadlineSeconds or check clock skew")
        if scheduled is not None:
            await self._start(cron_job, status, scheduled, zone, now)
        return requeue_delay({**cron_job, "status": status}, now, schedule, zone)

    async def _start(self, cron_job: Object, status: Object, scheduled: float, zone: Any, now: float) -> None:
        spec = cron_job["spec"]
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None and scheduled + float(deadline) < now:
            self.recorder.event(cron_job, WARNING, "MissSchedule",
                                f"Missed scheduled time to start a job: {rfc1123z(scheduled)}")
            return
        name = job_name(cron_job, scheduled)
        active = status.get("active") or []
        if any(ref.get("name") == name for ref in active) or parse_time(status.get("lastScheduleTime")) == scheduled:
            return
        policy = spec.get("concurrencyPolicy", "Allow")
        if policy == "Forbid" and active:
            self.recorder.event(cron_job, NORMAL, "JobAlreadyActive", "Not starting job because prior execution is "
                                "running and concurrency policy is Forbid")
            return
        if policy == "Replace":
            for ref in list(active):
                await self._delete_job(cron_job, status, ref.get("name", ""), ref.get("uid"))
        created = await self._create_job(cron_job, job_from_template(cron_job, scheduled, zone))
        if created is None:
            return
        status.setdefault("active", []).append(job_ref(created))
        status["lastScheduleTime"] = format_time(scheduled)

    async def _create_job(self, cron_job: Object, job: Object) -> Object | None:
        """Create the Job; if it exists already (an earlier try), take it when it is ours."""
        try:
            created = await self.client.create(job)
        except errors.AlreadyExists:
            existing = await self.client.get("jobs.batch", job["metadata"]["name"], job["metadata"]["namespace"])
            return existing if is_controlled_by(existing, cron_job) else None
        except Exception as e:
            self.recorder.event(cron_job, WARNING, "FailedCreate", f"Error creating job: {e}")
            raise
        self.recorder.event(cron_job, NORMAL, "SuccessfulCreate", f"Created job {created['metadata']['name']}")
        return created

    async def _delete_job(self, cron_job: Object, status: Object, name: str, uid: Any) -> None:
        try:
            await self.client.delete("jobs.batch", name, cron_job["metadata"].get("namespace", ""),
                                     propagation_policy="Background")
        except errors.NotFound:
            pass
        except Exception as e:
            self.recorder.event(cron_job, WARNING, "FailedDelete", f"Deleted job: {e}")
            raise
        else:
            self.recorder.event(cron_job, NORMAL, "SuccessfulDelete", f"Deleted job {name}")
        _remove_active(status, uid)

    async def _clean_up_history(self, cron_job: Object, jobs: Sequence[Object], status: Object) -> None:
        for job in compute_jobs_to_clean_up(cron_job, jobs):
            await self._delete_job(cron_job, status, job["metadata"]["name"], uid_of(job))


def _remove_active(status: Object, uid: Any) -> None:
    status["active"] = [ref for ref in status.get("active") or [] if ref.get("uid") != uid]
    if not status["active"]:
        del status["active"]


