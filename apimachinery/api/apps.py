"""apps/v1: Deployment, ReplicaSet, StatefulSet, DaemonSet and ControllerRevision.

Defaulting is pkg/apis/apps/v1/defaults.go (replicas 1, RollingUpdate strategies, history limits,
progressDeadlineSeconds 600, ...) plus the pod-template defaults of core/v1. Validation follows
pkg/apis/apps/validation: a non-empty selector that matches the template labels, a valid pod
template that restarts Always, rolling-update bounds, and the fields an update may not change.
"""

from __future__ import annotations

from typing import Any

from apimachinery.api.common import (
    Object,
    ensure,
    entries,
    forbidden,
    immutable,
    int_or_percent,
    int_or_percent_value,
    invalid,
    non_negative,
    not_more_than_100_percent,
    not_supported,
    number,
    required,
    selector_is_empty,
    semantic,
    strings,
    sub,
    template_labels_match,
)
from apimachinery.api.core import default_pod_spec, validate_pod_template
from apimachinery.errors import FieldError
from apimachinery.kinds import ResourceType
from apimachinery.labels import validate_label_selector
from apimachinery.names import is_dns1123_label, is_dns1123_subdomain, validate_annotations, validate_labels
from apimachinery.names import validate_object_meta as _validate_meta

STATEFUL_SET_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy",
                        "minReadySeconds")


def _default_template(spec: Object) -> None:
    default_pod_spec(ensure(ensure(spec, "template"), "spec"))


def _set(obj: Object, key: str, value: Any) -> None:
    if obj.get(key) is None:
        obj[key] = value


# -- shared validation ----------------------------------------------------------------------


def _selector(spec: Object, kind: str) -> list[FieldError]:
    """Required, well formed and (for these controllers) not empty."""
    selector = spec.get("selector")
    if not isinstance(selector, dict):
        return [required("spec.selector")]
    found = validate_label_selector(selector, "spec.selector")
    if selector_is_empty(selector):
        found.append(invalid("spec.selector", selector, f"empty selector is invalid for {kind}"))
    return found


def _always_restarting_template(spec: Object, kind: str, pod_spec: bool = True) -> list[FieldError]:
    """ValidatePodTemplateSpecForReplicaSet & co.: labels match, valid template, restart Always."""
    template = sub(spec, "template")
    found = template_labels_match(spec.get("selector"), template, "spec.template")
    if pod_spec:
        found += validate_pod_template(template, "spec.template")
    else:  # StatefulSet: Kubernetes checks only the template's labels and annotations
        metadata = sub(template, "metadata")
        found += validate_labels(strings(metadata, "labels"), "spec.template.labels")
        found += validate_annotations(strings(metadata, "annotations"), "spec.template.annotations")
    return found + _restarts_always(sub(template, "spec"), kind)


def _restarts_always(template_spec: Object, kind: str) -> list[FieldError]:
    found: list[FieldError] = []
    policy = template_spec.get("restartPolicy")
    if policy != "Always":
        found.append(not_supported("spec.template.spec.restartPolicy", policy or "", ("Always",)))
    if template_spec.get("activeDeadlineSeconds") is not None:
        found.append(forbidden("spec.template.spec.activeDeadlineSeconds",
                               f"activeDeadlineSeconds in {kind} is not Supported"))
    return found


def _selector_immutable(new: Object, old: Object) -> list[FieldError]:
    return immutable(sub(new, "spec").get("selector"), sub(old, "spec").get("selector"), "spec.selector")


# -- Deployment -----------------------------------------------------------------------------


def default_deployment(obj: Object) -> None:
    spec = ensure(obj, "spec")
    _set(spec, "replicas", 1)
    _default_rolling_update(ensure(spec, "strategy"), max_unavailable="25%", max_surge="25%")
    _set(spec, "revisionHistoryLimit", 10)
    _set(spec, "progressDeadlineSeconds", 600)
    _default_template(spec)


def _default_rolling_update(strategy: Object, *, max_unavailable: int | str, max_surge: int | str) -> None:
    """type defaults to RollingUpdate; a rolling update gets the kind's maxUnavailable/maxSurge defaults."""
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = ensure(strategy, "rollingUpdate")
        _set(rolling, "maxUnavailable", max_unavailable)
        _set(rolling, "maxSurge", max_surge)


