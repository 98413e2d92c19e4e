"""The CronJob controller: given a CronJob, its Jobs and the time, reconcile makes these API calls."""

from __future__ import annotations

import asyncio
from typing import Any

from apimachinery import cron
from apimachinery.api.batch import default_cron_job
from controller_manager.cronjob import CronJobController
from controller_manager.cronjob_schedule import SCHEDULED_TIMESTAMP, Missed, location, most_recent_schedule_time
from controller_manager.podutil import format_time, parse_time
from tests.unit.controller_manager.harness import Harness

Object = dict[str, Any]
T0 = parse_time("2026-01-01T00:00:00Z") or 0.0  # the CronJob's creationTimestamp
MINUTE = 60.0


def make_cron_job(schedule: str = "* * * * *", status: Object | None = None, **spec: Any) -> Object:
    obj: Object = {"apiVersion": "batch/v1", "kind": "CronJob",
                   "metadata": {"name": "tick", "namespace": "default", "uid": "uid-tick",
                                "creationTimestamp": format_time(T0)},
                   "spec": {"schedule": schedule, "timeZone": "UTC", "jobTemplate": {
                       "metadata": {"labels": {"app": "tick"}},
                       "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                           {"name": "c", "image": "busybox"}]}}}}, **spec},
                   "status": status or {}}
    default_cron_job(obj)
    return obj


def make_job(name: str, condition: str | None = None, start: float = T0, completed: float | None = None) -> Object:
    status: Object = {"startTime": format_time(start)}
    if condition:
        status["conditions"] = [{"type": condition, "status": "True"}]
    if completed is not None:
        status["completionTime"] = format_time(completed)
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "ownerReferences": [
                {"apiVersion": "batch/v1", "kind": "CronJob", "name": "tick", "uid": "uid-tick", "controller": True}]},
            "spec": {}, "status": status}


def ref(name: str) -> Object:
    return {"apiVersion": "batch/v1", "kind": "Job", "namespace": "default", "name": name, "uid": f"uid-{name}"}


def harness(*objects: Object, now: float) -> Harness:
    return Harness(CronJobController, objects, {"clock": lambda: now})


def cj_status(h: Harness) -> Object:
    return (h.stored("cronjobs.batch", "tick", "default") or {}).get("status") or {}


def waiting(h: Harness) -> float:
    return h.controller.queue._waiting["default/tick"][0] - asyncio.get_running_loop().time()


async def test_nothing_runs_before_the_first_scheduled_time_and_it_wakes_just_after_it() -> None:
    h = harness(make_cron_job(), now=T0 + 30)
    await h.reconcile("default/tick")
    assert h.writes() == []
    assert 30.0 < waiting(h) <= 30.1


async def test_the_scheduled_minute_creates_a_job_named_after_it() -> None:
    scheduled = T0 + MINUTE
    h = harness(make_cron_job(), now=scheduled + 5)
    await h.reconcile("default/tick")
    name = f"tick-{int(scheduled) // 60}"
    job = h.stored("jobs.batch", name, "default")
    assert job is not None
    assert job["metadata"]["annotations"][SCHEDULED_TIMESTAMP] == "2026-01-01T00:01:00Z"
    assert job["metadata"]["labels"] == {"app": "tick"}
    assert job["metadata"]["ownerReferences"][0]["uid"] == "uid-tick"
    status = cj_status(h)
    assert status["lastScheduleTime"] == format_time(scheduled)
    assert [r["name"] for r in status["active"]] == [name]
    assert ("Normal", "SuccessfulCreate", f"Created job {name}") in h.events
    assert 55.0 < waiting(h) <= 55.1


async def test_a_job_created_before_a_crash_is_taken_into_status_not_created_twice() -> None:
    scheduled = T0 + MINUTE
    name = f"tick-{int(scheduled) // 60}"
    h = harness(make_cron_job(), make_job(name), now=scheduled + 5)
    await h.reconcile("default/tick")
    assert [r["name"] for r in cj_status(h)["active"]] == [name]
    assert len(h.all("jobs.batch")) == 1


async def test_an_already_scheduled_time_is_not_run_again() -> None:
    scheduled = T0 + MINUTE
    h = harness(make_cron_job(status={"lastScheduleTime": format_time(scheduled)}), now=scheduled + 5)
    await h.reconcile("default/tick")
    assert h.writes() == []


async def test_forbid_skips_a_run_while_one_is_active() -> None:
    cron_job = make_cron_job(concurrencyPolicy="Forbid", status={
        "active": [ref("old")], "lastScheduleTime": format_time(T0 + MINUTE)})
    h = harness(cron_job, make_job("old"), now=T0 + 2 * MINUTE + 1)
    await h.reconcile("default/tick")
    assert [w for w in h.writes() if w[0] == "create"] == []
    assert any(e[1] == "JobAlreadyActive" for e in h.events)


