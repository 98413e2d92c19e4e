"""core/v1 Pods: defaulting as a real pod shows it, ValidatePodSpec, and pod update rules."""

from __future__ import annotations

import pytest
import yaml

from apimachinery.api.core import default_pod_spec, validate_pod_template
from apimachinery.errors import (
    FIELD_VALUE_DUPLICATE,
    FIELD_VALUE_FORBIDDEN,
    FIELD_VALUE_INVALID,
    FIELD_VALUE_NOT_SUPPORTED,
    FIELD_VALUE_REQUIRED,
)
from apimachinery.schema import validate as schema_validate
from tests.unit.apimachinery.kind_helpers import (
    admitted,
    changed,
    create_errors,
    fields,
    messages,
    type_of,
    update_errors,
)

NOT_FOUND = "FieldValueNotFound"

# https://kubernetes.io/docs/concepts/workloads/pods/ (simple-pod.yaml), plus a volume and probes.
POD = yaml.safe_load("""
apiVersion: v1
kind: Pod
metadata:
  name: nginx
  labels:
    app: nginx
spec:
  containers:
  - name: nginx
    image: nginx:1.14.2
    ports:
    - containerPort: 80
    env:
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    volumeMounts:
    - name: config
      mountPath: /etc/nginx/conf.d
    livenessProbe:
      httpGet:
        port: 80
    readinessProbe:
      tcpSocket:
        port: 80
  volumes:
  - name: config
    configMap:
      name: nginx-conf
  - name: cache
""")


def pod_with(mutate):
    return changed(POD, mutate)


def container(pod):
    return pod["spec"]["containers"][0]


def test_the_docs_pod_validates_clean_after_defaulting():
    assert messages(create_errors(POD)) == []


def test_a_defaulted_pod_still_matches_the_openapi_schema():
    pod = admitted(POD)
    assert schema_validate(pod, "io.k8s.api.core.v1.Pod").errors == []


def test_pod_type_is_addressed_like_kubernetes():
    rt = type_of(POD)
    assert (rt.plural, rt.short_names, rt.categories, rt.schema_ref) == (
        "pods", ("po",), ("all",), "io.k8s.api.core.v1.Pod")
    assert {"spec.nodeName", "status.phase", "status.podIP"} <= set(rt.selectable_fields)


def test_pod_defaults_match_what_a_real_pod_shows():
    spec = admitted(POD)["spec"]
    assert {k: spec[k] for k in ("restartPolicy", "dnsPolicy", "schedulerName", "terminationGracePeriodSeconds",
                                 "securityContext", "enableServiceLinks", "preemptionPolicy", "priority",
                                 "serviceAccountName", "serviceAccount")} == {
        "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler",
        "terminationGracePeriodSeconds": 30, "securityContext": {}, "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority", "priority": 0, "serviceAccountName": "default",
        "serviceAccount": "default"}


def test_pod_defaults_container_fields():
    c = container(admitted(POD))
    assert (c["imagePullPolicy"], c["terminationMessagePath"], c["terminationMessagePolicy"], c["resources"]) == (
        "IfNotPresent", "/dev/termination-log", "File", {})
    assert c["ports"][0]["protocol"] == "TCP"
    assert c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"


