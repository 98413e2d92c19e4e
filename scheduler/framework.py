"""The framework: runs one profile's plugins at each extension point for one pod.

`schedule_pod` is the scheduling algorithm of Kubernetes' schedule_one.go:

1. **PreFilter** every plugin (a rejection ends it; Skip means that plugin's filter is not needed).
2. **Filter** nodes, starting where the previous pod stopped (round robin), and stop once
   `num_feasible_nodes_to_find` nodes fit — on a big cluster not every node is looked at.
3. If nothing fits: raise FitError (the caller runs **PostFilter**, i.e. preemption).
4. **PreScore** + **Score** each feasible node per plugin, **normalize** each plugin's scores to
   0..100, multiply by the plugin's weight and sum.
5. Pick the highest total; ties are broken at random (reservoir sampling, as Kubernetes does).

Reserve, Unreserve and Bind are run by the scheduler around the decision.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass

from scheduler.config import Profile
from scheduler.diagnosis import Diagnosis, FitError
from scheduler.interface import (
    MAX_NODE_SCORE,
    SUCCESS,
    Code,
    CycleState,
    Handle,
    Plugin,
    PostFilterResult,
    Status,
    error,
    unschedulable,
)
from scheduler.node_info import NodeInfo
from scheduler.pod_info import PodInfo

log = logging.getLogger(__name__)
MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
SKIP_FILTER = "framework/skip-filter"
SKIP_SCORE = "framework/skip-score"


def num_feasible_nodes_to_find(num_all_nodes: int, percentage: int | None) -> int:
    """How many fitting nodes are enough: all below 100 nodes, else 50 - n/125 percent (at least 5%, 100)."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if not percentage:
        percentage = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    return max(num_all_nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


@dataclass
class ScheduleResult:
    node_name: str
    evaluated_nodes: int
    feasible_nodes: int


class Framework:
    """One profile (schedulerName) with its plugins built and sorted per extension point."""

    def __init__(self, profile: Profile, handle: Handle, percentage_of_nodes_to_score: int | None = None,
                 rng: random.Random | None = None) -> None:
        self.profile = profile
        self.handle = handle
        self.percentage = profile.percentage_of_nodes_to_score or percentage_of_nodes_to_score
        self.rng = rng or random.Random()
        self.plugins: dict[str, Plugin] = {}
        for names in profile.points.values():
            for name, _ in names:
                if name not in self.plugins:
                    cls = profile.plugin_classes[name]
                    self.plugins[name] = cls(profile.plugin_args.get(name) or {}, handle)
                    self.plugins[name].framework = self
        self.next_start_node_index = 0

    @property
    def scheduler_name(self) -> str:
        return self.profile.scheduler_name

    def _at(self, point: str) -> list[tuple[str, Plugin]]:
        return [(name, self.plugins[name]) for name, _ in self.profile.points.get(point, [])]

    def _weighted(self, point: str) -> list[tuple[str, Plugin, int]]:
        return [(name, self.plugins[name], weight) for name, weight in self.profile.points.get(point, [])]

    # -- the scheduling cycle ----------------------------------------------------------------

    def schedule_pod(self, state: CycleState, pod: PodInfo) -> ScheduleResult:
        """Choose a node for `pod` (steps 1-5 above); FitError if none fits."""
        nodes = self.handle.node_infos()
        if not nodes:
            raise FitError(pod.key, 0, Diagnosis(pre_filter_message="no nodes available to schedule pods"))
        feasible, diagnosis = self.find_nodes_that_fit(state, pod, nodes)
        if not feasible:
            raise FitError(pod.key, len(nodes), diagnosis)
        evaluated = len(feasible) + len(diagnosis.node_statuses)
        if len(feasible) == 1:
            return ScheduleResult(feasible[0].name, evaluated, 1)
        totals = self.prioritize(state, pod, feasible)
        return ScheduleResult(self.select_host(totals), evaluated, len(feasible))

    def run_pre_filter(self, state: CycleState, pod: PodInfo) -> Status:
        skipped: set[str] = set()
        for name, plugin in self._at("preFilter"):
            try:
                status = plugin.pre_filter(state, pod)
            except Exception as e:  # a plugin bug must not kill the scheduler
                log.exception("PreFilter plugin %s failed", name)
                status = error(f"plugin {name} failed: {e}")
            if status.is_skip():
                skipped.add(name)
            elif not status.is_success():
                return status.with_plugin(name)
        state[SKIP_FILTER] = skipped
        return SUCCESS

    def run_filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        skipped = state.get(SKIP_FILTER) or ()
        for name, plugin in self._at("filter"):
            if name in skipped:
                continue
            status = plugin.filter(state, pod, node)
            if status is not SUCCESS and status.code != Code.SUCCESS:
                return status.with_plugin(name)
        return SUCCESS

    def run_pre_filter_add_pod(self, state: CycleState, pod: PodInfo, other: PodInfo, node: NodeInfo) -> None:
        skipped = state.get(SKIP_FILTER) or ()
        for name, plugin in self._at("preFilter"):
            if name not in skipped:
                plugin.add_pod(state, pod, other, node)

    def run_pre_filter_remove_pod(self, state: CycleState, pod: PodInfo, other: PodInfo, node: NodeInfo) -> None:
        skipped = state.get(SKIP_FILTER) or ()
        for name, plugin in self._at("preFilter"):
            if name not in skipped:
                plugin.remove_pod(state, pod, other, node)

    def find_nodes_that_fit(self, state: CycleState, pod: PodInfo,
                            nodes: list[NodeInfo]) -> tuple[list[NodeInfo], Diagnosis]:
        diagnosis = Diagnosis()
        status = self.run_pre_filter(state, pod)
        if not status.is_success():
            if status.code == Code.ERROR:
                raise RuntimeError(f"running PreFilter plugin {status.plugin}: {status.message()}")
            diagnosis.pre_filter_message = status.message()
            diagnosis.unschedulable_plugins.add(status.plugin)
            diagnosis.node_statuses = {n.name: status for n in nodes}
            return [], diagnosis
        nominated = self._nominated_node(state, pod)
        if nominated is not None:
            return [nominated], diagnosis
        return self._filter_round_robin(state, pod, nodes, diagnosis), diagnosis

    def _nominated_node(self, state: CycleState, pod: PodInfo) -> NodeInfo | None:
        """A pod that preempted for a node tries that node first."""
        name = (pod.pod.get("status") or {}).get("nominatedNodeName")
        node = self.handle.node_info(name) if name else None
        if node is not None and self.run_filter(state, pod, node).is_success():
            return node
        return None

    def _filter_round_robin(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo],
                            diagnosis: Diagnosis) -> list[NodeInfo]:
        total = len(nodes)
        wanted = num_feasible_nodes_to_find(total, self.percentage)
        filters = [(name, plugin) for name, plugin in self._at("filter") if name not in state[SKIP_FILTER]]
        feasible: list[NodeInfo] = []
        start, processed = self.next_start_node_index % total, 0
        statuses = diagnosis.node_statuses
        nominated = self.handle.nominated_pods
        for i in range(total):
            node = nodes[(start + i) % total]
            processed += 1
            checked = self._with_nominated_pods(pod, node, nominated(node.name))
            for name, plugin in filters:
                status = plugin.filter(state, pod, checked)
                if status is not SUCCESS and status.code != Code.SUCCESS:
                    if status.code == Code.ERROR:
                        raise RuntimeError(f"running Filter plugin {name}: {status.message()}")
                    statuses[node.name] = status.with_plugin(name)
                    diagnosis.unschedulable_plugins.add(name)
                    break
            else:
                feasible.append(node)
                if len(feasible) >= wanted:
                    break
        self.next_start_node_index = (start + processed) % total
        return feasible

    @staticmethod
    def _with_nominated_pods(pod: PodInfo, node: NodeInfo, nominated: list[PodInfo]) -> NodeInfo:
        """The node as `pod` must see it: with the room promised to equal or more important nominated pods."""
        ahead = [p for p in nominated if p.priority >= pod.priority and p.key != pod.key]
        if not ahead:
            return node
        with_them = node.clone()
        for other in ahead:
            with_them.add_pod(other)
        return with_them

    def run_post_filter(self, state: CycleState, pod: PodInfo,
                        statuses: Mapping[str, Status]) -> tuple[PostFilterResult | None, Status]:
        """Run PostFilter plugins until one succeeds; the last failure's message otherwise."""
        last: tuple[PostFilterResult | None, Status] = (None, unschedulable())
        for name, plugin in self._at("postFilter"):
            result, status = plugin.post_filter(state, pod, statuses)
            if status.is_success():
                return result, status.with_plugin(name)
            last = (result, status.with_plugin(name))
        return last

    # -- scoring -----------------------------------------------------------------------------

    def prioritize(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> dict[str, int]:
        """Each node's weighted sum of normalized plugin scores."""
        totals = dict.fromkeys((n.name for n in nodes), 0)
        skipped = set()
        for name, plugin in self._at("preScore"):
            status = plugin.pre_score(state, pod, nodes)
            if status.is_skip():
                skipped.add(name)
            elif not status.is_success():
                raise RuntimeError(f"running PreScore plugin {name}: {status.message()}")
        for name, plugin, weight in self._weighted("score"):
            if name in skipped:
                continue
            scores = {node.name: plugin.score(state, pod, node) for node in nodes}
            status = plugin.normalize_score(state, pod, scores)
            if not status.is_success():
                raise RuntimeError(f"running NormalizeScore plugin {name}: {status.message()}")
            for node_name, score in scores.items():
                if not 0 <= score <= MAX_NODE_SCORE:
                    raise RuntimeError(f"plugin {name} returns an invalid score {score} for node {node_name}, "
                                       f"it should in the range of [0, {MAX_NODE_SCORE}] after normalizing")
                totals[node_name] += score * weight
        return totals

    def select_host(self, totals: Mapping[str, int]) -> str:
        """The node with the highest score; among equals, each is equally likely."""
        best_score = max(totals.values())
        return self.rng.choice([name for name, score in totals.items() if score == best_score])

    # -- after the decision ------------------------------------------------------------------

    def run_reserve(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        for name, plugin in self._at("reserve"):
            status = plugin.reserve(state, pod, node_name)
            if not status.is_success():
                return status.with_plugin(name)
        return SUCCESS

    def run_unreserve(self, state: CycleState, pod: PodInfo, node_name: str) -> None:
        for _, plugin in reversed(self._at("reserve")):
            plugin.unreserve(state, pod, node_name)

    async def run_bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status:
        for name, plugin in self._at("bind"):
            status = await plugin.bind(state, pod, node_name)
            if not status.is_skip():
                return status.with_plugin(name)
        return error("no bind plugin bound the pod")

