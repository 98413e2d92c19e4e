"""Builders for scheduler unit tests: Node and Pod dicts, a cache full of nodes, a framework."""

from __future__ import annotations

import random
from typing import Any

from scheduler.cache import SchedulerCache
from scheduler.config import SchedulerConfiguration, default_configuration
from scheduler.framework import Framework
from scheduler.interface import CycleState
from scheduler.node_info import NodeInfo
from scheduler.pod_info import PodInfo

Object = dict[str, Any]


def node(name: str, cpu: str = "4", memory: str = "8Gi", pods: int = 110, labels: dict[str, str] | None = None,
         taints: list[Object] | None = None, unschedulable: bool = False) -> Object:
    allocatable = {"cpu": cpu, "memory": memory, "pods": str(pods)}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
            "spec": {"taints": taints or [], "unschedulable": unschedulable},
            "status": {"allocatable": allocatable, "capacity": allocatable}}


def pod(name: str, cpu: str = "", memory: str = "", *, namespace: str = "default", node_name: str = "",
        labels: dict[str, str] | None = None, priority: int = 0, **spec: Any) -> Object:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    container: Object = {"name": "app", "image": "busybox", "resources": {"requests": requests} if requests else {}}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "labels": labels or {}},
            "spec": {"containers": [container], "nodeName": node_name, "priority": priority,
                     "schedulerName": "default-scheduler", **spec},
            "status": {"phase": "Pending"}}


def cache_with(nodes: list[Object], pods: list[Object] = ()) -> SchedulerCache:  # type: ignore[assignment]
    cache = SchedulerCache()
    for n in nodes:
        cache.add_node(n)
    for p in pods:
        cache.add_pod(p)
    return cache


def framework(cache: SchedulerCache, config: SchedulerConfiguration | None = None, seed: int = 1) -> Framework:
    config = config or default_configuration()
    return Framework(config.profiles[0], cache, config.percentage_of_nodes_to_score, rng=random.Random(seed))


def run_filter(plugin: Any, pod_obj: Object, node_info: NodeInfo) -> Any:
    """PreFilter then Filter one plugin, as the framework would (Skip means it passes)."""
    state, info = CycleState(), PodInfo.of(pod_obj)
    status = plugin.pre_filter(state, info)
    if status.is_skip():
        return status
    if not status.is_success():
        return status
    return plugin.filter(state, info, node_info)
