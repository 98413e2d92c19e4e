"""Zones, disruption and the eviction rate (Kubernetes' handleDisruption and its rate-limited tainters).

Nodes are grouped into zones by their ``topology.kubernetes.io/region`` and ``.../zone`` labels. Each zone
has a state computed from its nodes' Ready conditions (ComputeZoneState):

* FullDisruption: no node in the zone is Ready (and at least one is not);
* PartialDisruption: more than 2 nodes are not Ready and they are at least ``unhealthy_zone_threshold``
  (0.55) of the zone;
* Normal otherwise.

The state sets how fast nodes of the zone may get a NoExecute taint (which evicts their pods): Normal and
FullDisruption at ``node_eviction_rate`` (0.1 nodes/s); PartialDisruption at
``secondary_node_eviction_rate`` (0.01/s) if the zone has more than ``large_cluster_size_threshold`` (50)
nodes, else not at all. When *every* zone is in FullDisruption the control plane, not the nodes, is the likely
culprit (a network partition of the masters): all eviction stops and the existing not-ready/unreachable
NoExecute taints are removed. When some node is Ready again, every node gets a fresh grace period.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controller_manager.podutil import get_condition

NORMAL, PARTIAL, FULL, INITIAL = "Normal", "PartialDisruption", "FullDisruption", "Initial"
REGION_LABELS = ("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region")
ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")


def zone_key(node: Mapping[str, Any]) -> str:
    """Kubernetes' GetZoneKey: "region:\\x00:zone", or "" when the node has neither label."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    region = next((labels[k] for k in REGION_LABELS if labels.get(k)), "")
    zone = next((labels[k] for k in ZONE_LABELS if labels.get(k)), "")
    return f"{region}:\x00:{zone}" if region or zone else ""


def is_ready(node: Mapping[str, Any]) -> bool:
    ready = get_condition(node, "Ready")
    return ready is not None and ready.get("status") == "True"


def compute_zone_state(ready_flags: Iterable[bool], unhealthy_threshold: float) -> str:
    flags = list(ready_flags)
    not_ready = flags.count(False)
    if not_ready > 0 and not_ready == len(flags):
        return FULL
    if not_ready > 2 and not_ready / len(flags) >= unhealthy_threshold:
        return PARTIAL
    return NORMAL


def compute_zone_states(nodes: Iterable[Mapping[str, Any]], unhealthy_threshold: float) -> dict[str, str]:
    zones: dict[str, list[bool]] = {}
    for node in nodes:
        zones.setdefault(zone_key(node), []).append(is_ready(node))
    return {zone: compute_zone_state(flags, unhealthy_threshold) for zone, flags in zones.items()}


def compute_zone_sizes(nodes: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for node in nodes:
        sizes[zone_key(node)] = sizes.get(zone_key(node), 0) + 1
    return sizes


@dataclass(frozen=True)
class EvictionRates:
    rate: float = 0.1
    secondary_rate: float = 0.01
    large_cluster_threshold: int = 50

    def for_zone(self, state: str, size: int) -> float:
        """Nodes per second that may be NoExecute-tainted in a zone of this state and size."""
        if state == PARTIAL:
            return self.secondary_rate if size > self.large_cluster_threshold else 0.0
        return self.rate


class TokenBucket:
    """A token bucket of burst 1 (evictionRateLimiterBurst): one action at once, then one per 1/qps s."""

    def __init__(self, qps: float, now: float) -> None:
        self.qps = qps
        self.tokens = 1.0
        self.last = now

    def swap_rate(self, qps: float, now: float) -> None:
        self._refill(now)
        self.qps = qps

    def _refill(self, now: float) -> None:
        self.tokens = min(1.0, self.tokens + max(0.0, now - self.last) * self.qps)
        self.last = now

    def try_accept(self, now: float) -> bool:
        if self.qps <= 0:
            return False
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def wait_time(self) -> float | None:
        """Seconds until the next token (None when the rate is zero)."""
        return None if self.qps <= 0 else max(0.0, (1.0 - self.tokens) / self.qps)


@dataclass(frozen=True)
class DisruptionChange:
    entering_full: bool  # every zone just became fully disrupted: stop evicting, drop NoExecute taints
    exiting_full: bool   # some node is Ready again after full disruption: fresh grace periods for all


def compute_disruption_change(old: Mapping[str, str], new: Mapping[str, str]) -> DisruptionChange:
    """Whether the cluster enters or leaves "all zones fully disrupted", given the previous zone states."""
    all_now = bool(new) and all(state == FULL for state in new.values())
    known = [state for zone, state in old.items() if zone in new]
    all_before = all(state == FULL for state in known) if known else False
    return DisruptionChange(entering_full=all_now and not all_before, exiting_full=all_before and not all_now)


@dataclass
class ZoneTracker:
    """The controller's memory of zone states and each zone's NoExecute tainting rate limiter."""

    rates: EvictionRates
    states: dict[str, str] = field(default_factory=dict)
    limiters: dict[str, TokenBucket] = field(default_factory=dict)
    known: bool = False  # a monitor pass has run: states are meaningful

    def all_fully_disrupted(self) -> bool:
        return bool(self.states) and all(state == FULL for state in self.states.values())

    def update(self, new: Mapping[str, str], sizes: Mapping[str, int], now: float) -> DisruptionChange:
        change = compute_disruption_change(self.states, new)
        for zone in list(self.limiters):
            if zone not in new:
                del self.limiters[zone]
        for zone, state in new.items():
            qps = 0.0 if all(s == FULL for s in new.values()) else self.rates.for_zone(state, sizes.get(zone, 0))
            limiter = self.limiters.get(zone)
            if limiter is None:
                self.limiters[zone] = TokenBucket(qps, now)
            elif limiter.qps != qps:
                limiter.swap_rate(qps, now)
        self.states = dict(new)
        self.known = True
        return change

    def try_taint(self, zone: str, now: float) -> tuple[bool, float | None]:
        """(may taint a node of this zone now, else seconds to wait — None when tainting is stopped)."""
        limiter = self.limiters.get(zone)
        if limiter is None:
            return False, None
        if limiter.try_accept(now):
            return True, 0.0
        return False, limiter.wait_time()
