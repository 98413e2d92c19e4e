from collections.abc import Mapping
from typing import Any

import pytest

from scheduler.config import parse
from scheduler.diagnosis import FitError, fit_error_message
from scheduler.framework import num_feasible_nodes_to_find
from scheduler.interface import CycleState, Plugin, Status, default_normalize, unresolvable, unschedulable
from scheduler.node_info import NodeInfo
from scheduler.pod_info import PodInfo
from tests.unit.scheduler.fakes import cache_with, framework, node, pod


@pytest.mark.parametrize(("nodes", "percentage", "expected"), [
    (10, None, 10),
    (99, None, 99),
    (100, None, 100),  # 50 - 0 = 50% of 100 -> 50, but never fewer than 100
    (1000, None, 420),  # 50 - 1000/125 = 42%
    (5000, None, 500),  # 50 - 40 = 10%
    (10000, None, 500),  # 50 - 80 < 5 -> 5%
    (1000, 10, 100),
    (1000, 100, 1000),
    (50, 10, 50),
])
def test_percentage_of_nodes_to_score_uses_kubernetes_adaptive_formula(nodes: int, percentage: int | None,
                                                                       expected: int) -> None:
    assert num_feasible_nodes_to_find(nodes, percentage) == expected


def test_filtering_stops_once_enough_nodes_fit_and_resumes_round_robin() -> None:
    cache = cache_with([node(f"n{i}") for i in range(1000)])
    fw = framework(cache)
    info = PodInfo.of(pod("p"))
    feasible, _ = fw.find_nodes_that_fit(CycleState(), info, cache.node_infos())
    assert len(feasible) == 420
    assert fw.next_start_node_index == 420
    feasible, _ = fw.find_nodes_that_fit(CycleState(), info, cache.node_infos())
    assert feasible[0].name == "n420"


@pytest.mark.parametrize(("statuses", "post_filter", "expected"), [
    ({"a": unschedulable("Insufficient cpu"), "b": unresolvable("node(s) had untolerated taint {key: value}"),
      "c": unresolvable("node(s) had untolerated taint {key: value}")},
     "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
     "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {key: value}. "
     "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."),
    ({"a": unschedulable("Insufficient cpu", "Insufficient memory"), "b": unschedulable("Insufficient memory")}, "",
     "0/2 nodes are available: 1 Insufficient cpu, 2 Insufficient memory."),
    # counts sort as strings, as Go's sort.Strings does: "10 ..." before "2 ..."
    ({**{f"t{i}": unresolvable("z") for i in range(10)}, "x": unschedulable("a"), "y": unschedulable("a")}, "",
     "0/12 nodes are available: 10 z, 2 a."),
])
def test_failed_scheduling_summary_is_worded_as_kubernetes(statuses: dict[str, Status], post_filter: str,
                                                           expected: str) -> None:
    assert fit_error_message(len(statuses), statuses, post_filter_message=post_filter) == expected


def test_no_fit_raises_fit_error_with_each_nodes_reason() -> None:
    taint = [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]
    cache = cache_with([node("small", cpu="1"), node("t1", taints=taint), node("t2", taints=taint)])
    with pytest.raises(FitError) as caught:
        framework(cache).schedule_pod(CycleState(), PodInfo.of(pod("p", "2")))
    assert str(caught.value) == ("0/3 nodes are available: 1 Insufficient cpu, "
                                 "2 node(s) had untolerated taint {dedicated: db}.")
    assert caught.value.diagnosis.unschedulable_plugins == {"NodeResourcesFit", "TaintToleration"}


def test_default_normalize_scales_the_best_to_100_or_reverses() -> None:
    scores = {"a": 10, "b": 5, "c": 0}
    default_normalize(scores)
    assert scores == {"a": 100, "b": 50, "c": 0}
    default_normalize(scores, reverse=True)
    assert scores == {"a": 0, "b": 50, "c": 100}


class ByName(Plugin):
    """Scores a node by the number in its name; normalizes to 0..100."""

    name = "ByName"

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        return int(node.name[1:])

    def normalize_score(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> Status:
        default_normalize(scores)
        return Status()


class Reverse(ByName):
    name = "Reverse"

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        return 10 - int(node.name[1:])


def custom_profile(weights: Mapping[str, int]) -> Any:
    here = "tests.unit.scheduler.test_framework"
    return parse({"profiles": [{"plugins": {"multiPoint": {"disabled": [{"name": "*"}]},
                                            "score": {"enabled": [{"name": f"{here}:{n}", "weight": w}
                                                                  for n, w in weights.items()]},
                                            "bind": {"enabled": [{"name": "DefaultBinder"}]}}}]})


@pytest.mark.parametrize(("weights", "winner"), [
    ({"ByName": 1, "Reverse": 1}, None),  # every node ties at 100
    ({"ByName": 3, "Reverse": 1}, "n10"),
    ({"ByName": 1, "Reverse": 3}, "n0"),
])
def test_scores_are_normalized_then_weighted_and_summed(weights: dict[str, int], winner: str | None) -> None:
    cache = cache_with([node("n0"), node("n5"), node("n10")])
    fw = framework(cache, custom_profile(weights))
    totals = fw.prioritize(CycleState(), PodInfo.of(pod("p")), cache.node_infos())
    if winner is None:
        assert len(set(totals.values())) == 1
    else:
        assert max(totals, key=totals.__getitem__) == winner
        assert fw.select_host(totals) == winner


def test_select_host_breaks_ties_among_all_best_nodes() -> None:
    fw = framework(cache_with([]))
    chosen = {fw.select_host({"a": 5, "b": 5, "c": 1}) for _ in range(50)}
    assert chosen == {"a", "b"}


def test_a_plugin_returning_a_score_out_of_range_is_an_error() -> None:
    cache = cache_with([node("n0"), node("n200")])
    config = custom_profile({"ByName": 1})
    fw = framework(cache, config)
    fw.plugins[next(iter(fw.plugins))].normalize_score = lambda *a: Status()  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="invalid score 200"):
        fw.prioritize(CycleState(), PodInfo.of(pod("p")), cache.node_infos())


def test_room_promised_to_a_nominated_pod_is_kept_from_less_important_pods() -> None:
    cache = cache_with([node("n1", cpu="2"), node("n2", cpu="2")])
    cache.nominate(PodInfo.of(pod("preemptor", "2", priority=100)), "n1")
    fw = framework(cache)
    assert fw.schedule_pod(CycleState(), PodInfo.of(pod("low", "1", priority=1))).node_name == "n2"
    assert fw.schedule_pod(CycleState(), PodInfo.of(pod("higher", "2", priority=200))).feasible_nodes == 2
    cache.remove_nominated("default/preemptor")
    assert fw.schedule_pod(CycleState(), PodInfo.of(pod("low", "1", priority=1))).feasible_nodes == 2
