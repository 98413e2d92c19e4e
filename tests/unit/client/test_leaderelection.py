from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from apimachinery import errors
from client.leaderelection import (
    LEASE_RESOURCE,
    LeaderElectionConfig,
    LeaderElector,
    compute_lease_update,
    lease_duration_seconds,
)
from tests.unit.client.fakes import FakeClient

NS, NAME = "kube-system", "kube-controller-manager"
LEASE = 0.3
RENEW = 0.2
RETRY = 0.05
# A poll of the acquire loop lasts up to retry_period * (1 + jitter factor 1.2).
MAX_POLL = RETRY * 2.2
SLACK = 0.08  # event-loop scheduling on a busy CI machine
MICROTIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def now() -> float:
    return asyncio.get_running_loop().time()


class Link:
    """One elector's connection to the shared fake apiserver; can be partitioned."""

    def __init__(self, fake: FakeClient) -> None:
        self.fake = fake
        self.partitioned = False
        self.last_write = 0.0  # loop time at which the last successful write was sent

    def _check(self) -> None:
        if self.partitioned:
            raise errors.unavailable("partitioned")

    async def get(self, resource: str, name: str, namespace: str = "") -> dict[str, Any]:
        self._check()
        return await self.fake.get(resource, name, namespace)

    async def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        self._check()
        sent = now()
        created = await self.fake.create(obj)
        self.last_write = sent
        return created

    async def update(self, obj: dict[str, Any]) -> dict[str, Any]:
        self._check()
        sent = now()
        updated = await self.fake.update(obj)
        self.last_write = sent
        return updated


class Candidate:
    """A LeaderElector plus records of what its callbacks saw."""

    def __init__(self, fake: FakeClient, identity: str, *, lead: Callable[[], Any] | None = None,
                 **overrides: Any) -> None:
        self.identity = identity
        self.link = Link(fake)
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self.leading_cancelled = False
        self.stop_calls = 0
        self.new_leaders: list[str] = []
        self._lead_body = lead
        settings: dict[str, Any] = {"lease_duration": LEASE, "renew_deadline": RENEW, "retry_period": RETRY}
        settings.update(overrides)
        self.elector = LeaderElector(self.link, LeaderElectionConfig(NS, NAME, identity, **settings),
                                     self._lead, self._stopped, self.new_leaders.append)
        self.task: asyncio.Task[None] | None = None

    async def _lead(self) -> None:
        self.started_at = now()
        try:
            if self._lead_body is not None:
                await self._lead_body()
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.leading_cancelled = True
            raise

    async def _stopped(self) -> None:
        self.stopped_at = now()
        self.stop_calls += 1

    def start(self) -> Candidate:
        self.task = asyncio.create_task(self.elector.run())
        return self

    async def wait_leading(self, timeout: float) -> float:
        async def leading() -> None:
            while self.started_at is None:
                await asyncio.sleep(0.002)

        await asyncio.wait_for(leading(), timeout)
        assert self.started_at is not None
        return self.started_at


@pytest.fixture
async def fake() -> AsyncIterator[FakeClient]:
    yield FakeClient()


@pytest.fixture
async def candidates(fake: FakeClient) -> AsyncIterator[Callable[..., Candidate]]:
    made: list[Candidate] = []

    def make(identity: str, **kwargs: Any) -> Candidate:
        candidate = Candidate(fake, identity, **kwargs)
        made.append(candidate)
        return candidate

    yield make
    for candidate in made:
        if candidate.task is not None:
            candidate.task.cancel()
    await asyncio.gather(*(c.task for c in made if c.task is not None), return_exceptions=True)


def lease_spec(fake: FakeClient) -> dict[str, Any]:
    lease = fake.stored(LEASE_RESOURCE, NAME, NS)
    assert lease is not None
    return dict(lease["spec"])


