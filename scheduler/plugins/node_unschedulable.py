"""NodeUnschedulable: no new pods on a cordoned node (`spec.unschedulable`), unless the pod tolerates
the `node.kubernetes.io/unschedulable:NoSchedule` taint that cordoning stands for."""

from __future__ import annotations

from scheduler.interface import SUCCESS, CycleState, Plugin, Status, unresolvable
from scheduler.node_info import NodeInfo
from scheduler.plugins.helpers import tolerates
from scheduler.pod_info import PodInfo

ERR_REASON = "node(s) were unschedulable"
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


class NodeUnschedulable(Plugin):
    name = "NodeUnschedulable"

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        if not node.unschedulable:
            return SUCCESS
        if any(tolerates(t, UNSCHEDULABLE_TAINT) for t in pod.spec.get("tolerations") or ()):
            return SUCCESS
        return unresolvable(ERR_REASON)
