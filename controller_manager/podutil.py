"""Small facts about pods and owners that many controllers need (Kubernetes' podutil and controller_utils).

All pure functions over Kubernetes JSON dicts.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from apimachinery.labels import Selector, selector_from_label_selector

Object = dict[str, Any]


def parse_time(value: str | None) -> float | None:
    """RFC3339 ("2026-01-02T03:04:05Z", optionally with fractional seconds) to epoch seconds."""
    if not value:
        return None
    text = value.replace("Z", "+00:00")
    return datetime.fromisoformat(text).timestamp()


def format_time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def get_condition(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition
    return None


def is_pod_active(pod: Mapping[str, Any]) -> bool:
    """Not terminal and not being deleted (Kubernetes' IsPodActive)."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not (pod.get("metadata") or {}).get("deletionTimestamp")


def is_pod_ready(pod: Mapping[str, Any]) -> bool:
    condition = get_condition(pod, "Ready")
    return condition is not None and condition.get("status") == "True"


def is_pod_available(pod: Mapping[str, Any], min_ready_seconds: int, now: float) -> bool:
    """Ready for at least ``min_ready_seconds`` (Kubernetes' IsPodAvailable)."""
    condition = get_condition(pod, "Ready")
    if condition is None or condition.get("status") != "True":
        return False
    if min_ready_seconds <= 0:
        return True
    since = parse_time(condition.get("lastTransitionTime"))
    return since is not None and since + min_ready_seconds <= now


def controller_ref(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ownerReference with ``controller: true``, if any."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def new_controller_ref(owner: Mapping[str, Any]) -> Object:
    meta = owner["metadata"]
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta["name"], "uid": meta["uid"],
            "controller": True, "blockOwnerDeletion": True}


def is_controlled_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    ref = controller_ref(obj)
    return ref is not None and ref.get("uid") == (owner.get("metadata") or {}).get("uid")


def owner_selector(owner: Mapping[str, Any]) -> Selector:
    return selector_from_label_selector((owner.get("spec") or {}).get("selector"))


def pod_from_template(template: Mapping[str, Any], owner: Mapping[str, Any], *, name: str = "",
                      generate_name: str = "") -> Object:
    """A new Pod from a pod template, owned (as controller) by ``owner``; in the owner's namespace."""
    template_meta = template.get("metadata") or {}
    meta: Object = {
        "namespace": owner["metadata"].get("namespace", "default"),
        "labels": dict(template_meta.get("labels") or {}),
        "annotations": dict(template_meta.get("annotations") or {}),
        "ownerReferences": [new_controller_ref(owner)],
    }
    if name:
        meta["name"] = name
    else:
        meta["generateName"] = generate_name or f"{owner['metadata']['name']}-"
    for key in ("finalizers",):
        if template_meta.get(key):
            meta[key] = list(template_meta[key])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": copy.deepcopy(template.get("spec") or {})}
