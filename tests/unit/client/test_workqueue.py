from __future__ import annotations

import asyncio
import time

import pytest

from client.workqueue import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    ShutDown,
    WorkQueue,
    default_controller_rate_limiter,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def get_soon(queue: WorkQueue[str], timeout: float = 1.0) -> str:
    return await asyncio.wait_for(queue.get(), timeout)


async def assert_nothing_ready(queue: WorkQueue[str], wait: float = 0.02) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.get(), wait)


# -- the basic queue -------------------------------------------------------------------------


async def test_a_key_added_twice_is_queued_once() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("ns/a")
    queue.add("ns/b")
    queue.add("ns/a")
    assert queue.len() == len(queue) == 2
    assert await get_soon(queue) == "ns/a"
    assert await get_soon(queue) == "ns/b"
    await assert_nothing_ready(queue)


async def test_keys_come_out_in_fifo_order() -> None:
    queue: WorkQueue[str] = WorkQueue()
    for key in ("c", "a", "b"):
        queue.add(key)
    assert [await get_soon(queue) for _ in range(3)] == ["c", "a", "b"]


async def test_a_key_readded_while_processing_is_requeued_only_after_done() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("ns/a")
    key = await get_soon(queue)
    assert queue.is_processing(key)
    queue.add("ns/a")
    queue.add("ns/a")
    assert queue.len() == 0  # dirty, but not handed out while it is processing
    await assert_nothing_ready(queue)
    queue.done(key)
    assert queue.len() == 1
    assert await get_soon(queue) == "ns/a"
    queue.done("ns/a")
    await assert_nothing_ready(queue)  # the two re-adds collapsed into one


async def test_done_without_readd_does_not_requeue() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    queue.done(await get_soon(queue))
    assert queue.len() == 0
    assert not queue.is_processing("a")


async def test_workers_never_process_one_key_concurrently() -> None:
    queue: WorkQueue[str] = WorkQueue()
    active: set[str] = set()
    overlaps: list[str] = []
    processed: list[str] = []

    async def worker() -> None:
        while True:
            try:
                key = await queue.get()
            except ShutDown:
                return
            if key in active:
                overlaps.append(key)
            active.add(key)
            await asyncio.sleep(0.002)
            processed.append(key)
            active.discard(key)
            queue.done(key)

    workers = [asyncio.create_task(worker()) for _ in range(4)]
    for _ in range(30):
        for key in ("a", "b"):
            queue.add(key)
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.02)
    await queue.shut_down_with_drain()
    await asyncio.wait_for(asyncio.gather(*workers), 1.0)
    assert overlaps == []
    assert {"a", "b"} <= set(processed)
    assert len(processed) < 60  # adds during processing were de-duplicated


async def test_a_waiting_get_wakes_up_on_add() -> None:
    queue: WorkQueue[str] = WorkQueue()
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0.01)
    assert not getter.done()
    queue.add("x")
    assert await asyncio.wait_for(getter, 1.0) == "x"


async def test_a_cancelled_get_passes_its_wakeup_on() -> None:
    queue: WorkQueue[str] = WorkQueue()
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.add("x")  # wakes `first` ...
    first.cancel()  # ... which is cancelled before it runs
    assert await asyncio.wait_for(second, 1.0) == "x"
    assert first.cancelled()


# -- shutting down ---------------------------------------------------------------------------


async def test_shut_down_unblocks_waiting_getters() -> None:
    queue: WorkQueue[str] = WorkQueue()
    getters = [asyncio.create_task(queue.get()) for _ in range(3)]
    await asyncio.sleep(0.01)
    queue.shut_down()
    assert queue.shutting_down
    results = await asyncio.wait_for(asyncio.gather(*getters, return_exceptions=True), 1.0)
    assert all(isinstance(r, ShutDown) for r in results)


async def test_get_drains_queued_keys_before_raising_shutdown() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    queue.add("b")
    queue.shut_down()
    queue.add("c")  # ignored after shutdown
    assert await get_soon(queue) == "a"
    assert await get_soon(queue) == "b"
    with pytest.raises(ShutDown):
        await get_soon(queue)


async def test_shut_down_drops_pending_delayed_adds() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add_after("later", 0.01)
    assert queue.num_waiting() == 1
    queue.shut_down()
    await asyncio.sleep(0.03)
    assert queue.len() == 0
    with pytest.raises(ShutDown):
        await get_soon(queue)


async def test_shut_down_with_drain_waits_for_keys_in_processing() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    key = await get_soon(queue)
    drain = asyncio.create_task(queue.shut_down_with_drain())
    await asyncio.sleep(0.01)
    assert not drain.done()
    queue.done(key)
    await asyncio.wait_for(drain, 1.0)


# -- delaying --------------------------------------------------------------------------------


