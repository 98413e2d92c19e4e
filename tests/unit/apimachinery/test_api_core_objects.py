"""core/v1 kinds other than Pod: Namespace, Node, Service, Endpoints, ConfigMap, Secret, Event and
ServiceAccount — docs manifests validate clean, defaults as Kubernetes shows them, rule by rule."""

from __future__ import annotations

import base64

import pytest
import yaml

from apimachinery import schema
from apimachinery.api import core
from apimachinery.errors import (
    FIELD_VALUE_DUPLICATE,
    FIELD_VALUE_FORBIDDEN,
    FIELD_VALUE_INVALID,
    FIELD_VALUE_NOT_SUPPORTED,
    FIELD_VALUE_REQUIRED,
    FIELD_VALUE_TOO_LONG,
)
from tests.unit.apimachinery.kind_helpers import admitted, changed, create_errors, fields, messages, update_errors

NAMESPACE = yaml.safe_load("""
apiVersion: v1
kind: Namespace
metadata:
  name: development
  labels:
    name: development
""")

NODE = yaml.safe_load("""
apiVersion: v1
kind: Node
metadata:
  name: worker-1
  labels:
    kubernetes.io/hostname: worker-1
spec:
  podCIDR: 10.244.1.0/24
  taints:
  - key: dedicated
    value: gpu
    effect: NoSchedule
status:
  capacity:
    cpu: "4"
    memory: 8Gi
    pods: "110"
""")

# https://kubernetes.io/docs/concepts/services-networking/service/
SERVICE = yaml.safe_load("""
apiVersion: v1
kind: Service
metadata:
  name: my-service
spec:
  selector:
    app.kubernetes.io/name: MyApp
  ports:
    - protocol: TCP
      port: 80
      targetPort: 9376
""")

ENDPOINTS = yaml.safe_load("""
apiVersion: v1
kind: Endpoints
metadata:
  name: my-service
subsets:
  - addresses:
      - ip: 192.0.2.42
    ports:
      - port: 9376
""")

# https://kubernetes.io/docs/concepts/configuration/configmap/
CONFIG_MAP = yaml.safe_load("""
apiVersion: v1
kind: ConfigMap
metadata:
  name: game-demo
data:
  player_initial_lives: "3"
  ui_properties_file_name: "user-interface.properties"
  game.properties: |
    enemy.types=aliens,monsters
    player.maximum-lives=5
""")

# https://kubernetes.io/docs/concepts/configuration/secret/
SECRET = yaml.safe_load("""
apiVersion: v1
kind: Secret
metadata:
  name: secret-basic-auth
type: kubernetes.io/basic-auth
stringData:
  username: admin
  password: t0p-Secret
""")

EVENT = yaml.safe_load("""
apiVersion: v1
kind: Event
metadata:
  name: nginx.17a8b2c3d4e5f6a7
  namespace: default
involvedObject:
  apiVersion: v1
  kind: Pod
  name: nginx
  namespace: default
reason: Scheduled
message: Successfully assigned default/nginx to worker-1
source:
  component: default-scheduler
type: Normal
count: 1
""")

SERVICE_ACCOUNT = yaml.safe_load("""
apiVersion: v1
kind: ServiceAccount
metadata:
  name: build-robot
automountServiceAccountToken: false
""")

FIXTURES = [NAMESPACE, NODE, SERVICE, ENDPOINTS, CONFIG_MAP, SECRET, EVENT, SERVICE_ACCOUNT]


@pytest.mark.parametrize("manifest", FIXTURES, ids=[m["kind"] for m in FIXTURES])
def test_docs_manifest_validates_clean_after_defaulting(manifest):
    assert messages(create_errors(manifest)) == []


@pytest.mark.parametrize("manifest", FIXTURES, ids=[m["kind"] for m in FIXTURES])
def test_defaulted_manifest_still_matches_the_openapi_schema(manifest):
    obj = admitted(manifest)
    rt = core.TYPES[[t.kind for t in core.TYPES].index(manifest["kind"])]
    assert rt.schema_ref is not None
    assert schema.validate(obj, rt.schema_ref).errors == []


def test_core_types_are_addressed_like_kubernetes():
    table = {t.kind: (t.plural, t.short_names, t.namespaced) for t in core.TYPES}
    assert table == {
        "Namespace": ("namespaces", ("ns",), False), "Pod": ("pods", ("po",), True),
        "Node": ("nodes", ("no",), False), "Service": ("services", ("svc",), True),
        "Endpoints": ("endpoints", ("ep",), True), "ConfigMap": ("configmaps", ("cm",), True),
        "Secret": ("secrets", (), True), "Event": ("events", ("ev",), True),
        "ServiceAccount": ("serviceaccounts", ("sa",), True)}
    assert all(schema.has_definition(t.schema_ref or "") for t in core.TYPES)


