import pytest

from scheduler.interface import Code, CycleState
from scheduler.node_info import NodeInfo
from scheduler.plugins.taint_toleration import TaintToleration
from scheduler.pod_info import PodInfo
from tests.unit.scheduler.fakes import node, pod, run_filter

GPU = {"key": "gpu", "value": "true", "effect": "NoSchedule"}
DRAIN = {"key": "drain", "value": "", "effect": "NoExecute"}
SOFT = {"key": "soft", "value": "x", "effect": "PreferNoSchedule"}


@pytest.mark.parametrize(("taints", "tolerations", "expected", "reason"), [
    ([], [], Code.SUCCESS, ""),
    ([GPU], [], Code.UNSCHEDULABLE_AND_UNRESOLVABLE, "node(s) had untolerated taint {gpu: true}"),
    ([GPU], [{"key": "gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}], Code.SUCCESS, ""),
    ([GPU], [{"key": "gpu", "operator": "Equal", "value": "false"}], Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
     "node(s) had untolerated taint {gpu: true}"),
    ([GPU], [{"key": "gpu", "operator": "Exists"}], Code.SUCCESS, ""),
    ([GPU], [{"key": "gpu", "operator": "Exists", "effect": "NoExecute"}], Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
     "node(s) had untolerated taint {gpu: true}"),
    ([GPU], [{"operator": "Exists"}], Code.SUCCESS, ""),
    ([DRAIN], [], Code.UNSCHEDULABLE_AND_UNRESOLVABLE, "node(s) had untolerated taint {drain: }"),
    ([SOFT], [], Code.SUCCESS, ""),
])
def test_filter_keeps_out_pods_not_tolerating_no_schedule_or_no_execute(taints: list, tolerations: list,
                                                                          expected: Code, reason: str) -> None:
    status = run_filter(TaintToleration(), pod("p", tolerations=tolerations), NodeInfo(node("n", taints=taints)))
    assert status.code == expected
    assert status.message() == reason


def test_score_prefers_nodes_with_fewer_untolerated_prefer_no_schedule_taints() -> None:
    plugin = TaintToleration()
    nodes = [NodeInfo(node("clean")), NodeInfo(node("one", taints=[SOFT])),
             NodeInfo(node("two", taints=[SOFT, {**SOFT, "key": "soft2"}]))]
    incoming = PodInfo.of(pod("p"))
    state = CycleState()
    assert plugin.pre_score(state, incoming, nodes).is_success()
    scores = {n.name: plugin.score(state, incoming, n) for n in nodes}
    plugin.normalize_score(state, incoming, scores)
    assert scores == {"clean": 100, "one": 50, "two": 0}


def test_score_is_skipped_when_no_node_has_prefer_no_schedule_taints() -> None:
    assert TaintToleration().pre_score(CycleState(), PodInfo.of(pod("p")), [NodeInfo(node("n"))]).is_skip()
