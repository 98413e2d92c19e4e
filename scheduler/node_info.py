"""NodeInfo: one node as the scheduler sees it — the Node plus the pods on it and their sums.

Kept up to date incrementally by the cache (add/remove a pod adjusts the sums), so a filter reads
`requested`, `used_ports` or the list of pods with anti-affinity in O(1) instead of walking pods.
Pods the scheduler has just decided on ("assumed") count here before the apiserver confirms them.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from scheduler.pod_info import PodInfo
from scheduler.resources import CPU, MEMORY, PODS, Resources, resource_list

Object = dict[str, Any]


class NodeInfo:
    def __init__(self, node: Object | None = None, name: str = "") -> None:
        self.name = name
        self.node: Object | None = None
        self.labels: dict[str, str] = {}
        self.taints: list[Object] = []
        self.unschedulable = False
        self.allocatable: Resources = {}
        self.allowed_pods = 0
        self.pods: dict[str, PodInfo] = {}
        self.requested: Resources = {}
        self.non_zero_requested: Resources = {CPU: 0, MEMORY: 0}
        self.used_ports: list[tuple[str, str, int]] = []
        self.pods_with_affinity: dict[str, PodInfo] = {}
        self.pods_with_required_anti_affinity: dict[str, PodInfo] = {}
        self.groups: dict[Hashable, list[Any]] = {}  # PodInfo.group -> [a representative PodInfo, count]
        self.generation = 0
        if node is not None:
            self.set_node(node)

    def set_node(self, node: Object) -> None:
        meta, spec, status = node.get("metadata") or {}, node.get("spec") or {}, node.get("status") or {}
        self.node = node
        self.name = meta.get("name", self.name)
        self.labels = meta.get("labels") or {}
        self.taints = list(spec.get("taints") or ())
        self.unschedulable = bool(spec.get("unschedulable"))
        self.allocatable = resource_list(status.get("allocatable") or status.get("capacity"))
        self.allowed_pods = self.allocatable.get(PODS, 0)
        self.generation += 1

    def add_pod(self, pod: PodInfo) -> None:
        if pod.key in self.pods:
            self.remove_pod(pod.key)
        self.pods[pod.key] = pod
        self._account(pod, +1)
        self._group(pod, +1)
        self.used_ports.extend(pod.host_ports)
        if pod.has_affinity:
            self.pods_with_affinity[pod.key] = pod
        if pod.required_anti_affinity:
            self.pods_with_required_anti_affinity[pod.key] = pod
        self.generation += 1

    def remove_pod(self, key: str) -> PodInfo | None:
        pod = self.pods.pop(key, None)
        if pod is None:
            return None
        self._account(pod, -1)
        self._group(pod, -1)
        for port in pod.host_ports:
            self.used_ports.remove(port)
        self.pods_with_affinity.pop(key, None)
        self.pods_with_required_anti_affinity.pop(key, None)
        self.generation += 1
        return pod

    def _account(self, pod: PodInfo, sign: int) -> None:
        for name, value in pod.requests.items():
            self.requested[name] = self.requested.get(name, 0) + sign * value
        for name, value in pod.non_zero.items():
            self.non_zero_requested[name] = self.non_zero_requested.get(name, 0) + sign * value

    def _group(self, pod: PodInfo, sign: int) -> None:
        entry = self.groups.setdefault(pod.group, [pod, 0])
        entry[1] += sign
        if entry[1] <= 0:
            del self.groups[pod.group]

    def pod_groups(self) -> list[tuple[PodInfo, int]]:
        """(a representative pod, how many pods alike) for each group of alike pods on this node."""
        return [(entry[0], entry[1]) for entry in self.groups.values()]

    def clone(self) -> NodeInfo:
        """A copy whose pods can be removed and re-added freely (preemption's what-if)."""
        copy = NodeInfo(name=self.name)
        copy.node, copy.labels, copy.taints = self.node, self.labels, self.taints
        copy.unschedulable, copy.allocatable = self.unschedulable, self.allocatable
        copy.allowed_pods = self.allowed_pods
        copy.pods = dict(self.pods)
        copy.requested = dict(self.requested)
        copy.non_zero_requested = dict(self.non_zero_requested)
        copy.used_ports = list(self.used_ports)
        copy.pods_with_affinity = dict(self.pods_with_affinity)
        copy.pods_with_required_anti_affinity = dict(self.pods_with_required_anti_affinity)
        copy.groups = {key: list(entry) for key, entry in self.groups.items()}
        copy.generation = self.generation
        return copy

    def __repr__(self) -> str:
        return f"NodeInfo({self.name!r}, pods={len(self.pods)}, requested={self.requested})"
