"""Exponential backoff and a retry helper, after client-go's `wait.Backoff` and `retry.OnError`.

Guarantees:
- `Backoff.next()` returns `base * (1 + U[0, jitter))` where `base` runs initial, initial*factor,
  initial*factor**2, ... and never exceeds `cap`. As in client-go, jitter is added on top of the
  capped base (so clients at the cap do not retry in lockstep): the result is always in
  `[min(initial, cap), cap * (1 + jitter))`, and equals the base exactly when `jitter == 0`.
- `reset()` starts the sequence over from `initial`.
- `retry()` calls `fn` at most `attempts` times (forever when `attempts is None`), sleeping
  `backoff.next()` between calls. It returns the first result; it re-raises at once any
  exception for which `retry_on` is false, and re-raises the last exception when attempts run
  out. Cancellation (`asyncio.CancelledError`) is never retried.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from apimachinery import errors

T = TypeVar("T")


class Backoff:
    """Delays for successive retries: initial, initial*factor, ... capped at `cap`, plus jitter."""

    def __init__(self, initial: float, factor: float = 2.0, *, cap: float, jitter: float = 0.0,
                 rng: random.Random | None = None) -> None:
        if initial < 0 or cap < 0:
            raise ValueError("initial and cap must be >= 0")
        if factor < 1.0:
            raise ValueError("factor must be >= 1")
        if jitter < 0:
            raise ValueError("jitter must be >= 0")
        self.initial = initial
        self.factor = factor
        self.cap = cap
        self.jitter = jitter
        self._rng = rng or random.Random()
        self._current = min(initial, cap)
        self.steps = 0  # how many delays were handed out since the last reset

    def next(self) -> float:
        """The delay to sleep before the next attempt; advances the sequence."""
        base = self._current
        self._current = min(self._current * self.factor, self.cap)
        self.steps += 1
        if self.jitter > 0:
            return base + self._rng.random() * self.jitter * base
        return base

    def peek(self) -> float:
        """The base (unjittered) delay the next call to `next()` will start from."""
        return self._current

    def reset(self) -> None:
        self._current = min(self.initial, self.cap)
        self.steps = 0


async def retry(fn: Callable[[], Awaitable[T]], *, retry_on: Callable[[BaseException], bool],
                attempts: int | None, backoff: Backoff) -> T:
    """Await `fn()` until it succeeds, retrying errors `retry_on` accepts (client-go retry.OnError)."""
    if attempts is not None and attempts < 1:
        raise ValueError("attempts must be >= 1 (or None for unlimited)")
    attempt = 0
    while True:
        attempt += 1
        try:
            return await fn()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            if not retry_on(e) or (attempts is not None and attempt >= attempts):
                raise
        await asyncio.sleep(backoff.next())


def default_retry() -> Backoff:
    """client-go's retry.DefaultRetry: 10ms steps, jitter 0.1 (used with 5 attempts)."""
    return Backoff(initial=0.01, factor=1.0, cap=0.01, jitter=0.1)


async def retry_on_conflict(fn: Callable[[], Awaitable[T]], *, attempts: int = 5,
                            backoff: Backoff | None = None) -> T:
    """client-go's retry.RetryOnConflict: re-run a get-modify-update closure on Conflict."""
    return await retry(fn, retry_on=lambda e: isinstance(e, errors.Conflict), attempts=attempts,
                       backoff=backoff or default_retry())
