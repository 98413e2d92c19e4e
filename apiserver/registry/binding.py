"""Pure rule for the pods/binding subresource: how a scheduler's decision lands on a pod.

A Binding sets `spec.nodeName` exactly once. Binding a pod that is already bound, or that is
being deleted, is a Conflict, so two schedulers racing for one pod cannot both win: the second
bind compares the pod's revision and sees the first one's write.
"""

from __future__ import annotations

import copy
from typing import Any

from apimachinery import errors
from apiserver.registry.objects import now_rfc3339

Object = dict[str, Any]
POD_SCHEDULED = "PodScheduled"


def compute_binding(pod: Object, node_name: str, uid: str = "") -> Object:
    """The pod bound to `node_name`, with PodScheduled=True; Conflict if it cannot be bound."""
    name = pod["metadata"]["name"]
    if not node_name:
        raise errors.invalid("Binding", name, [errors.FieldError(
            "target.name", errors.FIELD_VALUE_REQUIRED, "a node name is required")])
    if uid and uid != pod["metadata"].get("uid"):
        raise errors.conflict("pods", name, f"Precondition failed: UID in precondition: {uid}, "
                                            f"UID in object meta: {pod['metadata'].get('uid')}")
    if pod["metadata"].get("deletionTimestamp"):
        raise errors.conflict("pods", name, "pod is being deleted, cannot be assigned to a host")
    current = (pod.get("spec") or {}).get("nodeName")
    if current:
        raise errors.conflict("pods", name, f"pod {name} is already assigned to node \"{current}\"")
    bound = copy.deepcopy(pod)
    bound["metadata"].pop("resourceVersion", None)
    bound.setdefault("spec", {})["nodeName"] = node_name
    status = bound.setdefault("status", {})
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != POD_SCHEDULED]
    conditions.append({"type": POD_SCHEDULED, "status": "True", "lastProbeTime": None,
                       "lastTransitionTime": now_rfc3339()})
    status["conditions"] = conditions
    return bound
