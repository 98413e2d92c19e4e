from __future__ import annotations

import asyncio
import random
import time

import pytest

from apimachinery import errors
from client.backoff import Backoff, retry, retry_on_conflict


def test_delays_grow_by_factor_until_the_cap() -> None:
    backoff = Backoff(initial=0.1, factor=2.0, cap=1.0)
    assert [backoff.next() for _ in range(6)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    assert backoff.steps == 6


def test_reset_starts_over_from_initial() -> None:
    backoff = Backoff(initial=0.5, cap=10.0)
    backoff.next()
    backoff.next()
    backoff.reset()
    assert backoff.next() == 0.5
    assert backoff.steps == 1


def test_initial_above_cap_is_capped() -> None:
    assert Backoff(initial=5.0, cap=1.0).next() == 1.0


def test_jitter_adds_up_to_jitter_times_base_on_top_of_capped_base() -> None:
    backoff = Backoff(initial=1.0, factor=2.0, cap=4.0, jitter=0.5, rng=random.Random(7))
    bases = [1.0, 2.0, 4.0, 4.0, 4.0]
    delays = [backoff.next() for _ in bases]
    for base, delay in zip(bases, delays, strict=True):
        assert base <= delay < base * 1.5
    assert len(set(delays[2:])) == 3  # at the cap, jitter still spreads retries out


def test_invalid_parameters_are_rejected() -> None:
    with pytest.raises(ValueError):
        Backoff(initial=1.0, factor=0.5, cap=2.0)
    with pytest.raises(ValueError):
        Backoff(initial=-1.0, cap=2.0)
    with pytest.raises(ValueError):
        Backoff(initial=1.0, cap=2.0, jitter=-0.1)


async def test_retry_returns_the_first_success_after_retryable_failures() -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise errors.unavailable("down")
        return "ok"

    backoff = Backoff(initial=0.001, cap=0.01)
    result = await retry(flaky, retry_on=lambda e: isinstance(e, errors.Unavailable), attempts=5,
                         backoff=backoff)
    assert result == "ok"
    assert calls == 3
    assert backoff.steps == 2  # slept between calls only


async def test_retry_reraises_non_retryable_errors_at_once() -> None:
    calls = 0

    async def broken() -> None:
        nonlocal calls
        calls += 1
        raise errors.not_found("pods", "web")

    with pytest.raises(errors.NotFound):
        await retry(broken, retry_on=lambda e: isinstance(e, errors.Unavailable), attempts=5,
                    backoff=Backoff(initial=0.001, cap=0.01))
    assert calls == 1


async def test_retry_gives_up_after_attempts_with_the_last_error() -> None:
    calls = 0

    async def always_conflicts() -> None:
        nonlocal calls
        calls += 1
        raise errors.conflict("pods", "web", f"attempt {calls}")

    with pytest.raises(errors.Conflict, match="attempt 3"):
        await retry(always_conflicts, retry_on=lambda e: True, attempts=3,
                    backoff=Backoff(initial=0.001, cap=0.01))
    assert calls == 3


async def test_retry_without_attempt_limit_keeps_going() -> None:
    calls = 0

    async def eventually() -> int:
        nonlocal calls
        calls += 1
        if calls < 20:
            raise OSError("reset")
        return calls

    assert await retry(eventually, retry_on=lambda e: isinstance(e, OSError), attempts=None,
                       backoff=Backoff(initial=0.0001, cap=0.0001)) == 20


async def test_retry_sleeps_the_backoff_delays() -> None:
    async def fail() -> None:
        raise OSError("nope")

    start = time.monotonic()
    with pytest.raises(OSError):
        await retry(fail, retry_on=lambda e: True, attempts=3, backoff=Backoff(initial=0.02, cap=1.0))
    assert time.monotonic() - start >= 0.02 + 0.04 - 0.005


async def test_retry_does_not_retry_cancellation() -> None:
    calls = 0

    async def cancelled() -> None:
        nonlocal calls
        calls += 1
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await retry(cancelled, retry_on=lambda e: True, attempts=5, backoff=Backoff(initial=0.001, cap=0.01))
    assert calls == 1


async def test_retry_rejects_zero_attempts() -> None:
    async def never() -> None:
        raise AssertionError("must not be called")

    with pytest.raises(ValueError):
        await retry(never, retry_on=lambda e: True, attempts=0, backoff=Backoff(initial=0.001, cap=0.01))


async def test_retry_on_conflict_reruns_the_closure_on_conflict_only() -> None:
    calls = 0

    async def update() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise errors.conflict("pods", "web", errors.STALE_OBJECT_TEXT)
        return "updated"

    assert await retry_on_conflict(update) == "updated"
    assert calls == 2
