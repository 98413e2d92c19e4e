import pytest

from scheduler.interface import CycleState
from scheduler.node_info import NodeInfo
from scheduler.plugins.node_resources_balanced import NodeResourcesBalancedAllocation
from scheduler.pod_info import PodInfo
from tests.unit.scheduler.fakes import node, pod


@pytest.mark.parametrize(("request_", "expected"), [
    (("2", "4Gi"), 100),  # half and half: perfectly balanced
    (("4", "0"), 50),  # cpu full, memory empty
    (("2", "0"), 75),
    (("1", "6Gi"), 75),
    (("8", "0"), 50),  # over-requested fractions are capped at 1
])
def test_balanced_allocation_prefers_equal_cpu_and_memory_fractions(request_: tuple, expected: int) -> None:
    info = NodeInfo(node("n", cpu="4", memory="8Gi"))
    assert NodeResourcesBalancedAllocation().score(CycleState(), PodInfo.of(pod("p", *request_)), info) == expected