async def test_the_first_elector_creates_the_lease_and_leads(fake: FakeClient, candidates) -> None:
    a = candidates("a").start()
    await a.wait_leading(1.0)
    assert a.elector.is_leader
    assert a.elector.leader == "a"
    assert a.new_leaders == ["a"]
    lease = fake.stored(LEASE_RESOURCE, NAME, NS)
    assert lease is not None
    assert (lease["apiVersion"], lease["kind"]) == ("coordination.k8s.io/v1", "Lease")
    spec = lease["spec"]
    assert spec["holderIdentity"] == "a"
    assert spec["leaseDurationSeconds"] == 1 and isinstance(spec["leaseDurationSeconds"], int)
    assert spec["leaseTransitions"] == 0
    assert MICROTIME.match(spec["acquireTime"]) and MICROTIME.match(spec["renewTime"])


async def test_the_leader_renews_every_retry_period_keeping_acquire_time(
        fake: FakeClient, candidates) -> None:
    a = candidates("a").start()
    await a.wait_leading(1.0)
    first = fake.stored(LEASE_RESOURCE, NAME, NS)
    await asyncio.sleep(RETRY * 4)
    later = fake.stored(LEASE_RESOURCE, NAME, NS)
    assert first is not None and later is not None
    assert int(later["metadata"]["resourceVersion"]) >= int(first["metadata"]["resourceVersion"]) + 2
    assert later["spec"]["renewTime"] > first["spec"]["renewTime"]
    assert later["spec"]["acquireTime"] == first["spec"]["acquireTime"]
    assert later["spec"]["leaseTransitions"] == 0
    # renewals take the fast path: an update without a read first
    updates = [c for c in fake.calls if c[0] == "update"]
    gets = [c for c in fake.calls if c[0] == "get"]
    assert len(updates) >= 2 and len(gets) == 1


async def test_a_second_elector_waits_while_the_lease_is_renewed(fake: FakeClient, candidates) -> None:
    a = candidates("a").start()
    await a.wait_leading(1.0)
    b = candidates("b").start()
    await asyncio.sleep(LEASE * 2.5)
    assert not b.elector.is_leader
    assert b.started_at is None
    assert b.elector.leader == "a"
    assert b.new_leaders == ["a"]
    assert lease_spec(fake)["holderIdentity"] == "a"
    assert a.elector.is_leader


async def test_a_leader_that_cannot_renew_steps_down_and_the_standby_takes_over(
        fake: FakeClient, candidates) -> None:
    a = candidates("a").start()
    await a.wait_leading(1.0)
    b = candidates("b").start()
    await asyncio.sleep(RETRY * 3)
    a.link.partitioned = True
    partitioned_at = now()

    b_started = await b.wait_leading(LEASE + 2 * MAX_POLL + RENEW + 1.0)
    last_write = a.link.last_write
    assert last_write <= partitioned_at
    # a stepped down within renew_deadline of its last renewal, before b could take over
    assert a.stopped_at is not None
    assert a.stopped_at - last_write <= RENEW + SLACK
    assert a.leading_cancelled and a.stop_calls == 1
    assert not a.elector.is_leader
    assert a.stopped_at < b_started
    await asyncio.wait_for(a.task, 1.0)  # run() returned
    # b waited the full lease duration after a's last renewal, and not much longer
    assert b_started - last_write >= LEASE
    assert b_started - last_write <= LEASE + 2 * MAX_POLL + SLACK
    assert b.elector.is_leader
    spec = lease_spec(fake)
    assert spec["holderIdentity"] == "b"
    assert spec["leaseTransitions"] == 1


async def test_a_renewal_that_finds_another_holder_steps_down_at_once(fake: FakeClient, candidates) -> None:
    a = candidates("a", lease_duration=3.0, renew_deadline=2.0).start()
    await a.wait_leading(1.0)
    lease = fake.stored(LEASE_RESOURCE, NAME, NS)
    assert lease is not None
    lease["spec"]["holderIdentity"] = "intruder"
    await fake.update(lease)
    taken_at = now()
    await asyncio.wait_for(a.task, 1.0)
    assert a.stopped_at is not None and a.stopped_at - taken_at < RETRY * 2 + SLACK
    assert a.elector.leader == "intruder"
    assert a.new_leaders == ["a", "intruder"]


