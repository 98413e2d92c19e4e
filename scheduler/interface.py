"""What a scheduler plugin is: the Status it answers with and the extension points it may implement.

This is Kubernetes' pkg/scheduler/framework/interface.go in small. A plugin is one class; it
implements only the extension points it needs by overriding the methods of :class:`Plugin`:

    pre_filter  once per pod: precompute what filter needs (or answer Skip: filter not needed)
    add_pod / remove_pod  adjust that precomputation when preemption imagines a pod gone or back
    filter      once per node: can the pod run here?  Success / Unschedulable / ...
    post_filter when no node fits: e.g. preemption, which makes room by evicting lower-priority pods
    pre_score   once per pod, with the feasible nodes (or Skip)
    score       once per feasible node: 0..100, higher is better
    normalize_score  rescale this plugin's scores to 0..100 once all nodes are scored
    reserve / unreserve  the pod is assumed onto the node / the assumption is undone
    bind        write the decision (async: it talks to the apiserver)

Everything is synchronous except `bind`, so one pod's scheduling cycle runs without interruption
on the event loop and sees one consistent cache.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from scheduler.node_info import NodeInfo
    from scheduler.pod_info import PodInfo

Object = dict[str, Any]
MAX_NODE_SCORE = 100
MIN_NODE_SCORE = 0


class Code(IntEnum):
    SUCCESS = 0
    ERROR = 1
    UNSCHEDULABLE = 2  # the pod does not fit now; preemption may help
    UNSCHEDULABLE_AND_UNRESOLVABLE = 3  # preemption cannot help (wrong labels, taints, ...)
    WAIT = 4
    SKIP = 5  # from pre_filter / pre_score: this plugin has nothing to do for this pod


@dataclass(frozen=True)
class Status:
    """A plugin's answer: a code, the reasons a user reads, and which plugin said so."""

    code: Code = Code.SUCCESS
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    def is_success(self) -> bool:
        return self.code == Code.SUCCESS

    def is_skip(self) -> bool:
        return self.code == Code.SKIP

    def is_rejected(self) -> bool:
        return self.code in (Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE)

    def message(self) -> str:
        return ", ".join(self.reasons)

    def with_plugin(self, plugin: str) -> Status:
        return self if self.plugin else Status(self.code, self.reasons, plugin)


SUCCESS = Status()
SKIP = Status(Code.SKIP)


def unschedulable(*reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE, reasons)


def unresolvable(*reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, reasons)


def error(message: str) -> Status:
    return Status(Code.ERROR, (message,))


class CycleState(dict[str, Any]):
    """Scratch space for one pod's scheduling cycle: pre_filter writes, filter and score read."""

    def clone(self) -> CycleState:
        """A deep copy, for what-if runs (preemption) that adjust what PreFilter computed."""
        return copy.deepcopy(self)


@dataclass
class PostFilterResult:
    """What a PostFilter (preemption) found: the node to nominate and the pods to evict there."""

    nominated_node_name: str = ""
    victims: list[PodInfo] = field(default_factory=list)


class Handle:
    """What the framework lends plugins: the cache's nodes, the client (for Bind), and more."""

    client: Any = None
    # How many cached pods have any pod (anti-)affinity / required anti-affinity: lets the
    # InterPodAffinity plugin skip its walk over all nodes when there are none.
    pods_with_affinity = 0
    pods_with_required_anti_affinity = 0

    def node_infos(self) -> list[NodeInfo]:
        raise NotImplementedError

    def node_info(self, name: str) -> NodeInfo | None:
        raise NotImplementedError

    def nominated_pods(self, node_name: str) -> list[PodInfo]:
        """Pending pods that preempted for `node_name` and wait for their victims to leave."""
        return []


class Plugin:
    """Base class of every plugin. Override the extension points you implement; leave the rest.

    The framework builds a plugin as ``cls(args, handle)``: ``args`` is the plugin's
    ``pluginConfig[].args`` mapping from the scheduler config (empty if none).
    """

    name: ClassVar[str] = ""
    # The Framework running this plugin (set by the framework): PostFilter plugins use it to re-run
    # the filters on a what-if copy of a node.
    framework: Any = None

    def __init__(self, args: Mapping[str, Any] | None = None, handle: Handle | None = None) -> None:
        self.args: Mapping[str, Any] = args or {}
        self.handle = handle or Handle()

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status:
        return SUCCESS

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        return SUCCESS

    # PreFilter extensions: keep what pre_filter computed right when preemption pretends `other`
    # is added to / removed from `node`. Only plugins whose pre_filter counts pods need them.
    def add_pod(self, state: CycleState, pod: PodInfo, other: PodInfo, node: NodeInfo) -> None:
        return None

    def remove_pod(self, state: CycleState, pod: PodInfo, other: PodInfo, node: NodeInfo) -> None:
        return None

    def post_filter(self, state: CycleState, pod: PodInfo,
                    statuses: Mapping[str, Status]) -> tuple[PostFilterResult | None, Status]:
        return None, unschedulable()

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> Status:
        return SUCCESS

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        return 0

    def normalize_score(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> Status:
        return SUCCESS

    def reserve(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        return SUCCESS

    def unreserve(self, state: CycleState, pod: PodInfo, node_name: str) -> None:
        return None

    async def bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        return SKIP


EXTENSION_POINTS = ("preFilter", "filter", "postFilter", "preScore", "score", "reserve", "bind")
_METHOD_BY_POINT = {"preFilter": "pre_filter", "filter": "filter", "postFilter": "post_filter",
                    "preScore": "pre_score", "score": "score", "reserve": "reserve", "bind": "bind"}


def implements(cls: type, point: str) -> bool:
    """Whether plugin class `cls` overrides the method of extension point `point`."""
    method = _METHOD_BY_POINT.get(point)
    return method is not None and getattr(cls, method, None) is not getattr(Plugin, method)


def default_normalize(scores: dict[str, int], reverse: bool = False) -> None:
    """helper.DefaultNormalizeScore: scale so the best is 100 (reverse: the lowest becomes 100)."""
    highest = max(scores.values(), default=0)
    if highest == 0:
        if reverse:
            for name in scores:
                scores[name] = MAX_NODE_SCORE
        return
    for name, score in scores.items():
        scaled = MAX_NODE_SCORE * score // highest
        scores[name] = MAX_NODE_SCORE - scaled if reverse else scaled