async def test_add_after_adds_once_the_delay_passed_in_deadline_order() -> None:
    queue: WorkQueue[str] = WorkQueue()
    start = time.monotonic()
    queue.add_after("slow", 0.06)
    queue.add_after("fast", 0.02)
    queue.add_after("medium", 0.04)
    assert queue.len() == 0
    order = [await get_soon(queue) for _ in range(3)]
    assert order == ["fast", "medium", "slow"]
    assert time.monotonic() - start >= 0.06 - 0.005


async def test_add_after_keeps_the_earlier_deadline_for_a_waiting_key() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add_after("k", 0.2)
    queue.add_after("k", 0.01)  # sooner: replaces
    queue.add_after("k", 0.5)  # later: ignored
    assert queue.num_waiting() == 1
    start = time.monotonic()
    assert await get_soon(queue, 0.15) == "k"
    assert time.monotonic() - start < 0.15
    queue.done("k")
    await assert_nothing_ready(queue, 0.25)  # the 0.2 s timer was cancelled, not duplicated


async def test_add_after_with_no_delay_adds_immediately() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add_after("now", 0)
    assert queue.len() == 1


# -- rate limiting ---------------------------------------------------------------------------


def test_item_exponential_backoff_doubles_per_failure_up_to_max_and_forget_resets() -> None:
    limiter = ItemExponentialFailureRateLimiter(base_delay=0.005, max_delay=0.1)
    delays = [limiter.when("a") for _ in range(7)]
    assert delays == pytest.approx([0.005, 0.01, 0.02, 0.04, 0.08, 0.1, 0.1])
    assert limiter.num_requeues("a") == 7
    assert limiter.when("b") == pytest.approx(0.005)  # per key
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0
    assert limiter.when("a") == pytest.approx(0.005)


def test_item_exponential_backoff_saturates_without_overflow() -> None:
    limiter = ItemExponentialFailureRateLimiter(base_delay=0.005, max_delay=1000.0)
    for _ in range(2000):
        delay = limiter.when("a")
    assert delay == 1000.0


def test_bucket_allows_a_burst_then_spaces_tokens_at_qps() -> None:
    clock = FakeClock()
    bucket = BucketRateLimiter(qps=10.0, burst=3, clock=clock)
    assert [bucket.when(k) for k in "abc"] == [0.0, 0.0, 0.0]
    assert bucket.when("d") == pytest.approx(0.1)
    assert bucket.when("e") == pytest.approx(0.2)  # reservations queue up behind each other
    clock.now += 0.3
    assert bucket.when("f") == pytest.approx(0.0, abs=1e-9)  # 3 tokens refilled, 2 were owed
    assert bucket.when("g") == pytest.approx(0.1)
    clock.now += 10
    assert [bucket.when(k) for k in "ghi"] == [0.0, 0.0, 0.0]  # never more than burst
    assert bucket.when("j") == pytest.approx(0.1)


def test_default_controller_rate_limiter_is_the_max_of_both() -> None:
    clock = FakeClock()
    limiter = default_controller_rate_limiter(qps=10.0, burst=2, clock=clock)
    assert isinstance(limiter, MaxOfRateLimiter)
    assert limiter.when("a") == pytest.approx(0.005)  # per-item backoff wins
    assert limiter.when("a") == pytest.approx(0.01)
    assert limiter.when("b") == pytest.approx(0.1)  # bucket empty: the bucket wins
    assert limiter.num_requeues("a") == 2
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0


def test_default_constants_match_client_go() -> None:
    limiter = default_controller_rate_limiter()
    item, bucket = limiter.limiters
    assert isinstance(item, ItemExponentialFailureRateLimiter)
    assert isinstance(bucket, BucketRateLimiter)
    assert (item.base_delay, item.max_delay) == (0.005, 1000.0)
    assert (bucket.qps, bucket.burst) == (10.0, 100)


async def test_add_rate_limited_backs_off_more_each_failure_and_forget_resets() -> None:
    queue: WorkQueue[str] = WorkQueue(base_delay=0.01, max_delay=1.0, qps=1000.0, burst=1000)
    waits = []
    for _ in range(3):
        start = time.monotonic()
        queue.add_rate_limited("k")
        assert queue.len() == 0
        key = await get_soon(queue)
        waits.append(time.monotonic() - start)
        queue.done(key)
    assert queue.num_requeues("k") == 3
    assert waits[0] >= 0.01 - 0.003
    assert waits[1] >= 0.02 - 0.003
    assert waits[2] >= 0.04 - 0.003
    queue.forget("k")
    assert queue.num_requeues("k") == 0
    start = time.monotonic()
    queue.add_rate_limited("k")
    await get_soon(queue)
    assert time.monotonic() - start < 0.04


async def test_rate_limiter_clock_is_injectable() -> None:
    clock = FakeClock()
    queue: WorkQueue[str] = WorkQueue(base_delay=0.0001, qps=100.0, burst=1, clock=clock)
    queue.add_rate_limited("a")  # the one token
    queue.add_rate_limited("b")  # waits 10 ms for the next token on the fake clock's terms
    assert await get_soon(queue) == "a"
    assert queue.len() == 0 and queue.num_waiting() == 1
    assert await get_soon(queue) == "b"
