"""Leader election on a coordination.k8s.io/v1 Lease (client-go's tools/leaderelection).

`LeaderElector.run()` tries to acquire the lease every `retry_period` (with client-go's jitter
factor 1.2); once it holds it, it starts `on_started_leading()` in a task and renews the lease
every `retry_period`. When it cannot renew before `renew_deadline`, it stops leading: it cancels
the leading task, waits for it to end, calls `on_stopped_leading()` and returns.

Acquisition follows client-go: a missing lease is created; a lease held by another identity is
taken only once it has expired, and expiry is judged on this process's monotonic clock from when
this elector last *observed the record change* plus the lease duration — remote timestamps
(renewTime) are never compared with the local clock, so clock skew between nodes does not
matter, only clock rates. Writes are optimistic (create, or update with the observed
resourceVersion); losing a race (AlreadyExists / Conflict) just means "not acquired, retry".
`leaseTransitions` is incremented every time the holder changes (including from "" after a
release); `acquireTime` is kept across renewals.

Guarantees:
- at most one elector's write of a given lease version succeeds, so two electors never both
  believe they *acquired* the same term;
- a leader stops leading (its task is cancelled) no later than `renew_deadline` after the start
  of its last successful renewal — measured, unlike client-go, from that renewal rather than from
  the next attempt — and others take over no earlier than `lease_duration` after that renewal:
  with `renew_deadline < lease_duration` (enforced) the old leader has stepped down first,
  provided clocks run at similar rates and the leading task honours cancellation promptly;
- a standby takes over an abandoned lease within lease_duration + 2 * retry_period *
  (1 + jitter_factor) of the holder's last renewal (one poll to observe the last change, one to
  notice the expiry), and at its next poll after a `release()`;
- `on_stopped_leading()` is called exactly once for each `on_started_leading()`, after the
  leading task has ended (unlike client-go, not when run() ends without ever leading);
- `release()` (and cancelling `run()` with `release_on_cancel`) stops leading first, then writes
  holderIdentity "" and leaseDurationSeconds 1, so a standby acquires at its next poll.

Differences from client-go worth knowing: expiry uses this elector's float `lease_duration`
when the record's integer leaseDurationSeconds is the one this config writes (so sub-second
test timings work), the record's value otherwise; a renewal that finds another holder stops
leading at once instead of waiting for the deadline; an exception in the leading task stops
leading and is re-raised from run() (client-go would crash the process).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from apimachinery import errors

log = logging.getLogger(__name__)

LEASE_RESOURCE = "leases.coordination.k8s.io"
JITTER_FACTOR = 1.2  # client-go leaderelection.JitterFactor
Object = dict[str, Any]


class LeaseClient(Protocol):
    async def get(self, resource: str, name: str, namespace: str = "") -> Object: ...

    async def create(self, obj: Object) -> Object: ...

    async def update(self, obj: Object) -> Object: ...


@dataclass
class LeaderElectionConfig:
    lease_namespace: str
    lease_name: str
    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    release_on_cancel: bool = False  # client-go ReleaseOnCancel: release when run() is cancelled
    jitter_factor: float = JITTER_FACTOR  # acquire polls every retry_period * (1 + U[0, jitter_factor))

    def __post_init__(self) -> None:
        if not self.identity:
            raise ValueError("identity must not be empty")
        if self.lease_duration <= self.renew_deadline:
            raise ValueError("lease_duration must be greater than renew_deadline")
        if self.renew_deadline <= JITTER_FACTOR * self.retry_period:
            raise ValueError("renew_deadline must be greater than retry_period * 1.2")
        if self.retry_period <= 0 or self.jitter_factor < 0:
            raise ValueError("retry_period must be > 0 and jitter_factor >= 0")


def rfc3339_now() -> str:
    """Wall-clock now as Kubernetes MicroTime: 2026-11-22T03:24:37.123456Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lease_duration_seconds(lease_duration: float) -> int:
    """The integer leaseDurationSeconds written for a (possibly fractional) duration: rounded up, >= 1."""
    return max(1, math.ceil(lease_duration))


def compute_lease_update(existing_spec: Object, identity: str, now_rfc3339: str, lease_duration: float,
                         observed_expired: bool) -> Object | None:
    """The spec to write over `existing_spec` to acquire or renew the lease, or None if it is held.

    Held means: another identity holds it and this elector has not seen it expire. Renewing keeps
    acquireTime and leaseTransitions; acquiring sets acquireTime and counts one more transition.
    """
    holder = existing_spec.get("holderIdentity") or ""
    if holder and holder != identity and not observed_expired:
        return None
    transitions = int(existing_spec.get("leaseTransitions") or 0)
    renewing = holder == identity
    return {
        "holderIdentity": identity,
        "leaseDurationSeconds": lease_duration_seconds(lease_duration),
        "acquireTime": (existing_spec.get("acquireTime") or now_rfc3339) if renewing else now_rfc3339,
        "renewTime": now_rfc3339,
        "leaseTransitions": transitions if renewing else transitions + 1,
    }


