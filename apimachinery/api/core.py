"""core/v1 (the group ""): Namespace, Pod, Node, Service, Endpoints, ConfigMap, Secret, Event and
ServiceAccount, with Kubernetes' defaulting and semantic validation.

Pods (and the pod templates of apps and batch) live in `core_pod` and the modules it uses;
Services and Endpoints in `core_service`. This module holds the smaller kinds and `TYPES`.
`validate_pod_template` and `default_pod_spec` are re-exported for the workload groups.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from apimachinery.api import core_pod, core_service
from apimachinery.api.common import (
    Object,
    cidr_errors,
    ensure,
    forbidden,
    from_messages,
    immutable,
    invalid,
    path_segment_name_errors,
    required,
    sub,
    text,
    too_long,
    values,
)
from apimachinery.api.core_pod import default_pod_spec, validate_pod_template
from apimachinery.api.core_resources import canonicalize
from apimachinery.api.core_scheduling import validate_taints
from apimachinery.errors import FieldError
from apimachinery.kinds import ResourceType
from apimachinery.names import (
    is_config_map_key,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    validate_object_meta,
)
from apimachinery.quantity import validate_non_negative_quantity

__all__ = ["TYPES", "default_pod_spec", "validate_pod_template"]

MAX_DATA_BYTES = 1024 * 1024
STANDARD_FINALIZERS = ("kubernetes", "orphan", "foregroundDeletion")
IMMUTABLE_SET = "field is immutable when `immutable` is set"
# Keys a Secret of a well-known type must carry.
SECRET_TYPE_KEYS = {
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
}


def _meta(obj: Object) -> Object:
    return sub(obj, "metadata")


# -- Namespace ------------------------------------------------------------------------------


def default_namespace(obj: Object) -> None:
    """A new namespace carries the `kubernetes` finalizer and is Active."""
    spec = ensure(obj, "spec")
    if spec.get("finalizers") is None and not _meta(obj).get("deletionTimestamp"):
        spec["finalizers"] = ["kubernetes"]
    ensure(obj, "status").setdefault("phase", "Active")


def validate_namespace(obj: Object) -> list[FieldError]:
    found = validate_object_meta(_meta(obj), False, is_dns1123_label)
    for finalizer in values(sub(obj, "spec"), "finalizers"):
        name = text(finalizer)
        found += from_messages("spec.finalizers", name, is_qualified_name(name))
        if "/" not in name and name not in STANDARD_FINALIZERS:
            found.append(invalid("spec.finalizers", name,
                                 "name is neither a standard finalizer name nor is it fully qualified"))
    return found


# -- Node -----------------------------------------------------------------------------------


def default_node(obj: Object) -> None:
    spec = ensure(obj, "spec")
    if spec.get("podCIDR") and not spec.get("podCIDRs"):
        spec["podCIDRs"] = [spec["podCIDR"]]
    status = sub(obj, "status")
    if isinstance(status.get("capacity"), dict) and status.get("allocatable") is None:
        status["allocatable"] = dict(status["capacity"])
    for key in ("capacity", "allocatable"):
        canonicalize(sub(status, key))


def validate_node(obj: Object) -> list[FieldError]:
    spec, status = sub(obj, "spec"), sub(obj, "status")
    found = validate_object_meta(_meta(obj), False, is_dns1123_subdomain)
    found += validate_taints(spec.get("taints"), "metadata.taints")  # sic: Kubernetes' path
    for key in ("capacity", "allocatable"):
        for name, value in sub(status, key).items():
            found += validate_non_negative_quantity(value, f"status.{key}[{name}]")
    for i, cidr in enumerate(values(spec, "podCIDRs")):
        found += from_messages(f"spec.podCIDRs[{i}]", cidr, cidr_errors(text(cidr)))
    return found


def validate_node_update(new: Object, old: Object) -> list[FieldError]:
    new_spec, old_spec = sub(new, "spec"), sub(old, "spec")
    found: list[FieldError] = []
    if old_spec.get("podCIDRs") and new_spec.get("podCIDRs") != old_spec.get("podCIDRs"):
        found.append(forbidden("spec.podCIDRs", 'node updates may not change podCIDR except from "" to valid'))
    if old_spec.get("providerID") and new_spec.get("providerID") != old_spec.get("providerID"):
        found.append(forbidden("spec.providerID", 'node updates may not change providerID except from "" to valid'))
    return found


# -- ConfigMap and Secret -------------------------------------------------------------------


def _decoded_size(value: Any) -> int:
    """The byte length of a base64 value ([]byte in Go); its text length if it is not base64."""
    if not isinstance(value, str):
        return 0
    try:
        return len(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        return len(value)


def validate_config_map(obj: Object) -> list[FieldError]:
    found = validate_object_meta(_meta(obj), True, is_dns1123_subdomain)
    data, binary = sub(obj, "data"), sub(obj, "binaryData")
    size = 0
    for key, value in data.items():
        found += from_messages(f"data[{key}]", key, is_config_map_key(key))
        if key in binary:
            found.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
        size += len(value) if isinstance(value, str) else 0
    for key, value in binary.items():
        found += from_messages(f"binaryData[{key}]", key, is_config_map_key(key))
        if key in data:
            found.append(invalid(f"data[{key}]", key, "duplicate of key present in data"))
        size += _decoded_size(value)
    if size > MAX_DATA_BYTES:
        found.append(too_long("[]", MAX_DATA_BYTES))
    return found


def _immutable_data(new: Object, old: Object, keys: tuple[str, ...]) -> list[FieldError]:
    if old.get("immutable") is not True:
        return []
    found = [] if new.get("immutable") is True else [forbidden("immutable", IMMUTABLE_SET)]
    return found + [forbidden(key, IMMUTABLE_SET) for key in keys if (new.get(key) or {}) != (old.get(key) or {})]


def validate_config_map_update(new: Object, old: Object) -> list[FieldError]:
    return _immutable_data(new, old, ("data", "binaryData"))


def default_secret(obj: Object) -> None:
    """type Opaque; `stringData` is write-only: merged into `data` (base64) and dropped."""
    if not obj.get("type"):
        obj["type"] = "Opaque"
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = ensure(obj, "data")
        for key, value in string_data.items():
            if isinstance(value, str):
                data[key] = base64.b64encode(value.encode()).decode()


def validate_secret(obj: Object) -> list[FieldError]:
    found = validate_object_meta(_meta(obj), True, is_dns1123_subdomain)
    data = sub(obj, "data")
    for key in data:
        found += from_messages(f"data[{key}]", key, is_config_map_key(key))
    if sum(_decoded_size(v) for v in data.values()) > MAX_DATA_BYTES:
        found.append(too_long("data", MAX_DATA_BYTES))
    kind = obj.get("type")
    if kind == "kubernetes.io/service-account-token":
        if not text(sub(_meta(obj), "annotations").get("kubernetes.io/service-account.name")):
            found.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
    elif kind == "kubernetes.io/basic-auth" and "username" not in data and "password" not in data:
        found += [required("data[username]"), required("data[password]")]
    for key in SECRET_TYPE_KEYS.get(text(kind), ()):
        if key not in data:
            found.append(required(f"data[{key}]"))
    return found


def validate_secret_update(new: Object, old: Object) -> list[FieldError]:
    return immutable(new.get("type"), old.get("type"), "type") + _immutable_data(new, old, ("data",))


# -- Event and ServiceAccount ---------------------------------------------------------------


def validate_event(obj: Object) -> list[FieldError]:
    """legacyValidateEvent, as core/v1 applies it (no check beyond it, for compatibility)."""
    found = validate_object_meta(_meta(obj), True, path_segment_name_errors)
    namespace = text(_meta(obj).get("namespace"))
    involved = text(sub(obj, "involvedObject").get("namespace"))
    mismatch = invalid("involvedObject.namespace", involved, "does not match event.namespace")
    if not obj.get("eventTime"):
        if (not involved and namespace not in ("", "default")) or (involved and involved != namespace):
            found.append(mismatch)
        return found
    if not involved and namespace not in ("default", "kube-system"):
        found.append(mismatch)
    controller = text(obj.get("reportingComponent"))
    if not controller:
        found.append(required("source"))
    found += from_messages("source", controller, is_qualified_name(controller))
    for key, path, limit in (("reportingComponent", "source", 128), ("reportingInstance", "reportingInstance", 128),
                             ("action", "action", 128), ("reason", "reason", 128), ("message", "message", 1024)):
        if len(text(obj.get(key))) > limit:
            found.append(invalid(path, "", f"can have at most {limit} characters"))
    return found


def validate_service_account(obj: Object) -> list[FieldError]:
    return validate_object_meta(_meta(obj), True, is_dns1123_subdomain)


# -- the kinds ------------------------------------------------------------------------------


def _ref(kind: str) -> str:
    return f"io.k8s.api.core.v1.{kind}"


TYPES: list[ResourceType] = [
    ResourceType("", "v1", "Namespace", "namespaces", namespaced=False, short_names=("ns",),
                 schema_ref=_ref("Namespace"), default=default_namespace, validate=validate_namespace,
                 selectable_fields=("status.phase",)),
    ResourceType("", "v1", "Pod", "pods", short_names=("po",), categories=("all",), schema_ref=_ref("Pod"),
                 default=core_pod.default_pod, validate=core_pod.validate_pod,
                 validate_update=core_pod.validate_pod_update,
                 selectable_fields=("spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                                    "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
                                    "status.podIP", "status.nominatedNodeName")),
    ResourceType("", "v1", "Node", "nodes", namespaced=False, short_names=("no",), create_keeps_status=True,
                 schema_ref=_ref("Node"), default=default_node, validate=validate_node,
                 validate_update=validate_node_update, selectable_fields=("spec.unschedulable",)),
    ResourceType("", "v1", "Service", "services", short_names=("svc",), categories=("all",),
                 schema_ref=_ref("Service"), default=core_service.default_service,
                 validate=core_service.validate_service, validate_update=core_service.validate_service_update),
    ResourceType("", "v1", "Endpoints", "endpoints", short_names=("ep",), has_status=False,
                 schema_ref=_ref("Endpoints"), default=core_service.default_endpoints,
                 validate=core_service.validate_endpoints),
    ResourceType("", "v1", "ConfigMap", "configmaps", short_names=("cm",), has_status=False,
                 schema_ref=_ref("ConfigMap"), validate=validate_config_map,
                 validate_update=validate_config_map_update),
    ResourceType("", "v1", "Secret", "secrets", has_status=False, schema_ref=_ref("Secret"),
                 default=default_secret, validate=validate_secret, validate_update=validate_secret_update,
                 selectable_fields=("type",)),
    ResourceType("", "v1", "Event", "events", short_names=("ev",), has_status=False, schema_ref=_ref("Event"),
                 validate=validate_event,
                 selectable_fields=("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                                    "involvedObject.uid", "involvedObject.apiVersion",
                                    "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                                    "reportingComponent", "source", "type")),
    ResourceType("", "v1", "ServiceAccount", "serviceaccounts", short_names=("sa",), has_status=False,
                 schema_ref=_ref("ServiceAccount"), validate=validate_service_account),
]
