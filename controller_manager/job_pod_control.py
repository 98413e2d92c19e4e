"""The Job controller's writes to pods: create (with the tracking finalizer), delete, release the finalizer.

Each write records what the informer should later show, so a reconcile running before the cache caught up does
not act twice: creations and deletions in :class:`ControllerExpectations`, finalizer removals in
:class:`FinalizerExpectations` (Kubernetes' uidTrackingExpectations for finalizers).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from apimachinery import errors
from client.client import Client
from client.events import NORMAL, WARNING
from client.store import object_key
from controller_manager.controller import ControllerContext
from controller_manager.expectations import ControllerExpectations
from controller_manager.job_indexes import with_completion_index
from controller_manager.job_tracking import TRACKING_FINALIZER, uid_of
from controller_manager.podutil import pod_from_template

log = logging.getLogger(__name__)
Object = dict[str, Any]
T = TypeVar("T")
SLOW_START_INITIAL_BATCH = 1


class FinalizerExpectations:
    """Pod uids whose tracking finalizer this controller removed but the pod informer has not yet shown gone."""

    def __init__(self) -> None:
        self._by_key: dict[str, set[str]] = {}

    def expected(self, key: str) -> set[str]:
        return set(self._by_key.get(key, ()))

    def expect_removal(self, key: str, uid: str) -> None:
        self._by_key.setdefault(key, set()).add(uid)

    def removal_observed(self, key: str, uid: str) -> None:
        uids = self._by_key.get(key)
        if uids is not None:
            uids.discard(uid)
            if not uids:
                del self._by_key[key]

    def forget(self, key: str) -> None:
        self._by_key.pop(key, None)


def new_job_pod(job: Mapping[str, Any], index: int | None) -> Object:
    """A pod from the Job's template, controlled by the Job, with the tracking finalizer (and index if Indexed)."""
    name = job["metadata"]["name"]
    pod = pod_from_template(job["spec"]["template"], job, generate_name=f"{name}-")
    finalizers = pod["metadata"].setdefault("finalizers", [])
    if TRACKING_FINALIZER not in finalizers:
        finalizers.append(TRACKING_FINALIZER)
    return with_completion_index(pod, name, index) if index is not None else pod


async def slow_start(items: Sequence[T], fn: Callable[[T], Awaitable[None]]) -> tuple[int, BaseException | None]:
    """Run ``fn`` over ``items`` in batches of 1, 2, 4, ...; stop after the first batch with an error."""
    done, batch = 0, SLOW_START_INITIAL_BATCH
    while done < len(items):
        chunk = items[done:done + batch]
        results = await asyncio.gather(*(fn(item) for item in chunk), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        done += len(chunk)
        if failures:
            return done - len(failures), failures[0]
        batch *= 2
    return done, None


class JobPodControl:
    def __init__(self, ctx: ControllerContext, expectations: ControllerExpectations,
                 finalizers: FinalizerExpectations) -> None:
        self.client: Client = ctx.client
        self.recorder = ctx.recorder_for("job-controller")
        self.expectations = expectations
        self.finalizers = finalizers

    async def create_pods(self, key: str, job: Mapping[str, Any], indexes: Sequence[int | None]) -> int:
        """Create one pod per entry (slow start); returns how many were created, raising the first error."""
        self.expectations.expect_creations(key, len(indexes))

        async def create(index: int | None) -> None:
            try:
                pod = await self.client.create(new_job_pod(job, index))
            except Exception as e:
                self.expectations.creation_observed(key)  # it will never be observed
                self.recorder.event(job, WARNING, "FailedCreate", f"Error creating: {e}")
                raise
            self.recorder.event(job, NORMAL, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")

        created, error = await slow_start(list(indexes), create)
        for _ in range(len(indexes) - created - (1 if error else 0)):
            self.expectations.creation_observed(key)  # skipped after the failing batch
        if error is not None:
            raise error
        return created

    async def delete_pods(self, key: str, job: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]) -> int:
        """Delete the pods (they keep the tracking finalizer, so they are counted as failed before they go)."""
        if not pods:
            return 0
        self.expectations.expect_deletions(key, [object_key(dict(p)) for p in pods])

        async def delete(pod: Mapping[str, Any]) -> None:
            meta = pod["metadata"]
            try:
                await self.client.delete("pods", meta["name"], meta.get("namespace", ""))
            except errors.NotFound:
                self.expectations.deletion_observed(key, object_key(dict(pod)))
                return
            except Exception as e:
                self.expectations.deletion_observed(key, object_key(dict(pod)))
                self.recorder.event(job, WARNING, "FailedDelete", f"Error deleting: {e}")
                raise
            self.recorder.event(job, NORMAL, "SuccessfulDelete", f"Deleted pod: {meta['name']}")

        results = await asyncio.gather(*(delete(p) for p in pods), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise failures[0]
        return len(pods)

    async def remove_finalizers(self, key: str, pods: Sequence[Mapping[str, Any]]) -> set[str]:
        """Remove the tracking finalizer from each pod; the uids of pods that no longer hold it (or are gone).
        Failures are logged and left for the next sync; the pod then simply stays uncounted a little longer."""
        results = await asyncio.gather(*(self._remove_one(key, p) for p in pods), return_exceptions=True)
        removed = {uid_of(p) for p, r in zip(pods, results, strict=True) if r is True}
        errors_ = [r for r in results if isinstance(r, BaseException)]
        if errors_:
            log.info("job %s: removing pod finalizers failed for %d pod(s): %s", key, len(errors_), errors_[0])
        return removed

    async def _remove_one(self, key: str, pod: Mapping[str, Any]) -> bool:
        meta = pod["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        if TRACKING_FINALIZER not in finalizers:
            return True
        at = finalizers.index(TRACKING_FINALIZER)
        patch = [{"op": "test", "path": "/metadata/uid", "value": meta.get("uid")},
                 {"op": "test", "path": f"/metadata/finalizers/{at}", "value": TRACKING_FINALIZER},
                 {"op": "remove", "path": f"/metadata/finalizers/{at}"}]
        self.finalizers.expect_removal(key, uid_of(pod))
        try:
            await self.client.patch("pods", meta["name"], patch, meta.get("namespace", ""), patch_type="json")
        except errors.NotFound:
            self.finalizers.removal_observed(key, uid_of(pod))
            return True
        except Exception:
            self.finalizers.removal_observed(key, uid_of(pod))
            raise
        return True
