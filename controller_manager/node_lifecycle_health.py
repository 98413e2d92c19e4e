"""Node health as the node lifecycle controller sees it (Kubernetes' tryUpdateNodeHealth), as pure functions.

The controller remembers, per node, when it last heard from the kubelet (the *probe timestamp*): that is
when the Ready condition's lastHeartbeatTime last changed, or when the node's Lease
(kube-node-lease/<node>) was last renewed, whichever is later, measured on the controller's own clock
(so clock skew between machines does not matter). A node first seen gets a fresh probe timestamp: a
restarted controller gives every node a full grace period.

When the probe timestamp is older than the grace period (``node_monitor_grace_period``, 40 s; or
``node_startup_grace_period``, 60 s, for a node that never posted a Ready condition), the controller
writes the node's Ready, MemoryPressure, DiskPressure and PIDPressure conditions as Unknown with reason
NodeStatusUnknown, "Kubelet stopped posting node status." (or NodeStatusNeverUpdated, "Kubelet never
posted node status.", for a condition the kubelet never wrote).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controller_manager.podutil import format_time, get_condition, parse_time

Object = dict[str, Any]

READY = "Ready"
MONITORED_CONDITIONS = (READY, "MemoryPressure", "DiskPressure", "PIDPressure")
UNKNOWN_REASON, UNKNOWN_MESSAGE = "NodeStatusUnknown", "Kubelet stopped posting node status."
NEVER_REASON, NEVER_MESSAGE = "NodeStatusNeverUpdated", "Kubelet never posted node status."


@dataclass(frozen=True)
class NodeHealth:
    """What the controller last observed of one node, and when (controller clock, epoch seconds)."""

    ready: Mapping[str, Any] | None  # the Ready condition as last observed
    probe_timestamp: float
    ready_transition_timestamp: float
    lease_renew_time: float | None = None


def lease_renew_time(lease: Mapping[str, Any] | None) -> float | None:
    if lease is None:
        return None
    return parse_time((lease.get("spec") or {}).get("renewTime"))


def compute_node_health(saved: NodeHealth | None, node: Mapping[str, Any], lease: Mapping[str, Any] | None,
                        now: float) -> NodeHealth:
    """The node's health record after observing ``node`` and its ``lease`` at ``now``."""
    current = get_condition(node, READY)
    if saved is None or (saved.ready is None) != (current is None):
        health = NodeHealth(current, now, now)
    elif saved.ready is not None and current is not None and (
            saved.ready.get("lastHeartbeatTime") != current.get("lastHeartbeatTime")):
        transitioned = saved.ready.get("lastTransitionTime") != current.get("lastTransitionTime")
        health = NodeHealth(current, now, now if transitioned else saved.ready_transition_timestamp,
                            saved.lease_renew_time)
    else:
        health = NodeHealth(current, saved.probe_timestamp, saved.ready_transition_timestamp,
                            saved.lease_renew_time)
    renewed = lease_renew_time(lease)
    if renewed is not None and (health.lease_renew_time is None or health.lease_renew_time < renewed):
        health = NodeHealth(health.ready, now, health.ready_transition_timestamp, renewed)
    return health


def grace_period(node: Mapping[str, Any], monitor_grace: float, startup_grace: float) -> float:
    """How long the kubelet may stay silent: the startup grace until it first posts Ready."""
    return monitor_grace if get_condition(node, READY) is not None else startup_grace


def compute_unknown_conditions(node: Mapping[str, Any], now: float) -> list[Object] | None:
    """The node's conditions with the monitored ones set to Unknown; None when nothing changes."""
    conditions = [copy.deepcopy(c) for c in (node.get("status") or {}).get("conditions") or []]
    created = (node.get("metadata") or {}).get("creationTimestamp") or format_time(now)
    changed = False
    for kind in MONITORED_CONDITIONS:
        existing = next((c for c in conditions if c.get("type") == kind), None)
        if existing is None:
            conditions.append({"type": kind, "status": "Unknown", "reason": NEVER_REASON, "message": NEVER_MESSAGE,
                               "lastHeartbeatTime": created, "lastTransitionTime": format_time(now)})
            changed = True
        elif existing.get("status") != "Unknown":
            existing.update(status="Unknown", reason=UNKNOWN_REASON, message=UNKNOWN_MESSAGE,
                            lastTransitionTime=format_time(now))
            changed = True
    return conditions if changed else None


def is_stale(health: NodeHealth, grace: float, now: float) -> bool:
    return now > health.probe_timestamp + grace
