"""``kubeling status``: one row per component (PID, alive, healthz, leader, node Ready)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubeling import api, processes
from kubeling.cluster import HOLLOW, KUBELET_PREFIX, LEASE_NAMES, ClusterState

COLUMNS = ("component", "PID", "alive", "healthz", "leader", "node Ready")


@dataclass
class Observation:
    """What was seen of a running cluster; the rows are computed from it alone (pure)."""

    alive: dict[str, bool] = field(default_factory=dict)
    paused: dict[str, bool] = field(default_factory=dict)
    healthy: dict[str, bool | None] = field(default_factory=dict)  # None: not probed (not running / no URL)
    leaders: dict[str, str] = field(default_factory=dict)  # lease name -> holder identity
    nodes: dict[str, dict[str, Any]] | None = None  # None: the apiserver did not answer


def leader_kind(component: str) -> str | None:
    for kind in LEASE_NAMES:
        if component == kind or (component.startswith(kind + "-") and component[len(kind) + 1:].isdigit()):
            return kind
    return None


def status_rows(state: ClusterState, seen: Observation) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for name, component in state.components.items():
        is_alive = seen.alive.get(name, False)
        alive = ("paused" if seen.paused.get(name) else "yes") if is_alive else "no"
        health = seen.healthy.get(name)
        healthz = "-" if health is None else ("ok" if health else "failing")
        leader = ""
        kind = leader_kind(name)
        if kind is not None:
            holder = seen.leaders.get(LEASE_NAMES[kind], "")
            leader = "leader" if holder == name else ("standby" if holder else "?")
            if not is_alive:
                leader = "leader (stale lease)" if holder == name else ""
        ready = ""
        if seen.nodes is not None:
            if name == HOLLOW:
                hollow = state.hollow_node_names()
                count = sum(1 for n in hollow if n in seen.nodes and api.node_ready(seen.nodes[n]))
                ready = f"{count}/{len(hollow)}"
            elif name.startswith(KUBELET_PREFIX):
                node = seen.nodes.get(name[len(KUBELET_PREFIX):])
                ready = "absent" if node is None else ("Ready" if api.node_ready(node) else "NotReady")
        elif name.startswith(KUBELET_PREFIX):
            ready = "?"
        rows.append((name, str(component.pid or "-"), alive, healthz, leader, ready))
    return rows


def observe(state: ClusterState) -> Observation:
    """Probe every process, its /healthz, the leader Leases and the Nodes (a dead apiserver leaves those empty)."""
    seen = Observation()
    base = f"http://127.0.0.1:{state.ports.apiserver_http}"
    try:
        seen.nodes = api.nodes(base)
        for lease in LEASE_NAMES.values():
            seen.leaders[lease] = api.lease_holder(base, lease)
    except api.ApiError:
        pass
    for name, component in state.components.items():
        seen.alive[name] = processes.alive(component)
        seen.paused[name] = seen.alive[name] and processes.paused(component)
        if not seen.alive[name] or not component.healthz or seen.paused[name]:
            continue
        url = component.healthz
        if "{node_ip}" in url:
            node = (seen.nodes or {}).get(name[len(KUBELET_PREFIX):])
            if node is None or not api.node_ip(node):
                continue
            url = url.replace("{node_ip}", api.node_ip(node))
        seen.healthy[name] = processes.http_ok(url, timeout=1.0)
    return seen
