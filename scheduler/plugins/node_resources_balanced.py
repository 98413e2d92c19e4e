"""NodeResourcesBalancedAllocation: prefer nodes where cpu and memory would be used in equal
proportion: score = (1 - standard deviation of the requested fractions) * 100.

With two resources the standard deviation is simply |cpu fraction - memory fraction| / 2.
"""

from __future__ import annotations

from scheduler.interface import MAX_NODE_SCORE, CycleState, Plugin
from scheduler.node_info import NodeInfo
from scheduler.pod_info import PodInfo
from scheduler.resources import CPU, MEMORY


class NodeResourcesBalancedAllocation(Plugin):
    name = "NodeResourcesBalancedAllocation"

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        allocatable, requested, wanted = node.allocatable, node.requested, pod.requests
        cpu, memory = allocatable.get(CPU, 0), allocatable.get(MEMORY, 0)
        if not cpu or not memory:
            return MAX_NODE_SCORE
        cpu_fraction = min((requested.get(CPU, 0) + wanted.get(CPU, 0)) / cpu, 1.0)
        memory_fraction = min((requested.get(MEMORY, 0) + wanted.get(MEMORY, 0)) / memory, 1.0)
        return int((1 - abs(cpu_fraction - memory_fraction) / 2) * MAX_NODE_SCORE)
