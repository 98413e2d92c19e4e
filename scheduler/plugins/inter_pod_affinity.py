"""InterPodAffinity: place pods near (affinity) or away from (anti-affinity) other pods, per
topology domain (`topologyKey`: a node label such as kubernetes.io/hostname or a zone).

Filter, in Kubernetes' order, for a node whose value of the term's topologyKey is V:
1. required affinity: every term must have a matching pod somewhere in domain V — except for the
   first pod of a group (no pod matches anywhere, and the pod matches its own terms);
2. required anti-affinity: no pod matching a term may be in domain V;
3. existing pods' required anti-affinity toward the incoming pod: none may be in domain V.
PreFilter counts matching pods per (topologyKey, value) once, so each node check is a lookup.

Score: preferred terms of the incoming pod (+weight / -weight for anti) and, symmetrically, the
preferred terms of existing pods that match the incoming pod, summed per domain; min-max
normalized to 0..100.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from scheduler.interface import (
    MAX_NODE_SCORE,
    SKIP,
    SUCCESS,
    CycleState,
    Plugin,
    Status,
    unresolvable,
    unschedulable,
)
from scheduler.node_info import NodeInfo
from scheduler.pod_info import AffinityTerm, PodInfo

ERR_AFFINITY = "node(s) didn't match pod affinity rules"
ERR_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
ERR_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
HARD_POD_AFFINITY_WEIGHT = 1
STATE = "InterPodAffinity/pre-filter"
SCORES = "InterPodAffinity/pre-score"
Pair = tuple[str, str]


@dataclass
class _Counts:
    existing_anti_affinity: Counter[Pair] = field(default_factory=Counter)
    affinity: Counter[Pair] = field(default_factory=Counter)
    anti_affinity: Counter[Pair] = field(default_factory=Counter)


def _count(counts: Counter[Pair], terms: list[AffinityTerm], node: NodeInfo, pods: int = 1) -> None:
    for term in terms:
        value = node.labels.get(term.topology_key)
        if value is not None:
            counts[(term.topology_key, value)] += pods


def _in_domain(counts: Counter[Pair], key: str, node: NodeInfo) -> bool:
    value = node.labels.get(key)
    return value is not None and counts[(key, value)] > 0


class InterPodAffinity(Plugin):
    name = "InterPodAffinity"

    def pre_filter(self, state: CycleState, pod: PodInfo) -> Status:
        counts = _Counts()
        if not (pod.required_affinity or pod.required_anti_affinity or self.handle.pods_with_required_anti_affinity):
            return SKIP
        nodes = self.handle.node_infos()
        for node in nodes:
            for existing in node.pods_with_required_anti_affinity.values():
                _count(counts.existing_anti_affinity,
                       [t for t in existing.required_anti_affinity if t.matches(pod)], node)
        if pod.required_affinity or pod.required_anti_affinity:
            for node in nodes:
                for existing, alike in node.pod_groups():  # alike pods match alike: one check per group
                    if pod.required_affinity and all(t.matches(existing) for t in pod.required_affinity):
                        _count(counts.affinity, pod.required_affinity, node, alike)
                    _count(counts.anti_affinity, [t for t in pod.required_anti_affinity if t.matches(existing)],
                           node, alike)
        elif not counts.existing_anti_affinity:
            return SKIP
        state[STATE] = counts
        return SUCCESS

    def filter(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> Status:
        counts: _Counts = state[STATE]
        if pod.required_affinity and not self._satisfies_affinity(counts, pod, node):
            return unresolvable(ERR_AFFINITY)
        if any(_in_domain(counts.anti_affinity, t.topology_key, node) for t in pod.required_anti_affinity):
            return unschedulable(ERR_ANTI_AFFINITY)
        for key, value in counts.existing_anti_affinity:
            if node.labels.get(key) == value:
                return unschedulable(ERR_EXISTING_ANTI_AFFINITY)
        return SUCCESS

    def add_pod(self, state: CycleState, pod: PodInfo, other: PodInfo, node: NodeInfo) -> None:
        self._update(state, pod, other, node, +1)

    def remove_pod(self, state: CycleState, pod: PodInfo, other: PodInfo, node: NodeInfo) -> None:
        self._update(state, pod, other, node, -1)

    @staticmethod
    def _update(state: CycleState, pod: PodInfo, other: PodInfo, node: NodeInfo, sign: int) -> None:
        counts: _Counts | None = state.get(STATE)
        if counts is None:
            return
        changes = [(counts.existing_anti_affinity, [t for t in other.required_anti_affinity if t.matches(pod)]),
                   (counts.anti_affinity, [t for t in pod.required_anti_affinity if t.matches(other)])]
        if pod.required_affinity and all(t.matches(other) for t in pod.required_affinity):
            changes.append((counts.affinity, pod.required_affinity))
        for counter, terms in changes:
            for term in terms:
                value = node.labels.get(term.topology_key)
                if value is not None:
                    counter[(term.topology_key, value)] += sign
                    if counter[(term.topology_key, value)] <= 0:
                        del counter[(term.topology_key, value)]

    @staticmethod
    def _satisfies_affinity(counts: _Counts, pod: PodInfo, node: NodeInfo) -> bool:
        if all(_in_domain(counts.affinity, t.topology_key, node) for t in pod.required_affinity):
            return True
        # The first pod of a group: nothing matches anywhere yet, but the pod matches its own terms.
        return (not counts.affinity and all(t.matches(pod) for t in pod.required_affinity)
                and all(t.topology_key in node.labels for t in pod.required_affinity))

    # -- scoring ------------------------------------------------------------------------------

    def pre_score(self, state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> Status:
        scores: defaultdict[str, Counter[str]] = defaultdict(Counter)
        has_preferred = bool(pod.preferred_affinity or pod.preferred_anti_affinity)
        if not has_preferred and not self.handle.pods_with_affinity:
            return SKIP
        for node in self.handle.node_infos():
            for existing, alike in node.pod_groups():  # alike pods score alike: one check per group
                if not has_preferred and not existing.has_affinity:
                    continue
                for term, sign in self._weighted_terms(pod, existing):
                    value = node.labels.get(term.topology_key)
                    if value is not None:
                        scores[term.topology_key][value] += alike * sign * (term.weight or HARD_POD_AFFINITY_WEIGHT)
        if not any(any(values.values()) for values in scores.values()):
            return SKIP
        state[SCORES] = scores
        return SUCCESS

    @staticmethod
    def _weighted_terms(pod: PodInfo, existing: PodInfo) -> list[tuple[AffinityTerm, int]]:
        found = [(t, 1) for t in pod.preferred_affinity if t.matches(existing)]
        found += [(t, -1) for t in pod.preferred_anti_affinity if t.matches(existing)]
        found += [(t, 1) for t in existing.preferred_affinity if t.matches(pod)]
        found += [(t, -1) for t in existing.preferred_anti_affinity if t.matches(pod)]
        found += [(t, 1) for t in existing.required_affinity if t.matches(pod)]
        return found

    def score(self, state: CycleState, pod: PodInfo, node: NodeInfo) -> int:
        scores: dict[str, Counter[str]] = state[SCORES]
        return sum(values.get(node.labels.get(key, ""), 0) for key, values in scores.items() if key in node.labels)

    def normalize_score(self, state: CycleState, pod: PodInfo, scores: dict[str, int]) -> Status:
        if not scores:
            return SUCCESS
        low, high = min(scores.values()), max(scores.values())
        for name, score in scores.items():
            scores[name] = int(MAX_NODE_SCORE * (score - low) / (high - low)) if high > low else 0
        return SUCCESS