# -- Namespace ------------------------------------------------------------------------------


def test_namespace_defaults_kubernetes_finalizer_and_active_phase():
    ns = admitted(NAMESPACE)
    assert (ns["spec"], ns["status"]) == ({"finalizers": ["kubernetes"]}, {"phase": "Active"})


@pytest.mark.parametrize(("mutate", "path", "kind"), [
    (lambda n: n["metadata"].update(name="dev.team"), "metadata.name", FIELD_VALUE_INVALID),
    (lambda n: n.update(spec={"finalizers": ["custom"]}), "spec.finalizers", FIELD_VALUE_INVALID),
], ids=["name_with_a_dot_is_not_a_dns_label", "unqualified_custom_finalizer_is_invalid"])
def test_invalid_namespace_is_rejected_naming_the_field(mutate, path, kind):
    assert (path, kind) in fields(create_errors(changed(NAMESPACE, mutate)))


# -- Node -----------------------------------------------------------------------------------


def test_node_keeps_status_and_defaults_allocatable_and_pod_cidrs():
    node = admitted(NODE)
    assert node["spec"]["podCIDRs"] == ["10.244.1.0/24"]
    assert node["status"]["allocatable"] == node["status"]["capacity"]


@pytest.mark.parametrize(("mutate", "path", "kind"), [
    (lambda n: n["spec"]["taints"][0].update(effect="Evict"), "metadata.taints[0].effect", FIELD_VALUE_NOT_SUPPORTED),
    (lambda n: n["spec"]["taints"][0].pop("effect"), "metadata.taints[0].effect", FIELD_VALUE_REQUIRED),
    (lambda n: n["spec"]["taints"][0].update(key="bad key"), "metadata.taints[0].key", FIELD_VALUE_INVALID),
    (lambda n: n["spec"]["taints"].append(dict(n["spec"]["taints"][0])), "metadata.taints[1]",
     FIELD_VALUE_DUPLICATE),
    (lambda n: n["spec"].update(podCIDR="10.244.1.0"), "spec.podCIDRs[0]", FIELD_VALUE_INVALID),
    (lambda n: n["status"]["capacity"].update(cpu="-1"), "status.capacity[cpu]", FIELD_VALUE_INVALID),
], ids=["unknown_taint_effect_is_not_supported", "taint_without_effect_is_required",
        "taint_key_must_be_a_qualified_name", "taints_are_unique_by_key_and_effect", "pod_cidr_must_be_a_cidr",
        "negative_capacity_is_invalid"])
def test_invalid_node_is_rejected_naming_the_field(mutate, path, kind):
    assert (path, kind) in fields(create_errors(changed(NODE, mutate)))


def test_node_update_may_not_change_an_assigned_pod_cidr():
    new = changed(NODE, lambda n: n["spec"].update(podCIDR="10.244.2.0/24", podCIDRs=["10.244.2.0/24"]))
    assert fields(update_errors(NODE, new)) == {("spec.podCIDRs", FIELD_VALUE_FORBIDDEN)}


# -- Service --------------------------------------------------------------------------------


def test_service_defaults_as_kubernetes_shows_them():
    spec = admitted(SERVICE)["spec"]
    assert spec["ports"] == [{"protocol": "TCP", "port": 80, "targetPort": 9376}]
    assert {k: spec[k] for k in ("type", "sessionAffinity", "internalTrafficPolicy", "ipFamilyPolicy",
                                 "ipFamilies")} == {
        "type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
        "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"]}


def test_service_target_port_defaults_to_port():
    svc = changed(SERVICE, lambda s: s["spec"]["ports"][0].pop("targetPort"))
    assert admitted(svc)["spec"]["ports"][0]["targetPort"] == 80


def test_node_port_service_defaults_external_traffic_policy():
    svc = changed(SERVICE, lambda s: s["spec"].update(type="NodePort"))
    assert admitted(svc)["spec"]["externalTrafficPolicy"] == "Cluster"


def test_headless_service_without_selector_requires_dual_stack_and_external_name_has_no_families():
    headless = admitted(changed(SERVICE, lambda s: s["spec"].update(clusterIP="None", selector=None)))
    assert (headless["spec"]["ipFamilyPolicy"], headless["spec"]["clusterIPs"]) == ("RequireDualStack", ["None"])
    external = admitted({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
                         "spec": {"type": "ExternalName", "externalName": "db.example.com"}})
    assert "ipFamilies" not in external["spec"] and create_errors(external) == []


