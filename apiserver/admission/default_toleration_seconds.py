"""DefaultTolerationSeconds admission: every pod tolerates a not-ready or unreachable node for 300 s.

As Kubernetes' plugin/pkg/admission/defaulttolerationseconds: on pod CREATE and UPDATE (not on
subresources), a pod that has no toleration covering the NoExecute taint `node.kubernetes.io/not-ready`
gets `{key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 300}`,
and likewise for `node.kubernetes.io/unreachable`. A toleration covers the taint when its key is the taint's
key or empty (tolerate-everything) and its effect is NoExecute or empty. So when a node stops answering,
the taint-eviction controller deletes its pods five minutes later instead of at once.

The two durations are the apiserver flags ``--default-not-ready-toleration-seconds`` and
``--default-unreachable-toleration-seconds`` (300 by default); chaos labs shorten them.
"""

from __future__ import annotations

from typing import Any

from apiserver.admission import CREATE, UPDATE, AdmissionRequest

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
DEFAULT_TOLERATION_SECONDS = 300

Object = dict[str, Any]


def tolerates_no_execute(toleration: Any, key: str) -> bool:
    """Does this toleration cover the NoExecute taint ``key`` (exact key or the empty wildcard key)?"""
    return (isinstance(toleration, dict) and toleration.get("key") in (key, None, "")
            and toleration.get("effect") in ("NoExecute", None, ""))


def compute_default_tolerations(tolerations: list[Any], not_ready_seconds: int = DEFAULT_TOLERATION_SECONDS,
                                unreachable_seconds: int = DEFAULT_TOLERATION_SECONDS) -> list[Object]:
    """The tolerations to append so the pod tolerates not-ready and unreachable nodes for a while."""
    wanted = ((NOT_READY_TAINT, not_ready_seconds), (UNREACHABLE_TAINT, unreachable_seconds))
    return [{"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": seconds}
            for key, seconds in wanted if not any(tolerates_no_execute(t, key) for t in tolerations)]


class DefaultTolerationSeconds:
    name = "DefaultTolerationSeconds"

    def __init__(self, not_ready_seconds: int = DEFAULT_TOLERATION_SECONDS,
                 unreachable_seconds: int = DEFAULT_TOLERATION_SECONDS) -> None:
        self.not_ready_seconds = not_ready_seconds
        self.unreachable_seconds = unreachable_seconds

    async def admit(self, request: AdmissionRequest) -> None:
        rt = request.rt
        if request.operation not in (CREATE, UPDATE) or request.subresource or request.object is None:
            return
        if rt.group != "" or rt.kind != "Pod":
            return
        spec = request.object.setdefault("spec", {})
        tolerations = spec.get("tolerations")
        if tolerations is None:
            tolerations = []
        if not isinstance(tolerations, list):
            return  # validation reports the bad type
        added = compute_default_tolerations(tolerations, self.not_ready_seconds, self.unreachable_seconds)
        if added:
            spec["tolerations"] = [*tolerations, *added]
