from typing import Any

import pytest

from scheduler.interface import Code, CycleState
from scheduler.node_info import NodeInfo
from scheduler.plugins.node_affinity import NodeAffinity
from scheduler.pod_info import PodInfo
from tests.unit.scheduler.fakes import node, pod, run_filter

LABELS = {"zone": "a", "disk": "ssd", "cores": "8"}


def required(*terms: dict[str, Any]) -> dict[str, Any]:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


def expr(key: str, operator: str, *values: str) -> dict[str, Any]:
    return {"matchExpressions": [{"key": key, "operator": operator, "values": list(values)}]}


@pytest.mark.parametrize(("spec", "fits"), [
    ({"nodeSelector": {"zone": "a"}}, True),
    ({"nodeSelector": {"zone": "b"}}, False),
    ({"nodeSelector": {"zone": "a", "disk": "hdd"}}, False),
    ({"affinity": required(expr("zone", "In", "a", "b"))}, True),
    ({"affinity": required(expr("zone", "In", "b"))}, False),
    ({"affinity": required(expr("zone", "NotIn", "a"))}, False),
    ({"affinity": required(expr("gpu", "NotIn", "a"))}, True),
    ({"affinity": required(expr("disk", "Exists"))}, True),
    ({"affinity": required(expr("gpu", "Exists"))}, False),
    ({"affinity": required(expr("gpu", "DoesNotExist"))}, True),
    ({"affinity": required(expr("disk", "DoesNotExist"))}, False),
    ({"affinity": required(expr("cores", "Gt", "4"))}, True),
    ({"affinity": required(expr("cores", "Gt", "8"))}, False),
    ({"affinity": required(expr("cores", "Lt", "16"))}, True),
    ({"affinity": required(expr("zone", "Lt", "16"))}, False),
    ({"affinity": required(expr("zone", "In", "b"), expr("disk", "In", "ssd"))}, True),  # terms are ORed
    ({"affinity": required({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]},
                                                 {"key": "disk", "operator": "In", "values": ["hdd"]}]})}, False),
    ({"affinity": required({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]})}, True),
    ({"affinity": required({"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["n1"]}]})},
     False),
    ({"affinity": required({})}, False),  # an empty term matches nothing
    ({"affinity": required()}, False),
    ({"nodeSelector": {"zone": "a"}, "affinity": required(expr("disk", "In", "hdd"))}, False),
])
def test_node_selector_and_required_affinity(spec: dict[str, Any], fits: bool) -> None:
    status = run_filter(NodeAffinity(), pod("p", **spec), NodeInfo(node("n1", labels=LABELS)))
    assert status.code == (Code.SUCCESS if fits else Code.UNSCHEDULABLE_AND_UNRESOLVABLE)
    if not fits:
        assert status.reasons == ("node(s) didn't match Pod's node affinity/selector",)


def test_without_selector_or_affinity_the_filter_is_skipped() -> None:
    assert run_filter(NodeAffinity(), pod("p"), NodeInfo(node("n1"))).is_skip()


def test_preferred_terms_score_by_summed_weight_normalized_to_100() -> None:
    preferred = [{"weight": 2, "preference": expr("zone", "In", "a")},
                 {"weight": 6, "preference": expr("disk", "In", "ssd")}]
    incoming = PodInfo.of(pod("p", affinity={"nodeAffinity": {
        "preferredDuringSchedulingIgnoredDuringExecution": preferred}}))
    nodes = [NodeInfo(node("both", labels={"zone": "a", "disk": "ssd"})), NodeInfo(node("ssd", labels={"disk": "ssd"})),
             NodeInfo(node("zone", labels={"zone": "a"})), NodeInfo(node("none"))]
    plugin, state = NodeAffinity(), CycleState()
    assert plugin.pre_score(state, incoming, nodes).is_success()
    scores = {n.name: plugin.score(state, incoming, n) for n in nodes}
    plugin.normalize_score(state, incoming, scores)
    assert scores == {"both": 100, "ssd": 75, "zone": 25, "none": 0}
