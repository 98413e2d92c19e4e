"""Structural validation against the packaged upstream OpenAPI schemas (apimachinery.schema)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apimachinery.errors import (
    FIELD_VALUE_INVALID,
    FIELD_VALUE_NOT_SUPPORTED,
    FIELD_VALUE_REQUIRED,
    FIELD_VALUE_UNKNOWN,
)
from apimachinery.schema import (
    KUBERNETES_VERSION,
    SchemaValidator,
    check_fields,
    has_definition,
    openapi_definitions,
    prune_unknown_fields,
    validate,
)

POD = "io.k8s.api.core.v1.Pod"
DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"
CONFIGMAP = "io.k8s.api.core.v1.ConfigMap"
SECRET = "io.k8s.api.core.v1.Secret"
CRD = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition"


def pod_spec() -> dict[str, Any]:
    return {
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "fsGroup": 2000},
        "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                         "tolerationSeconds": 300}],
        "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": {
                "topologyKey": "kubernetes.io/hostname",
                "labelSelector": {"matchExpressions": [
                    {"key": "app", "operator": "In", "values": ["web"]}]}}}]}},
        "containers": [{
            "name": "web",
            "image": "nginx:1.27",
            "imagePullPolicy": "IfNotPresent",
            "command": ["nginx"],
            "args": ["-g", "daemon off;"],
            "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
            "env": [{"name": "MODE", "value": "prod"},
                    {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                          "limits": {"cpu": 1, "memory": "128Mi"}},
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 5},
            "livenessProbe": {"tcpSocket": {"port": 80}, "initialDelaySeconds": 10, "failureThreshold": 3},
            "volumeMounts": [{"name": "config", "mountPath": "/etc/nginx/conf.d", "readOnly": True}],
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        }],
        "volumes": [{"name": "config", "configMap": {"name": "web-config", "defaultMode": 420}},
                    {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}],
    }


def pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-0", "namespace": "default", "labels": {"app": "web", "tier": "frontend"},
                     "annotations": {"example.com/owner": "team-a"}, "creationTimestamp": None},
        "spec": pod_spec(),
    }


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": 3,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": pod_spec()},
        },
        "status": {"replicas": 3, "readyReplicas": 3, "observedGeneration": 1,
                   "conditions": [{"type": "Available", "status": "True",
                                   "reason": "MinimumReplicasAvailable",
                                   "lastTransitionTime": "2024-05-01T10:00:00Z"}]},
    }


def errors_at(result: Any, path: str) -> list[Any]:
    return [e for e in result.errors if e.field == path]


def test_valid_deployment_manifest_passes():
    result = validate(deployment(), DEPLOYMENT)
    assert result.errors == []
    assert result.unknown_fields == []


def test_valid_pod_manifest_passes():
    result = validate(pod(), POD)
    assert result.errors == [] and result.unknown_fields == []


def test_unknown_field_in_container_is_reported_with_its_path():
    obj = pod()
    obj["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    result = validate(obj, POD)
    assert result.unknown_fields == ["spec.containers[0].imagePullPolicyy"]
    assert result.errors == []


def test_unknown_fields_at_every_level_are_all_reported():
    obj = deployment()
    obj["extra"] = 1
    obj["metadata"]["labelz"] = {}
    obj["spec"]["replicaz"] = 3
    obj["spec"]["template"]["spec"]["volumes"][1]["emptyDir"]["medium2"] = "Memory"
    result = validate(obj, DEPLOYMENT)
    assert sorted(result.unknown_fields) == sorted([
        "extra", "metadata.labelz", "spec.replicaz", "spec.template.spec.volumes[1].emptyDir.medium2"])


def test_any_key_is_fine_in_a_map():
    obj = pod()
    obj["metadata"]["labels"]["anything.example.com/whatever"] = "x"
    obj["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = 1
    assert validate(obj, POD).ok


def test_string_for_integer_replicas_is_invalid():
    obj = deployment()
    obj["spec"]["replicas"] = "3"
    [error] = validate(obj, DEPLOYMENT).errors
    assert (error.field, error.type, error.value) == ("spec.replicas", FIELD_VALUE_INVALID, "3")
    assert error.detail == "expected integer, got string"
    assert error.message() == 'spec.replicas: Invalid value: "3": expected integer, got string'


def test_bool_is_not_an_integer():
    obj = deployment()
    obj["spec"]["replicas"] = True
    [error] = validate(obj, DEPLOYMENT).errors
    assert error.field == "spec.replicas" and error.detail == "expected integer, got boolean"


def test_float_is_not_an_integer():
    obj = pod()
    obj["spec"]["containers"][0]["ports"][0]["containerPort"] = 80.0
    [error] = validate(obj, POD).errors
    assert error.field == "spec.containers[0].ports[0].containerPort"
    assert error.detail == "expected integer, got number"


def test_int32_out_of_range_is_invalid():
    obj = deployment()
    obj["spec"]["replicas"] = 2**31
    [error] = validate(obj, DEPLOYMENT).errors
    assert error.field == "spec.replicas" and "int32" in error.detail


def test_wrong_container_types_are_reported_with_their_paths():
    obj = pod()
    obj["spec"]["containers"][0]["args"] = "daemon off"
    obj["spec"]["containers"][0]["env"] = {"MODE": "prod"}
    obj["metadata"]["labels"] = ["app=web"]
    result = validate(obj, POD)
    assert {(e.field, e.detail) for e in result.errors} == {
        ("spec.containers[0].args", "expected array, got string"),
        ("spec.containers[0].env", "expected array, got object"),
        ("metadata.labels", "expected object, got array"),
    }


def test_all_errors_are_reported_not_just_the_first():
    obj = deployment()
    obj["spec"]["replicas"] = "three"
    obj["spec"]["paused"] = "yes"
    obj["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "80"
    del obj["spec"]["template"]["spec"]["containers"][0]["name"]
    obj["spec"]["template"]["spec"]["containerz"] = []
    result = validate(obj, DEPLOYMENT)
    assert {e.field for e in result.errors} == {
        "spec.replicas", "spec.paused", "spec.template.spec.containers[0].ports[0].containerPort",
        "spec.template.spec.containers[0].name"}
    assert result.unknown_fields == ["spec.template.spec.containerz"]


def test_null_optional_field_is_accepted():
    obj = pod()
    obj["metadata"]["labels"] = None
    obj["spec"]["nodeSelector"] = None
    obj["spec"]["containers"][0]["ports"] = None
    obj["spec"]["terminationGracePeriodSeconds"] = None
    obj["spec"]["securityContext"] = None
    assert validate(obj, POD).ok


def test_missing_required_field_is_required():
    obj = pod()
    del obj["spec"]["containers"]
    obj["spec"]["volumes"][0]["name"] = None
    result = validate(obj, POD)
    assert {(e.field, e.type) for e in result.errors} == {
        ("spec.containers", FIELD_VALUE_REQUIRED), ("spec.volumes[0].name", FIELD_VALUE_REQUIRED)}


def test_null_inside_a_list_is_invalid():
    obj = pod()
    obj["spec"]["containers"].append(None)
    obj["spec"]["containers"][0]["args"].append(None)
    result = validate(obj, POD)
    assert {e.field for e in result.errors} == {"spec.containers[1]", "spec.containers[0].args[2]"}


def test_int_or_string_accepts_both():
    obj = deployment()
    for surge in ("25%", 1, None):
        obj["spec"]["strategy"]["rollingUpdate"]["maxSurge"] = surge
        assert validate(obj, DEPLOYMENT).ok, surge
    for bad in (1.5, True, ["1"]):
        obj["spec"]["strategy"]["rollingUpdate"]["maxSurge"] = bad
        [error] = validate(obj, DEPLOYMENT).errors
        assert error.field == "spec.strategy.rollingUpdate.maxSurge"
        assert error.detail.startswith("expected string or integer")


def test_quantity_accepts_string_and_numbers():
    obj = pod()
    obj["spec"]["containers"][0]["resources"] = {"requests": {"cpu": 0.5, "memory": 1024},
                                                 "limits": {"cpu": "1"}}
    assert validate(obj, POD).ok
    obj["spec"]["containers"][0]["resources"]["limits"]["cpu"] = False
    [error] = validate(obj, POD).errors
    assert error.field == "spec.containers[0].resources.limits.cpu"


def test_bad_base64_in_secret_data_is_invalid():
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "Opaque",
              "data": {"good": "aGVsbG8=", "empty": "", "bad": "not base64!", "unpadded": "aGVsbG8"},
              "stringData": {"plain": "not base64 and fine"}}
    result = validate(secret, SECRET)
    assert {(e.field, e.type) for e in result.errors} == {
        ("data.bad", FIELD_VALUE_INVALID), ("data.unpadded", FIELD_VALUE_INVALID)}
    assert all(e.value is None for e in result.errors)  # secret material is never echoed


def test_bad_time_is_invalid():
    obj = deployment()
    obj["metadata"]["creationTimestamp"] = "2024-05-01T10:00:00.123+02:00"
    assert validate(obj, DEPLOYMENT).ok
    obj["status"]["conditions"][0]["lastTransitionTime"] = "yesterday"
    [error] = validate(obj, DEPLOYMENT).errors
    assert error.field == "status.conditions[0].lastTransitionTime" and error.type == FIELD_VALUE_INVALID


def test_top_level_api_version_and_kind_are_left_to_the_caller():
    obj = pod()
    obj["apiVersion"], obj["kind"] = "v2", "Pod2"
    assert validate(obj, POD).ok


def test_nested_kind_outside_its_enum_is_not_supported():
    pod_list = {"apiVersion": "v1", "kind": "PodList", "metadata": {},
                "items": [{**pod(), "kind": "Service"}]}
    [error] = validate(pod_list, "io.k8s.api.core.v1.PodList").errors
    assert (error.field, error.type, error.value) == ("items[0].kind", FIELD_VALUE_NOT_SUPPORTED, "Service")
    assert error.detail == 'supported values: "Pod"'


def test_enum_violation_is_not_supported():
    defs = {"Thing": {"type": "object", "additionalProperties": False, "properties": {
        "policy": {"type": ["string", "null"], "enum": ["Always", "Never"]}}}}
    validator = SchemaValidator(defs)
    assert validator.validate({"policy": "Never"}, "Thing").ok
    [error] = validator.validate({"policy": "Sometimes"}, "Thing").errors
    assert error.message() == 'policy: Unsupported value: "Sometimes": supported values: "Always", "Never"'


def test_free_form_fields_accept_anything():
    obj = pod()
    obj["metadata"]["managedFields"] = [{"manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1",
                                         "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}}]
    assert validate(obj, POD).ok


def crd(open_api_schema: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": open_api_schema}}]}}


def test_recursive_json_schema_props_are_validated_to_any_depth():
    deep: dict[str, Any] = {"type": "string"}
    for i in range(30):
        deep = {"type": "object", "properties": {f"level{i}": deep}}
    deep["properties"]["level29"]["typo"] = True
    deep["properties"]["a.b"] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                                 "default": {"any": ["json", 1, None]}, "enum": [None, {"x": 1}]}
    result = validate(crd(deep), CRD)
    assert result.errors == []
    assert result.unknown_fields == [
        "spec.versions[0].schema.openAPIV3Schema.properties.level29.typo"]


def test_every_packaged_definition_compiles():
    validator = SchemaValidator()
    for name in openapi_definitions():
        validator.compile(name)
    assert has_definition(POD) and has_definition(f"#/$defs/{CRD}")
    assert not has_definition("io.k8s.api.core.v1.Pood")
    assert KUBERNETES_VERSION == "v1.32.0"


def test_unknown_definition_is_a_key_error():
    with pytest.raises(KeyError):
        validate({}, "io.k8s.api.core.v1.Pood")


def test_a_body_that_is_not_an_object_is_invalid():
    [error] = validate([1], POD).errors  # type: ignore[arg-type]
    assert error.detail == "expected object, got array"


def test_strict_mode_makes_unknown_fields_errors_and_changes_nothing():
    obj = deployment()
    obj["spec"]["replicaz"] = 3
    before = copy.deepcopy(obj)
    errors, warnings = check_fields(obj, DEPLOYMENT, "Strict")
    assert [(e.field, e.type) for e in errors] == [("spec.replicaz", FIELD_VALUE_UNKNOWN)]
    assert errors[0].message() == 'unknown field "spec.replicaz"'
    assert warnings == [] and obj == before


def test_warn_mode_drops_unknown_field_and_warns():
    obj = deployment()
    obj["spec"]["replicaz"] = 3
    obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    errors, warnings = check_fields(obj, DEPLOYMENT, "Warn")
    assert errors == []
    # In document order, as Kubernetes' decoder meets them (replicaz was added after template).
    assert warnings == ['unknown field "spec.template.spec.containers[0].imagePullPolicyy"',
                        'unknown field "spec.replicaz"']
    assert obj == deployment()


def test_ignore_mode_drops_silently():
    obj = deployment()
    obj["spec"]["replicaz"] = 3
    assert check_fields(obj, DEPLOYMENT, "Ignore") == ([], [])
    assert obj == deployment()


def test_type_errors_are_errors_in_every_mode():
    for mode in ("Strict", "Warn", "Ignore"):
        obj = deployment()
        obj["spec"]["replicas"] = "3"
        errors, _ = check_fields(obj, DEPLOYMENT, mode)
        assert [e.field for e in errors] == ["spec.replicas"]
        assert obj["spec"]["replicas"] == "3"


@pytest.mark.parametrize("mode", ["", "strict", "Loose"])
def test_invalid_field_validation_is_a_value_error(mode: str):
    with pytest.raises(ValueError, match="fieldValidation"):
        check_fields(deployment(), DEPLOYMENT, mode)


def test_prune_unknown_fields_follows_printed_paths_even_through_dotted_keys():
    obj = crd({"type": "object", "properties": {"a.b": {"type": "string", "typo": 1}}})
    obj["spec"]["versions"][0]["bogus"] = 1
    result = validate(obj, CRD)
    assert result.unknown_fields == ["spec.versions[0].schema.openAPIV3Schema.properties.a.b.typo",
                                     "spec.versions[0].bogus"]
    assert prune_unknown_fields(obj, [*result.unknown_fields, "spec.gone"]) == 2
    assert validate(obj, CRD).ok


def test_preserve_unknown_fields_keeps_declared_properties_checked():
    defs = {"Open": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                     "properties": {"size": {"type": "integer"}}}}
    validator = SchemaValidator(defs)
    assert validator.validate({"size": 1, "anything": {"x": [1]}}, "Open").ok
    [error] = validator.validate({"size": "1"}, "Open").errors
    assert error.field == "size"
