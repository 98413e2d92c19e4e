from typing import Any

import pytest

from scheduler.interface import Code, CycleState
from scheduler.plugins.pod_topology_spread import PodTopologySpread
from scheduler.pod_info import PodInfo
from tests.unit.scheduler.fakes import cache_with, node, pod

ZONE = "zone"
SPREAD = "node(s) didn't match pod topology spread constraints"
MISSING = "node(s) didn't match pod topology spread constraints (missing required label)"
NODES = [node("a1", labels={ZONE: "a"}), node("a2", labels={ZONE: "a"}), node("b1", labels={ZONE: "b"}),
         node("c1", labels={ZONE: "c"}), node("none")]


def constraint(max_skew: int = 1, when: str = "DoNotSchedule", **extra: Any) -> dict[str, Any]:
    return {"maxSkew": max_skew, "topologyKey": ZONE, "whenUnsatisfiable": when,
            "labelSelector": {"matchLabels": {"app": "web"}}, **extra}


def web(name: str, node_name: str) -> dict[str, Any]:
    return pod(name, node_name=node_name, labels={"app": "web"})


def filter_all(constraints: list[dict[str, Any]], existing: list[dict[str, Any]], **spec: Any) -> dict[str, str]:
    cache = cache_with(NODES, existing)
    plugin, state = PodTopologySpread(handle=cache), CycleState()
    info = PodInfo.of(pod("new", labels={"app": "web"}, topologySpreadConstraints=constraints, **spec))
    if plugin.pre_filter(state, info).is_skip():
        return {"all": "skip"}
    return {n.name: "ok" if (s := plugin.filter(state, info, n)).code == Code.SUCCESS else s.message()
            for n in cache.node_infos()}


@pytest.mark.parametrize(("constraints", "existing", "spec", "expected"), [
    ([], [], {}, {"all": "skip"}),
    ([constraint(when="ScheduleAnyway")], [], {}, {"all": "skip"}),
    ([constraint()], [], {}, {"a1": "ok", "a2": "ok", "b1": "ok", "c1": "ok", "none": MISSING}),
    ([constraint()], [web("w1", "a1")], {}, {"a1": SPREAD, "a2": SPREAD, "b1": "ok", "c1": "ok", "none": MISSING}),
    ([constraint(max_skew=2)], [web("w1", "a1")], {}, {"a1": "ok", "a2": "ok", "b1": "ok", "c1": "ok",
                                                       "none": MISSING}),
    ([constraint()], [web("w1", "a1"), web("w2", "b1"), web("w3", "c1")], {},
     {"a1": "ok", "a2": "ok", "b1": "ok", "c1": "ok", "none": MISSING}),
    # pods of another app do not count
    ([constraint()], [pod("x", node_name="a1", labels={"app": "db"})], {},
     {"a1": "ok", "a2": "ok", "b1": "ok", "c1": "ok", "none": MISSING}),
    # with the pod's nodeSelector only zones a and b are domains
    ([constraint()], [web("w1", "a1"), web("w2", "b1")], {"nodeSelector": {ZONE: "a"}},
     {"a1": "ok", "a2": "ok", "b1": "ok", "c1": "ok", "none": MISSING}),
    # minDomains: with fewer domains than that, the global minimum counts as 0
    ([constraint(minDomains=4)], [web("w1", "a1"), web("w2", "b1"), web("w3", "c1")], {},
     {"a1": SPREAD, "a2": SPREAD, "b1": SPREAD, "c1": SPREAD, "none": MISSING}),
])
def test_do_not_schedule_keeps_the_skew_within_max_skew(constraints: list, existing: list, spec: dict,
                                                        expected: dict[str, str]) -> None:
    assert filter_all(constraints, existing, **spec) == expected


def test_schedule_anyway_scores_emptier_domains_higher() -> None:
    cache = cache_with(NODES, [web("w1", "a1"), web("w2", "a2"), web("w3", "b1")])
    plugin, state = PodTopologySpread(handle=cache), CycleState()
    info = PodInfo.of(pod("new", labels={"app": "web"}, topologySpreadConstraints=[constraint(when="ScheduleAnyway")]))
    nodes = cache.node_infos()
    assert plugin.pre_score(state, info, nodes).is_success()
    scores = {n.name: plugin.score(state, info, n) for n in nodes}
    plugin.normalize_score(state, info, scores)
    assert scores["c1"] > scores["b1"] > scores["a1"] == scores["a2"]
    assert scores["c1"] == 100
    assert scores["none"] == 0
