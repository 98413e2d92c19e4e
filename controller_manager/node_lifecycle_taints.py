"""Which taints the node lifecycle controller wants on a node, as pure functions.

Two families, as in Kubernetes:

* NoSchedule taints mirror node conditions (TaintNodesByCondition), so the scheduler keeps new pods away:
  Ready False → ``node.kubernetes.io/not-ready``, Ready Unknown → ``node.kubernetes.io/unreachable``,
  MemoryPressure / DiskPressure / PIDPressure / NetworkUnavailable True → ``node.kubernetes.io/<x>``, and
  ``spec.unschedulable`` → ``node.kubernetes.io/unschedulable``. They are added and removed at once.
* NoExecute taints drive eviction (taint-based eviction): Ready False → ``not-ready:NoExecute``, Ready Unknown
  → ``unreachable:NoExecute``, Ready True → neither. Adding one is rate limited per zone (see
  :mod:`controller_manager.node_lifecycle_zones`); swapping one for the other and removing them is not.

Every taint the controller adds carries ``timeAdded``; the taint-eviction controller counts a pod's
tolerationSeconds from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from controller_manager.podutil import format_time, get_condition

Object = dict[str, Any]

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
NO_SCHEDULE, NO_EXECUTE = "NoSchedule", "NoExecute"

# (condition type, status) → taint key, as nodeConditionToTaintKeyStatusMap
CONDITION_TAINTS: dict[tuple[str, str], str] = {
    ("Ready", "False"): NOT_READY,
    ("Ready", "Unknown"): UNREACHABLE,
    ("MemoryPressure", "True"): "node.kubernetes.io/memory-pressure",
    ("DiskPressure", "True"): "node.kubernetes.io/disk-pressure",
    ("NetworkUnavailable", "True"): "node.kubernetes.io/network-unavailable",
    ("PIDPressure", "True"): "node.kubernetes.io/pid-pressure",
}
CONDITION_TAINT_KEYS = frozenset(CONDITION_TAINTS.values())
NO_EXECUTE_KEYS = (NOT_READY, UNREACHABLE)


def taints_of(node: Mapping[str, Any]) -> list[Object]:
    return list((node.get("spec") or {}).get("taints") or [])


def has_taint(node: Mapping[str, Any], key: str, effect: str) -> bool:
    return any(t.get("key") == key and t.get("effect") == effect for t in taints_of(node))


def compute_no_schedule_keys(node: Mapping[str, Any]) -> set[str]:
    """The condition (and unschedulable) NoSchedule taint keys the node should carry."""
    keys = {key for c in (node.get("status") or {}).get("conditions") or []
            if (key := CONDITION_TAINTS.get((str(c.get("type")), str(c.get("status"))))) is not None}
    if (node.get("spec") or {}).get("unschedulable"):
        keys.add(UNSCHEDULABLE)
    return keys


def compute_no_execute_key(node: Mapping[str, Any]) -> str | None:
    """The NoExecute taint key the node's Ready condition calls for (None when Ready is True)."""
    ready = get_condition(node, "Ready")
    status = ready.get("status") if ready is not None else "Unknown"
    if status == "True":
        return None
    return NOT_READY if status == "False" else UNREACHABLE


def compute_taints(current: Iterable[Mapping[str, Any]], add: Iterable[tuple[str, str]],
                   remove: Iterable[tuple[str, str]], now: float) -> list[Object] | None:
    """``current`` with the (key, effect) taints in ``remove`` dropped and those in ``add`` added (with
    timeAdded = now); None when that changes nothing."""
    current = list(current)
    wanted = set(add)
    dropped = set(remove) - wanted
    kept = [dict(t) for t in current if (t.get("key"), t.get("effect")) not in dropped]
    present = {(t.get("key"), t.get("effect")) for t in kept}
    new = [{"key": key, "effect": effect, "timeAdded": format_time(now)}
           for key, effect in sorted(wanted - present)]
    if not new and len(kept) == len(current):
        return None
    return kept + new


def compute_no_schedule_change(node: Mapping[str, Any], now: float) -> list[Object] | None:
    """The node's taints with its condition NoSchedule taints made to match its conditions (None: as is)."""
    wanted = compute_no_schedule_keys(node)
    managed = CONDITION_TAINT_KEYS | {UNSCHEDULABLE}
    stale = [(str(t.get("key")), NO_SCHEDULE) for t in taints_of(node)
             if t.get("effect") == NO_SCHEDULE and t.get("key") in managed and t.get("key") not in wanted]
    return compute_taints(taints_of(node), [(k, NO_SCHEDULE) for k in wanted], stale, now)


def compute_no_execute_change(node: Mapping[str, Any], key: str | None, now: float) -> list[Object] | None:
    """The node's taints carrying exactly the NoExecute taint ``key`` among not-ready/unreachable."""
    add = [(key, NO_EXECUTE)] if key else []
    remove = [(k, NO_EXECUTE) for k in NO_EXECUTE_KEYS if k != key]
    return compute_taints(taints_of(node), add, remove, now)