def test_pod_defaults_probe_timings_and_http_get():
    c = container(admitted(POD))
    assert c["livenessProbe"] == {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
                                  "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
    assert c["readinessProbe"]["periodSeconds"] == 10


def test_pod_defaults_volume_modes_and_empty_dir():
    volumes = admitted(POD)["spec"]["volumes"]
    assert volumes == [{"name": "config", "configMap": {"name": "nginx-conf", "defaultMode": 420}},
                       {"name": "cache", "emptyDir": {}}]


def test_pod_defaulting_leaves_the_not_ready_tolerations_to_admission():
    # DefaultTolerationSeconds admission adds them (with its flags' durations), as in Kubernetes.
    assert not admitted(POD)["spec"].get("tolerations")


def test_pod_defaults_status_phase_pending():
    assert admitted(POD)["status"]["phase"] == "Pending"


@pytest.mark.parametrize(("image", "policy"), [
    ("nginx", "Always"),
    ("nginx:latest", "Always"),
    ("docker.io/library/nginx", "Always"),
    ("localhost:5000/app", "Always"),
    ("nginx:1.25", "IfNotPresent"),
    ("localhost:5000/app:v1", "IfNotPresent"),
    ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
    ("nginx:latest@sha256:" + "a" * 64, "Always"),
])
def test_pod_defaults_image_pull_policy_always_for_latest_tag(image, policy):
    pod = pod_with(lambda p: container(p).update(image=image))
    assert container(admitted(pod))["imagePullPolicy"] == policy


def test_pod_keeps_an_explicit_image_pull_policy():
    pod = pod_with(lambda p: container(p).update(image="nginx", imagePullPolicy="Never"))
    assert container(admitted(pod))["imagePullPolicy"] == "Never"


def test_pod_requests_default_to_limits_when_absent():
    pod = pod_with(lambda p: container(p).update(resources={"limits": {"cpu": "1", "memory": "1Gi"},
                                                            "requests": {"cpu": "500m"}}))
    assert container(admitted(pod))["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}


def test_pod_quantities_are_stored_in_canonical_form():
    pod = pod_with(lambda p: container(p).update(resources={"limits": {"cpu": "1000m", "memory": "1024Mi"},
                                                            "requests": {"cpu": 0.5}}))
    assert container(admitted(pod))["resources"] == {"limits": {"cpu": "1", "memory": "1Gi"},
                                                     "requests": {"cpu": "500m", "memory": "1Gi"}}


@pytest.mark.parametrize(("resources", "qos"), [
    ({}, "BestEffort"),
    ({"requests": {"cpu": "100m"}}, "Burstable"),
    ({"limits": {"cpu": "1"}}, "Burstable"),
    ({"limits": {"cpu": "1", "memory": "1Gi"}}, "Guaranteed"),
    ({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1000m", "memory": "1024Mi"}}, "Guaranteed"),
    ({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}, "Burstable"),
])
def test_pod_qos_class_is_computed_as_kubernetes_does(resources, qos):
    pod = pod_with(lambda p: container(p).update(resources=resources))
    assert admitted(pod)["status"]["qosClass"] == qos


def test_template_defaults_omit_pod_only_fields():
    spec = {"containers": [{"name": "a", "image": "busybox", "resources": {"limits": {"cpu": "1"}}}]}
    default_pod_spec(spec)
    assert "enableServiceLinks" not in spec and "serviceAccountName" not in spec
    assert spec["containers"][0]["resources"] == {"limits": {"cpu": "1"}}


def _spec(p):
    return p["spec"]


POD_CASES = [
    ("no_containers_is_required", lambda p: _spec(p).update(containers=[]), "spec.containers", FIELD_VALUE_REQUIRED),
    ("missing_image_is_required", lambda p: container(p).pop("image"), "spec.containers[0].image",
     FIELD_VALUE_REQUIRED),
    ("uppercase_container_name_is_invalid", lambda p: container(p).update(name="Web"), "spec.containers[0].name",
     FIELD_VALUE_INVALID),
    ("init_container_named_like_an_app_container_is_a_duplicate",
     lambda p: _spec(p).update(initContainers=[{"name": "nginx", "image": "busybox"}]),
     "spec.initContainers[0].name", FIELD_VALUE_DUPLICATE),
    ("container_port_above_65535_is_invalid", lambda p: container(p)["ports"][0].update(containerPort=70000),
     "spec.containers[0].ports[0].containerPort", FIELD_VALUE_INVALID),
    ("port_name_longer_than_15_is_invalid", lambda p: container(p)["ports"][0].update(name="a-very-long-portname"),
     "spec.containers[0].ports[0].name", FIELD_VALUE_INVALID),
    ("duplicate_port_names_are_duplicates",
     lambda p: container(p).update(ports=[{"name": "web", "containerPort": 80}, {"name": "web", "containerPort": 81}]),
     "spec.containers[0].ports[1].name", FIELD_VALUE_DUPLICATE),
    ("unknown_port_protocol_is_not_supported", lambda p: container(p)["ports"][0].update(protocol="ICMP"),
     "spec.containers[0].ports[0].protocol", FIELD_VALUE_NOT_SUPPORTED),
    ("duplicate_volume_names_are_duplicates", lambda p: _spec(p)["volumes"][1].update(name="config"),
     "spec.volumes[1].name", FIELD_VALUE_DUPLICATE),
    ("volume_with_two_sources_is_forbidden", lambda p: _spec(p)["volumes"][0].update(emptyDir={}),
     "spec.volumes[0].configMap", FIELD_VALUE_FORBIDDEN),
    ("config_map_volume_without_name_is_required", lambda p: _spec(p)["volumes"][0]["configMap"].pop("name"),
     "spec.volumes[0].configMap.name", FIELD_VALUE_REQUIRED),
    ("volume_mount_of_an_unknown_volume_is_not_found",
     lambda p: container(p)["volumeMounts"][0].update(name="data"), "spec.containers[0].volumeMounts[0].name",
     NOT_FOUND),
    ("invalid_env_name_is_invalid", lambda p: container(p)["env"][0].update(name="1BAD"),
     "spec.containers[0].env[0].name", FIELD_VALUE_INVALID),
    ("env_value_from_two_sources_is_invalid",
     lambda p: container(p)["env"][0]["valueFrom"].update(secretKeyRef={"name": "s", "key": "k"}),
     "spec.containers[0].env[0].valueFrom", FIELD_VALUE_INVALID),
    ("env_value_and_value_from_is_invalid", lambda p: container(p)["env"][0].update(value="x"),
     "spec.containers[0].env[0].valueFrom", FIELD_VALUE_INVALID),
    ("unsupported_field_ref_path_is_not_supported",
     lambda p: container(p)["env"][0]["valueFrom"]["fieldRef"].update(fieldPath="spec.bogus"),
     "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath", FIELD_VALUE_NOT_SUPPORTED),
    ("request_above_limit_is_invalid",
     lambda p: container(p).update(resources={"limits": {"cpu": "1"}, "requests": {"cpu": "2"}}),
     "spec.containers[0].resources.requests", FIELD_VALUE_INVALID),
    ("malformed_quantity_is_invalid", lambda p: container(p).update(resources={"limits": {"memory": "1 GB"}}),
     "spec.containers[0].resources.limits[memory]", FIELD_VALUE_INVALID),
    ("non_standard_resource_name_is_invalid", lambda p: container(p).update(resources={"limits": {"cpus": "1"}}),
     "spec.containers[0].resources.limits[cpus]", FIELD_VALUE_INVALID),
    ("unknown_restart_policy_is_not_supported", lambda p: _spec(p).update(restartPolicy="Sometimes"),
     "spec.restartPolicy", FIELD_VALUE_NOT_SUPPORTED),
    ("unknown_dns_policy_is_not_supported", lambda p: _spec(p).update(dnsPolicy="Google"), "spec.dnsPolicy",
     FIELD_VALUE_NOT_SUPPORTED),
    ("negative_probe_period_is_invalid", lambda p: container(p)["livenessProbe"].update(periodSeconds=-1),
     "spec.containers[0].livenessProbe.periodSeconds", FIELD_VALUE_INVALID),
    ("probe_with_two_handlers_is_forbidden",
     lambda p: container(p)["livenessProbe"].update(exec={"command": ["true"]}),
     "spec.containers[0].livenessProbe.httpGet", FIELD_VALUE_FORBIDDEN),
    ("probe_without_handler_is_required", lambda p: container(p).update(startupProbe={"periodSeconds": 5}),
     "spec.containers[0].startupProbe", FIELD_VALUE_REQUIRED),
    ("liveness_success_threshold_other_than_one_is_invalid",
     lambda p: container(p)["livenessProbe"].update(successThreshold=2),
     "spec.containers[0].livenessProbe.successThreshold", FIELD_VALUE_INVALID),
    ("probe_port_zero_is_invalid", lambda p: container(p)["readinessProbe"]["tcpSocket"].update(port=0),
     "spec.containers[0].readinessProbe.tcpSocket.port", FIELD_VALUE_INVALID),
    ("invalid_node_selector_value_is_invalid", lambda p: _spec(p).update(nodeSelector={"disk": "ssd fast"}),
     "spec.nodeSelector", FIELD_VALUE_INVALID),
    ("toleration_exists_with_value_is_invalid",
     lambda p: _spec(p).update(tolerations=[{"key": "k", "operator": "Exists", "value": "v"}]),
     "spec.tolerations[0].operator", FIELD_VALUE_INVALID),
    ("toleration_with_unknown_effect_is_not_supported",
     lambda p: _spec(p).update(tolerations=[{"key": "k", "operator": "Equal", "value": "v", "effect": "Evict"}]),
     "spec.tolerations[0].effect", FIELD_VALUE_NOT_SUPPORTED),
    ("toleration_seconds_without_no_execute_is_invalid",
     lambda p: _spec(p).update(tolerations=[{"key": "k", "operator": "Exists", "tolerationSeconds": 5}]),
     "spec.tolerations[0].effect", FIELD_VALUE_INVALID),
    ("affinity_selector_with_bad_operator_is_invalid",
     lambda p: _spec(p).update(affinity={"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
         {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "Near", "values": ["x"]}]},
          "topologyKey": "kubernetes.io/hostname"}]}}),
     "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector"
     ".matchExpressions[0].operator", FIELD_VALUE_INVALID),
    ("node_affinity_without_terms_is_required",
     lambda p: _spec(p).update(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
         "nodeSelectorTerms": []}}}),
     "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
     FIELD_VALUE_REQUIRED),
    ("active_deadline_zero_is_invalid", lambda p: _spec(p).update(activeDeadlineSeconds=0),
     "spec.activeDeadlineSeconds", FIELD_VALUE_INVALID),
    ("invalid_pod_name_is_invalid", lambda p: p["metadata"].update(name="Nginx_1"), "metadata.name",
     FIELD_VALUE_INVALID),
    ("invalid_label_is_invalid", lambda p: p["metadata"].update(labels={"app": "a b"}), "metadata.labels",
     FIELD_VALUE_INVALID),
    ("init_container_probe_is_forbidden",
     lambda p: _spec(p).update(initContainers=[{"name": "init", "image": "busybox",
                                                "readinessProbe": {"exec": {"command": ["true"]}}}]),
     "spec.initContainers[0].readinessProbe", FIELD_VALUE_FORBIDDEN),
]


