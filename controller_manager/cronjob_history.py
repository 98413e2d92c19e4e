"""Which finished Jobs of a CronJob to delete: all but the newest ``successfulJobsHistoryLimit`` (default 3)
succeeded ones and ``failedJobsHistoryLimit`` (default 1) failed ones (cleanupFinishedJobs). Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from controller_manager.job_conditions import COMPLETE, FAILED, is_true
from controller_manager.podutil import parse_time


def _start_order(job: Mapping[str, Any]) -> tuple[int, float, str]:
    """Oldest first by status.startTime (Jobs without one last), then by name (byJobStartTime)."""
    started = parse_time((job.get("status") or {}).get("startTime"))
    return (1, 0.0, job["metadata"]["name"]) if started is None else (0, started, job["metadata"]["name"])


def compute_jobs_to_clean_up(cron_job: Mapping[str, Any], jobs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    spec = cron_job.get("spec") or {}
    doomed: list[Mapping[str, Any]] = []
    for condition, limit in ((COMPLETE, spec.get("successfulJobsHistoryLimit")),
                             (FAILED, spec.get("failedJobsHistoryLimit"))):
        if limit is None:
            continue
        finished = sorted((j for j in jobs if is_true(j, condition)), key=_start_order)
        doomed += finished[:max(len(finished) - int(limit), 0)]
    return doomed
