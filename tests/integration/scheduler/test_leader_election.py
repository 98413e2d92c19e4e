"""Two schedulers, one lease: only the leader schedules; the standby takes over when it stops."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any

import pytest

from client.leader_main import run_leader_elected
from scheduler.scheduler import Scheduler
from tests.integration.kubelet.conftest import eventually
from tests.integration.scheduler.conftest import Cluster, running_on, unscheduled_pod

pytestmark = pytest.mark.integration


async def test_the_standby_takes_over_and_no_pod_is_bound_twice(cluster: Cluster, client: Any) -> None:
    await cluster.add_node("n1", cpu="8", memory="16Gi")
    leading: list[str] = []

    def replica(identity: str) -> asyncio.Task[None]:
        async def lead() -> None:
            leading.append(identity)
            await Scheduler(client).run()

        return asyncio.create_task(run_leader_elected(
            client, lead, lock_name="kube-scheduler", identity=identity, lease_duration=2.0, renew_deadline=1.5,
            retry_period=0.2))

    tasks = {name: replica(name) for name in ("sched-a", "sched-b")}
    try:
        await eventually(lambda: asyncio.sleep(0, leading), timeout=10)
        first = leading[0]
        for i in range(5):
            await client.create(unscheduled_pod(f"before-{i}"))
        for i in range(5):
            await eventually(running_on(client, f"before-{i}"), timeout=20)
        assert leading == [first]  # the standby never ran

        tasks[first].cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await tasks[first]
        for i in range(5):
            await client.create(unscheduled_pod(f"after-{i}"))
        for i in range(5):
            await eventually(running_on(client, f"after-{i}"), timeout=20)
        assert len(leading) == 2 and leading[1] != first

        events = (await client.list("events", "default"))["items"]
        scheduled: Counter[str] = Counter()
        for event in events:
            if event["reason"] == "Scheduled":
                scheduled[event["involvedObject"]["name"]] += event.get("count") or 1
        assert all(count == 1 for count in scheduled.values())
        assert len(scheduled) == 10
    finally:
        for task in tasks.values():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
