"""A StatefulSet pod's identity (Kubernetes' pkg/controller/statefulset/stateful_set_utils.go).

Each pod of StatefulSet ``web`` has a stable ordinal ``i`` and with it a stable identity:

* name ``web-i`` (ordinals start at ``spec.ordinals.start``, 0 by default);
* ``spec.hostname = web-i`` and ``spec.subdomain = spec.serviceName``, so the headless Service gives it the DNS name
  ``web-i.<serviceName>.<namespace>.svc``;
* labels ``statefulset.kubernetes.io/pod-name: web-i`` and ``apps.kubernetes.io/pod-index: "i"``;
* label ``controller-revision-hash: <revision name>``: the ControllerRevision its template came from.

Pure functions over pod dicts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from controller_manager.history import CONTROLLER_REVISION_HASH_LABEL, template_of
from controller_manager.podutil import is_pod_available, is_pod_ready, pod_from_template

Object = dict[str, Any]

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
_ORDINAL = re.compile(r"^(.*)-([0-9]+)$")


def start_ordinal(sts: Mapping[str, Any]) -> int:
    return int(((sts.get("spec") or {}).get("ordinals") or {}).get("start") or 0)


def replicas_of(sts: Mapping[str, Any]) -> int:
    replicas = (sts.get("spec") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)


def pod_name(sts: Mapping[str, Any], ordinal: int) -> str:
    return f"{sts['metadata']['name']}-{ordinal}"


def parent_and_ordinal(pod: Mapping[str, Any]) -> tuple[str, int]:
    """("web", 2) for pod ``web-2``; ("", -1) when the name has no ordinal."""
    match = _ORDINAL.match(pod["metadata"]["name"])
    return (match.group(1), int(match.group(2))) if match else ("", -1)


def ordinal_of(pod: Mapping[str, Any]) -> int:
    return parent_and_ordinal(pod)[1]


def is_member_of(sts: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    return parent_and_ordinal(pod)[0] == sts["metadata"]["name"]


def pod_revision(pod: Mapping[str, Any]) -> str:
    return str(((pod.get("metadata") or {}).get("labels") or {}).get(CONTROLLER_REVISION_HASH_LABEL) or "")


def identity_matches(sts: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    """Name, namespace, pod-name label, hostname and subdomain are the ones its ordinal gives it."""
    ordinal = ordinal_of(pod)
    meta, spec = pod["metadata"], pod.get("spec") or {}
    labels = meta.get("labels") or {}
    return (ordinal >= 0 and is_member_of(sts, pod)
            and meta.get("namespace") == sts["metadata"].get("namespace")
            and labels.get(POD_NAME_LABEL) == meta["name"]
            and labels.get(POD_INDEX_LABEL) == str(ordinal)
            and spec.get("hostname") == meta["name"]
            and spec.get("subdomain") == ((sts.get("spec") or {}).get("serviceName") or None))


def with_identity(sts: Mapping[str, Any], pod: Object) -> Object:
    """updateIdentity: give ``pod`` (modified in place, and returned) the identity of its ordinal."""
    name = pod["metadata"]["name"]
    labels = pod["metadata"].setdefault("labels", {})
    labels[POD_NAME_LABEL] = name
    labels[POD_INDEX_LABEL] = str(ordinal_of(pod))
    spec = pod.setdefault("spec", {})
    spec["hostname"] = name
    service = (sts.get("spec") or {}).get("serviceName")
    if service:
        spec["subdomain"] = service
    else:
        spec.pop("subdomain", None)
    return pod


def new_stateful_set_pod(sts: Mapping[str, Any], revision: Mapping[str, Any], ordinal: int) -> Object:
    """newVersionedStatefulSetPod: the pod for ``ordinal`` built from ``revision``'s template, owned by ``sts``."""
    pod = pod_from_template(template_of(revision), sts, name=pod_name(sts, ordinal))
    pod["metadata"]["labels"][CONTROLLER_REVISION_HASH_LABEL] = revision["metadata"]["name"]
    return with_identity(sts, pod)


# -- pod states, in the controller's words ---------------------------------------------------------


def is_created(pod: Mapping[str, Any] | None) -> bool:
    return pod is not None and bool((pod.get("metadata") or {}).get("uid"))


def phase(pod: Mapping[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def is_failed(pod: Mapping[str, Any]) -> bool:
    return phase(pod) == "Failed"


def is_succeeded(pod: Mapping[str, Any]) -> bool:
    return phase(pod) == "Succeeded"


def is_terminating(pod: Mapping[str, Any]) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def is_running_and_ready(pod: Mapping[str, Any]) -> bool:
    return phase(pod) == "Running" and is_pod_ready(pod)


def is_running_and_available(pod: Mapping[str, Any], min_ready_seconds: int, now: float) -> bool:
    return phase(pod) == "Running" and is_pod_available(pod, min_ready_seconds, now)


def is_healthy(pod: Mapping[str, Any]) -> bool:
    """Running, Ready and not being deleted."""
    return is_running_and_ready(pod) and not is_terminating(pod)
