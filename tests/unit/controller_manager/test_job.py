"""The Job controller: given a Job and its pods in the caches, reconcile makes these API calls."""

from __future__ import annotations

import contextlib
import copy
import itertools
from typing import Any

import pytest

from apimachinery import errors
from apimachinery.api.batch import default_job
from controller_manager.job import JobController
from controller_manager.job_indexes import COMPLETION_INDEX, format_indexes, parse_indexes
from controller_manager.job_tracking import TRACKING_FINALIZER
from controller_manager.podutil import format_time, parse_time
from tests.unit.controller_manager.harness import Harness

Object = dict[str, Any]
NOW = parse_time("2026-01-01T00:10:00Z") or 0.0


def make_job(name: str = "pi", **spec: Any) -> Object:
    job: Object = {"apiVersion": "batch/v1", "kind": "Job",
                   "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"},
                   "spec": {"template": {"spec": {"restartPolicy": "Never",
                                                  "containers": [{"name": "c", "image": "busybox"}]}}, **spec}}
    default_job(job)
    return job


def make_pod(job: Object, name: str, phase: str = "Running", *, finalizer: bool = True, index: int | None = None,
             deleting: bool = False, ready: bool = False, finished_at: str = "2026-01-01T00:09:59Z") -> Object:
    meta: Object = {"name": name, "namespace": "default", "uid": f"uid-{name}",
                    "labels": dict(job["spec"]["template"]["metadata"]["labels"]),
                    "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": job["metadata"]["name"],
                                         "uid": job["metadata"]["uid"], "controller": True}]}
    if finalizer:
        meta["finalizers"] = [TRACKING_FINALIZER]
    if index is not None:
        meta["annotations"] = {COMPLETION_INDEX: str(index)}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:09:00Z"
    status: Object = {"phase": phase}
    if phase in ("Succeeded", "Failed"):
        status["containerStatuses"] = [{"name": "c", "state": {"terminated": {"finishedAt": finished_at}}}]
    if ready:
        status["conditions"] = [{"type": "Ready", "status": "True"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"nodeName": "n1"}, "status": status}


def harness(*objects: Object, now: float = NOW, **options: Any) -> Harness:
    """A Harness whose fake API names generateName objects, as the apiserver does."""
    h = Harness(JobController, objects, {"clock": lambda: now, **options})
    create, counter = h.api.create, itertools.count()

    async def create_named(obj: Object, **kw: Any) -> Object:
        obj = copy.deepcopy(obj)
        meta = obj["metadata"]
        meta["name"] = meta.get("name") or f"{meta['generateName']}{next(counter)}"
        return await create(obj, **kw)
    h.api.create = create_named  # type: ignore[method-assign]
    return h


def status_of(h: Harness, name: str = "pi") -> Object:
    return (h.stored("jobs.batch", name, "default") or {}).get("status") or {}


def condition_types(h: Harness, name: str = "pi") -> list[str]:
    return [c["type"] for c in status_of(h, name).get("conditions") or [] if c["status"] == "True"]


async def test_a_new_job_creates_parallelism_pods_with_the_tracking_finalizer() -> None:
    h = harness(make_job(completions=5, parallelism=2))
    await h.reconcile("default/pi")
    pods = h.all("pods")
    assert len(pods) == 2
    for pod in pods:
        assert pod["metadata"]["finalizers"] == [TRACKING_FINALIZER]
        assert pod["metadata"]["generateName"] == "pi-"
        assert pod["metadata"]["ownerReferences"][0]["uid"] == "uid-pi"
        assert pod["metadata"]["labels"]["batch.kubernetes.io/controller-uid"] == "uid-pi"
    assert status_of(h)["active"] == 2
    assert status_of(h)["startTime"] == format_time(NOW)
    assert [e[1] for e in h.events] == ["SuccessfulCreate", "SuccessfulCreate"]