@pytest.mark.parametrize(("mutate", "path", "kind"), [c[1:] for c in POD_CASES], ids=[c[0] for c in POD_CASES])
def test_invalid_pod_is_rejected_naming_the_field(mutate, path, kind):
    assert (path, kind) in fields(create_errors(pod_with(mutate)))


def test_request_above_limit_message_is_kubernetes():
    pod = pod_with(lambda p: container(p).update(resources={"limits": {"cpu": "1"}, "requests": {"cpu": "2"}}))
    assert 'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1' \
        in messages(create_errors(pod))


def test_pod_restartable_init_container_may_have_probes():
    pod = pod_with(lambda p: _spec(p).update(initContainers=[{
        "name": "sidecar", "image": "busybox", "restartPolicy": "Always",
        "readinessProbe": {"exec": {"command": ["true"]}}}]))
    assert messages(create_errors(pod)) == []


def test_validate_pod_template_reports_template_label_errors_at_template_labels():
    errors = validate_pod_template({"metadata": {"labels": {"app": "a b"}}, "spec": admitted(POD)["spec"]},
                                   "spec.template")
    assert fields(errors) == {("spec.template.labels", FIELD_VALUE_INVALID)}


# -- updates --------------------------------------------------------------------------------


def test_pod_spec_is_immutable_except_image():
    new = pod_with(lambda p: container(p).update(image="nginx:1.25"))
    assert update_errors(POD, new) == []