def _ports(s):
    return s["spec"]["ports"]


SERVICE_CASES = [
    ("no_ports_is_required", lambda s: s["spec"].update(ports=[]), "spec.ports", FIELD_VALUE_REQUIRED),
    ("port_zero_is_invalid", lambda s: _ports(s)[0].update(port=0), "spec.ports[0].port", FIELD_VALUE_INVALID),
    ("port_above_65535_is_invalid", lambda s: _ports(s)[0].update(port=65536), "spec.ports[0].port",
     FIELD_VALUE_INVALID),
    ("second_unnamed_port_requires_names", lambda s: _ports(s).append({"port": 443}), "spec.ports[1].name",
     FIELD_VALUE_REQUIRED),
    ("duplicate_port_names_are_duplicates",
     lambda s: s["spec"].update(ports=[{"name": "web", "port": 80}, {"name": "web", "port": 81}]),
     "spec.ports[1].name", FIELD_VALUE_DUPLICATE),
    ("duplicate_port_and_protocol_is_duplicate",
     lambda s: s["spec"].update(ports=[{"name": "a", "port": 80}, {"name": "b", "port": 80}]), "spec.ports[1]",
     FIELD_VALUE_DUPLICATE),
    ("unknown_type_is_not_supported", lambda s: s["spec"].update(type="Ingress"), "spec.type",
     FIELD_VALUE_NOT_SUPPORTED),
    ("node_port_outside_range_is_invalid", lambda s: (s["spec"].update(type="NodePort"),
                                                      _ports(s)[0].update(nodePort=8080)),
     "spec.ports[0].nodePort", FIELD_VALUE_INVALID),
    ("node_port_on_cluster_ip_service_is_forbidden", lambda s: _ports(s)[0].update(nodePort=30080),
     "spec.ports[0].nodePort", FIELD_VALUE_FORBIDDEN),
    ("invalid_selector_value_is_invalid", lambda s: s["spec"].update(selector={"app": "my app"}),
     "spec.selector", FIELD_VALUE_INVALID),
    ("name_starting_with_a_digit_is_not_a_dns1035_label", lambda s: s["metadata"].update(name="1-service"),
     "metadata.name", FIELD_VALUE_INVALID),
    ("bad_cluster_ip_is_invalid", lambda s: s["spec"].update(clusterIP="10.0.0.300"), "spec.clusterIPs[0]",
     FIELD_VALUE_INVALID),
    ("unknown_session_affinity_is_not_supported", lambda s: s["spec"].update(sessionAffinity="Cookie"),
     "spec.sessionAffinity", FIELD_VALUE_NOT_SUPPORTED),
    ("headless_node_port_service_is_invalid", lambda s: s["spec"].update(type="NodePort", clusterIP="None"),
     "spec.clusterIPs[0]", FIELD_VALUE_INVALID),
    ("named_target_port_must_be_a_port_name", lambda s: _ports(s)[0].update(targetPort="HTTP_PORT"),
     "spec.ports[0].targetPort", FIELD_VALUE_INVALID),
]


@pytest.mark.parametrize(("mutate", "path", "kind"), [c[1:] for c in SERVICE_CASES],
                         ids=[c[0] for c in SERVICE_CASES])
def test_invalid_service_is_rejected_naming_the_field(mutate, path, kind):
    assert (path, kind) in fields(create_errors(changed(SERVICE, mutate)))


def test_headless_service_needs_no_ports():
    assert create_errors(changed(SERVICE, lambda s: s["spec"].update(clusterIP="None", ports=[]))) == []


def test_service_cluster_ip_is_immutable_once_set():
    old = changed(SERVICE, lambda s: s["spec"].update(clusterIP="10.96.0.10"))
    new = changed(SERVICE, lambda s: s["spec"].update(clusterIP="10.96.0.11"))
    assert ("spec.clusterIPs[0]", FIELD_VALUE_INVALID) in fields(update_errors(old, new))


def test_service_update_without_cluster_ip_keeps_the_allocated_one():
    old = changed(SERVICE, lambda s: s["spec"].update(clusterIP="10.96.0.10"))
    new = admitted(SERVICE)
    assert core.core_service.validate_service_update(new, admitted(old)) == []
    assert (new["spec"]["clusterIP"], new["spec"]["clusterIPs"]) == ("10.96.0.10", ["10.96.0.10"])