async def test_active_pods_never_exceed_the_remaining_completions() -> None:
    job = make_job(completions=3, parallelism=5)
    job["status"] = {"succeeded": 2, "startTime": "2026-01-01T00:00:00Z"}
    h = harness(job)
    await h.reconcile("default/pi")
    assert len(h.all("pods")) == 1


async def test_unobserved_creations_hold_back_further_creates() -> None:
    h = harness(make_job(completions=5, parallelism=2))
    await h.reconcile("default/pi")
    with contextlib.suppress(errors.Conflict):  # the job cache is stale too: its status write conflicts
        await h.reconcile("default/pi")  # the cache has not seen the two pods yet
    assert len(h.all("pods")) == 2


async def test_too_many_active_pods_are_deleted() -> None:
    job = make_job(completions=5, parallelism=1)
    h = harness(job, make_pod(job, "a", ready=True), make_pod(job, "b", phase="Pending"))
    await h.reconcile("default/pi")
    assert ("delete", "pods", "default", "b") in h.writes()
    assert ("delete", "pods", "default", "a") not in h.writes()


async def test_a_succeeded_pod_is_counted_through_uncounted_then_loses_its_finalizer() -> None:
    job = make_job(completions=2, parallelism=1)
    h = harness(job, make_pod(job, "a", phase="Succeeded"))
    await h.reconcile("default/pi")
    writes = h.writes()
    first_status = writes.index(("update", "jobs.batch", "default", "pi"))
    finalizer = writes.index(("patch", "pods", "default", "a"))
    assert first_status < finalizer
    assert (h.stored("pods", "a", "default") or {})["metadata"].get("finalizers") in (None, [])
    assert status_of(h)["succeeded"] == 1
    assert status_of(h)["uncountedTerminatedPods"] == {}


async def test_a_pod_already_uncounted_whose_finalizer_is_gone_is_counted_once() -> None:
    job = make_job(completions=3, parallelism=1)
    job["status"] = {"succeeded": 1, "uncountedTerminatedPods": {"succeeded": ["uid-a"]},
                     "startTime": "2026-01-01T00:00:00Z"}
    h = harness(job, make_pod(job, "a", phase="Succeeded", finalizer=False))
    await h.reconcile("default/pi")
    assert status_of(h)["succeeded"] == 2
    assert status_of(h)["uncountedTerminatedPods"] == {}
    with pytest.raises(errors.Conflict):  # same caches again (job cache stale): the write conflicts
        await h.reconcile("default/pi")
    assert status_of(h)["succeeded"] == 2


async def test_a_counted_pod_without_finalizer_is_not_counted_again() -> None:
    job = make_job(completions=3, parallelism=1)
    job["status"] = {"succeeded": 1, "startTime": "2026-01-01T00:00:00Z", "uncountedTerminatedPods": {}}
    h = harness(job, make_pod(job, "a", phase="Succeeded", finalizer=False), make_pod(job, "b"))
    await h.reconcile("default/pi")
    assert status_of(h).get("succeeded") == 1


async def test_enough_successes_complete_the_job_with_an_event() -> None:
    job = make_job(completions=2, parallelism=2)
    job["status"] = {"succeeded": 1, "startTime": "2026-01-01T00:00:00Z"}
    h = harness(job, make_pod(job, "b", phase="Succeeded"))
    await h.reconcile("default/pi")
    status = status_of(h)
    assert status["succeeded"] == 2
    assert condition_types(h) == ["SuccessCriteriaMet", "Complete"]
    assert status["completionTime"] == format_time(NOW)
    assert ("Normal", "Completed", "Job completed") in h.events
    assert h.all("pods")[0]["metadata"].get("finalizers") in (None, [])


