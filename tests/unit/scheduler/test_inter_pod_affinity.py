from typing import Any

import pytest

from scheduler.interface import Code, CycleState
from scheduler.plugins.inter_pod_affinity import InterPodAffinity
from scheduler.pod_info import PodInfo
from tests.unit.scheduler.fakes import cache_with, node, pod

ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"


def term(app: str, key: str = ZONE, **extra: Any) -> dict[str, Any]:
    return {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key, **extra}


def affinity(kind: str, *terms: dict[str, Any]) -> dict[str, Any]:
    return {kind: {"requiredDuringSchedulingIgnoredDuringExecution": list(terms)}}


NODES = [node("a1", labels={ZONE: "a"}), node("a2", labels={ZONE: "a"}), node("b1", labels={ZONE: "b"}),
         node("nozone")]
DB_ON_A1 = pod("db", node_name="a1", labels={"app": "db"})
WEB_ON_B1 = pod("web", node_name="b1", labels={"app": "web"})
KEEP_WEB_AWAY = pod("loner", node_name="a2", labels={"app": "loner"},
                    affinity=affinity("podAntiAffinity", term("web")))


def filter_all(incoming: dict[str, Any], existing: list[dict[str, Any]]) -> dict[str, str]:
    cache = cache_with(NODES, existing)
    plugin, state, info = InterPodAffinity(handle=cache), CycleState(), PodInfo.of(incoming)
    if plugin.pre_filter(state, info).is_skip():
        return {n.name: "skip" for n in cache.node_infos()}
    results = {}
    for n in cache.node_infos():
        status = plugin.filter(state, info, n)
        results[n.name] = "ok" if status.code == Code.SUCCESS else status.message()
    return results


AFFINITY = "node(s) didn't match pod affinity rules"
ANTI = "node(s) didn't match pod anti-affinity rules"
EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules"


@pytest.mark.parametrize(("incoming", "existing", "expected"), [
    (pod("p"), [DB_ON_A1], {"a1": "skip", "a2": "skip", "b1": "skip", "nozone": "skip"}),
    (pod("p", affinity=affinity("podAffinity", term("db"))), [DB_ON_A1],
     {"a1": "ok", "a2": "ok", "b1": AFFINITY, "nozone": AFFINITY}),
    (pod("p", affinity=affinity("podAffinity", term("db", HOST))), [DB_ON_A1],
     {"a1": "ok", "a2": AFFINITY, "b1": AFFINITY, "nozone": AFFINITY}),
    (pod("p", affinity=affinity("podAntiAffinity", term("db"))), [DB_ON_A1],
     {"a1": ANTI, "a2": ANTI, "b1": "ok", "nozone": "ok"}),
    (pod("p", affinity=affinity("podAffinity", term("db", namespaces=["other"]))), [DB_ON_A1],
     {"a1": AFFINITY, "a2": AFFINITY, "b1": AFFINITY, "nozone": AFFINITY}),
    # the first pod of a group may go anywhere its own terms' topology exists
    (pod("p", labels={"app": "db"}, affinity=affinity("podAffinity", term("db"))), [],
     {"a1": "ok", "a2": "ok", "b1": "ok", "nozone": AFFINITY}),
    # an existing pod's anti-affinity keeps the incoming pod out of its zone
    (pod("p", labels={"app": "web"}), [KEEP_WEB_AWAY],
     {"a1": EXISTING, "a2": EXISTING, "b1": "ok", "nozone": "ok"}),
    (pod("p", labels={"app": "db"}), [KEEP_WEB_AWAY], {"a1": "skip", "a2": "skip", "b1": "skip", "nozone": "skip"}),
])
def test_required_affinity_and_anti_affinity_by_topology(incoming: dict[str, Any], existing: list[dict[str, Any]],
                                                         expected: dict[str, str]) -> None:
    assert filter_all(incoming, existing) == expected


def test_affinity_is_unresolvable_but_anti_affinity_is_preemptible() -> None:
    cache = cache_with(NODES, [DB_ON_A1])
    plugin, state = InterPodAffinity(handle=cache), CycleState()
    info = PodInfo.of(pod("p", affinity={**affinity("podAntiAffinity", term("db"))}))
    plugin.pre_filter(state, info)
    assert plugin.filter(state, info, cache.node_info("a1")).code == Code.UNSCHEDULABLE  # type: ignore[arg-type]


def test_preferred_terms_score_toward_and_away_from_matching_pods() -> None:
    preferred = {"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "podAffinityTerm": term("db")}]},
        "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 5, "podAffinityTerm": term("web")}]}}
    cache = cache_with(NODES, [DB_ON_A1, WEB_ON_B1])
    plugin, state, info = InterPodAffinity(handle=cache), CycleState(), PodInfo.of(pod("p", affinity=preferred))
    nodes = cache.node_infos()
    assert plugin.pre_score(state, info, nodes).is_success()
    scores = {n.name: plugin.score(state, info, n) for n in nodes}
    assert scores == {"a1": 10, "a2": 10, "b1": -5, "nozone": 0}
    plugin.normalize_score(state, info, scores)
    assert scores == {"a1": 100, "a2": 100, "b1": 0, "nozone": 33}