async def test_replace_deletes_the_active_job_before_starting_the_next() -> None:
    cron_job = make_cron_job(concurrencyPolicy="Replace", status={
        "active": [ref("old")], "lastScheduleTime": format_time(T0 + MINUTE)})
    h = harness(cron_job, make_job("old"), now=T0 + 2 * MINUTE + 1)
    await h.reconcile("default/tick")
    kinds = [(w[0], w[3]) for w in h.writes()]
    assert kinds.index(("delete", "old")) < kinds.index(("create", f"tick-{int(T0 + 2 * MINUTE) // 60}"))
    assert [r["name"] for r in cj_status(h)["active"]] == [f"tick-{int(T0 + 2 * MINUTE) // 60}"]


async def test_allow_runs_concurrently() -> None:
    cron_job = make_cron_job(status={"active": [ref("old")], "lastScheduleTime": format_time(T0 + MINUTE)})
    h = harness(cron_job, make_job("old"), now=T0 + 2 * MINUTE + 1)
    await h.reconcile("default/tick")
    assert len(cj_status(h)["active"]) == 2


async def test_a_suspended_cron_job_creates_nothing() -> None:
    h = harness(make_cron_job(suspend=True), now=T0 + 5 * MINUTE)
    await h.reconcile("default/tick")
    assert h.writes() == []


async def test_a_time_missed_beyond_the_starting_deadline_is_skipped_with_an_event() -> None:
    h = harness(make_cron_job("0 * * * *", startingDeadlineSeconds=10), now=T0 + 3600 + 30)
    await h.reconcile("default/tick")
    assert h.writes() == []


async def test_many_missed_times_warn_and_run_only_the_latest() -> None:
    h = harness(make_cron_job(), now=T0 + 200 * MINUTE + 1)
    await h.reconcile("default/tick")
    assert any(e[1] == "TooManyMissedTimes" for e in h.events)
    assert [w[3] for w in h.writes() if w[0] == "create"] == [f"tick-{int(T0 + 200 * MINUTE) // 60}"]


async def test_finished_jobs_leave_active_and_set_last_successful_time() -> None:
    cron_job = make_cron_job(status={"active": [ref("done")], "lastScheduleTime": format_time(T0 + MINUTE)})
    h = harness(cron_job, make_job("done", "Complete", completed=T0 + 70), now=T0 + 90)
    await h.reconcile("default/tick")
    status = cj_status(h)
    assert "active" not in status
    assert status["lastSuccessfulTime"] == format_time(T0 + 70)
    assert any(e[1] == "SawCompletedJob" for e in h.events)


async def test_an_active_job_missing_from_the_apiserver_leaves_active() -> None:
    cron_job = make_cron_job(status={"active": [ref("gone")], "lastScheduleTime": format_time(T0 + MINUTE)})
    h = harness(cron_job, now=T0 + 90)
    await h.reconcile("default/tick")
    assert "active" not in cj_status(h)
    assert any(e[1] == "MissingJob" for e in h.events)


async def test_history_limits_delete_the_oldest_finished_jobs() -> None:
    jobs = [make_job(f"ok{i}", "Complete", start=T0 + i) for i in range(5)]
    jobs += [make_job(f"bad{i}", "Failed", start=T0 + i) for i in range(3)]
    h = harness(make_cron_job(status={"lastScheduleTime": format_time(T0)}), *jobs, now=T0 + 30)
    await h.reconcile("default/tick")
    deleted = sorted(w[3] for w in h.writes() if w[0] == "delete")
    assert deleted == ["bad0", "bad1", "ok0", "ok1"]


async def test_the_schedule_follows_the_time_zone() -> None:
    # 09:00 in Tokyo is 00:00 UTC
    h = harness(make_cron_job("0 9 * * *", timeZone="Asia/Tokyo"), now=T0 + 86400 + 5)
    await h.reconcile("default/tick")
    assert cj_status(h)["lastScheduleTime"] == format_time(T0 + 86400)


def test_irregular_schedules_find_the_true_most_recent_time() -> None:
    schedule = cron.parse("30 6-16/4 * * 1-5")
    cron_job = make_cron_job("30 6-16/4 * * 1-5")
    now = parse_time("2026-01-09T18:00:00Z") or 0.0  # a Friday, after the 14:30 run
    _, recent, missed = most_recent_schedule_time(cron_job, now, schedule, location("UTC"), include_deadline=False)
    assert recent == parse_time("2026-01-09T14:30:00Z")
    assert missed is Missed.FEW
