"""Which nodes a DaemonSet's pod belongs on, and how the pod is pinned there (Kubernetes'
pkg/controller/daemon/util and NodeShouldRunDaemonPod).

A node should run the daemon pod when the pod, as the controller would make it, fits the node:

* ``spec.nodeName`` of the template, if set, names this node;
* ``spec.nodeSelector`` and the *required* node affinity match the node's labels (and ``metadata.name`` fields);
* every taint with effect NoSchedule or NoExecute is tolerated.

A pod already on a node may *continue running* there when only NoSchedule taints are untolerated (it was
scheduled before the taint came). Daemon pods get standard tolerations so that a node's own troubles never evict
the daemon that may be needed to fix them, and a required affinity ``matchFields metadata.name In [node]`` so the
scheduler can place it on exactly one node.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

Object = dict[str, Any]

# AddOrUpdateDaemonPodTolerations: (key, effect)
STANDARD_TOLERATIONS: tuple[tuple[str, str], ...] = (
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
)
NETWORK_UNAVAILABLE = ("node.kubernetes.io/network-unavailable", "NoSchedule")  # for hostNetwork pods


# -- tolerations ---------------------------------------------------------------------------------


def with_daemon_tolerations(pod_spec: Object) -> Object:
    """The pod spec (modified in place) plus the standard daemon tolerations it does not already have."""
    tolerations = pod_spec.setdefault("tolerations", [])
    wanted = STANDARD_TOLERATIONS + ((NETWORK_UNAVAILABLE,) if pod_spec.get("hostNetwork") else ())
    for key, effect in wanted:
        toleration = {"key": key, "operator": "Exists", "effect": effect}
        if not any(t.get("key") == key and t.get("effect") == effect for t in tolerations):
            tolerations.append(toleration)
    return pod_spec


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """ToleratesTaint: empty effect matches every effect; Exists with no key matches every key."""
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    if toleration.get("key") and toleration.get("key") != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    return operator == "Equal" and (toleration.get("value") or "") == (taint.get("value") or "")


def untolerated_taints(taints: Iterable[Mapping[str, Any]], tolerations: Iterable[Mapping[str, Any]],
                       effects: tuple[str, ...]) -> list[Mapping[str, Any]]:
    tolerations = list(tolerations)
    return [t for t in taints if t.get("effect") in effects and not any(tolerates(tol, t) for tol in tolerations)]


# -- node selection ------------------------------------------------------------------------------


def _requirement_matches(requirement: Mapping[str, Any], values: Mapping[str, str]) -> bool:
    key, operator = requirement.get("key", ""), requirement.get("operator", "")
    wanted = list(requirement.get("values") or [])
    present, value = key in values, values.get(key)
    if operator == "In":
        return present and value in wanted
    if operator == "NotIn":
        return not present or value not in wanted
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and len(wanted) == 1:
        try:
            number, bound = int(str(value)), int(wanted[0])
        except ValueError:
            return False
        return number > bound if operator == "Gt" else number < bound
    return False


def term_matches(term: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    """A NodeSelectorTerm: all its matchExpressions (labels) and matchFields (metadata.name); empty matches none."""
    expressions, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
    if not expressions and not fields:
        return False
    labels = node["metadata"].get("labels") or {}
    node_fields = {"metadata.name": node["metadata"]["name"]}
    return (all(_requirement_matches(e, labels) for e in expressions)
            and all(_requirement_matches(f, node_fields) for f in fields))


def required_terms(pod_spec: Mapping[str, Any]) -> list[Object] | None:
    required = (((pod_spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    return None if required is None else list(required.get("nodeSelectorTerms") or [])


def fits_node_affinity(pod_spec: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    """nodeSelector (every label equal) and required node affinity (any term matches)."""
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (pod_spec.get("nodeSelector") or {}).items()):
        return False
    terms = required_terms(pod_spec)
    return terms is None or any(term_matches(term, node) for term in terms)


def node_should_run_daemon_pod(ds: Mapping[str, Any], node: Mapping[str, Any]) -> tuple[bool, bool]:
    """(should run, should continue running): NodeShouldRunDaemonPod."""
    pod_spec = with_daemon_tolerations(copy.deepcopy(((ds.get("spec") or {}).get("template") or {}).get("spec")
                                                     or {}))
    node_name = node["metadata"]["name"]
    if pod_spec.get("nodeName") and pod_spec["nodeName"] != node_name:
        return False, False
    if not fits_node_affinity(pod_spec, node):
        return False, False
    taints = (node.get("spec") or {}).get("taints") or []
    tolerations = pod_spec.get("tolerations") or []
    if untolerated_taints(taints, tolerations, ("NoSchedule", "NoExecute")):
        return False, not untolerated_taints(taints, tolerations, ("NoExecute",))
    return True, True


# -- pinning a pod to its node ----------------------------------------------------------------


def pin_to_node(pod_spec: Object, node_name: str) -> Object:
    """ReplaceDaemonSetPodNodeNameNodeAffinity: every required term's matchFields becomes metadata.name In [node]
    (a single such term when there were none). Modifies and returns ``pod_spec``."""
    field = [{"key": "metadata.name", "operator": "In", "values": [node_name]}]
    node_affinity = pod_spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})
    required = node_affinity.setdefault("requiredDuringSchedulingIgnoredDuringExecution", {})
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        required["nodeSelectorTerms"] = [{"matchFields": field}]
        return pod_spec
    for term in terms:
        term["matchFields"] = copy.deepcopy(field)
    required["nodeSelectorTerms"] = terms
    return pod_spec


def target_node_name(pod: Mapping[str, Any]) -> str:
    """GetTargetNodeName: spec.nodeName, else the node the pinning affinity names ("" if neither)."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    for term in required_terms(spec) or []:
        for field in term.get("matchFields") or []:
            if field.get("key") == "metadata.name" and field.get("operator") == "In" and \
                    len(field.get("values") or []) == 1:
                return str(field["values"][0])
    return ""
