"""The scheduler against a real apiserver and hollow kubelets."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.kubelet.conftest import eventually
from tests.integration.scheduler.conftest import Cluster, get_pod, running_on, unscheduled_pod

pytestmark = pytest.mark.integration
TAINT = ({"key": "dedicated", "value": "db", "effect": "NoSchedule"},)


async def three_nodes(cluster: Cluster) -> None:
    await cluster.add_node("small", cpu="1", memory="2Gi", labels={"disk": "hdd"})
    await cluster.add_node("big", cpu="4", memory="8Gi", labels={"disk": "ssd"})
    await cluster.add_node("tainted", cpu="4", memory="8Gi", taints=TAINT)


async def events_for(client: Any, name: str, reason: str) -> list[dict[str, Any]]:
    events = await client.list("events", "default")
    return [e for e in events["items"] if e["involvedObject"]["name"] == name and e["reason"] == reason]


async def test_pods_get_bound_and_run(cluster: Cluster, client: Any) -> None:
    await three_nodes(cluster)
    cluster.start_scheduler()
    for i in range(6):
        await client.create(unscheduled_pod(f"web-{i}"))
    nodes = {await eventually(running_on(client, f"web-{i}"), timeout=20) for i in range(6)}
    assert nodes <= {"small", "big"}
    scheduled = await eventually(lambda: events_for(client, "web-0", "Scheduled"))
    assert scheduled[0]["message"].startswith("Successfully assigned default/web-0 to ")


async def test_taints_and_node_selector_are_respected(cluster: Cluster, client: Any) -> None:
    await three_nodes(cluster)
    cluster.start_scheduler()
    await client.create(unscheduled_pod("wants-ssd", nodeSelector={"disk": "ssd"}))
    await client.create(unscheduled_pod("db", nodeSelector={"kubernetes.io/hostname": "tainted"},
                                        tolerations=[{"key": "dedicated", "operator": "Equal", "value": "db",
                                                      "effect": "NoSchedule"}]))
    assert await eventually(running_on(client, "wants-ssd"), timeout=20) == "big"
    assert await eventually(running_on(client, "db"), timeout=20) == "tainted"


async def test_a_pod_that_fits_nowhere_waits_until_a_fitting_node_arrives(cluster: Cluster, client: Any) -> None:
    await three_nodes(cluster)
    cluster.start_scheduler()
    await client.create(unscheduled_pod("filler", cpu="3", nodeSelector={"disk": "ssd"}))
    assert await eventually(running_on(client, "filler"), timeout=20) == "big"
    await client.create(unscheduled_pod("huge", cpu="3500m"))
    failed = await eventually(lambda: events_for(client, "huge", "FailedScheduling"), timeout=20)
    assert failed[-1]["message"] == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: db}, 2 Insufficient cpu. "
        "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
        "2 No preemption victims found for incoming pod.")

    async def unschedulable_condition() -> Any:
        pod = await get_pod(client, "huge")
        return [c for c in pod["status"].get("conditions", []) if c["type"] == "PodScheduled"
                and c["status"] == "False" and c["reason"] == "Unschedulable"]
    await eventually(unschedulable_condition)
    await cluster.add_node("bigger", cpu="8", memory="8Gi")
    assert await eventually(running_on(client, "huge"), timeout=20) == "bigger"


async def test_pods_for_another_scheduler_are_left_alone(cluster: Cluster, client: Any) -> None:
    await cluster.add_node("n1")
    cluster.start_scheduler()
    await client.create(unscheduled_pod("mine"))
    await client.create(unscheduled_pod("theirs", schedulerName="other-scheduler"))
    await eventually(running_on(client, "mine"), timeout=20)
    assert not (await get_pod(client, "theirs"))["spec"].get("nodeName")


async def test_a_high_priority_pod_preempts_a_low_priority_one(cluster: Cluster, client: Any) -> None:
    for name, value in (("low", 100), ("high", 1000)):
        await client.create({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                             "metadata": {"name": name}, "value": value})
    await cluster.add_node("only", cpu="1", memory="2Gi")
    cluster.start_scheduler()
    await client.create(unscheduled_pod("victim", cpu="800m", priorityClassName="low"))
    await eventually(running_on(client, "victim"), timeout=20)
    await client.create(unscheduled_pod("important", cpu="800m", priorityClassName="high"))
    assert (await get_pod(client, "important"))["spec"]["priority"] == 1000
    assert await eventually(running_on(client, "important"), timeout=30) == "only"
    preempted = await eventually(lambda: events_for(client, "victim", "Preempted"))
    assert preempted[0]["message"].endswith("on node only")


async def test_pod_priority_comes_from_its_priority_class(client: Any) -> None:
    from apimachinery import errors

    await client.create({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                         "metadata": {"name": "default-prio"}, "value": 7, "globalDefault": True})
    plain = await client.create(unscheduled_pod("plain"))
    assert (plain["spec"]["priority"], plain["spec"]["priorityClassName"]) == (7, "default-prio")
    critical = await client.create(unscheduled_pod("crit", priorityClassName="system-node-critical"))
    assert critical["spec"]["priority"] == 2000001000
    with pytest.raises(errors.Forbidden, match="no PriorityClass with name missing was found"):
        await client.create(unscheduled_pod("lost", priorityClassName="missing"))
    with pytest.raises(errors.Forbidden, match="already marked as default"):
        await client.create({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                             "metadata": {"name": "another-default"}, "value": 8, "globalDefault": True})
    with pytest.raises(errors.Invalid, match="value"):
        await client.create({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                             "metadata": {"name": "too-high"}, "value": 2_000_000_000})
