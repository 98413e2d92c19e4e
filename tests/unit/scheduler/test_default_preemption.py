from typing import Any

from scheduler.diagnosis import FitError
from scheduler.interface import CycleState
from scheduler.plugins.default_preemption import DefaultPreemption, pick_one_node
from scheduler.pod_info import PodInfo
from tests.unit.scheduler.fakes import cache_with, framework, node, pod


def preempt(nodes: list[dict[str, Any]], existing: list[dict[str, Any]], incoming: dict[str, Any]) -> tuple:
    cache = cache_with(nodes, existing)
    fw = framework(cache)
    state, info = CycleState(), PodInfo.of(incoming)
    try:
        fw.schedule_pod(state, info)
    except FitError as fit:
        result, status = fw.run_post_filter(state, info, fit.diagnosis.node_statuses)
        victims = sorted(v.name for v in result.victims) if result else []
        return (result.nominated_node_name if result else None), victims, status.message()
    raise AssertionError("the pod fit without preemption")


def test_evicts_only_as_many_lower_priority_pods_as_needed() -> None:
    existing = [pod("low1", "1", node_name="n1", priority=1), pod("low2", "1", node_name="n1", priority=2),
                pod("mid", "1", node_name="n1", priority=5)]
    nominated, victims, _ = preempt([node("n1", cpu="3")], existing, pod("high", "1", priority=10))
    assert (nominated, victims) == ("n1", ["low1"])


def test_never_evicts_pods_of_equal_or_higher_priority() -> None:
    existing = [pod("same", "2", node_name="n1", priority=10)]
    nominated, victims, message = preempt([node("n1", cpu="2")], existing, pod("p", "1", priority=10))
    assert nominated == "" and victims == []
    assert message == ("preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.")


def test_picks_the_node_whose_victims_matter_least() -> None:
    existing = [pod("v-a", "2", node_name="a", priority=5), pod("v-b", "2", node_name="b", priority=1)]
    nominated, victims, _ = preempt([node("a", cpu="2"), node("b", cpu="2")], existing, pod("p", "1", priority=10))
    assert (nominated, victims) == ("b", ["v-b"])


def test_preemption_does_not_help_against_taints() -> None:
    taint = [{"key": "k", "value": "v", "effect": "NoSchedule"}]
    existing = [pod("low", "100m", node_name="small", priority=0)]
    nominated, _, message = preempt([node("small", cpu="500m"), node("tainted", taints=taint)], existing,
                                    pod("p", "1", priority=10))
    assert nominated == ""
    assert message == ("preemption: 0/2 nodes are available: 1 Insufficient cpu, "
                       "1 Preemption is not helpful for scheduling.")


def test_a_pod_with_preemption_policy_never_does_not_preempt() -> None:
    existing = [pod("low", "2", node_name="n1", priority=0)]
    nominated, _, message = preempt([node("n1", cpu="2")], existing,
                                    pod("p", "1", priority=10, preemptionPolicy="Never"))
    assert nominated is None
    assert message == "preemption: not eligible due to preemptionPolicy=Never."


def test_tie_breaks_fewest_victims_after_equal_priorities() -> None:
    low = PodInfo.of(pod("a", priority=1))
    assert pick_one_node({"two": [low, low], "one": [PodInfo.of(pod("b", priority=2))]}) == "two"
    assert pick_one_node({"two": [low, low], "one": [low]}) == "one"


def test_plugin_name_is_kubernetes_name() -> None:
    assert DefaultPreemption.name == "DefaultPreemption"


def test_evicting_a_pod_the_preemptor_is_anti_affine_to_makes_room() -> None:
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    existing = [pod("db", node_name="n1", labels={"app": "db"}, priority=1),
                pod("other", node_name="n1", labels={"app": "web"}, priority=1)]
    nominated, victims, _ = preempt([node("n1")], existing, pod("p", priority=10, affinity=anti))
    assert (nominated, victims) == ("n1", ["db"])


def test_topology_spread_counts_are_adjusted_for_victims() -> None:
    spread = [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
               "labelSelector": {"matchLabels": {"app": "web"}}}]
    existing = [pod("w1", node_name="a", labels={"app": "web"}, priority=1),
                pod("w2", node_name="a", labels={"app": "web"}, priority=1)]
    nodes = [node("a", labels={"zone": "a"}), node("b", labels={"zone": "b"}, taints=[
        {"key": "k", "value": "v", "effect": "NoSchedule"}])]
    nominated, victims, _ = preempt(nodes, existing, pod("p", labels={"app": "web"}, priority=10,
                                                         topologySpreadConstraints=spread))
    assert nominated == "a"
    assert len(victims) == 2  # with one web pod left in zone a, skew would be 2 - 0 > 1
