"""What the scheduler writes on a pod besides the binding, and which watch updates matter.

- `PodScheduled=False` (reason Unschedulable, the FailedScheduling message) and
  `status.nominatedNodeName` go through the pods/status subresource, only when they change.
- `pod_updated`: a pending pod's update counts only if more than its status / resourceVersion
  changed (Kubernetes' isPodUpdated) — otherwise our own status writes would re-queue the pod.
- `node_scheduling_properties_changed`: a node's heartbeat does not re-queue unschedulable pods;
  a change of labels, taints, unschedulable, allocatable or conditions does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

from apimachinery import errors

log = logging.getLogger(__name__)
Object = dict[str, Any]
POD_SCHEDULED = "PodScheduled"
_VOLATILE_METADATA = ("resourceVersion", "generation", "managedFields")


class PodStatusWriter:
    def __init__(self, client: Any) -> None:
        self.client = client
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def set_unschedulable(self, pod: Object, reason: str, message: str, nominated: str | None) -> None:
        """Record PodScheduled=False (and the nominated node: "" clears it, None leaves it)."""
        status = pod.get("status") or {}
        conditions = list(status.get("conditions") or [])
        current = next((c for c in conditions if c.get("type") == POD_SCHEDULED), None)
        same = current is not None and (current.get("status"), current.get("reason"), current.get("message")) == (
            "False", reason, message)
        nominated_same = nominated is None or nominated == (status.get("nominatedNodeName") or "")
        if same and nominated_same:
            return
        condition = {"type": POD_SCHEDULED, "status": "False", "reason": reason, "message": message,
                     "lastProbeTime": None, "lastTransitionTime": _now()}
        if current is not None and current.get("status") == "False":
            condition["lastTransitionTime"] = current.get("lastTransitionTime") or condition["lastTransitionTime"]
        patch: Object = {"conditions": [c for c in conditions if c.get("type") != POD_SCHEDULED] + [condition]}
        if nominated is not None:
            patch["nominatedNodeName"] = nominated or None
        meta = pod.get("metadata") or {}
        self.spawn(self._patch(meta.get("namespace", ""), meta.get("name", ""), {"status": patch}))

    async def _patch(self, namespace: str, name: str, patch: Object) -> None:
        try:
            await self.client.patch("pods", name, patch, namespace, subresource="status")
        except errors.NotFound:
            pass
        except errors.ApiError as e:
            log.warning("cannot update status of pod %s/%s: %s", namespace, name, e)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _strip(pod: Object) -> tuple[Any, Any]:
    meta = {k: v for k, v in (pod.get("metadata") or {}).items() if k not in _VOLATILE_METADATA}
    return meta, pod.get("spec")


def pod_updated(old: Object, new: Object) -> bool:
    return _strip(old) != _strip(new)


def _node_conditions(node: Object) -> dict[str, str]:
    return {c.get("type", ""): c.get("status", "") for c in (node.get("status") or {}).get("conditions") or ()}


def node_scheduling_properties_changed(old: Object, new: Object) -> bool:
    old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
    old_meta, new_meta = old.get("metadata") or {}, new.get("metadata") or {}
    return (bool(old_spec.get("unschedulable")) != bool(new_spec.get("unschedulable"))
            or (old_spec.get("taints") or []) != (new_spec.get("taints") or [])
            or (old_meta.get("labels") or {}) != (new_meta.get("labels") or {})
            or (old.get("status") or {}).get("allocatable") != (new.get("status") or {}).get("allocatable")
            or _node_conditions(old) != _node_conditions(new))
