"""Pods and pod templates: defaulting, ValidatePodSpec, ValidatePodTemplateSpec, ValidatePodUpdate.

`default_pod_spec` is SetDefaults_PodSpec (shared by Pods and every pod template);
`default_pod` adds what only a Pod gets: requests from limits, enableServiceLinks, what the
Priority, ServiceAccount and DefaultTolerationSeconds admission plugins set, and the initial
status (phase Pending, qosClass). `validate_pod_template` is what Deployments, ReplicaSets,
DaemonSets and Jobs call on their template.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from apimachinery.api import core_container as containers
from apimachinery.api import core_scheduling as scheduling
from apimachinery.api.common import (
    MAX_INT32,
    Object,
    duplicate,
    ensure,
    entries,
    forbidden,
    from_messages,
    invalid,
    not_supported,
    number,
    one_of,
    required,
    semantic,
    strings,
    sub,
    text,
)
from apimachinery.api.core_resources import qos_class
from apimachinery.api.core_volume import default_volume, validate_volumes
from apimachinery.errors import FieldError
from apimachinery.names import (
    is_dns1123_label,
    is_dns1123_subdomain,
    validate_annotations,
    validate_labels,
    validate_object_meta,
)

RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
CONTAINER_KINDS = ("initContainers", "containers", "ephemeralContainers")
SYSTEM_PRIORITIES = {"system-cluster-critical": 2000000000, "system-node-critical": 2000001000}
UPDATABLE_FIELDS = ("`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                    "`spec.tolerations` (only additions to existing tolerations),"
                    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)")


# -- defaulting -----------------------------------------------------------------------------


def default_pod_spec(spec: Object) -> None:
    """SetDefaults_PodSpec and the defaults of everything inside a pod spec."""
    for key, value in (("dnsPolicy", "ClusterFirst"), ("restartPolicy", "Always"),
                       ("schedulerName", "default-scheduler")):
        if not spec.get(key):
            spec[key] = value
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    for kind in CONTAINER_KINDS:
        for _, container in entries(spec, kind):
            containers.default_container(container)
    for _, volume in entries(spec, "volumes"):
        default_volume(volume)
    # The v1 conversion keeps the deprecated serviceAccount field in step with serviceAccountName.
    if not spec.get("serviceAccountName") and text(spec.get("serviceAccount")):
        spec["serviceAccountName"] = spec["serviceAccount"]
    if text(spec.get("serviceAccountName")):
        spec["serviceAccount"] = spec["serviceAccountName"]


def default_pod(obj: Object) -> None:
    """Everything a created Pod shows that the user did not write."""
    spec = ensure(obj, "spec")
    for kind in ("containers", "initContainers"):
        for _, container in entries(spec, kind):
            containers.default_requests_from_limits(container)
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    if spec.get("hostNetwork") is True:
        for _, container in entries(spec, "containers") + entries(spec, "initContainers"):
            for _, port in entries(container, "ports"):
                if not port.get("hostPort"):
                    port["hostPort"] = port.get("containerPort")
    _admission_defaults(spec)
    default_pod_spec(spec)
    status = ensure(obj, "status")
    status.setdefault("phase", "Pending")
    status.setdefault("qosClass", qos_class(spec))


def _admission_defaults(spec: Object) -> None:
    """What the Priority, ServiceAccount and DefaultTolerationSeconds admission plugins add."""
    priority_class = text(spec.get("priorityClassName"))
    if spec.get("priority") is None and (not priority_class or priority_class in SYSTEM_PRIORITIES):
        spec["priority"] = SYSTEM_PRIORITIES.get(priority_class, 0)
    if spec.get("preemptionPolicy") is None:
        spec["preemptionPolicy"] = "PreemptLowerPriority"
    if not spec.get("serviceAccountName") and not text(spec.get("serviceAccount")):
        spec["serviceAccountName"] = "default"
    # The not-ready/unreachable tolerations (300 s) are added by the apiserver's DefaultTolerationSeconds
    # admission, as in Kubernetes, so its flags can change them.


# -- validation of a pod spec ---------------------------------------------------------------


def validate_pod_spec(spec: Object, path: str, is_pod: bool = True) -> list[FieldError]:
    """ValidatePodSpec, in Kubernetes' order."""
    volumes, found = validate_volumes(spec.get("volumes"), f"{path}.volumes")
    found += _validate_app_containers(spec, volumes, f"{path}.containers")
    found += _validate_init_containers(spec, volumes, f"{path}.initContainers")
    found += _host_network_ports(spec, f"{path}.containers", is_pod)
    found += one_of(spec.get("restartPolicy"), RESTART_POLICIES, f"{path}.restartPolicy")
    found += one_of(spec.get("dnsPolicy"), DNS_POLICIES, f"{path}.dnsPolicy")
    if spec.get("dnsPolicy") == "None" and not isinstance(spec.get("dnsConfig"), dict):
        found.append(required(f"{path}.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None"))
    found += validate_labels(strings(spec, "nodeSelector"), f"{path}.nodeSelector")
    found += scheduling.validate_affinity(spec.get("affinity"), f"{path}.affinity")
    found += scheduling.validate_topology_spread(spec.get("topologySpreadConstraints"),
                                                 f"{path}.topologySpreadConstraints")
    found += _names(spec, path)
    deadline = number(spec.get("activeDeadlineSeconds"))
    if deadline is not None and not 1 <= deadline <= MAX_INT32:
        found.append(invalid(f"{path}.activeDeadlineSeconds", deadline,
                             f"must be between 1 and {MAX_INT32}, inclusive"))
    found += scheduling.validate_tolerations(spec.get("tolerations"), f"{path}.tolerations")
    if spec.get("preemptionPolicy") not in (None, "PreemptLowerPriority", "Never"):
        found.append(not_supported(f"{path}.preemptionPolicy", spec["preemptionPolicy"],
                                   ("Never", "PreemptLowerPriority")))
    return found