async def test_failures_beyond_backoff_limit_fail_the_job_and_delete_active_pods() -> None:
    job = make_job(completions=3, parallelism=2, backoffLimit=1)
    job["status"] = {"failed": 1, "startTime": "2026-01-01T00:00:00Z"}
    h = harness(job, make_pod(job, "f", phase="Failed"), make_pod(job, "r"))
    await h.reconcile("default/pi")
    assert ("delete", "pods", "default", "r") in h.writes()
    assert status_of(h)["failed"] == 3  # the failed pod and the deleted active one
    assert condition_types(h) == ["FailureTarget"]  # until the deleted pod is gone
    h.sync_caches()
    await h.reconcile("default/pi")
    assert condition_types(h) == ["FailureTarget", "Failed"]
    failed = next(c for c in status_of(h)["conditions"] if c["type"] == "Failed")
    assert failed["reason"] == "BackoffLimitExceeded"
    assert ("Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit") in h.events


async def test_the_failed_condition_waits_for_terminating_pods() -> None:
    job = make_job(completions=3, parallelism=2, backoffLimit=0)
    job["status"] = {"startTime": "2026-01-01T00:00:00Z"}
    h = harness(job, make_pod(job, "f", phase="Failed"), make_pod(job, "t", deleting=True, finalizer=False))
    await h.reconcile("default/pi")
    assert condition_types(h) == ["FailureTarget"]
    assert status_of(h)["terminating"] == 1


async def test_a_failed_pod_delays_its_replacement_by_the_backoff() -> None:
    job = make_job(completions=1, parallelism=1, backoffLimit=6)
    job["status"] = {"startTime": "2026-01-01T00:00:00Z"}
    h = harness(job, make_pod(job, "f", phase="Failed", finished_at=format_time(NOW - 3)))
    await h.reconcile("default/pi")
    assert not [w for w in h.writes() if w[0] == "create"]
    assert status_of(h)["failed"] == 1
    assert 6.9 < h.controller.queue._waiting["default/pi"][0] - _loop_time() <= 7.0


def _loop_time() -> float:
    import asyncio
    return asyncio.get_running_loop().time()


async def test_the_replacement_comes_once_the_backoff_passed() -> None:
    job = make_job(completions=1, parallelism=1, backoffLimit=6)
    job["status"] = {"startTime": "2026-01-01T00:00:00Z"}
    h = harness(job, make_pod(job, "f", phase="Failed", finished_at=format_time(NOW - 11)))
    await h.reconcile("default/pi")
    assert len([w for w in h.writes() if w[0] == "create"]) == 1


async def test_an_expired_active_deadline_fails_the_job() -> None:
    job = make_job(completions=1, activeDeadlineSeconds=60)
    job["status"] = {"startTime": format_time(NOW - 61)}
    h = harness(job, make_pod(job, "r"))
    await h.reconcile("default/pi")
    assert ("delete", "pods", "default", "r") in h.writes()
    h.sync_caches()
    await h.reconcile("default/pi")
    failed = next(c for c in status_of(h)["conditions"] if c["type"] == "Failed")
    assert failed["reason"] == "DeadlineExceeded"
    assert ("Warning", "DeadlineExceeded", "Job was active longer than specified deadline") in h.events


async def test_a_running_deadline_is_looked_at_again_when_it_expires() -> None:
    job = make_job(completions=1, activeDeadlineSeconds=60)
    job["status"] = {"startTime": format_time(NOW - 20)}
    h = harness(job, make_pod(job, "r"))
    await h.reconcile("default/pi")
    assert 39.9 < h.controller.queue._waiting["default/pi"][0] - _loop_time() <= 40.0


async def test_a_suspended_job_deletes_its_pods_and_says_so() -> None:
    job = make_job(completions=2, suspend=True)
    h = harness(job, make_pod(job, "r"))
    await h.reconcile("default/pi")
    assert ("delete", "pods", "default", "r") in h.writes()
    assert condition_types(h) == ["Suspended"]
    assert "startTime" not in status_of(h)
    assert ("Normal", "Suspended", "Job suspended") in h.events


