"""A rate-limited, de-duplicating work queue for controllers (client-go's util/workqueue).

It is client-go's Type + delayingType + rateLimitingType for one asyncio event loop. Event
handlers `add()` keys ("ns/name"); workers loop `key = await q.get()`, reconcile, `done(key)`.

Guarantees (client-go semantics):
- de-duplication: a key waiting in the queue is held once, however often it is added;
- no concurrent processing of a key: between `get()` returning a key and `done(key)` the key is
  "processing"; adding it again only marks it dirty, and `done()` puts it back at the end of the
  queue, so a change that arrives during a reconcile is never lost and never reconciled twice at
  once;
- FIFO among ready keys;
- `add_after(key, delay)` adds the key once `delay` has passed, on the event loop's timer; a key
  already waiting keeps the earlier of its two deadlines;
- `add_rate_limited(key)` = `add_after(key, rate_limiter.when(key))`; the default limiter is
  DefaultControllerRateLimiter: the max of a per-key exponential failure backoff (5 ms doubling
  to 1000 s) and an overall token bucket (10 qps, burst 100). `forget(key)` resets the key's
  failure count, `num_requeues(key)` reports it;
- `shut_down()`: later adds are ignored, pending `add_after` timers are dropped, and `get()`
  keeps handing out the keys already queued, then raises `ShutDown` (to every waiting worker
  too). `shut_down_with_drain()` also waits until every key handed out is `done()`.

The clock only drives the rate limiters' bookkeeping (inject a fake one to test them without
sleeping); delays themselves are asyncio timers. Like every asyncio object the queue is not
thread-safe: use it from its event loop only.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, Protocol, TypeVar

K = TypeVar("K", bound=Hashable)


class ShutDown(Exception):
    """`get()` on a queue that has been shut down and has nothing left to hand out."""


class RateLimiter(Protocol):
    def when(self, key: Hashable) -> float:
        """How long to wait before `key` may be processed again; records one more failure."""
        ...

    def forget(self, key: Hashable) -> None:
        """Stop tracking `key` (it succeeded or was given up on)."""
        ...

    def num_requeues(self, key: Hashable) -> int:
        ...


class ItemExponentialFailureRateLimiter:
    """base_delay * 2**failures per key, capped at max_delay (client-go's namesake)."""

    def __init__(self, base_delay: float = 0.005, max_delay: float = 1000.0) -> None:
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._failures: dict[Hashable, int] = {}

    def when(self, key: Hashable) -> float:
        exp = self._failures.get(key, 0)
        self._failures[key] = exp + 1
        if exp > 62:  # 2**63 overflows client-go's Duration; we just saturate
            return self.max_delay
        return min(self.base_delay * 2.0**exp, self.max_delay)

    def forget(self, key: Hashable) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: Hashable) -> int:
        return self._failures.get(key, 0)


class BucketRateLimiter:
    """An overall token bucket (golang.org/x/time/rate semantics): each `when()` reserves a token.

    The bucket starts full (`burst` tokens) and refills at `qps`; a reservation made with no token
    available returns the wait until its token will exist (tokens go negative, as in Go)."""

    def __init__(self, qps: float = 10.0, burst: int = 100,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if qps <= 0 or burst < 1:
            raise ValueError("qps must be > 0 and burst >= 1")
        self.qps = qps
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def when(self, key: Hashable) -> float:
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._last = max(self._last, now)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.qps) - 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def forget(self, key: Hashable) -> None:
        pass

    def num_requeues(self, key: Hashable) -> int:
        return 0


class MaxOfRateLimiter:
    """The longest delay any of the limiters asks for (every limiter records every call)."""

    def __init__(self, *limiters: RateLimiter) -> None:
        if not limiters:
            raise ValueError("at least one rate limiter is required")
        self.limiters = limiters

    def when(self, key: Hashable) -> float:
        return max([limiter.when(key) for limiter in self.limiters])

    def forget(self, key: Hashable) -> None:
        for limiter in self.limiters:
            limiter.forget(key)

    def num_requeues(self, key: Hashable) -> int:
        return max(limiter.num_requeues(key) for limiter in self.limiters)


def default_controller_rate_limiter(*, base_delay: float = 0.005, max_delay: float = 1000.0,
                                    qps: float = 10.0, burst: int = 100,
                                    clock: Callable[[], float] = time.monotonic) -> MaxOfRateLimiter:
    """client-go's DefaultControllerRateLimiter, with its constants as defaults."""
    return MaxOfRateLimiter(ItemExponentialFailureRateLimiter(base_delay, max_delay),
                            BucketRateLimiter(qps, burst, clock))


