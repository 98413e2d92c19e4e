"""PodInfo: a pod plus everything the plugins would otherwise recompute per node.

Kubernetes' framework.PodInfo does the same: requests, host ports and parsed affinity terms are
worked out once when the pod enters the queue or the cache, so a filter run on a thousand nodes
reads fields instead of re-parsing quantities and label selectors.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from apimachinery.labels import Selector, selector_from_label_selector
from scheduler.resources import Resources, host_ports, pod_requests

Object = dict[str, Any]


@dataclass(frozen=True)
class AffinityTerm:
    """One (anti-)affinity term: pods in `namespaces` (None = all) matching `selector`, per `topology_key`."""

    namespaces: frozenset[str] | None
    selector: Selector
    topology_key: str
    weight: int = 0

    def matches(self, pod: PodInfo) -> bool:
        if self.namespaces is not None and pod.namespace not in self.namespaces:
            return False
        return bool(self.selector.matches(pod.labels))


def _term(raw: Mapping[str, Any], namespace: str, weight: int = 0) -> AffinityTerm | None:
    try:
        selector = selector_from_label_selector(raw.get("labelSelector"))
    except ValueError:
        return None
    namespaces: frozenset[str] | None = frozenset(raw.get("namespaces") or ())
    if raw.get("namespaceSelector") == {}:
        namespaces = None  # an empty namespaceSelector selects every namespace
    elif not namespaces:
        namespaces = frozenset((namespace,))
    return AffinityTerm(namespaces, selector, raw.get("topologyKey") or "", weight)


def _terms(affinity: Mapping[str, Any], namespace: str) -> tuple[list[AffinityTerm], list[AffinityTerm]]:
    required = [_term(t, namespace) for t in affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or ()]
    preferred = [_term(w.get("podAffinityTerm") or {}, namespace, int(w.get("weight") or 0))
                 for w in affinity.get("preferredDuringSchedulingIgnoredDuringExecution") or ()]
    return [t for t in required if t is not None], [t for t in preferred if t is not None]


@dataclass
class PodInfo:
    pod: Object
    namespace: str = ""
    name: str = ""
    uid: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    priority: int = 0
    node_name: str = ""
    requests: Resources = field(default_factory=dict)
    non_zero: Resources = field(default_factory=dict)
    host_ports: tuple[tuple[str, str, int], ...] = ()
    required_affinity: list[AffinityTerm] = field(default_factory=list)
    required_anti_affinity: list[AffinityTerm] = field(default_factory=list)
    preferred_affinity: list[AffinityTerm] = field(default_factory=list)
    preferred_anti_affinity: list[AffinityTerm] = field(default_factory=list)
    # Pods alike in everything the affinity and spread plugins look at (namespace, labels, terminating, their own
    # affinity terms) share a group; NodeInfo counts pods per group so those plugins match once per group.
    group: Hashable = ()

    @classmethod
    def of(cls, pod: Object) -> PodInfo:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        namespace = meta.get("namespace", "")
        affinity = spec.get("affinity") or {}
        required_affinity, preferred_affinity = _terms(affinity.get("podAffinity") or {}, namespace)
        required_anti, preferred_anti = _terms(affinity.get("podAntiAffinity") or {}, namespace)
        labels = meta.get("labels") or {}
        group = (namespace, frozenset(labels.items()), bool(meta.get("deletionTimestamp")),
                 orjson.dumps(affinity, option=orjson.OPT_SORT_KEYS) if affinity else b"")
        return cls(pod, namespace, meta.get("name", ""), meta.get("uid", ""), labels,
                   int(spec.get("priority") or 0), spec.get("nodeName") or "", pod_requests(spec),
                   pod_requests(spec, non_zero=True), host_ports(spec), required_affinity, required_anti,
                   preferred_affinity, preferred_anti, group)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def spec(self) -> Object:
        spec: Object = self.pod.get("spec") or {}
        return spec

    @property
    def has_affinity(self) -> bool:
        return bool(self.required_affinity or self.required_anti_affinity or self.preferred_affinity
                    or self.preferred_anti_affinity)

    @property
    def start_time(self) -> str:
        status = self.pod.get("status") or {}
        return status.get("startTime") or (self.pod.get("metadata") or {}).get("creationTimestamp") or ""

    @property
    def terminating(self) -> bool:
        return bool((self.pod.get("metadata") or {}).get("deletionTimestamp"))
