"""Expectations: "I asked for N creates and M deletes; don't act again until the informer has seen them".

Kubernetes' ControllerExpectations and UIDTrackingControllerExpectations (pkg/controller/controller_utils.go).

Why they exist: a controller reads the informer cache, which lags behind its own writes. Right after the ReplicaSet
controller creates 3 pods, a second reconcile of the same ReplicaSet would still see the old pod count in the cache
and create 3 more. So before writing, the controller records what it expects to observe; the pod event handlers
lower the counts as the informer delivers the creates and deletes; and reconcile only manages replicas once the
expectations are *satisfied* (all observed), or *expired* (older than ``timeout``: some event was lost, act again).

Deletions are tracked by pod key (``namespace/name``), as UIDTrackingControllerExpectations does: a pod that is
first seen with a deletionTimestamp and later seen deleted lowers the count only once.

A controller that restarts has no expectations, which counts as satisfied: the informer was synced before the
workers started, so the cache is complete and acting on it is safe.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

EXPECTATIONS_TIMEOUT = 300.0  # seconds: Kubernetes' ExpectationsTimeout (5 minutes)


@dataclass
class ControlleeExpectations:
    """Outstanding creates (``add``) and deletes (``delete``) of one controller, set at ``timestamp``."""

    add: int = 0
    delete: int = 0
    timestamp: float = 0.0
    deleted_keys: set[str] = field(default_factory=set)

    def fulfilled(self) -> bool:
        return self.add <= 0 and self.delete <= 0


class ControllerExpectations:
    """Expectations by controller key (``namespace/name`` of the ReplicaSet, say)."""

    def __init__(self, timeout: float = EXPECTATIONS_TIMEOUT, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout = timeout
        self.clock = clock
        self._by_key: dict[str, ControlleeExpectations] = {}

    def get(self, key: str) -> ControlleeExpectations | None:
        return self._by_key.get(key)

    def satisfied(self, key: str) -> bool:
        """True when the controller may act: no expectations, all observed, or expired."""
        expectations = self._by_key.get(key)
        if expectations is None or expectations.fulfilled():
            return True
        return self.clock() - expectations.timestamp > self.timeout

    def expect_creations(self, key: str, count: int) -> None:
        self._by_key[key] = ControlleeExpectations(add=count, timestamp=self.clock())

    def expect_deletions(self, key: str, pod_keys: Iterable[str]) -> None:
        keys = set(pod_keys)
        self._by_key[key] = ControlleeExpectations(delete=len(keys), timestamp=self.clock(), deleted_keys=keys)

    def creation_observed(self, key: str) -> None:
        expectations = self._by_key.get(key)
        if expectations is not None:
            expectations.add -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        """Lower the delete count, once per expected pod key (other deletions are not ours to count)."""
        expectations = self._by_key.get(key)
        if expectations is not None and pod_key in expectations.deleted_keys:
            expectations.deleted_keys.discard(pod_key)
            expectations.delete -= 1

    def delete_expectations(self, key: str) -> None:
        self._by_key.pop(key, None)
