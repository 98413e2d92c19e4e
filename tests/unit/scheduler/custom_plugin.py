"""A plugin written outside the framework, as a student would: enabled by its import path."""

from __future__ import annotations

from scheduler.interface import SUCCESS, CycleState, Plugin, Status, unresolvable
from scheduler.node_info import NodeInfo
from scheduler.pod_info import PodInfo


class OnlyEvenNodes(Plugin):
    name = "OnlyEvenNodes"

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        suffix = self.args.get("suffixes", ["0", "2", "4", "6", "8"])
        return SUCCESS if node.name[-1] in suffix else unresolvable("node(s) are odd")


class NotAPlugin:
    pass
