"""The scheduler cache: every node and every pod bound (or about to be bound) to one.

Fed by the pod and node informers. When the scheduler decides, it *assumes* the pod onto the node
here at once — the resources count as taken for the very next pod, long before the bind reaches
the apiserver and its watch event comes back. The event then *confirms* the assumed pod; a failed
bind *forgets* it. (Kubernetes' pkg/scheduler/backend/cache.)

The scheduling cycle reads the cache directly: it runs synchronously on the event loop, so no
informer event can change the cache in the middle of a cycle — the cache is its own snapshot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from scheduler.interface import Handle
from scheduler.node_info import NodeInfo
from scheduler.pod_info import PodInfo

log = logging.getLogger(__name__)
Object = dict[str, Any]


@dataclass
class _PodState:
    pod: PodInfo
    node_name: str
    assumed: bool
    binding_finished: bool = False


class SchedulerCache(Handle):
    def __init__(self, client: Any = None) -> None:
        self.client = client
        self._nodes: dict[str, NodeInfo] = {}
        self._pods: dict[str, _PodState] = {}
        self._order: list[NodeInfo] = []  # nodes that exist, in the order they were added
        self.pods_with_affinity = 0
        self.pods_with_required_anti_affinity = 0
        self._nominated: dict[str, dict[str, PodInfo]] = {}  # node -> pod key -> pod
        self._nominated_node: dict[str, str] = {}  # pod key -> node

    # -- nodes -----------------------------------------------------------------------------

    def add_node(self, node: Object) -> NodeInfo:
        name = node["metadata"]["name"]
        info = self._nodes.get(name)
        if info is None:
            info = self._nodes[name] = NodeInfo(name=name)
        existed = info.node is not None
        info.set_node(node)
        if not existed:
            self._order.append(info)
        return info

    update_node = add_node

    def remove_node(self, name: str) -> None:
        info = self._nodes.get(name)
        if info is None:
            return
        info.node = None
        self._order = [n for n in self._order if n.name != name]
        if not info.pods:
            del self._nodes[name]

    def node_infos(self) -> list[NodeInfo]:
        return self._order

    def node_info(self, name: str) -> NodeInfo | None:
        info = self._nodes.get(name)
        return info if info is not None and info.node is not None else None

    # -- pods the informer reports ----------------------------------------------------------

    def add_pod(self, pod: Object) -> None:
        """An assigned pod appeared (or changed): confirm an assumed one, or account a new one."""
        info = PodInfo.of(pod)
        self._drop(info.key)
        self._set(_PodState(info, info.node_name, assumed=False))

    update_pod = add_pod

    def remove_pod(self, pod: Object) -> None:
        meta = pod.get("metadata") or {}
        self._drop(f"{meta.get('namespace', '')}/{meta.get('name', '')}")

    def _set(self, state: _PodState) -> None:
        self._pods[state.pod.key] = state
        self._node(state.node_name).add_pod(state.pod)
        self._count(state.pod, +1)

    def _count(self, pod: PodInfo, sign: int) -> None:
        if pod.has_affinity:
            self.pods_with_affinity += sign
        if pod.required_anti_affinity:
            self.pods_with_required_anti_affinity += sign

    def _drop(self, key: str) -> None:
        state = self._pods.pop(key, None)
        if state is None:
            return
        self._count(state.pod, -1)
        node = self._nodes.get(state.node_name)
        if node is not None:
            node.remove_pod(key)
            if node.node is None and not node.pods:
                del self._nodes[node.name]

    def _node(self, name: str) -> NodeInfo:
        info = self._nodes.get(name)
        if info is None:  # a pod bound to a node we have not seen yet
            info = self._nodes[name] = NodeInfo(name=name)
        return info

    # -- the scheduler's own decisions ------------------------------------------------------

    def assume_pod(self, pod: PodInfo, node_name: str) -> PodInfo:
        """Count `pod` on `node_name` now; the bind is still to come."""
        spec = dict(pod.spec, nodeName=node_name)
        assumed = PodInfo.of(dict(pod.pod, spec=spec))
        self.remove_nominated(pod.key)
        self._drop(pod.key)
        self._set(_PodState(assumed, node_name, assumed=True))
        return assumed

    def finish_binding(self, key: str) -> None:
        state = self._pods.get(key)
        if state is not None:
            state.binding_finished = True

    def forget_pod(self, key: str) -> None:
        """The bind failed: give the resources back."""
        state = self._pods.get(key)
        if state is not None and state.assumed:
            self._drop(key)

    def is_assumed(self, key: str) -> bool:
        state = self._pods.get(key)
        return state is not None and state.assumed

    def has_pod(self, key: str) -> bool:
        return key in self._pods

    def pod_count(self) -> int:
        return len(self._pods)

    # -- nominated pods (Kubernetes' nominator) ---------------------------------------------

    def nominate(self, pod: PodInfo, node_name: str) -> None:
        """`pod` preempted for `node_name` (or "" : no longer): others must leave it that room."""
        self.remove_nominated(pod.key)
        if node_name:
            self._nominated.setdefault(node_name, {})[pod.key] = pod
            self._nominated_node[pod.key] = node_name

    def remove_nominated(self, key: str) -> None:
        node_name = self._nominated_node.pop(key, None)
        if node_name is not None:
            pods = self._nominated.get(node_name, {})
            pods.pop(key, None)
            if not pods:
                self._nominated.pop(node_name, None)

    def nominated_pods(self, node_name: str) -> list[PodInfo]:
        pods = self._nominated.get(node_name)
        return list(pods.values()) if pods else []

    def has_nominated_pods(self) -> bool:
        return bool(self._nominated)
