"""PodTopologySpread: spread matching pods evenly across topology domains (zones, nodes, ...).

For each constraint {maxSkew, topologyKey, whenUnsatisfiable, labelSelector, minDomains}, count the
pods matching labelSelector (in the pod's namespace) per domain, over the nodes the pod could use
(its nodeSelector / required node affinity, as nodeAffinityPolicy Honor says) that carry every
constraint's key. Placing the pod in domain V gives

    skew = count[V] + (1 if the pod matches its own selector) - min(count over domains)

(the minimum is 0 while fewer than minDomains domains exist). DoNotSchedule constraints filter out
nodes with skew > maxSkew; ScheduleAnyway ones score: fewer matching pods in the domain, better.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apimachinery.labels import EQUALS, Requirement, Selector, selector_from_label_selector
from scheduler.interface import MAX_NODE_SCORE, SKIP, SUCCESS, CycleState, Plugin, Status, unresolvable, unschedulable
from scheduler.node_info import NodeInfo
from scheduler.plugins.helpers import RequiredNodeAffinity, first_untolerated
from scheduler.pod_info import PodInfo

ERR_CONSTRAINTS = "node(s) didn't match pod topology spread constraints"
ERR_MISSING_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)"
FILTER_STATE = "PodTopologySpread/pre-filter"
SCORE_STATE = "PodTopologySpread/pre-score"
INVALID_SCORE = -1


@dataclass
class Constraint:
    max_skew: int
    topology_key: str
    selector: Selector
    min_domains: int
    self_match: bool


@dataclass
class _Counts:
    constraints: list[Constraint]
    counts: list[Counter[str]]
    weights: list[float]


def _constraints(pod: PodInfo, when: str) -> list[Constraint]:
    found = []
    for raw in pod.spec.get("topologySpreadConstraints") or ():
        if raw.get("whenUnsatisfiable", "DoNotSchedule") != when:
            continue
        try:
            selector = selector_from_label_selector(raw.get("labelSelector"))
        except ValueError:
            continue
        extra = [Requirement(k, EQUALS, (pod.labels[k],)) for k in raw.get("matchLabelKeys") or () if k in pod.labels]
        if extra:
            selector = selector.add(*extra)
        found.append(Constraint(int(raw.get("maxSkew") or 1), raw.get("topologyKey") or "", selector,
                                int(raw.get("minDomains") or 1), bool(selector.matches(pod.labels))))
    return found


def _eligible(pod: PodInfo, node: NodeInfo, constraints: list[Constraint], raw: list[Mapping[str, Any]],
              affinity: RequiredNodeAffinity) -> bool:
    if any(c.topology_key not in node.labels for c in constraints):
        return False
    honor_affinity = all(r.get("nodeAffinityPolicy", "Honor") == "Honor" for r in raw)
    if honor_affinity and not affinity.matches(node.labels, node.name):
        return False
    honor_taints = any(r.get("nodeTaintsPolicy") == "Honor" for r in raw)
    tolerations = pod.spec.get("tolerations") or ()
    return not (honor_taints and first_untolerated(node.taints, tolerations, ("NoSchedule", "NoExecute")))


def _count(pod: PodInfo, constraints: list[Constraint], nodes: list[NodeInfo]) -> _Counts:
    raw = list(pod.spec.get("topologySpreadConstraints") or ())
    affinity = RequiredNodeAffinity(pod.spec)
    counts: list[Counter[str]] = [Counter() for _ in constraints]
    for node in nodes:
        if not _eligible(pod, node, constraints, raw, affinity):
            continue
        for constraint, counter in zip(constraints, counts, strict=True):
            matching = sum(count for p, count in node.pod_groups() if p.namespace == pod.namespace
                           and not p.terminating and constraint.selector.matches(p.labels))
            counter[node.labels[constraint.topology_key]] += matching
    weights = [math.log(len(counter) + 2) for counter in counts]
    return _Counts(constraints, counts, weights)


class PodTopologySpread(Plugin):
    name = "PodTopologySpread"

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status:
        constraints = _constraints(pod, "DoNotSchedule")
        if not constraints:
            return SKIP
        state[FILTER_STATE] = _count(pod, constraints, self.handle.node_infos())
        return SUCCESS

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        found: _Counts = state[FILTER_STATE]
        for constraint, counter in zip(found.constraints, found.counts, strict=True):
            value = node.labels.get(constraint.topology_key)
            if value is None:
                return unresolvable(ERR_MISSING_LABEL)
            minimum = min(counter.values(), default=0) if len(counter) >= constraint.min_domains else 0
            skew = counter.get(value, 0) + int(constraint.self_match) - minimum
            if skew > constraint.max_skew:
                return unschedulable(ERR_CONSTRAINTS)
        return SUCCESS

    def add_pod(self, state: CycleState, pod: PodInfo, other: PodInfo, node: NodeInfo) -> None:
        self._update(state, pod, other, node, +1)

    def remove_pod(self, state: CycleState, pod: PodInfo, other: PodInfo, node: NodeInfo) -> None:
        self._update(state, pod, other, node, -1)

    @staticmethod
    def _update(state: CycleState, pod: PodInfo, other: PodInfo, node: NodeInfo, sign: int) -> None:
        found: _Counts | None = state.get(FILTER_STATE)
        if found is None or other.namespace != pod.namespace:
            return
        for constraint, counter in zip(found.constraints, found.counts, strict=True):
            value = node.labels.get(constraint.topology_key)
            if value is not None and value in counter and constraint.selector.matches(other.labels):
                counter[value] += sign

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> Status:
        constraints = _constraints(pod, "ScheduleAnyway")
        if not constraints:
            return SKIP
        state[SCORE_STATE] = _count(pod, constraints, self.handle.node_infos())
        return SUCCESS

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        found: _Counts = state[SCORE_STATE]
        total = 0.0
        for constraint, counter, weight in zip(found.constraints, found.counts, found.weights, strict=True):
            value = node.labels.get(constraint.topology_key)
            if value is None:
                return INVALID_SCORE
            total += counter.get(value, 0) * weight + (constraint.max_skew - 1)
        return round(total)

    def normalize_score(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> Status:
        valid = [s for s in scores.values() if s != INVALID_SCORE]
        low, high = min(valid, default=0), max(valid, default=0)
        for name, score in scores.items():
            if score == INVALID_SCORE:
                scores[name] = 0
            elif high == 0:
                scores[name] = MAX_NODE_SCORE
            else:
                scores[name] = MAX_NODE_SCORE * (high + low - score) // high
        return SUCCESS
