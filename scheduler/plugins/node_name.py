"""NodeName: a pod that names its node (`spec.nodeName`) fits only that node."""

from __future__ import annotations

from scheduler.interface import SKIP, SUCCESS, CycleState, Plugin, Status, unresolvable
from scheduler.node_info import NodeInfo
from scheduler.pod_info import PodInfo

ERR_REASON = "node(s) didn't match the requested node name"


class NodeName(Plugin):
    name = "NodeName"

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status:
        return SUCCESS if pod.spec.get("nodeName") else SKIP

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        wanted = pod.spec.get("nodeName")
        return SUCCESS if not wanted or wanted == node.name else unresolvable(ERR_REASON)