class WorkQueue(Generic[K]):
    """De-duplicating, delaying, rate-limited queue of keys; see the module docstring."""

    def __init__(self, name: str = "", *, rate_limiter: RateLimiter | None = None, base_delay: float = 0.005,
                 max_delay: float = 1000.0, qps: float = 10.0, burst: int = 100,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.rate_limiter: RateLimiter = rate_limiter or default_controller_rate_limiter(
            base_delay=base_delay, max_delay=max_delay, qps=qps, burst=burst, clock=clock)
        self._queue: deque[K] = deque()  # ready keys, in order
        self._dirty: set[K] = set()  # keys that need processing (queued, or re-added while processing)
        self._processing: set[K] = set()  # keys handed out by get() and not yet done()
        self._waiting: dict[K, tuple[float, asyncio.TimerHandle]] = {}  # add_after: ready time, timer
        self._getters: deque[asyncio.Future[None]] = deque()
        self._idle_waiters: list[asyncio.Future[None]] = []
        self._shutting_down = False

    # -- the basic queue -------------------------------------------------------------------

    def add(self, key: K) -> None:
        """Mark `key` as needing processing; queue it unless it is queued or being processed."""
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return  # done() re-queues it
        self._queue.append(key)
        self._wake_one()

    async def get(self) -> K:
        """The next key to process (waits for one); raises ShutDown once shut down and drained."""
        while not self._queue:
            if self._shutting_down:
                raise ShutDown(f"work queue {self.name!r} is shut down")
            waiter = asyncio.get_running_loop().create_future()
            self._getters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # we were woken but will not take the key: pass it on
                else:
                    self._discard_getter(waiter)
                raise
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def done(self, key: K) -> None:
        """Finish processing `key`; if it was added meanwhile, queue it again."""
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wake_one()
        if not self._processing:
            for waiter in self._idle_waiters:
                if not waiter.done():
                    waiter.set_result(None)
            self._idle_waiters.clear()

    def len(self) -> int:
        """How many keys are ready to be handed out (client-go's Len)."""
        return len(self._queue)

    def __len__(self) -> int:
        return len(self._queue)

    def is_processing(self, key: K) -> bool:
        return key in self._processing

    def shut_down(self) -> None:
        """Ignore further adds, drop delayed adds, and let get() raise ShutDown once drained."""
        self._shutting_down = True
        for _, timer in self._waiting.values():
            timer.cancel()
        self._waiting.clear()
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    async def shut_down_with_drain(self) -> None:
        """shut_down(), then wait until every key handed out by get() has been done()."""
        self.shut_down()
        while self._processing:
            waiter = asyncio.get_running_loop().create_future()
            self._idle_waiters.append(waiter)
            await waiter

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    # -- delaying --------------------------------------------------------------------------

    def add_after(self, key: K, delay: float) -> None:
        """add(key) once `delay` seconds have passed (at once if delay <= 0)."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        ready_at = loop.time() + delay
        existing = self._waiting.get(key)
        if existing is not None:
            if existing[0] <= ready_at:
                return  # it will be added sooner anyway
            existing[1].cancel()
        self._waiting[key] = (ready_at, loop.call_at(ready_at, self._ready, key))

    def _ready(self, key: K) -> None:
        self._waiting.pop(key, None)
        self.add(key)

    def num_waiting(self) -> int:
        """How many keys are waiting for an add_after/add_rate_limited delay."""
        return len(self._waiting)

    # -- rate limiting ---------------------------------------------------------------------

    def add_rate_limited(self, key: K) -> None:
        """add_after(key, rate_limiter.when(key)): back off a key whose processing failed."""
        if self._shutting_down:
            return
        self.add_after(key, self.rate_limiter.when(key))

    def forget(self, key: K) -> None:
        """Reset `key`'s failure count (call when processing succeeded); done() is still needed."""
        self.rate_limiter.forget(key)

    def num_requeues(self, key: K) -> int:
        return self.rate_limiter.num_requeues(key)

    # -- internals -------------------------------------------------------------------------

    def _wake_one(self) -> None:
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _discard_getter(self, waiter: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):
            self._getters.remove(waiter)
