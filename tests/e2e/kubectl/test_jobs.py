"""Jobs and CronJobs through kubectl: create job, wait for complete, logs job/NAME; create cronjob, get cronjobs."""

from __future__ import annotations

import pytest

from tests.e2e.kubectl.helpers import BUSYBOX, Kubectl, row, table

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_create_job_and_wait_for_complete(k: Kubectl) -> None:
    out = k("create", "job", "pi", f"--image={BUSYBOX}", "--", "sh", "-c", "echo 3.14159")
    assert out.strip() == "job.batch/pi created"
    out = k("wait", "--for=condition=complete", "job/pi", "--timeout=60s", timeout=70)
    assert out.strip() == "job.batch/pi condition met"
    job = row(k("get", "jobs"), "pi")
    assert job["STATUS"] == "Complete" and job["COMPLETIONS"] == "1/1"
    assert k("logs", "job/pi") == "3.14159\n"
    pods = table(k("get", "pods", "-l", "job-name=pi"))
    assert [p["STATUS"] for p in pods] == ["Completed"]


def test_create_cronjob_shows_up_in_get_cronjobs(k: Kubectl) -> None:
    out = k("create", "cronjob", "tick", f"--image={BUSYBOX}", "--schedule=*/5 * * * *", "--", "echo", "tick")
    assert out.strip() == "cronjob.batch/tick created"
    cron = row(k("get", "cronjobs"), "tick")
    assert (cron["SCHEDULE"], cron["SUSPEND"], cron["ACTIVE"]) == ("*/5 * * * *", "False", "0")
    assert "tick" in k("get", "cj", "-o", "name")