class LeaderElector:
    """Runs for the lease named in `config`; see the module docstring for the guarantees."""

    def __init__(self, client: LeaseClient, config: LeaderElectionConfig,
                 on_started_leading: Callable[[], Awaitable[None]],
                 on_stopped_leading: Callable[[], Awaitable[None] | None],
                 on_new_leader: Callable[[str], None] | None = None, *,
                 rng: random.Random | None = None) -> None:
        self.client = client
        self.config = config
        self._on_started_leading = on_started_leading
        self._on_stopped_leading = on_stopped_leading
        self._on_new_leader = on_new_leader
        self._rng = rng or random.Random()
        self._lease: Object | None = None  # the last lease object read or written (has resourceVersion)
        self._observed_spec: Object | None = None
        self._observed_time = 0.0  # loop time when _observed_spec last changed
        self._reported_leader: str | None = None
        self._last_renew = 0.0  # loop time at which the last successful acquire/renew started
        self._leading = False
        self._running = False
        self._stop = asyncio.Event()
        self._done = asyncio.Event()
        self._release_requested = False
        self._release_attempted = False
        self._release_result = True

    @property
    def is_leader(self) -> bool:
        """True while this elector holds the lease and its leading task runs."""
        return self._leading

    @property
    def leader(self) -> str:
        """The holder identity last observed ("" if none or released, or not observed yet)."""
        return str((self._observed_spec or {}).get("holderIdentity") or "")

    # -- the loop --------------------------------------------------------------------------

    async def run(self) -> None:
        """Acquire, lead until the lease is lost or release() is called, then return."""
        if self._running:
            raise RuntimeError("LeaderElector.run() is already running")
        self._running = True
        self._stop = asyncio.Event()
        self._done = asyncio.Event()
        self._release_requested = False
        self._release_attempted = False
        self._release_result = True
        try:
            if not await self._acquire():
                return
            if self._stop.is_set():  # acquired just as release() was called
                if self._release_requested:
                    self._release_result = await self._write_release()
                return
            await self._lead()
        finally:
            self._running = False
            self._done.set()

    async def release(self) -> bool:
        """Give the lease up: stop run() (and the leading task), then mark the lease free.

        True when the lease was released or was not ours to release."""
        if self._running:
            self._release_requested = True
            self._stop.set()
            await self._done.wait()
            if self._release_attempted:
                return self._release_result
        return await self._write_release()

    async def _acquire(self) -> bool:
        log.info("attempting to acquire leader lease %s", self._describe())
        while not self._stop.is_set():
            if await self._try_acquire_or_renew():
                log.info("%s: successfully acquired lease %s", self.config.identity, self._describe())
                return True
            delay = self.config.retry_period * (1.0 + self._rng.random() * self.config.jitter_factor)
            if await self._sleep_or_stop(delay):
                break
        return False

    async def _lead(self) -> None:
        self._leading = True
        task = asyncio.create_task(self._leading_task(), name=f"leading:{self.config.identity}")
        task.add_done_callback(self._leading_task_ended)
        try:
            await self._renew_loop()
        except asyncio.CancelledError:
            await self._stop_leading(task, release=self.config.release_on_cancel)
            raise
        error = await self._stop_leading(task, release=self._release_requested)
        if error is not None:
            raise error

    async def _leading_task(self) -> None:
        await self._on_started_leading()

    def _leading_task_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: leading task failed; stopping leading", self.config.identity,
                      exc_info=task.exception())
            self._stop.set()

    async def _renew_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while not await self._sleep_or_stop(self.config.retry_period):
            deadline = self._last_renew + self.config.renew_deadline
            try:
                async with asyncio.timeout_at(deadline):
                    while not await self._try_acquire_or_renew():
                        if self._observed_spec is not None and self.leader != self.config.identity:
                            log.info("%s: lease %s was taken by %r; stopping leading", self.config.identity,
                                     self._describe(), self.leader)
                            return
                        if loop.time() >= deadline:  # in case a client swallowed the timeout's cancel
                            raise TimeoutError
                        if await self._sleep_or_stop(self.config.retry_period):
                            return
            except TimeoutError:
                log.info("%s: failed to renew lease %s within %.3gs; stopping leading", self.config.identity,
                         self._describe(), loop.time() - self._last_renew)
                return

    async def _stop_leading(self, task: asyncio.Task[None], *, release: bool) -> BaseException | None:
        """Cancel and await the leading task, release if asked, call on_stopped_leading."""
        self._leading = False
        task.cancel()
        await asyncio.wait([task])
        error = None if task.cancelled() else task.exception()
        if release:
            self._release_result = await self._write_release()
        try:
            result = self._on_stopped_leading()
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("%s: on_stopped_leading failed", self.config.identity)
        return error

    async def _sleep_or_stop(self, delay: float) -> bool:
        """Sleep `delay` seconds; True (early) if stop was requested."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._stop.wait()
        return self._stop.is_set()

    # -- one attempt -----------------------------------------------------------------------

    async def _try_acquire_or_renew(self) -> bool:
        now = asyncio.get_running_loop().time()
        try:
            acquired = await self._attempt(now, rfc3339_now())
        except errors.ApiError as e:
            log.warning("%s: error retrieving or updating lease %s: %s", self.config.identity,
                        self._describe(), e)
            acquired = False
        except Exception:
            log.exception("%s: unexpected error on lease %s", self.config.identity, self._describe())
            acquired = False
        if acquired:
            self._last_renew = now
        self._report_transition()
        return acquired

    async def _attempt(self, now: float, now_str: str) -> bool:
        cfg = self.config
        # Fast path (client-go): a leader whose lease is still valid updates its last written
        # object directly; on any failure it falls back to reading the lease.
        if self._lease is not None and self.leader == cfg.identity and self._lease_valid(now):
            spec = compute_lease_update(self._lease.get("spec") or {}, cfg.identity, now_str,
                                        cfg.lease_duration, observed_expired=False)
            try:
                self._observe(await self.client.update({**self._lease, "spec": spec}), now, changed=True)
                return True
            except errors.ApiError as e:
                log.info("%s: failed to update lease optimistically (%s); falling back to a read",
                         cfg.identity, e)
        try:
            current = await self.client.get(LEASE_RESOURCE, cfg.lease_name, cfg.lease_namespace)
        except errors.NotFound:
            spec = compute_lease_update({}, cfg.identity, now_str, cfg.lease_duration, observed_expired=True)
            assert spec is not None
            spec["leaseTransitions"] = 0
            try:
                created = await self.client.create(self._new_lease(spec))
            except errors.AlreadyExists:
                return False
            self._observe(created, now, changed=True)
            return True
        self._observe(current, now)
        spec = compute_lease_update(current.get("spec") or {}, cfg.identity, now_str, cfg.lease_duration,
                                    observed_expired=not self._lease_valid(now))
        if spec is None:
            return False
        try:
            updated = await self.client.update({**current, "spec": spec})
        except errors.Conflict:
            return False
        self._observe(updated, now, changed=True)
        return True

    async def _write_release(self) -> bool:
        """Write holderIdentity "" if we are the observed holder (client-go's release())."""
        self._release_attempted = True
        if self._lease is None or self.leader != self.config.identity:
            return True
        now = rfc3339_now()
        spec = {"holderIdentity": "", "leaseDurationSeconds": 1, "acquireTime": now, "renewTime": now,
                "leaseTransitions": int((self._observed_spec or {}).get("leaseTransitions") or 0)}
        try:
            async with asyncio.timeout(self.config.renew_deadline):
                released = await self.client.update({**self._lease, "spec": spec})
        except Exception as e:  # ApiError, TimeoutError, transport errors: log, report failure
            log.warning("%s: failed to release lease %s: %s", self.config.identity, self._describe(), e)
            return False
        self._observe(released, asyncio.get_running_loop().time(), changed=True)
        self._report_transition()
        log.info("%s: released lease %s", self.config.identity, self._describe())
        return True

    # -- bookkeeping -----------------------------------------------------------------------

    def _observe(self, lease: Object, now: float, *, changed: bool = False) -> None:
        spec = dict(lease.get("spec") or {})
        self._lease = lease
        if changed or spec != self._observed_spec:
            self._observed_spec = spec
            self._observed_time = now

    def _lease_valid(self, now: float) -> bool:
        """Whether the observed holder's lease is still valid, on our clock (client-go isLeaseValid)."""
        if self._observed_spec is None:
            return False
        return self._observed_time + self._effective_duration(self._observed_spec) > now

    def _effective_duration(self, spec: Object) -> float:
        seconds = spec.get("leaseDurationSeconds")
        if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds <= 0:
            return self.config.lease_duration
        if seconds == lease_duration_seconds(self.config.lease_duration):
            return self.config.lease_duration
        return float(seconds)

    def _report_transition(self) -> None:
        leader = self.leader
        if self._observed_spec is None or leader == self._reported_leader:
            return
        self._reported_leader = leader
        if self._on_new_leader is not None:
            try:
                self._on_new_leader(leader)
            except Exception:
                log.exception("%s: on_new_leader failed", self.config.identity)

    def _new_lease(self, spec: Object) -> Object:
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.config.lease_name, "namespace": self.config.lease_namespace},
                "spec": spec}

    def _describe(self) -> str:
        return f"{self.config.lease_namespace}/{self.config.lease_name}"