# -- Endpoints ------------------------------------------------------------------------------


@pytest.mark.parametrize(("mutate", "path", "kind"), [
    (lambda e: e["subsets"][0]["addresses"][0].update(ip="not-an-ip"), "subsets[0].addresses[0].ip",
     FIELD_VALUE_INVALID),
    (lambda e: e["subsets"][0].pop("addresses"), "subsets[0]", FIELD_VALUE_REQUIRED),
    (lambda e: e["subsets"][0]["ports"].append({"port": 443}), "subsets[0].ports[0].name", FIELD_VALUE_REQUIRED),
], ids=["address_must_be_an_ip", "subset_needs_addresses", "several_ports_need_names"])
def test_invalid_endpoints_are_rejected_naming_the_field(mutate, path, kind):
    assert (path, kind) in fields(create_errors(changed(ENDPOINTS, mutate)))


# -- ConfigMap ------------------------------------------------------------------------------


@pytest.mark.parametrize(("mutate", "path", "kind"), [
    (lambda c: c["data"].update({"bad key": "x"}), "data[bad key]", FIELD_VALUE_INVALID),
    (lambda c: c.update(binaryData={"player_initial_lives": "Mw=="}), "data[player_initial_lives]",
     FIELD_VALUE_INVALID),
    (lambda c: c["data"].update(big="x" * (1024 * 1024)), "[]", FIELD_VALUE_TOO_LONG),
], ids=["key_with_a_space_is_invalid", "key_in_data_and_binary_data_is_invalid", "more_than_1MiB_is_too_long"])
def test_invalid_config_map_is_rejected_naming_the_field(mutate, path, kind):
    assert (path, kind) in fields(create_errors(changed(CONFIG_MAP, mutate)))


def test_immutable_config_map_data_may_not_change():
    old = changed(CONFIG_MAP, lambda c: c.update(immutable=True))
    new = changed(old, lambda c: c["data"].update(player_initial_lives="4"))
    assert fields(update_errors(old, new)) == {("data", FIELD_VALUE_FORBIDDEN)}
    unset = changed(old, lambda c: c.pop("immutable"))
    assert fields(update_errors(old, unset)) == {("immutable", FIELD_VALUE_FORBIDDEN)}


# -- Secret ---------------------------------------------------------------------------------


def test_secret_string_data_is_merged_into_data_and_dropped():
    secret = admitted(SECRET)
    assert "stringData" not in secret
    assert base64.b64decode(secret["data"]["username"]) == b"admin"


def test_secret_type_defaults_to_opaque():
    secret = admitted({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dg=="}})
    assert secret["type"] == "Opaque"


@pytest.mark.parametrize(("mutate", "path", "kind"), [
    (lambda s: s.update(stringData={"bad/key": "x"}), "data[bad/key]", FIELD_VALUE_INVALID),
    (lambda s: s.update(type="kubernetes.io/tls", stringData={"tls.crt": "c"}), "data[tls.key]",
     FIELD_VALUE_REQUIRED),
    (lambda s: s.update(stringData={}), "data[username]", FIELD_VALUE_REQUIRED),
], ids=["key_with_a_slash_is_invalid", "tls_secret_needs_a_key", "basic_auth_needs_username_or_password"])
def test_invalid_secret_is_rejected_naming_the_field(mutate, path, kind):
    assert (path, kind) in fields(create_errors(changed(SECRET, mutate)))


def test_secret_type_is_immutable():
    new = changed(SECRET, lambda s: s.update(type="Opaque"))
    assert fields(update_errors(SECRET, new)) == {("type", FIELD_VALUE_INVALID)}


# -- Event and ServiceAccount ---------------------------------------------------------------


def test_event_for_an_object_of_another_namespace_is_invalid():
    event = changed(EVENT, lambda e: e["involvedObject"].update(namespace="kube-system"))
    assert fields(create_errors(event)) == {("involvedObject.namespace", FIELD_VALUE_INVALID)}


def test_event_names_follow_only_path_segment_rules():
    assert create_errors(changed(EVENT, lambda e: e["metadata"].update(name="Nginx_Pod.1"))) == []
    assert ("metadata.name", FIELD_VALUE_INVALID) in fields(
        create_errors(changed(EVENT, lambda e: e["metadata"].update(name="a/b"))))


def test_service_account_with_invalid_name_is_rejected():
    account = changed(SERVICE_ACCOUNT, lambda a: a["metadata"].update(name="Build_Robot"))
    assert fields(create_errors(account)) == {("metadata.name", FIELD_VALUE_INVALID)}