@pytest.mark.parametrize("existing", ["none", "expired"])
async def test_simultaneous_acquirers_elect_exactly_one_leader(
        fake: FakeClient, candidates, existing: str) -> None:
    if existing == "expired":
        await fake.create({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                           "metadata": {"name": NAME, "namespace": NS},
                           "spec": {"holderIdentity": "ghost", "leaseDurationSeconds": 1,
                                    "acquireTime": "2026-01-01T00:00:00.000000Z",
                                    "renewTime": "2026-01-01T00:00:00.000000Z", "leaseTransitions": 4}})
    # no jitter: every candidate polls at the same moments, maximising collisions
    group = [candidates(f"c{i}", jitter_factor=0.0).start() for i in range(5)]
    max_leaders = 0
    deadline = now() + LEASE + 0.4
    while now() < deadline:
        max_leaders = max(max_leaders, sum(c.elector.is_leader for c in group))
        await asyncio.sleep(0.003)
    leaders = [c for c in group if c.started_at is not None]
    assert len(leaders) == 1
    assert max_leaders == 1
    spec = lease_spec(fake)
    assert spec["holderIdentity"] == leaders[0].identity
    assert spec["leaseTransitions"] == (0 if existing == "none" else 5)
    losers = {c.identity for c in group} - {leaders[0].identity}
    assert all(c.elector.leader == leaders[0].identity for c in group if c.identity in losers)


async def test_release_frees_the_lease_and_stops_leading(fake: FakeClient, candidates) -> None:
    a = candidates("a").start()
    await a.wait_leading(1.0)
    assert await a.elector.release() is True
    assert a.task is not None and a.task.done() and a.task.exception() is None
    assert a.leading_cancelled and a.stop_calls == 1
    assert not a.elector.is_leader
    spec = lease_spec(fake)
    assert spec["holderIdentity"] == ""
    assert spec["leaseDurationSeconds"] == 1
    assert spec["leaseTransitions"] == 0
    assert a.new_leaders == ["a", ""]
    assert await a.elector.release() is True  # nothing more to release


async def test_release_lets_the_standby_take_over_immediately(fake: FakeClient, candidates) -> None:
    lease, renew = 2.0, 1.0  # long enough that only a release explains a fast takeover
    a = candidates("a", lease_duration=lease, renew_deadline=renew).start()
    await a.wait_leading(1.0)
    b = candidates("b", lease_duration=lease, renew_deadline=renew).start()
    await asyncio.sleep(RETRY * 3)
    released_at = now()
    assert await a.elector.release()
    b_started = await b.wait_leading(1.0)
    assert b_started - released_at <= MAX_POLL + SLACK
    assert a.stopped_at is not None and a.stopped_at < b_started
    spec = lease_spec(fake)
    assert spec["holderIdentity"] == "b"
    assert spec["leaseTransitions"] == 1
    assert b.new_leaders == ["a", "", "b"] or b.new_leaders == ["a", "b"]


async def test_release_on_cancel_releases_when_run_is_cancelled(fake: FakeClient, candidates) -> None:
    a = candidates("a", release_on_cancel=True).start()
    await a.wait_leading(1.0)
    assert a.task is not None
    a.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await a.task
    assert a.stop_calls == 1 and a.leading_cancelled
    assert lease_spec(fake)["holderIdentity"] == ""


async def test_cancelling_run_without_release_on_cancel_keeps_the_lease(fake: FakeClient, candidates) -> None:
    a = candidates("a").start()
    await a.wait_leading(1.0)
    assert a.task is not None
    a.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await a.task
    assert a.stop_calls == 1
    assert lease_spec(fake)["holderIdentity"] == "a"


async def test_lease_transitions_count_holder_changes(fake: FakeClient, candidates) -> None:
    a = candidates("a").start()
    await a.wait_leading(1.0)
    await asyncio.sleep(RETRY * 3)  # renewals do not count
    assert lease_spec(fake)["leaseTransitions"] == 0
    b = candidates("b").start()
    await a.elector.release()
    await b.wait_leading(1.0)
    assert lease_spec(fake)["leaseTransitions"] == 1
    a2 = candidates("a").start()
    await b.elector.release()
    await a2.wait_leading(1.0)
    spec = lease_spec(fake)
    assert (spec["holderIdentity"], spec["leaseTransitions"]) == ("a", 2)