async def test_resuming_a_job_restarts_its_start_time() -> None:
    job = make_job(completions=1)
    job["status"] = {"startTime": "2026-01-01T00:00:00Z", "conditions": [
        {"type": "Suspended", "status": "True", "reason": "JobSuspended", "message": "Job suspended"}]}
    h = harness(job)
    await h.reconcile("default/pi")
    assert status_of(h)["startTime"] == format_time(NOW)
    assert condition_types(h) == []
    assert ("Normal", "Resumed", "Job resumed") in h.events
    assert len(h.all("pods")) == 1


async def test_an_indexed_job_creates_one_pod_per_pending_index() -> None:
    job = make_job(completions=4, parallelism=2, completionMode="Indexed")
    job["status"] = {"completedIndexes": "0", "succeeded": 1, "startTime": "2026-01-01T00:00:00Z"}
    h = harness(job, make_pod(job, "pi-1-x", index=1))
    await h.reconcile("default/pi")
    created = [p for p in h.all("pods") if p["metadata"]["name"] != "pi-1-x"]
    assert len(created) == 1
    pod = created[0]
    assert pod["metadata"]["annotations"][COMPLETION_INDEX] == "2"
    assert pod["metadata"]["labels"][COMPLETION_INDEX] == "2"
    assert pod["metadata"]["generateName"] == "pi-2-"
    assert pod["spec"]["hostname"] == "pi-2"
    assert {"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
        "fieldPath": f"metadata.annotations['{COMPLETION_INDEX}']"}}} in pod["spec"]["containers"][0]["env"]


async def test_indexed_successes_are_recorded_as_completed_index_ranges() -> None:
    job = make_job(completions=5, parallelism=2, completionMode="Indexed")
    job["status"] = {"completedIndexes": "0-1", "succeeded": 2, "startTime": "2026-01-01T00:00:00Z"}
    h = harness(job, make_pod(job, "p4", "Succeeded", index=4), make_pod(job, "p3", index=3))
    await h.reconcile("default/pi")
    assert status_of(h)["completedIndexes"] == "0-1,4"
    assert status_of(h)["succeeded"] == 3


async def test_pods_of_a_deleted_job_lose_their_finalizer() -> None:
    job = make_job()
    h = harness(make_pod(job, "orphan", "Succeeded"))
    await h.reconcile("default/pi")
    assert h.writes() == [("patch", "pods", "default", "orphan")]
    assert (h.stored("pods", "orphan", "default") or {})["metadata"].get("finalizers") in (None, [])


async def test_a_finished_job_only_releases_finalizers() -> None:
    job = make_job()
    job["status"] = {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
    h = harness(job, make_pod(job, "late", "Succeeded"))
    await h.reconcile("default/pi")
    assert h.writes() == [("patch", "pods", "default", "late")]


async def test_a_job_without_completions_completes_after_the_first_success_and_all_stop() -> None:
    job = make_job(parallelism=2)
    job["spec"].pop("completions", None)
    job["status"] = {"startTime": "2026-01-01T00:00:00Z"}
    h = harness(job, make_pod(job, "a", "Succeeded"), make_pod(job, "b", "Succeeded"))
    await h.reconcile("default/pi")
    assert not [w for w in h.writes() if w[0] == "create"]
    assert "Complete" in condition_types(h)
    assert status_of(h)["succeeded"] == 2


async def test_reconcile_is_idempotent_once_converged() -> None:
    job = make_job(completions=2, parallelism=2)
    h = harness(job)
    await h.reconcile("default/pi")
    h.sync_caches()
    h.controller.expectations.delete_expectations("default/pi")  # type: ignore[attr-defined]
    h.api.calls.clear()
    await h.reconcile("default/pi")
    assert h.writes() == []


def test_completed_indexes_round_trip_as_ranges() -> None:
    assert format_indexes({0, 1, 2, 4, 6, 7}) == "0-2,4,6-7"
    assert parse_indexes("0-2,4,6-7", 7) == {0, 1, 2, 4, 6}
    assert format_indexes(set()) == ""
