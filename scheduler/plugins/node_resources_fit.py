"""NodeResourcesFit: the pod's requests must fit in what the node has left, and scoring by how full
nodes are (strategy LeastAllocated — spread, the default — or MostAllocated — pack).

Requests include init containers (the larger of the biggest init container and the sum of the
app containers) and `spec.overhead`; every pod also takes one of the node's allocatable `pods`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apimachinery.errors import FieldError
from scheduler.interface import MAX_NODE_SCORE, SUCCESS, CycleState, Plugin, Status, unschedulable
from scheduler.node_info import NodeInfo
from scheduler.pod_info import PodInfo
from scheduler.resources import CPU, MEMORY

LEAST_ALLOCATED, MOST_ALLOCATED = "LeastAllocated", "MostAllocated"
STRATEGIES = (LEAST_ALLOCATED, MOST_ALLOCATED)
TOO_MANY_PODS = "Too many pods"
DEFAULT_WEIGHTS = [(CPU, 1), (MEMORY, 1)]
DEFAULT_RESOURCES: tuple[dict[str, Any], ...] = ({"name": CPU, "weight": 1}, {"name": MEMORY, "weight": 1})


def insufficient(pod: PodInfo, node: NodeInfo) -> list[str]:
    """Every reason `pod` does not fit `node` ("Too many pods", "Insufficient cpu", ...)."""
    reasons = []
    if len(node.pods) + 1 > node.allowed_pods:
        reasons.append(TOO_MANY_PODS)
    allocatable, requested = node.allocatable, node.requested
    for name, wanted in pod.requests.items():
        if wanted > allocatable.get(name, 0) - requested.get(name, 0):
            reasons.append(f"Insufficient {name}")
    return reasons


class NodeResourcesFit(Plugin):
    name = "NodeResourcesFit"

    def __init__(self, args: Mapping[str, Any] | None = None, handle: Any = None) -> None:
        super().__init__(args, handle)
        strategy = self.args.get("scoringStrategy") or {}
        self.strategy = strategy.get("type") or LEAST_ALLOCATED
        resources: list[dict[str, Any]] = list(strategy.get("resources") or DEFAULT_RESOURCES)
        self.resources = [(str(r["name"]), int(r.get("weight") or 1)) for r in resources]

    @classmethod
    def validate_args(cls, args: Mapping[str, Any], path: str) -> list[FieldError]:
        strategy = args.get("scoringStrategy") or {}
        found = []
        kind = strategy.get("type")
        if kind is not None and kind not in STRATEGIES:
            found.append(FieldError(f"{path}.scoringStrategy.type", "FieldValueNotSupported",
                                    'supported values: "LeastAllocated", "MostAllocated"', kind))
        for i, resource in enumerate(strategy.get("resources") or ()):
            weight = resource.get("weight", 1)
            if not resource.get("name"):
                found.append(FieldError(f"{path}.scoringStrategy.resources[{i}].name", "FieldValueRequired"))
            if not isinstance(weight, int) or not 1 <= weight <= 100:
                found.append(FieldError(f"{path}.scoringStrategy.resources[{i}].weight", "FieldValueInvalid",
                                        "resource weight of cpu should be in the range [1, 100]", weight))
        return found

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        if len(node.pods) < node.allowed_pods and not pod.requests:
            return SUCCESS
        reasons = insufficient(pod, node)
        return unschedulable(*reasons) if reasons else SUCCESS

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        if self.resources == DEFAULT_WEIGHTS:  # the common case, without the general loop
            cpu, memory = node.allocatable.get(CPU, 0), node.allocatable.get(MEMORY, 0)
            if cpu and memory:
                used = node.non_zero_requested
                return (_resource_score(self.strategy, used[CPU] + pod.non_zero.get(CPU, 0), cpu)
                        + _resource_score(self.strategy, used[MEMORY] + pod.non_zero.get(MEMORY, 0), memory)) // 2
        total = weights = 0
        for name, weight in self.resources:
            allocatable = node.allocatable.get(name, 0)
            if not allocatable:
                continue
            requested = _requested(pod, node, name)
            total += _resource_score(self.strategy, requested, allocatable) * weight
            weights += weight
        return total // weights if weights else 0


def _requested(pod: PodInfo, node: NodeInfo, name: str) -> int:
    """What the node would have requested with the pod on it (cpu/memory by their non-zero values)."""
    if name in (CPU, MEMORY):
        return node.non_zero_requested.get(name, 0) + pod.non_zero.get(name, 0)
    return node.requested.get(name, 0) + pod.requests.get(name, 0)


def _resource_score(strategy: str, requested: int, allocatable: int) -> int:
    if requested > allocatable:
        return 0 if strategy == LEAST_ALLOCATED else MAX_NODE_SCORE
    if strategy == MOST_ALLOCATED:
        return requested * MAX_NODE_SCORE // allocatable
    return (allocatable - requested) * MAX_NODE_SCORE // allocatable
