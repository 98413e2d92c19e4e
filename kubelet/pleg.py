"""The Pod Lifecycle Event Generator: notice when containers change in the runtime, and wake their pod's worker.

Kubernetes' "generic PLEG": every ``period`` seconds, list everything the runtime holds for this node, compare
each pod's containers and sandboxes (id and state) with the previous listing, and report the pods that changed.
A container that exits, is OOM-killed or is removed behind the kubelet's back is noticed within one period. The
latest listing is kept for housekeeping (runtime pods without an API object are orphans to clean up).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from kubelet.runtime.interface import Runtime, RuntimePod

log = logging.getLogger(__name__)

Fingerprint = tuple[tuple[str, str], ...]


def pod_fingerprint(pod: RuntimePod) -> Fingerprint:
    """What a relist compares: every sandbox's and container's id with its state."""
    sandboxes = tuple((s.id, "ready" if s.ready else "notready") for s in pod.sandboxes)
    return sandboxes + tuple((c.id, c.state) for c in pod.containers)


def compute_changed_pods(old: dict[str, Fingerprint], new: dict[str, Fingerprint]) -> set[str]:
    """Pod uids that appeared, disappeared, or whose containers changed between two listings."""
    return {uid for uid in old.keys() | new.keys() if old.get(uid) != new.get(uid)}


class PLEG:
    def __init__(self, runtime: Runtime, node_name: str, on_change: Callable[[str], None], *,
                 period: float = 1.0) -> None:
        self.runtime = runtime
        self.node_name = node_name
        self.on_change = on_change
        self.period = period
        self.pods: dict[str, RuntimePod] = {}
        self._fingerprints: dict[str, Fingerprint] = {}
        self.relisted = asyncio.Event()  # set after each successful relist

    async def relist(self) -> None:
        pods = {pod.uid: pod for pod in await self.runtime.list_pods(self.node_name)}
        fingerprints = {uid: pod_fingerprint(pod) for uid, pod in pods.items()}
        changed = compute_changed_pods(self._fingerprints, fingerprints)
        self.pods, self._fingerprints = pods, fingerprints
        for uid in sorted(changed):
            self.on_change(uid)
        self.relisted.set()

    async def run(self) -> None:
        while True:
            try:
                await self.relist()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the runtime may be restarting: keep trying
                log.warning("PLEG relist failed: %s", e)
            await asyncio.sleep(self.period)