def test_pod_update_changing_a_port_is_forbidden_on_spec():
    new = pod_with(lambda p: container(p)["ports"][0].update(containerPort=8080))
    errors = update_errors(POD, new)
    assert fields(errors) == {("spec", FIELD_VALUE_FORBIDDEN)}
    assert "pod updates may not change fields other than `spec.containers[*].image`" in errors[0].detail
    assert "spec.containers[0].ports[0].containerPort" in errors[0].detail


def test_pod_update_adding_a_container_is_forbidden():
    new = pod_with(lambda p: _spec(p)["containers"].append({"name": "sidecar", "image": "busybox"}))
    assert fields(update_errors(POD, new)) == {("spec.containers", FIELD_VALUE_FORBIDDEN)}


def test_pod_update_moving_a_bound_pod_to_another_node_is_forbidden():
    old = pod_with(lambda p: _spec(p).update(nodeName="node-1"))
    new = pod_with(lambda p: _spec(p).update(nodeName="node-2"))
    assert fields(update_errors(old, new)) == {("spec", FIELD_VALUE_FORBIDDEN)}


def test_pod_update_may_add_tolerations_but_not_remove_them():
    toleration = {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}
    with_toleration = pod_with(lambda p: _spec(p).update(tolerations=[toleration]))
    assert update_errors(POD, with_toleration) == []
    assert fields(update_errors(with_toleration, POD)) == {("spec.tolerations", FIELD_VALUE_FORBIDDEN)}


def test_pod_update_may_lower_but_not_raise_active_deadline():
    old = pod_with(lambda p: _spec(p).update(activeDeadlineSeconds=60))
    assert update_errors(old, pod_with(lambda p: _spec(p).update(activeDeadlineSeconds=30))) == []
    raised = update_errors(old, pod_with(lambda p: _spec(p).update(activeDeadlineSeconds=90)))
    assert fields(raised) == {("spec.activeDeadlineSeconds", FIELD_VALUE_INVALID)}


def test_pod_update_of_labels_only_is_allowed():
    assert update_errors(POD, pod_with(lambda p: p["metadata"]["labels"].update(tier="web"))) == []
