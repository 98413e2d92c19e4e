import pytest

from scheduler.interface import Code
from scheduler.node_info import NodeInfo
from scheduler.plugins.node_name import NodeName
from tests.unit.scheduler.fakes import node, pod, run_filter


@pytest.mark.parametrize(("node_name", "expected"), [
    ("", Code.SKIP),
    ("n1", Code.SUCCESS),
    ("n2", Code.UNSCHEDULABLE_AND_UNRESOLVABLE),
])
def test_a_pod_fits_only_the_node_it_names(node_name: str, expected: Code) -> None:
    status = run_filter(NodeName(), pod("p", node_name=node_name), NodeInfo(node("n1")))
    assert status.code == expected
    if expected == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
        assert status.reasons == ("node(s) didn't match the requested node name",)
