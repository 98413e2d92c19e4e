"""Writing pod status to the apiserver: only when it changed, and never losing the last word.

The kubelet owns ``pod.status`` for pods bound to its node (for a static pod: its mirror pod's status).
``set_status`` compares the computed status with
the last one written (or the one the apiserver holds) and writes through UpdateStatus only on a change. A
conflict (someone else wrote the pod meanwhile) is retried on the fresh object; a pod that is gone is dropped.

``confirm_deletion`` is the kubelet's last step for a pod being deleted: once its containers are stopped, it
deletes the pod object with grace period 0 and a uid precondition (so a new pod with the same name is never hit).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from apimachinery import errors
from client.client import Client
from kubelet.pod_status import pod_status_changed
from kubelet.static_pods import is_static_pod

log = logging.getLogger(__name__)
Object = dict[str, Any]
CONFLICT_RETRIES = 3


class StatusManager:
    def __init__(self, client: Client, mirror_of: Callable[[Object], Object | None] = lambda pod: None) -> None:
        self.client = client
        self.mirror_of = mirror_of  # a static pod's mirror pod in the apiserver, if there is one yet
        self._sent: dict[str, Object] = {}
        self.writes = 0

    async def set_status(self, pod: Object, status: Object) -> None:
        uid = pod["metadata"]["uid"]
        if is_static_pod(pod):
            mirror = self.mirror_of(pod)
            if mirror is None:
                return  # no mirror pod yet: the next sync writes the status
            pod = mirror
        last = self._sent.get(uid)
        if last is not None and not pod_status_changed(last, status):
            return
        if last is None and not pod_status_changed(pod.get("status") or {}, status):
            self._sent[uid] = status
            return
        current: Object | None = pod
        for _ in range(CONFLICT_RETRIES):
            if current is None:
                return
            try:
                await self.client.update_status({**current, "status": status})
                self.writes += 1
                self._sent[uid] = status
                return
            except errors.Conflict:
                current = await self._fresh(current)
            except errors.NotFound:
                return
        log.info("pod %s: status not written after %d conflicts; the next sync retries", uid, CONFLICT_RETRIES)

    async def _fresh(self, pod: Mapping[str, Any]) -> Object | None:
        meta = pod["metadata"]
        try:
            fresh = await self.client.get("pods", meta["name"], meta.get("namespace", "default"))
        except errors.NotFound:
            return None
        return fresh if fresh["metadata"].get("uid") == meta["uid"] else None

    async def confirm_deletion(self, pod: Mapping[str, Any]) -> None:
        if is_static_pod(pod):
            return  # a static pod ends when its manifest is removed; its mirror pod is handled by MirrorPods
        meta = pod["metadata"]
        with contextlib.suppress(errors.NotFound, errors.Conflict):  # already gone, or a new pod took the name
            await self.client.delete("pods", meta["name"], meta.get("namespace", "default"),
                                     grace_period_seconds=0, preconditions={"uid": meta["uid"]})

    def last_sent(self, uid: str) -> Object | None:
        """The status this kubelet last wrote (or found already written) for pod ``uid``."""
        return self._sent.get(uid)

    def forget(self, uid: str) -> None:
        self._sent.pop(uid, None)
