"""Why a pod fits nowhere, worded as Kubernetes words it (FitError in schedule_one.go).

    0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {key: value}.
    preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.

Each node's rejection reasons are counted over all nodes; the "<count> <reason>" strings are sorted
as strings (Go's sort.Strings), joined with ", ", and what PostFilter (preemption) said follows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from scheduler.interface import Status

NO_NODE_AVAILABLE = "0/{} nodes are available"


def histogram(reasons: Iterable[str]) -> str:
    """`1 Insufficient cpu, 2 node(s) ...`: each reason with its count, sorted as strings."""
    counts = Counter(reasons)
    return ", ".join(sorted(f"{count} {reason}" for reason, count in counts.items()))


def no_node_available(num_nodes: int, reasons: Iterable[str]) -> str:
    return f"{NO_NODE_AVAILABLE.format(num_nodes)}: {histogram(reasons)}."


@dataclass
class Diagnosis:
    node_statuses: dict[str, Status] = field(default_factory=dict)
    unschedulable_plugins: set[str] = field(default_factory=set)
    pre_filter_message: str = ""
    post_filter_message: str = ""


class FitError(Exception):
    """No node fits `pod`; str() is the FailedScheduling message."""

    def __init__(self, pod_key: str, num_all_nodes: int, diagnosis: Diagnosis) -> None:
        super().__init__(pod_key)
        self.pod_key = pod_key
        self.num_all_nodes = num_all_nodes
        self.diagnosis = diagnosis

    def __str__(self) -> str:
        return fit_error_message(self.num_all_nodes, self.diagnosis.node_statuses,
                                 self.diagnosis.pre_filter_message, self.diagnosis.post_filter_message)


def fit_error_message(num_all_nodes: int, statuses: Mapping[str, Status], pre_filter_message: str = "",
                      post_filter_message: str = "") -> str:
    if pre_filter_message:
        message = f"{NO_NODE_AVAILABLE.format(num_all_nodes)}: {pre_filter_message}."
    else:
        message = no_node_available(num_all_nodes, (r for s in statuses.values() for r in s.reasons))
    if post_filter_message:
        message += " " + post_filter_message
    return message
