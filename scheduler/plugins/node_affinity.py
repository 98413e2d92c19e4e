"""NodeAffinity: `spec.nodeSelector` and required node affinity filter nodes; preferred node
affinity scores them by the summed weights of the terms a node matches (normalized to 0..100).

Operators: In, NotIn, Exists, DoesNotExist, Gt, Lt on node labels; `matchFields` on metadata.name.
"""

from __future__ import annotations

from scheduler.interface import SKIP, SUCCESS, CycleState, Plugin, Status, default_normalize, unresolvable
from scheduler.node_info import NodeInfo
from scheduler.plugins.helpers import NodeSelectorTerm, RequiredNodeAffinity
from scheduler.pod_info import PodInfo

ERR_REASON = "node(s) didn't match Pod's node affinity/selector"
REQUIRED = "NodeAffinity/required"
PREFERRED = "NodeAffinity/preferred"


class NodeAffinity(Plugin):
    name = "NodeAffinity"

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status:
        required = RequiredNodeAffinity(pod.spec)
        if required.empty:
            return SKIP
        state[REQUIRED] = required
        return SUCCESS

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        required: RequiredNodeAffinity | None = state.get(REQUIRED)
        if required is None:
            required = state[REQUIRED] = RequiredNodeAffinity(pod.spec)
        return SUCCESS if required.matches(node.labels, node.name) else unresolvable(ERR_REASON)

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> Status:
        preferred = ((pod.spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
            "preferredDuringSchedulingIgnoredDuringExecution") or []
        terms = [(NodeSelectorTerm(p.get("preference") or {}), int(p.get("weight") or 0)) for p in preferred]
        terms = [(term, weight) for term, weight in terms if weight]
        if not terms:
            return SKIP
        state[PREFERRED] = terms
        return SUCCESS

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        return sum(weight for term, weight in state[PREFERRED] if term.matches(node.labels, node.name))

    def normalize_score(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> Status:
        default_normalize(scores)
        return SUCCESS
