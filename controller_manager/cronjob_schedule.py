"""When a CronJob runs next, and the Job it creates (Kubernetes' pkg/controller/cronjob/utils.go). Pure functions.

Times are epoch seconds at the edges and zone-aware datetimes inside: the schedule is evaluated on the wall clock of
``spec.timeZone`` (or a legacy ``CRON_TZ=``/``TZ=`` prefix), else of the controller-manager's zone, as Kubernetes does.
"""

from __future__ import annotations

import copy
import zoneinfo
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from enum import Enum
from typing import Any

from apimachinery.cron import Schedule
from controller_manager.podutil import new_controller_ref, parse_time

SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
MANY_MISSED = 100  # more missed start times than this: event TooManyMissedTimes
NEXT_SCHEDULE_DELTA = 0.1  # wake a little after the scheduled time, never just before it
Object = dict[str, Any]


class Missed(Enum):
    NONE = "none"
    FEW = "few"
    MANY = "many"


def time_zone_name(cron_job: Mapping[str, Any]) -> str | None:
    """spec.timeZone, else the zone of a ``CRON_TZ=``/``TZ=`` schedule prefix, else None (local)."""
    spec = cron_job.get("spec") or {}
    if spec.get("timeZone"):
        return str(spec["timeZone"])
    schedule = str(spec.get("schedule") or "")
    if schedule.startswith(("TZ=", "CRON_TZ=")):
        return schedule.split(" ", 1)[0].split("=", 1)[1]
    return None


def location(name: str | None) -> tzinfo:
    """The zone to evaluate the schedule in; raises zoneinfo.ZoneInfoNotFoundError/ValueError for an unknown one."""
    if not name:
        local = datetime.now().astimezone().tzinfo
        return local if local is not None else UTC
    return UTC if name == "UTC" else zoneinfo.ZoneInfo(name)


def _next(schedule: Schedule, when: float, zone: tzinfo) -> float:
    return schedule.next_after(datetime.fromtimestamp(when, zone)).timestamp()


def most_recent_schedule_time(cron_job: Mapping[str, Any], now: float, schedule: Schedule, zone: tzinfo,
                              include_deadline: bool) -> tuple[float, float | None, Missed]:
    """(earliest time considered, the latest schedule time ≤ now after it or None, how many were missed).

    Earliest is the last schedule time (else the creation time), moved up to ``now - startingDeadlineSeconds``."""
    status, spec = cron_job.get("status") or {}, cron_job.get("spec") or {}
    earliest = parse_time(status.get("lastScheduleTime")) or \
        parse_time((cron_job.get("metadata") or {}).get("creationTimestamp")) or now
    deadline = spec.get("startingDeadlineSeconds")
    if include_deadline and deadline is not None:
        earliest = max(earliest, now - float(deadline))
    t1 = _next(schedule, earliest, zone)
    if now < t1:
        return earliest, None, Missed.NONE
    t2 = _next(schedule, t1, zone)
    if now < t2:
        return earliest, t1, Missed.FEW
    between = round(t2 - t1)
    if between < 1:
        raise ValueError("time difference between two schedules is less than 1 second")
    missed = int(now - t1) // between + 1
    most_recent = t1 + (missed - 1) * between
    following = _next(schedule, most_recent, zone)
    while following <= now:  # irregular schedules: walk to the true latest one
        most_recent, following = following, _next(schedule, following, zone)
    return earliest, most_recent, Missed.MANY if missed > MANY_MISSED else Missed.FEW


def next_schedule_time(cron_job: Mapping[str, Any], now: float, schedule: Schedule,
                       zone: tzinfo) -> tuple[float | None, Missed]:
    """The unmet schedule time to start a Job for now (None: none is due), within startingDeadlineSeconds."""
    _, most_recent, missed = most_recent_schedule_time(cron_job, now, schedule, zone, include_deadline=True)
    if most_recent is None or most_recent > now:
        return None, missed
    return most_recent, missed


def requeue_delay(cron_job: Mapping[str, Any], now: float, schedule: Schedule, zone: tzinfo) -> float:
    """Seconds until just after the next schedule time (nextScheduleTimeDuration)."""
    earliest, most_recent, _ = most_recent_schedule_time(cron_job, now, schedule, zone, include_deadline=False)
    base = most_recent if most_recent is not None else earliest
    return _next(schedule, base, zone) + NEXT_SCHEDULE_DELTA - now


def job_name(cron_job: Mapping[str, Any], scheduled: float) -> str:
    """``<cronjob>-<scheduled time in minutes since the epoch>``: the same name for the same run, a natural lock."""
    return f"{cron_job['metadata']['name']}-{int(scheduled) // 60}"


def job_from_template(cron_job: Mapping[str, Any], scheduled: float, zone: tzinfo) -> Object:
    """The Job for one run: the jobTemplate, owned by the CronJob, annotated with its scheduled time."""
    template = (cron_job.get("spec") or {}).get("jobTemplate") or {}
    template_meta = template.get("metadata") or {}
    annotations = dict(template_meta.get("annotations") or {})
    annotations[SCHEDULED_TIMESTAMP] = datetime.fromtimestamp(scheduled, zone).isoformat().replace("+00:00", "Z")
    meta: Object = {"name": job_name(cron_job, scheduled), "namespace": cron_job["metadata"].get("namespace"),
                    "labels": dict(template_meta.get("labels") or {}), "annotations": annotations,
                    "ownerReferences": [new_controller_ref(cron_job)]}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
            "spec": copy.deepcopy(template.get("spec") or {})}
