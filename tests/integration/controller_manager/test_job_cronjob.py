"""Job and CronJob controllers against the real apiserver + etcd, with hollow nodes running the pods."""

from __future__ import annotations

import time
from typing import Any

from controller_manager.cronjob import CronJobController
from controller_manager.job import JobController
from controller_manager.job_tracking import TRACKING_FINALIZER
from controller_manager.podutil import parse_time
from tests.integration.controller_manager.conftest import eventually, run_controllers

Object = dict[str, Any]


def job(name: str, *, completions: int, parallelism: int, exit_code: int = 0, backoff_limit: int = 6) -> Object:
    notes = {"fake.kubeling.io/exit-after.work": "0.3", "fake.kubeling.io/exit-code.work": str(exit_code)}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "default"},
            "spec": {"completions": completions, "parallelism": parallelism, "backoffLimit": backoff_limit,
                     "template": {"metadata": {"annotations": notes}, "spec": {
                         "nodeName": "node-1", "restartPolicy": "Never",
                         "containers": [{"name": "work", "image": "kubeling/busybox:1.35"}]}}}}


def condition(obj: Object, kind: str) -> Object | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind and c.get("status") == "True":
            return c
    return None


async def finished(client: Any, name: str, kind: str) -> Object | None:
    current = await client.get("jobs.batch", name, "default")
    return current if condition(current, kind) else None


async def test_a_job_runs_three_completions_two_at_a_time_to_complete(client, hollow_nodes):
    async with run_controllers(client, [JobController]):
        await client.create(job("pi", completions=3, parallelism=2))
        done = await eventually(lambda: finished(client, "pi", "Complete"), timeout=15)
        assert done["status"]["succeeded"] == 3
        assert done["status"].get("failed", 0) == 0
        assert done["status"]["completionTime"]
        pods = (await client.list("pods", "default"))["items"]
        assert len(pods) == 3
        assert all(TRACKING_FINALIZER not in (p["metadata"].get("finalizers") or []) for p in pods)


async def test_a_job_whose_pods_fail_exceeds_its_backoff_limit(client, hollow_nodes):
    options = {"job_pod_failure_backoff": 0.2}
    async with run_controllers(client, [JobController], options):
        await client.create(job("doomed", completions=1, parallelism=1, exit_code=1, backoff_limit=1))
        failed = await eventually(lambda: finished(client, "doomed", "Failed"), timeout=15)
        assert condition(failed, "Failed")["reason"] == "BackoffLimitExceeded"  # type: ignore[index]
        assert failed["status"]["failed"] == 2
        assert "succeeded" not in failed["status"]


async def test_a_cron_job_creates_its_job_when_the_clock_reaches_the_scheduled_minute(client):
    offset = [0.0]

    def clock() -> float:
        return time.time() + offset[0]

    cron_job = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick", "namespace": "default"},
                "spec": {"schedule": "* * * * *", "timeZone": "UTC", "jobTemplate": {"spec": {"template": {"spec": {
                    "restartPolicy": "Never", "containers": [{"name": "work", "image": "kubeling/busybox:1.35"}]}}}}}}
    async with run_controllers(client, [CronJobController], {"clock": clock}) as running:
        created = await client.create(cron_job)
        start = parse_time(created["metadata"]["creationTimestamp"]) or 0.0
        next_minute = (int(start) // 60 + 1) * 60

        async def jobs() -> list[Object]:
            return (await client.list("jobs.batch", "default"))["items"]
        assert await jobs() == []
        offset[0] = next_minute + 1 - time.time()  # the fake clock jumps to just after the next minute
        running.controllers[0].enqueue_key("default/tick")  # a timer of the fake clock firing
        found = await eventually(jobs, timeout=5)
        assert [j["metadata"]["name"] for j in found] == [f"tick-{next_minute // 60}"]
        assert found[0]["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] \
            .startswith(time.strftime("%Y-%m-%dT%H:%M", time.gmtime(next_minute)))

        async def scheduled_status() -> Object | None:  # the status write follows the Job's creation
            status = (await client.get("cronjobs.batch", "tick", "default")).get("status") or {}
            return status if status.get("lastScheduleTime") else None

        status = await eventually(scheduled_status, timeout=5)
        assert parse_time(status["lastScheduleTime"]) == next_minute
        assert [r["name"] for r in status["active"]] == [f"tick-{next_minute // 60}"]
