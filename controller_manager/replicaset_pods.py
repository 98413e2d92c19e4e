"""Which pods a ReplicaSet deletes first, and how it creates many: Kubernetes' ActivePodsWithRanks and slowStartBatch.

Deletion preference (pkg/controller/controller_utils.go, ``ActivePodsWithRanks.Less``): when scaling down, the pods
that hurt least go first. Earlier in this order means deleted sooner:

1. unscheduled before scheduled (no ``spec.nodeName``);
2. Pending before Unknown before Running;
3. not ready before ready;
4. lower ``controller.kubernetes.io/pod-deletion-cost`` annotation before higher;
5. doubled up before alone: a higher *rank* (how many related pods share the node) goes first;
6. among ready pods, ready for less time before ready for longer;
7. more container restarts before fewer;
8. newer before older (by creationTimestamp).

Slow start: create ``count`` pods in batches of 1, 2, 4, 8, ...; stop at the first batch with an error, so a
quota or admission failure costs one call, not 500.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from controller_manager.podutil import get_condition, is_pod_ready, parse_time

Object = dict[str, Any]
SLOW_START_INITIAL_BATCH_SIZE = 1
POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}


def _deletion_cost(pod: Mapping[str, Any]) -> int:
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(POD_DELETION_COST, "0")
    try:
        return int(value)
    except ValueError:
        return 0


def _ready_since(pod: Mapping[str, Any]) -> float | None:
    condition = get_condition(pod, "Ready")
    return parse_time(condition.get("lastTransitionTime")) if condition else None


def _max_restarts(pod: Mapping[str, Any]) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return max((int(s.get("restartCount") or 0) for s in statuses), default=0)


def deletion_order_key(pod: Mapping[str, Any], rank: int = 0) -> tuple[Any, ...]:
    """Sort key: ascending order is the order in which pods should be deleted (see the module docstring)."""
    ready = is_pod_ready(pod)
    since = _ready_since(pod) if ready else None
    created = parse_time((pod.get("metadata") or {}).get("creationTimestamp"))
    return (
        1 if (pod.get("spec") or {}).get("nodeName") else 0,
        _PHASE_ORDER.get((pod.get("status") or {}).get("phase", ""), 0),
        1 if ready else 0,
        _deletion_cost(pod),
        -rank,
        -since if since is not None else float("-inf"),
        -_max_restarts(pod),
        -created if created is not None else float("-inf"),
    )


def ranks_by_related_pods_on_node(pods: list[Object], related: list[Object]) -> list[int]:
    """For each pod, how many ``related`` pods (of the same owner's ReplicaSets) run on its node (0 if unassigned)."""
    on_node = Counter((p.get("spec") or {}).get("nodeName") for p in related if (p.get("spec") or {}).get("nodeName"))
    return [on_node[(p.get("spec") or {}).get("nodeName")] if (p.get("spec") or {}).get("nodeName") else 0
            for p in pods]


def pods_to_delete(pods: list[Object], related: list[Object], count: int) -> list[Object]:
    """The ``count`` pods to delete first (Kubernetes' getPodsToDelete)."""
    if count >= len(pods):
        return list(pods)
    ranks = ranks_by_related_pods_on_node(pods, related)
    ordered = sorted(zip(pods, ranks, strict=True), key=lambda pair: deletion_order_key(pair[0], pair[1]))
    return [pod for pod, _ in ordered[:count]]


async def slow_start_batch(count: int, initial_batch_size: int,
                           fn: Callable[[], Awaitable[None]]) -> tuple[int, BaseException | None]:
    """Call ``fn`` ``count`` times in doubling batches; returns (successes, first error or None)."""
    remaining, successes = count, 0
    batch = min(remaining, initial_batch_size)
    while batch > 0:
        results = await asyncio.gather(*(fn() for _ in range(batch)), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        successes += batch - len(failures)
        if failures:
            return successes, failures[0]
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None