def _names(spec: Object, path: str) -> list[FieldError]:
    found: list[FieldError] = []
    for key, check in (("serviceAccountName", is_dns1123_subdomain), ("nodeName", is_dns1123_subdomain),
                       ("hostname", is_dns1123_label), ("subdomain", is_dns1123_label),
                       ("priorityClassName", is_dns1123_subdomain)):
        value = text(spec.get(key))
        if value:
            found += from_messages(f"{path}.{key}", value, check(value))
    return found


def _validate_app_containers(spec: Object, volumes: set[str], path: str) -> list[FieldError]:
    items = entries(spec, "containers")
    if not items:
        return [required(path)]
    found: list[FieldError] = []
    names: set[str] = set()
    for i, container in items:
        at = f"{path}[{i}]"
        found += containers.validate_container_common(container, volumes, at)
        name = text(container.get("name"))
        if name in names:
            found.append(duplicate(f"{at}.name", name))
        names.add(name)
        found += containers.validate_lifecycle(container, at)
        found += containers.validate_probes(container, at)
        if container.get("restartPolicy") is not None:
            found.append(forbidden(f"{at}.restartPolicy", "may not be set for non-init containers"))
    return found + _host_port_conflicts(items, path)


def _validate_init_containers(spec: Object, volumes: set[str], path: str) -> list[FieldError]:
    found: list[FieldError] = []
    names = {text(c.get("name")) for _, c in entries(spec, "containers")}
    for i, container in entries(spec, "initContainers"):
        at = f"{path}[{i}]"
        found += containers.validate_container_common(container, volumes, at)
        policy = container.get("restartPolicy")
        if policy is not None and policy != "Always":
            found.append(not_supported(f"{at}.restartPolicy", policy, ("Always",)))
        name = text(container.get("name"))
        if name in names:
            found.append(duplicate(f"{at}.name", name))
        elif name:
            names.add(name)
        if policy == "Always":
            found += containers.validate_lifecycle(container, at) + containers.validate_probes(container, at)
            continue
        for key in ("lifecycle", *containers.PROBES):
            if container.get(key) is not None:
                found.append(forbidden(f"{at}.{key}", "may not be set for init containers without "
                                                      "restartPolicy=Always"))
    return found


def _host_port_conflicts(items: list[tuple[int, Object]], path: str) -> list[FieldError]:
    seen: set[str] = set()
    found: list[FieldError] = []
    for i, container in items:
        for j, port in entries(container, "ports"):
            host_port = number(port.get("hostPort"))
            if not host_port:
                continue
            key = f"{text(port.get('hostIP'))}/{text(port.get('protocol'))}/{host_port}"
            if key in seen:
                found.append(duplicate(f"{path}[{i}].ports[{j}].hostPort", key))
            seen.add(key)
    return found


def _host_network_ports(spec: Object, path: str, is_pod: bool) -> list[FieldError]:
    if spec.get("hostNetwork") is not True:
        return []
    found: list[FieldError] = []
    for i, container in entries(spec, "containers"):
        for j, port in entries(container, "ports"):
            host_port = number(port.get("hostPort")) or 0
            if host_port != number(port.get("containerPort")) and (is_pod or host_port != 0):
                found.append(invalid(f"{path}[{i}].ports[{j}].hostPort", host_port,
                                     "must match `containerPort` when `hostNetwork` is true"))
    return found


