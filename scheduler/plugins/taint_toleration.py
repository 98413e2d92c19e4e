"""TaintToleration: a node's NoSchedule/NoExecute taints keep out pods that do not tolerate them;
PreferNoSchedule taints only lower the node's score (fewer untolerated ones = better)."""

from __future__ import annotations

from scheduler.interface import SKIP, SUCCESS, CycleState, Plugin, Status, default_normalize, unresolvable
from scheduler.node_info import NodeInfo
from scheduler.plugins.helpers import first_untolerated, tolerates
from scheduler.pod_info import PodInfo

FILTER_EFFECTS = ("NoSchedule", "NoExecute")
PREFER_TOLERATIONS = "TaintToleration/prefer-tolerations"


class TaintToleration(Plugin):
    name = "TaintToleration"

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        if not node.taints:
            return SUCCESS
        taint = first_untolerated(node.taints, pod.spec.get("tolerations") or (), FILTER_EFFECTS)
        if taint is None:
            return SUCCESS
        return unresolvable(f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value', '')}}}")

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> Status:
        if not any(t.get("effect") == "PreferNoSchedule" for n in nodes for t in n.taints):
            return SKIP  # every node would score the same
        state[PREFER_TOLERATIONS] = [t for t in pod.spec.get("tolerations") or ()
                                     if t.get("effect") in (None, "", "PreferNoSchedule")]
        return SUCCESS

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        tolerations = state.get(PREFER_TOLERATIONS, [])
        return sum(1 for taint in node.taints if taint.get("effect") == "PreferNoSchedule"
                   and not any(tolerates(t, taint) for t in tolerations))

    def normalize_score(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> Status:
        default_normalize(scores, reverse=True)
        return SUCCESS
