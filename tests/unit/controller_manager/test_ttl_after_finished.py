"""TTL after finished: a finished Job with ttlSecondsAfterFinished is deleted once the TTL has passed."""

from __future__ import annotations

import asyncio
from typing import Any

from controller_manager.podutil import format_time, parse_time
from controller_manager.ttl_after_finished import TTLAfterFinishedController
from tests.unit.controller_manager.harness import Harness

Object = dict[str, Any]
NOW = parse_time("2026-01-01T01:00:00Z") or 0.0


def finished_job(finished_ago: float, ttl: int | None = 100, condition: str = "Complete") -> Object:
    spec: Object = {} if ttl is None else {"ttlSecondsAfterFinished": ttl}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": "default"},
            "spec": spec, "status": {"conditions": [
                {"type": condition, "status": "True", "lastTransitionTime": format_time(NOW - finished_ago)}]}}


def harness(*objects: Object) -> Harness:
    return Harness(TTLAfterFinishedController, objects, {"clock": lambda: NOW})


async def test_an_expired_job_is_deleted_in_the_background_with_a_precondition() -> None:
    h = harness(finished_job(finished_ago=101))
    await h.reconcile("default/pi")
    assert h.writes() == [("delete", "jobs.batch", "default", "pi")]
    options = h.api.delete_options[0]
    assert options["propagation_policy"] == "Background"
    assert "resourceVersion" in options["preconditions"]


async def test_a_failed_job_expires_too() -> None:
    h = harness(finished_job(finished_ago=101, condition="Failed"))
    await h.reconcile("default/pi")
    assert h.writes() == [("delete", "jobs.batch", "default", "pi")]


async def test_a_job_within_its_ttl_is_looked_at_again_when_it_expires() -> None:
    h = harness(finished_job(finished_ago=40))
    await h.reconcile("default/pi")
    assert h.writes() == []
    ready_at = h.controller.queue._waiting["default/pi"][0]
    assert 59.9 < ready_at - asyncio.get_running_loop().time() <= 60.0


async def test_a_job_without_ttl_or_not_finished_is_kept() -> None:
    running = finished_job(finished_ago=1000)
    running["status"] = {}
    h = harness(finished_job(finished_ago=1000, ttl=None))
    await h.reconcile("default/pi")
    h2 = harness(running)
    await h2.reconcile("default/pi")
    assert h.writes() == [] and h2.writes() == []


async def test_a_ttl_raised_since_the_cache_was_filled_is_honoured() -> None:
    h = harness(finished_job(finished_ago=101))
    h.put({**finished_job(finished_ago=101, ttl=1000), "metadata": {"name": "pi", "namespace": "default",
                                                                   "resourceVersion": "99"}})
    await h.reconcile("default/pi")
    assert h.writes() == []