# -- templates and pods ---------------------------------------------------------------------


def validate_pod_template(template: Any, path: str) -> list[FieldError]:
    """ValidatePodTemplateSpec: template labels (at `<path>.labels`, as Kubernetes reports them),
    annotations and the pod spec."""
    metadata = sub(template, "metadata")
    found = validate_labels(strings(metadata, "labels"), f"{path}.labels")
    found += validate_annotations(strings(metadata, "annotations"), f"{path}.annotations")
    spec = sub(template, "spec")
    found += validate_pod_spec(spec, f"{path}.spec", is_pod=False)
    if spec.get("ephemeralContainers"):
        found.append(forbidden(f"{path}.spec.ephemeralContainers", "ephemeral containers not allowed in pod template"))
    return found


def validate_pod(obj: Object) -> list[FieldError]:
    found = validate_object_meta(sub(obj, "metadata"), True, is_dns1123_subdomain)
    return found + validate_pod_spec(sub(obj, "spec"), "spec")


def validate_pod_update(new: Object, old: Object) -> list[FieldError]:
    """Only images, activeDeadlineSeconds, added tolerations and removed scheduling gates may change."""
    new_spec, old_spec = sub(new, "spec"), sub(old, "spec")
    for kind in ("containers", "initContainers"):
        if len(entries(new_spec, kind)) != len(entries(old_spec, kind)):
            return [forbidden(f"spec.{kind}", "pod updates may not add or remove containers")]
    found = _deadline_update(new_spec, old_spec)
    if found:
        return found
    found += scheduling.only_added_tolerations(new_spec.get("tolerations"), old_spec.get("tolerations"),
                                               "spec.tolerations")
    found += _only_removed_gates(new_spec, old_spec)
    munged = _munge(new_spec, old_spec)
    if semantic(munged) != semantic(old_spec):
        diff = spec_diff(semantic(old_spec), semantic(munged), "spec")
        found.append(forbidden("spec", f"pod updates may not change fields other than {UPDATABLE_FIELDS}\n{diff}"))
    return found


def _deadline_update(new_spec: Object, old_spec: Object) -> list[FieldError]:
    new, old = number(new_spec.get("activeDeadlineSeconds")), number(old_spec.get("activeDeadlineSeconds"))
    path = "spec.activeDeadlineSeconds"
    if new is not None:
        if not 0 <= new <= MAX_INT32:
            return [invalid(path, new, f"must be between 0 and {MAX_INT32}, inclusive")]
        if old is not None and old < new:
            return [invalid(path, new, "must be less than or equal to previous value")]
    elif old is not None:
        return [invalid(path, None, "must not update from a positive integer to nil value")]
    return []


def _only_removed_gates(new_spec: Object, old_spec: Object) -> list[FieldError]:
    before = {text(g.get("name")) for _, g in entries(old_spec, "schedulingGates")}
    for _, gate in entries(new_spec, "schedulingGates"):
        if text(gate.get("name")) not in before:
            return [forbidden("spec.schedulingGates",
                              f"only deletion is allowed, but found new scheduling gate '{gate.get('name')}'")]
    return []


def _munge(new_spec: Object, old_spec: Object) -> Object:
    """The new spec with every field a pod update may change put back to its old value."""
    munged = copy.deepcopy(new_spec)
    for kind in ("containers", "initContainers"):
        olds = entries(old_spec, kind)
        for (_, container), (_, before) in zip(entries(munged, kind), olds, strict=False):
            container["image"] = before.get("image")
    for key in ("activeDeadlineSeconds", "tolerations", "schedulingGates"):
        munged.pop(key, None)
        if key in old_spec:
            munged[key] = copy.deepcopy(old_spec[key])
    old_grace = number(old_spec.get("terminationGracePeriodSeconds"))
    if old_grace is not None and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    return munged


def spec_diff(old: Any, new: Any, path: str, limit: int = 20) -> str:
    """A short `- old` / `+ new` listing of the fields that differ."""
    lines: list[str] = []
    _diff(old, new, path, lines)
    shown = lines[: 2 * limit]
    return "\n".join(shown + (["  ..."] if len(lines) > len(shown) else []))


def _diff(old: Any, new: Any, path: str, lines: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            _diff(old.get(key), new.get(key), f"{path}.{key}", lines)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _diff(a, b, f"{path}[{i}]", lines)
    elif old != new:
        lines.append(f"- {path}: {json.dumps(old)}")
        lines.append(f"+ {path}: {json.dumps(new)}")
