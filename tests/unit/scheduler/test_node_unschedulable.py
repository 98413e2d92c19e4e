import pytest

from scheduler.interface import Code
from scheduler.node_info import NodeInfo
from scheduler.plugins.node_unschedulable import NodeUnschedulable
from tests.unit.scheduler.fakes import node, pod, run_filter

TOLERATE = [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]


@pytest.mark.parametrize(("cordoned", "tolerations", "expected"), [
    (False, [], Code.SUCCESS),
    (True, [], Code.UNSCHEDULABLE_AND_UNRESOLVABLE),
    (True, TOLERATE, Code.SUCCESS),
    (True, [{"operator": "Exists"}], Code.SUCCESS),
    (True, [{"key": "other", "operator": "Exists"}], Code.UNSCHEDULABLE_AND_UNRESOLVABLE),
])
def test_a_cordoned_node_takes_only_pods_tolerating_unschedulable(cordoned: bool, tolerations: list,
                                                                   expected: Code) -> None:
    status = run_filter(NodeUnschedulable(), pod("p", tolerations=tolerations),
                        NodeInfo(node("n1", unschedulable=cordoned)))
    assert status.code == expected
    if expected != Code.SUCCESS:
        assert status.reasons == ("node(s) were unschedulable",)