def validate_deployment(obj: Object) -> list[FieldError]:
    spec = sub(obj, "spec")
    found = _validate_meta(sub(obj, "metadata"), True, is_dns1123_subdomain)
    found += non_negative(spec.get("replicas"), "spec.replicas")
    found += _selector(spec, "deployment")
    found += _always_restarting_template(spec, "ReplicaSet")
    found += _deployment_strategy(sub(spec, "strategy"))
    found += non_negative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    found += non_negative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit")
    deadline = number(spec.get("progressDeadlineSeconds"))
    if deadline is not None:
        found += non_negative(deadline, "spec.progressDeadlineSeconds")
        if deadline <= (number(spec.get("minReadySeconds")) or 0):
            found.append(invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"))
    return found


def _deployment_strategy(strategy: Object) -> list[FieldError]:
    kind, rolling = strategy.get("type"), strategy.get("rollingUpdate")
    path = "spec.strategy.rollingUpdate"
    if kind == "Recreate" and rolling is not None:
        return [forbidden(path, "may not be specified when strategy `type` is 'Recreate'")]
    if kind == "Recreate":
        return []
    if kind != "RollingUpdate":
        return [not_supported("spec.strategy", strategy, ("Recreate", "RollingUpdate"))]
    if not isinstance(rolling, dict):
        return [required(path, "this should be defaulted and never be nil")]
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    found = int_or_percent(unavailable, f"{path}.maxUnavailable") + int_or_percent(surge, f"{path}.maxSurge")
    if int_or_percent_value(unavailable) == 0 and int_or_percent_value(surge) == 0:
        found.append(invalid(f"{path}.maxUnavailable", unavailable, "may not be 0 when `maxSurge` is 0"))
    return found + not_more_than_100_percent(unavailable, f"{path}.maxUnavailable")


# -- ReplicaSet -----------------------------------------------------------------------------


def default_replica_set(obj: Object) -> None:
    spec = ensure(obj, "spec")
    _set(spec, "replicas", 1)
    _default_template(spec)


def validate_replica_set(obj: Object) -> list[FieldError]:
    spec = sub(obj, "spec")
    found = _validate_meta(sub(obj, "metadata"), True, is_dns1123_subdomain)
    found += non_negative(spec.get("replicas"), "spec.replicas")
    found += non_negative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    found += _selector(spec, "deployment")  # sic: Kubernetes says "deployment" here too
    return found + _always_restarting_template(spec, "ReplicaSet")


# -- StatefulSet ----------------------------------------------------------------------------


def default_stateful_set(obj: Object) -> None:
    spec = ensure(obj, "spec")
    if not spec.get("podManagementPolicy"):
        spec["podManagementPolicy"] = "OrderedReady"
    strategy = ensure(spec, "updateStrategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
        ensure(strategy, "rollingUpdate")
    if strategy["type"] == "RollingUpdate" and isinstance(strategy.get("rollingUpdate"), dict):
        _set(strategy["rollingUpdate"], "partition", 0)
    retention = ensure(spec, "persistentVolumeClaimRetentionPolicy")
    for key in ("whenDeleted", "whenScaled"):
        if not retention.get(key):
            retention[key] = "Retain"
    _set(spec, "replicas", 1)
    _set(spec, "revisionHistoryLimit", 10)
    _default_template(spec)
    for _, claim in entries(spec, "volumeClaimTemplates"):
        ensure(claim, "spec").setdefault("volumeMode", "Filesystem")
        ensure(claim, "status").setdefault("phase", "Pending")


def validate_stateful_set(obj: Object) -> list[FieldError]:
    spec = sub(obj, "spec")
    found = _validate_meta(sub(obj, "metadata"), True, is_dns1123_label)
    policy = spec.get("podManagementPolicy")
    if not policy:
        found.append(required("spec.podManagementPolicy"))
    elif policy not in ("OrderedReady", "Parallel"):
        found.append(invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'"))
    found += _stateful_set_strategy(sub(spec, "updateStrategy"))
    retention = sub(spec, "persistentVolumeClaimRetentionPolicy")
    for key in ("whenDeleted", "whenScaled"):
        if key in retention and retention[key] not in ("Retain", "Delete"):
            found.append(not_supported(f"spec.persistentVolumeClaimRetentionPolicy.{key}", retention[key],
                                       ("Retain", "Delete")))
    found += non_negative(spec.get("replicas"), "spec.replicas")
    found += non_negative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    found += non_negative(sub(spec, "ordinals").get("start"), "spec.ordinals.start")
    selector = spec.get("selector")
    if not isinstance(selector, dict):
        found.append(required("spec.selector"))
    else:
        found += validate_label_selector(selector, "spec.selector")
        if selector_is_empty(selector):
            found.append(invalid("spec.selector", selector, "empty selector is invalid for statefulset"))
    return found + _always_restarting_template(spec, "StatefulSet", pod_spec=False)


def _stateful_set_strategy(strategy: Object) -> list[FieldError]:
    kind, rolling = strategy.get("type"), strategy.get("rollingUpdate")
    if not kind:
        return [required("spec.updateStrategy")]
    if kind == "OnDelete":
        return [] if rolling is None else [invalid("spec.updateStrategy.rollingUpdate", rolling,
                                                   "only allowed for updateStrategy 'RollingUpdate'")]
    if kind != "RollingUpdate":
        return [invalid("spec.updateStrategy", strategy, "must be 'RollingUpdate' or 'OnDelete'")]
    if not isinstance(rolling, dict):
        return []
    path = "spec.updateStrategy.rollingUpdate"
    found = non_negative(rolling.get("partition"), f"{path}.partition")
    if rolling.get("maxUnavailable") is not None:
        unavailable = rolling["maxUnavailable"]
        found += int_or_percent(unavailable, f"{path}.maxUnavailable")
        if int_or_percent_value(unavailable) == 0:
            found.append(invalid(f"{path}.maxUnavailable", unavailable, "cannot be 0"))
        found += not_more_than_100_percent(unavailable, f"{path}.maxUnavailable")
    return found


def validate_stateful_set_update(new: Object, old: Object) -> list[FieldError]:
    def frozen(obj: Object) -> Object:
        return {k: v for k, v in semantic(sub(obj, "spec")).items() if k not in STATEFUL_SET_MUTABLE}

    if frozen(new) != frozen(old):
        return [forbidden("spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                                  "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
                                  "'minReadySeconds' are forbidden")]
    return []


# -- DaemonSet ------------------------------------------------------------------------------


def default_daemon_set(obj: Object) -> None:
    spec = ensure(obj, "spec")
    _default_rolling_update(ensure(spec, "updateStrategy"), max_unavailable=1, max_surge=0)
    _set(spec, "revisionHistoryLimit", 10)
    _default_template(spec)


def validate_daemon_set(obj: Object) -> list[FieldError]:
    spec = sub(obj, "spec")
    found = _validate_meta(sub(obj, "metadata"), True, is_dns1123_subdomain)
    selector = spec.get("selector")
    if isinstance(selector, dict):
        found += validate_label_selector(selector, "spec.selector")
    found += template_labels_match(selector, sub(spec, "template"), "spec.template")
    if selector_is_empty(selector):
        found.append(invalid("spec.selector", selector, "empty selector is invalid for daemonset"))
    found += validate_pod_template(sub(spec, "template"), "spec.template")
    found += _restarts_always(sub(sub(spec, "template"), "spec"), "DaemonSet")
    found += non_negative(spec.get("minReadySeconds"), "spec.minReadySeconds")
    found += _daemon_set_strategy(sub(spec, "updateStrategy"))
    return found + non_negative(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit")


def _daemon_set_strategy(strategy: Object) -> list[FieldError]:
    kind, rolling = strategy.get("type"), strategy.get("rollingUpdate")
    path = "spec.updateStrategy.rollingUpdate"
    if kind == "OnDelete":
        return []
    if kind != "RollingUpdate":
        return [not_supported("spec.updateStrategy", strategy, ("RollingUpdate", "OnDelete"))]
    if not isinstance(rolling, dict):
        return [required(path)]
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    found = int_or_percent(unavailable, f"{path}.maxUnavailable") + int_or_percent(surge, f"{path}.maxSurge")
    found += not_more_than_100_percent(unavailable, f"{path}.maxUnavailable")
    found += not_more_than_100_percent(surge, f"{path}.maxSurge")
    has_unavailable, has_surge = int_or_percent_value(unavailable) != 0, int_or_percent_value(surge) != 0
    if has_unavailable and has_surge:
        found.append(invalid(f"{path}.maxSurge", surge, "may not be set when maxUnavailable is non-zero"))
    elif not has_unavailable and not has_surge:
        found.append(required(f"{path}.maxUnavailable", "cannot be 0 when maxSurge is 0"))
    return found


# -- ControllerRevision ---------------------------------------------------------------------


def default_controller_revision(obj: Object) -> None:
    _set(obj, "revision", 0)


def validate_controller_revision(obj: Object) -> list[FieldError]:
    found = _validate_meta(sub(obj, "metadata"), True, is_dns1123_subdomain)
    if obj.get("data") is None:
        found.append(required("data", "data is mandatory"))
    return found + non_negative(obj.get("revision"), "revision")


def validate_controller_revision_update(new: Object, old: Object) -> list[FieldError]:
    return immutable(new.get("data"), old.get("data"), "data")


# -- the kinds ------------------------------------------------------------------------------


def _ref(kind: str) -> str:
    return f"io.k8s.api.apps.v1.{kind}"


TYPES: list[ResourceType] = [
    ResourceType("apps", "v1", "Deployment", "deployments", short_names=("deploy",), categories=("all",),
                 schema_ref=_ref("Deployment"), default=default_deployment, validate=validate_deployment,
                 validate_update=_selector_immutable),
    ResourceType("apps", "v1", "ReplicaSet", "replicasets", short_names=("rs",), categories=("all",),
                 schema_ref=_ref("ReplicaSet"), default=default_replica_set, validate=validate_replica_set,
                 validate_update=_selector_immutable, selectable_fields=("status.replicas",)),
    ResourceType("apps", "v1", "StatefulSet", "statefulsets", short_names=("sts",), categories=("all",),
                 schema_ref=_ref("StatefulSet"), default=default_stateful_set, validate=validate_stateful_set,
                 validate_update=validate_stateful_set_update),
    ResourceType("apps", "v1", "DaemonSet", "daemonsets", short_names=("ds",), categories=("all",),
                 schema_ref=_ref("DaemonSet"), default=default_daemon_set, validate=validate_daemon_set,
                 validate_update=_selector_immutable),
    ResourceType("apps", "v1", "ControllerRevision", "controllerrevisions", has_status=False,
                 schema_ref=_ref("ControllerRevision"), default=default_controller_revision,
                 validate=validate_controller_revision, validate_update=validate_controller_revision_update),
]
