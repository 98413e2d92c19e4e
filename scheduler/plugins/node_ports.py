"""NodePorts: a pod asking for a hostPort cannot go where that port (protocol, IP) is taken."""

from __future__ import annotations

from scheduler.interface import SKIP, SUCCESS, CycleState, Plugin, Status, unschedulable
from scheduler.node_info import NodeInfo
from scheduler.pod_info import PodInfo
from scheduler.resources import ports_conflict

ERR_REASON = "node(s) didn't have free ports for the requested pod ports"


class NodePorts(Plugin):
    name = "NodePorts"

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status:
        return SUCCESS if pod.host_ports else SKIP

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        if any(ports_conflict(node.used_ports, wanted) for wanted in pod.host_ports):
            return unschedulable(ERR_REASON)
        return SUCCESS
