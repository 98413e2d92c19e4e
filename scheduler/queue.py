"""The scheduling queue: which pod is scheduled next (Kubernetes' PriorityQueue).

Three places a pending pod can be:

- **activeQ** — ready to be tried; popped highest `spec.priority` first, then first-in first-out.
- **backoffQ** — just failed; waits 1 s, doubling per attempt up to 10 s, then returns to activeQ.
- **unschedulablePods** — no node fits. It stays there until a cluster event that could change
  that happens (a node is added or changes, an assigned pod goes away, ...) and only if a plugin
  that rejected it cares about that event; then it moves to backoffQ (still backing off) or
  activeQ. As a safety net, a pod unschedulable for 5 minutes is retried anyway
  (podMaxInUnschedulablePodsDuration).

If an event arrives while a pod is being scheduled, the event might have made it schedulable, so
a failure of that attempt goes to backoffQ rather than unschedulablePods (the "move request
cycle"). The clock is injectable so tests can step time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from scheduler.pod_info import PodInfo

INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 10.0
MAX_IN_UNSCHEDULABLE = 300.0

NODE_ADD, NODE_UPDATE = "NodeAdd", "NodeUpdate"
ASSIGNED_POD_ADD, ASSIGNED_POD_UPDATE, ASSIGNED_POD_DELETE = "AssignedPodAdd", "AssignedPodUpdate", "AssignedPodDelete"
UNSCHEDULABLE_TIMEOUT = "UnschedulableTimeout"
_RESOURCE_PLUGINS = {"NodeResourcesFit", "NodePorts", "InterPodAffinity", "PodTopologySpread",
                     "NodeResourcesBalancedAllocation", "DefaultPreemption"}
# Which in-tree plugins' rejections an event may undo (their EventsToRegister, simplified).
INTERESTED_PLUGINS: dict[str, set[str]] = {
    NODE_ADD: {"NodeName", "NodeUnschedulable", "NodeResourcesFit", "NodeAffinity", "TaintToleration",
               "InterPodAffinity", "PodTopologySpread", "NodePorts", "NodeResourcesBalancedAllocation"},
    NODE_UPDATE: {"NodeUnschedulable", "NodeResourcesFit", "NodeAffinity", "TaintToleration", "InterPodAffinity",
                  "PodTopologySpread", "NodeResourcesBalancedAllocation"},
    ASSIGNED_POD_DELETE: _RESOURCE_PLUGINS,
    ASSIGNED_POD_ADD: {"InterPodAffinity", "PodTopologySpread"},
    ASSIGNED_POD_UPDATE: {"InterPodAffinity", "PodTopologySpread", "NodeResourcesFit"},
}
IN_TREE = set().union(*INTERESTED_PLUGINS.values())


@dataclass
class QueuedPodInfo:
    pod: PodInfo
    timestamp: float  # when it (re-)entered the queue: the FIFO order within one priority
    initial_attempt_timestamp: float | None = None
    attempts: int = 0
    unschedulable_plugins: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        return self.pod.key


class SchedulingQueue:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic, initial_backoff: float = INITIAL_BACKOFF,
                 max_backoff: float = MAX_BACKOFF, max_in_unschedulable: float = MAX_IN_UNSCHEDULABLE) -> None:
        self.clock = clock
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.max_in_unschedulable = max_in_unschedulable
        self._active: dict[str, QueuedPodInfo] = {}
        self._active_heap: list[tuple[int, float, int, str]] = []
        self._backoff: dict[str, QueuedPodInfo] = {}
        self._unschedulable: dict[str, tuple[QueuedPodInfo, float]] = {}
        self._in_flight: dict[str, QueuedPodInfo] = {}
        self._seq = itertools.count()
        self._ready = asyncio.Event()
        self._closed = False
        self.scheduling_cycle = 0
        self.move_request_cycle = -1

    # -- adding, updating, deleting pending pods ---------------------------------------------

    def add(self, pod: PodInfo) -> None:
        if self._update_in_place(pod):
            return
        self._push_active(QueuedPodInfo(pod, self.clock()))

    def update(self, pod: PodInfo, move: bool = True) -> None:
        """A pending pod changed: keep its place; if `move`, an unschedulable pod gets another try."""
        if move and pod.key in self._unschedulable:
            queued, _ = self._unschedulable.pop(pod.key)
            queued.pod = pod
            self._move(queued)
        elif not self._update_in_place(pod):
            self.add(pod)

    def _update_in_place(self, pod: PodInfo) -> bool:
        for place in (self._active, self._backoff, self._in_flight):
            if pod.key in place:
                place[pod.key].pod = pod
                return True
        if pod.key in self._unschedulable:
            self._unschedulable[pod.key][0].pod = pod
            return True
        return False

    def delete(self, key: str) -> None:
        self._active.pop(key, None)  # its heap entry is skipped when popped
        self._backoff.pop(key, None)
        self._unschedulable.pop(key, None)
        self._in_flight.pop(key, None)

    def __contains__(self, key: str) -> bool:
        return any(key in place for place in (self._active, self._backoff, self._unschedulable, self._in_flight))

    # -- popping -----------------------------------------------------------------------------

    async def pop(self) -> QueuedPodInfo | None:
        """The next pod to schedule; waits for one. None once the queue is closed."""
        while not self._closed:
            queued = self.pop_nowait()
            if queued is not None:
                return queued
            self._ready.clear()
            await self._ready.wait()
        return None

    def pop_nowait(self) -> QueuedPodInfo | None:
        while self._active_heap:
            _, _, _, key = heapq.heappop(self._active_heap)
            queued = self._active.pop(key, None)
            if queued is None:
                continue  # deleted, or re-pushed with a newer entry
            self.scheduling_cycle += 1
            queued.attempts += 1
            if queued.initial_attempt_timestamp is None:
                queued.initial_attempt_timestamp = self.clock()
            self._in_flight[key] = queued
            return queued
        return None

    def done(self, key: str) -> None:
        """The pod's scheduling attempt ended (scheduled, or re-queued)."""
        self._in_flight.pop(key, None)

    # -- failures ----------------------------------------------------------------------------

    def add_unschedulable(self, queued: QueuedPodInfo, pod_scheduling_cycle: int) -> None:
        """A failed attempt: to unschedulablePods, or backoffQ if something moved meanwhile."""
        if self._in_flight.pop(queued.key, None) is None:
            return  # deleted while being scheduled
        queued.timestamp = self.clock()
        if self.move_request_cycle >= pod_scheduling_cycle or not queued.unschedulable_plugins:
            self._backoff[queued.key] = queued
        else:
            self._unschedulable[queued.key] = (queued, self.clock())

    def backoff_duration(self, queued: QueuedPodInfo) -> float:
        return min(self.initial_backoff * 2 ** max(queued.attempts - 1, 0), self.max_backoff)

    def backoff_expiry(self, queued: QueuedPodInfo) -> float:
        return queued.timestamp + self.backoff_duration(queued)

    def is_backing_off(self, queued: QueuedPodInfo) -> bool:
        return self.backoff_expiry(queued) > self.clock()

    # -- cluster events ----------------------------------------------------------------------

    def move_all_to_active_or_backoff(self, event: str) -> int:
        """A cluster event: retry the unschedulable pods a rejecting plugin of theirs cares about."""
        interested = INTERESTED_PLUGINS.get(event)
        moved = 0
        for key, (queued, _) in list(self._unschedulable.items()):
            if interested is None or _cares(queued.unschedulable_plugins, interested):
                del self._unschedulable[key]
                self._move(queued)
                moved += 1
        self.move_request_cycle = self.scheduling_cycle
        return moved

    def flush_backoff_completed(self) -> None:
        for key, queued in list(self._backoff.items()):
            if not self.is_backing_off(queued):
                del self._backoff[key]
                self._push_active(queued)

    def flush_unschedulable_leftover(self) -> None:
        now = self.clock()
        for key, (queued, since) in list(self._unschedulable.items()):
            if now - since > self.max_in_unschedulable:
                del self._unschedulable[key]
                self._move(queued)

    def _move(self, queued: QueuedPodInfo) -> None:
        if self.is_backing_off(queued):
            self._backoff[queued.key] = queued
        else:
            self._push_active(queued)

    def _push_active(self, queued: QueuedPodInfo) -> None:
        self._active[queued.key] = queued
        heapq.heappush(self._active_heap, (-queued.pod.priority, queued.timestamp, next(self._seq), queued.key))
        self._ready.set()

    # -- running -----------------------------------------------------------------------------

    async def run(self, backoff_period: float = 1.0, unschedulable_period: float = 30.0) -> None:
        """Flush backoffQ every second and long-unschedulable pods every 30 s, until cancelled."""
        ticks_per_flush = max(int(unschedulable_period / backoff_period), 1)
        for tick in itertools.count(1):
            await asyncio.sleep(backoff_period)
            self.flush_backoff_completed()
            if tick % ticks_per_flush == 0:
                self.flush_unschedulable_leftover()

    def close(self) -> None:
        self._closed = True
        self._ready.set()

    def pending(self) -> dict[str, int]:
        return {"active": len(self._active), "backoff": len(self._backoff),
                "unschedulable": len(self._unschedulable)}


def _cares(rejectors: set[str], interested: set[str]) -> bool:
    return not rejectors or bool(rejectors & interested) or bool(rejectors - IN_TREE)