async def test_a_failing_leading_task_stops_leading_and_run_raises(fake: FakeClient, candidates) -> None:
    async def crash() -> None:
        raise RuntimeError("controller crashed")

    a = candidates("a", lead=crash).start()
    assert a.task is not None
    with pytest.raises(RuntimeError, match="controller crashed"):
        await asyncio.wait_for(a.task, 1.0)
    assert a.stop_calls == 1
    assert not a.elector.is_leader
    assert lease_spec(fake)["holderIdentity"] == "a"  # like a crash: the lease just expires


async def test_run_cannot_run_twice_at_once(fake: FakeClient, candidates) -> None:
    a = candidates("a").start()
    await a.wait_leading(1.0)
    with pytest.raises(RuntimeError):
        await a.elector.run()


@pytest.mark.parametrize("settings", [
    {"lease_duration": 1.0, "renew_deadline": 1.0, "retry_period": 0.1},
    {"lease_duration": 2.0, "renew_deadline": 1.0, "retry_period": 1.0},
    {"lease_duration": 2.0, "renew_deadline": 1.0, "retry_period": 0.0},
])
def test_config_rejects_unsafe_timings(settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        LeaderElectionConfig(NS, NAME, "a", **settings)


def test_config_defaults_match_client_go() -> None:
    config = LeaderElectionConfig(NS, NAME, "a")
    assert (config.lease_duration, config.renew_deadline, config.retry_period) == (15.0, 10.0, 2.0)
    assert lease_duration_seconds(15.0) == 15
    assert lease_duration_seconds(0.3) == 1


T0, T1 = "2026-11-22T03:24:37.123456Z", "2026-11-22T03:24:39.000001Z"


@pytest.mark.parametrize(("existing", "expired", "expected"), [
    # nobody holds it: acquire, one more transition
    ({}, False, {"holderIdentity": "me", "acquireTime": T1, "leaseTransitions": 1}),
    ({"holderIdentity": "", "leaseTransitions": 3, "acquireTime": T0}, False,
     {"holderIdentity": "me", "acquireTime": T1, "leaseTransitions": 4}),
    # held by another and still valid in our observation: no
    ({"holderIdentity": "other", "leaseTransitions": 3, "acquireTime": T0, "renewTime": T0}, False, None),
    # held by another but expired in our observation: take it over
    ({"holderIdentity": "other", "leaseTransitions": 3, "acquireTime": T0, "renewTime": T0}, True,
     {"holderIdentity": "me", "acquireTime": T1, "leaseTransitions": 4}),
    # ours: renew, keeping acquireTime and transitions, expired or not
    ({"holderIdentity": "me", "leaseTransitions": 3, "acquireTime": T0, "renewTime": T0}, False,
     {"holderIdentity": "me", "acquireTime": T0, "leaseTransitions": 3}),
    ({"holderIdentity": "me", "leaseTransitions": 3, "acquireTime": T0, "renewTime": T0}, True,
     {"holderIdentity": "me", "acquireTime": T0, "leaseTransitions": 3}),
    ({"holderIdentity": "me"}, False, {"holderIdentity": "me", "acquireTime": T1, "leaseTransitions": 0}),
])
def test_compute_lease_update(existing: dict[str, Any], expired: bool,
                              expected: dict[str, Any] | None) -> None:
    before = dict(existing)
    result = compute_lease_update(existing, "me", T1, 15.0, observed_expired=expired)
    assert existing == before  # pure
    if expected is None:
        assert result is None
        return
    assert result == {**expected, "renewTime": T1, "leaseDurationSeconds": 15}


async def test_release_while_waiting_to_acquire_ends_run_without_leading(
        fake: FakeClient, candidates) -> None:
    a = candidates("a").start()
    await a.wait_leading(1.0)
    b = candidates("b").start()
    await asyncio.sleep(RETRY * 2)
    assert await asyncio.wait_for(b.elector.release(), 1.0) is True
    assert b.task is not None and b.task.done()
    assert b.started_at is None and b.stop_calls == 0
    assert lease_spec(fake)["holderIdentity"] == "a"  # not b's to release
