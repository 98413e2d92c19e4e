from typing import Any

import pytest

from scheduler.interface import Code, CycleState
from scheduler.node_info import NodeInfo
from scheduler.plugins.node_resources_fit import NodeResourcesFit
from scheduler.pod_info import PodInfo
from scheduler.resources import pod_requests
from tests.unit.scheduler.fakes import node, pod, run_filter


def container(cpu: str = "", memory: str = "", **extra: Any) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    return {"name": "c", "image": "i", "resources": {"requests": requests}, **extra}


@pytest.mark.parametrize(("spec", "cpu", "memory"), [
    ({"containers": [container("100m", "64Mi"), container("200m", "64Mi")]}, 300, 128 * 2**20),
    ({"containers": [container("100m")], "initContainers": [container("1")]}, 1000, 0),  # init is bigger
    ({"containers": [container("2")], "initContainers": [container("1")]}, 2000, 0),  # apps are bigger
    ({"containers": [container("100m")], "overhead": {"cpu": "50m", "memory": "10Mi"}}, 150, 10 * 2**20),
    ({"containers": [container("1")], "initContainers": [container("500m", restartPolicy="Always"),
                                                         container("1")]}, 1500, 0),  # sidecar adds to both
])
def test_pod_requests_are_max_of_init_and_app_containers_plus_overhead(spec: dict[str, Any], cpu: int,
                                                                      memory: int) -> None:
    requests = pod_requests(spec)
    assert requests.get("cpu", 0) == cpu
    assert requests.get("memory", 0) == memory


def node_with(cpu: str, memory: str, pods: int, existing: list[tuple[str, str]]) -> NodeInfo:
    info = NodeInfo(node("n", cpu=cpu, memory=memory, pods=pods))
    for i, (c, m) in enumerate(existing):
        info.add_pod(PodInfo.of(pod(f"old{i}", c, m, node_name="n")))
    return info


@pytest.mark.parametrize(("node_args", "request_", "reasons"), [
    (("2", "4Gi", 110, []), ("1", "1Gi"), ()),
    (("2", "4Gi", 110, [("1500m", "1Gi")]), ("1", "1Gi"), ("Insufficient cpu",)),
    (("2", "4Gi", 110, [("1", "3Gi")]), ("1", "2Gi"), ("Insufficient memory",)),
    (("2", "4Gi", 110, [("2", "4Gi")]), ("1", "1Gi"), ("Insufficient cpu", "Insufficient memory")),
    (("2", "4Gi", 1, [("", "")]), ("", ""), ("Too many pods",)),
    (("2", "4Gi", 2, [("", "")]), ("", ""), ()),
    (("2", "4Gi", 110, []), ("2", "4Gi"), ()),  # exactly full fits
])
def test_requests_must_fit_in_what_the_node_has_left(node_args: tuple, request_: tuple, reasons: tuple) -> None:
    status = run_filter(NodeResourcesFit(), pod("p", *request_), node_with(*node_args))
    assert status.code == (Code.UNSCHEDULABLE if reasons else Code.SUCCESS)
    assert status.reasons == reasons


def test_extended_resources_a_node_lacks_are_insufficient() -> None:
    incoming = pod("p")
    incoming["spec"]["containers"][0]["resources"] = {"requests": {"example.com/gpu": "1"}}
    assert run_filter(NodeResourcesFit(), incoming, node_with("2", "4Gi", 110, [])).reasons == (
        "Insufficient example.com/gpu",)


@pytest.mark.parametrize(("strategy", "expected"), [
    ("LeastAllocated", {"empty": 87, "half": 37}),
    ("MostAllocated", {"empty": 12, "half": 62}),
])
def test_scoring_strategies_spread_or_pack(strategy: str, expected: dict[str, int]) -> None:
    plugin = NodeResourcesFit({"scoringStrategy": {"type": strategy}})
    nodes = [node_with("4", "8Gi", 110, []), node_with("4", "8Gi", 110, [("2", "4Gi")])]
    nodes[0].name, nodes[1].name = "empty", "half"
    incoming = PodInfo.of(pod("p", "500m", "1Gi"))
    assert {n.name: plugin.score(CycleState(), incoming, n) for n in nodes} == expected


def test_pods_without_requests_count_as_100m_and_200mi_for_scoring() -> None:
    info = node_with("1", "1000Mi", 110, [])
    assert NodeResourcesFit().score(CycleState(), PodInfo.of(pod("p")), info) == (90 + 80) // 2


def test_resource_weights_from_args() -> None:
    plugin = NodeResourcesFit({"scoringStrategy": {"type": "MostAllocated",
                                                   "resources": [{"name": "cpu", "weight": 3},
                                                                 {"name": "memory", "weight": 1}]}})
    info = node_with("4", "8Gi", 110, [])
    assert plugin.score(CycleState(), PodInfo.of(pod("p", "2", "0")), info) == (50 * 3 + 2 * 1) // 4


def test_bad_strategy_args_name_the_field() -> None:
    errors = NodeResourcesFit.validate_args({"scoringStrategy": {"type": "Random"}}, "profiles[0].pluginConfig[0].args")
    assert [e.field for e in errors] == ["profiles[0].pluginConfig[0].args.scoringStrategy.type"]
