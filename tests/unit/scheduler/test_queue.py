import asyncio

from scheduler import queue as q
from scheduler.pod_info import PodInfo
from scheduler.queue import SchedulingQueue
from tests.unit.scheduler.fakes import pod


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_queue() -> tuple[SchedulingQueue, Clock]:
    clock = Clock()
    return SchedulingQueue(clock=clock), clock


def info(name: str, priority: int = 0) -> PodInfo:
    return PodInfo.of(pod(name, priority=priority))


def pop_all(queue: SchedulingQueue) -> list[str]:
    names = []
    while (queued := queue.pop_nowait()) is not None:
        names.append(queued.pod.name)
    return names


def fail(queue: SchedulingQueue, name: str, *plugins: str) -> None:
    queued = queue.pop_nowait()
    assert queued is not None and queued.pod.name == name
    queued.unschedulable_plugins = set(plugins)
    queue.add_unschedulable(queued, queue.scheduling_cycle)


def test_pops_highest_priority_first_then_in_arrival_order() -> None:
    queue, clock = make_queue()
    for name, priority in [("low1", 0), ("high", 100), ("low2", 0), ("mid", 50)]:
        queue.add(info(name, priority))
        clock.now += 1
    assert pop_all(queue) == ["high", "mid", "low1", "low2"]


def test_a_deleted_pod_is_never_popped() -> None:
    queue, _ = make_queue()
    queue.add(info("a"))
    queue.add(info("b"))
    queue.delete("default/a")
    assert pop_all(queue) == ["b"]


def test_backoff_starts_at_1s_doubles_and_caps_at_10s() -> None:
    queue, clock = make_queue()
    queue.add(info("p"))
    queued = queue.pop_nowait()
    waits = []
    for _ in range(6):
        assert queued is not None
        queue.add_unschedulable(queued, queue.scheduling_cycle)  # no plugin named (an error): to backoff
        started = clock.now
        queued = None
        for _ in range(100):
            clock.now += 0.5
            queue.flush_backoff_completed()
            queued = queue.pop_nowait()
            if queued is not None:
                break
        waits.append(clock.now - started)
    assert waits == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_unschedulable_pods_wait_for_an_event_a_rejecting_plugin_cares_about() -> None:
    queue, clock = make_queue()
    queue.add(info("needs-cpu"))
    queue.add(info("needs-label"))
    fail(queue, "needs-cpu", "NodeResourcesFit")
    fail(queue, "needs-label", "NodeAffinity")
    clock.now += 60
    queue.flush_backoff_completed()
    assert pop_all(queue) == []
    assert queue.move_all_to_active_or_backoff(q.ASSIGNED_POD_DELETE) == 1
    assert pop_all(queue) == ["needs-cpu"]
    assert queue.move_all_to_active_or_backoff(q.NODE_ADD) == 1
    assert pop_all(queue) == ["needs-label"]


def test_a_moved_pod_still_backing_off_waits_in_backoff() -> None:
    queue, clock = make_queue()
    queue.add(info("p"))
    fail(queue, "p", "NodeResourcesFit")
    queue.move_all_to_active_or_backoff(q.NODE_ADD)
    assert pop_all(queue) == []
    clock.now += 1
    queue.flush_backoff_completed()
    assert pop_all(queue) == ["p"]


def test_an_event_during_the_attempt_sends_the_failure_to_backoff_not_unschedulable() -> None:
    queue, clock = make_queue()
    queue.add(info("p"))
    queued = queue.pop_nowait()
    assert queued is not None
    cycle = queue.scheduling_cycle
    queue.move_all_to_active_or_backoff(q.NODE_ADD)  # a node arrived while we were scheduling
    queued.unschedulable_plugins = {"NodeResourcesFit"}
    queue.add_unschedulable(queued, cycle)
    clock.now += 1
    queue.flush_backoff_completed()
    assert pop_all(queue) == ["p"]


def test_unschedulable_pods_are_retried_after_five_minutes_anyway() -> None:
    queue, clock = make_queue()
    queue.add(info("p"))
    fail(queue, "p", "NodeAffinity")
    clock.now += 299
    queue.flush_unschedulable_leftover()
    assert pop_all(queue) == []
    clock.now += 2
    queue.flush_unschedulable_leftover()
    assert pop_all(queue) == ["p"]


def test_a_spec_update_retries_an_unschedulable_pod_but_a_status_update_does_not() -> None:
    queue, clock = make_queue()
    queue.add(info("p"))
    fail(queue, "p", "NodeAffinity")
    clock.now += 20
    queue.update(info("p"), move=False)
    assert pop_all(queue) == []
    queue.update(info("p"), move=True)
    assert pop_all(queue) == ["p"]


async def test_pop_waits_for_a_pod_and_returns_none_when_closed() -> None:
    queue = SchedulingQueue()
    waiter = asyncio.create_task(queue.pop())
    await asyncio.sleep(0)
    queue.add(info("p"))
    queued = await asyncio.wait_for(waiter, 1)
    assert queued is not None and queued.pod.name == "p"
    waiter = asyncio.create_task(queue.pop())
    await asyncio.sleep(0)
    queue.close()
    assert await asyncio.wait_for(waiter, 1) is None
