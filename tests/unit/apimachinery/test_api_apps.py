"""apps/v1: Deployment, ReplicaSet, StatefulSet, DaemonSet and ControllerRevision."""

from __future__ import annotations

import pytest
import yaml

from apimachinery import schema
from apimachinery.api import apps
from apimachinery.errors import (
    FIELD_VALUE_FORBIDDEN,
    FIELD_VALUE_INVALID,
    FIELD_VALUE_NOT_SUPPORTED,
    FIELD_VALUE_REQUIRED,
)
from tests.unit.apimachinery.kind_helpers import admitted, changed, create_errors, fields, messages, update_errors

# https://kubernetes.io/docs/concepts/workloads/controllers/deployment/
DEPLOYMENT = yaml.safe_load("""
apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
  labels:
    app: nginx
spec:
  replicas: 3
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.14.2
        ports:
        - containerPort: 80
""")

# https://kubernetes.io/docs/concepts/workloads/controllers/replicaset/
REPLICA_SET = yaml.safe_load("""
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: frontend
  labels:
    app: guestbook
    tier: frontend
spec:
  replicas: 3
  selector:
    matchLabels:
      tier: frontend
  template:
    metadata:
      labels:
        tier: frontend
    spec:
      containers:
      - name: php-redis
        image: us-docker.pkg.dev/google-samples/containers/gke/gb-frontend:v5
""")

# https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/
STATEFUL_SET = yaml.safe_load("""
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  selector:
    matchLabels:
      app: nginx
  serviceName: "nginx"
  replicas: 3
  minReadySeconds: 10
  template:
    metadata:
      labels:
        app: nginx
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: nginx
        image: registry.k8s.io/nginx-slim:0.24
        ports:
        - containerPort: 80
          name: web
        volumeMounts:
        - name: www
          mountPath: /usr/share/nginx/html
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: [ "ReadWriteOnce" ]
      storageClassName: "my-storage-class"
      resources:
        requests:
          storage: 1Gi
""")

# https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/
DAEMON_SET = yaml.safe_load("""
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: fluentd-elasticsearch
  namespace: kube-system
  labels:
    k8s-app: fluentd-logging
spec:
  selector:
    matchLabels:
      name: fluentd-elasticsearch
  template:
    metadata:
      labels:
        name: fluentd-elasticsearch
    spec:
      tolerations:
      - key: node-role.kubernetes.io/control-plane
        operator: Exists
        effect: NoSchedule
      containers:
      - name: fluentd-elasticsearch
        image: quay.io/fluentd_elasticsearch/fluentd:v2.5.2
        resources:
          limits:
            memory: 200Mi
          requests:
            cpu: 100m
            memory: 200Mi
        volumeMounts:
        - name: varlog
          mountPath: /var/log
      terminationGracePeriodSeconds: 30
      volumes:
      - name: varlog
        hostPath:
          path: /var/log
""")

CONTROLLER_REVISION = yaml.safe_load("""
apiVersion: apps/v1
kind: ControllerRevision
metadata:
  name: web-5d8c9b6b7f
revision: 1
data:
  spec:
    template:
      spec:
        containers:
        - name: nginx
          image: nginx:1.25
""")

FIXTURES = [DEPLOYMENT, REPLICA_SET, STATEFUL_SET, DAEMON_SET, CONTROLLER_REVISION]


@pytest.mark.parametrize("manifest", FIXTURES, ids=[m["kind"] for m in FIXTURES])
def test_docs_manifest_validates_clean_after_defaulting(manifest):
    assert messages(create_errors(manifest)) == []


@pytest.mark.parametrize("manifest", FIXTURES, ids=[m["kind"] for m in FIXTURES])
def test_defaulted_manifest_still_matches_the_openapi_schema(manifest):
    assert schema.validate(admitted(manifest), f"io.k8s.api.apps.v1.{manifest['kind']}").errors == []


def test_apps_types_are_addressed_like_kubernetes():
    table = {t.kind: (t.plural, t.short_names, t.categories, t.has_status) for t in apps.TYPES}
    assert table == {
        "Deployment": ("deployments", ("deploy",), ("all",), True),
        "ReplicaSet": ("replicasets", ("rs",), ("all",), True),
        "StatefulSet": ("statefulsets", ("sts",), ("all",), True),
        "DaemonSet": ("daemonsets", ("ds",), ("all",), True),
        "ControllerRevision": ("controllerrevisions", (), (), False)}
    assert all(schema.has_definition(t.schema_ref or "") for t in apps.TYPES)


# -- defaults -------------------------------------------------------------------------------


def test_deployment_defaults_as_kubernetes_shows_them():
    spec = admitted(changed(DEPLOYMENT, lambda d: d["spec"].pop("replicas")))["spec"]
    assert (spec["replicas"], spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (1, 10, 600)
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    pod_spec = spec["template"]["spec"]
    assert (pod_spec["restartPolicy"], pod_spec["dnsPolicy"], pod_spec["containers"][0]["imagePullPolicy"]) == (
        "Always", "ClusterFirst", "IfNotPresent")
    assert "enableServiceLinks" not in pod_spec  # a Pod-only default


def test_recreate_deployment_gets_no_rolling_update_defaults():
    spec = admitted(changed(DEPLOYMENT, lambda d: d["spec"].update(strategy={"type": "Recreate"})))["spec"]
    assert spec["strategy"] == {"type": "Recreate"}


def test_replica_set_defaults_one_replica():
    assert admitted(changed(REPLICA_SET, lambda r: r["spec"].pop("replicas")))["spec"]["replicas"] == 1


def test_stateful_set_defaults_as_kubernetes_shows_them():
    spec = admitted(STATEFUL_SET)["spec"]
    assert {k: spec[k] for k in ("podManagementPolicy", "updateStrategy", "revisionHistoryLimit",
                                 "persistentVolumeClaimRetentionPolicy")} == {
        "podManagementPolicy": "OrderedReady",
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
        "revisionHistoryLimit": 10,
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"}}
    claim = spec["volumeClaimTemplates"][0]
    assert (claim["spec"]["volumeMode"], claim["status"]["phase"]) == ("Filesystem", "Pending")


def test_daemon_set_defaults_rolling_update_one_unavailable_no_surge():
    spec = admitted(DAEMON_SET)["spec"]
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert spec["revisionHistoryLimit"] == 10


# -- Deployment validation ------------------------------------------------------------------


def _rolling(d):
    return d["spec"].setdefault("strategy", {"type": "RollingUpdate"}).setdefault("rollingUpdate", {})


def _template_spec(obj):
    return obj["spec"]["template"]["spec"]


DEPLOYMENT_CASES = [
    ("negative_replicas_is_invalid_naming_spec_replicas", lambda d: d["spec"].update(replicas=-1), "spec.replicas",
     FIELD_VALUE_INVALID),
    ("missing_selector_is_required", lambda d: d["spec"].pop("selector"), "spec.selector", FIELD_VALUE_REQUIRED),
    ("empty_selector_is_invalid", lambda d: d["spec"].update(selector={}), "spec.selector", FIELD_VALUE_INVALID),
    ("selector_not_matching_template_labels_is_invalid",
     lambda d: d["spec"]["selector"].update(matchLabels={"app": "web"}), "spec.template.metadata.labels",
     FIELD_VALUE_INVALID),
    ("selector_with_bad_operator_is_invalid",
     lambda d: d["spec"]["selector"].update(matchExpressions=[{"key": "app", "operator": "Equals"}]),
     "spec.selector.matchExpressions[0].operator", FIELD_VALUE_INVALID),
    ("with_max_surge_and_max_unavailable_zero_is_invalid", lambda d: _rolling(d).update(maxSurge=0, maxUnavailable=0),
     "spec.strategy.rollingUpdate.maxUnavailable", FIELD_VALUE_INVALID),
    ("max_unavailable_above_100_percent_is_invalid", lambda d: _rolling(d).update(maxUnavailable="110%"),
     "spec.strategy.rollingUpdate.maxUnavailable", FIELD_VALUE_INVALID),
    ("max_surge_that_is_not_a_percentage_is_invalid", lambda d: _rolling(d).update(maxSurge="five"),
     "spec.strategy.rollingUpdate.maxSurge", FIELD_VALUE_INVALID),
    ("negative_max_surge_is_invalid", lambda d: _rolling(d).update(maxSurge=-1),
     "spec.strategy.rollingUpdate.maxSurge", FIELD_VALUE_INVALID),
    ("recreate_with_rolling_update_is_forbidden",
     lambda d: d["spec"].update(strategy={"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}),
     "spec.strategy.rollingUpdate", FIELD_VALUE_FORBIDDEN),
    ("unknown_strategy_is_not_supported", lambda d: d["spec"].update(strategy={"type": "BlueGreen"}),
     "spec.strategy", FIELD_VALUE_NOT_SUPPORTED),
    ("negative_min_ready_seconds_is_invalid", lambda d: d["spec"].update(minReadySeconds=-5),
     "spec.minReadySeconds", FIELD_VALUE_INVALID),
    ("progress_deadline_not_above_min_ready_is_invalid",
     lambda d: d["spec"].update(minReadySeconds=30, progressDeadlineSeconds=30), "spec.progressDeadlineSeconds",
     FIELD_VALUE_INVALID),
    ("template_restart_policy_never_is_not_supported", lambda d: _template_spec(d).update(restartPolicy="Never"),
     "spec.template.spec.restartPolicy", FIELD_VALUE_NOT_SUPPORTED),
    ("template_active_deadline_is_forbidden", lambda d: _template_spec(d).update(activeDeadlineSeconds=30),
     "spec.template.spec.activeDeadlineSeconds", FIELD_VALUE_FORBIDDEN),
    ("template_container_without_image_is_required", lambda d: _template_spec(d)["containers"][0].pop("image"),
     "spec.template.spec.containers[0].image", FIELD_VALUE_REQUIRED),
    ("invalid_template_label_is_reported_at_template_labels",
     lambda d: d["spec"]["template"]["metadata"]["labels"].update(tier="front end"), "spec.template.labels",
     FIELD_VALUE_INVALID),
]


@pytest.mark.parametrize(("mutate", "path", "kind"), [c[1:] for c in DEPLOYMENT_CASES],
                         ids=[c[0] for c in DEPLOYMENT_CASES])
def test_invalid_deployment_is_rejected_naming_the_field(mutate, path, kind):
    assert (path, kind) in fields(create_errors(changed(DEPLOYMENT, mutate)))


def test_deployment_messages_are_kubernetes():
    both_zero = changed(DEPLOYMENT, lambda d: _rolling(d).update(maxSurge=0, maxUnavailable=0))
    assert messages(create_errors(both_zero)) == [
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0"]
    mismatch = changed(DEPLOYMENT, lambda d: d["spec"]["selector"].update(matchLabels={"app": "web"}))
    assert messages(create_errors(mismatch))[0].endswith("`selector` does not match template `labels`")


def test_deployment_selector_is_immutable():
    new = changed(DEPLOYMENT, lambda d: (d["spec"]["selector"]["matchLabels"].update(tier="web"),
                                         d["spec"]["template"]["metadata"]["labels"].update(tier="web")))
    assert fields(update_errors(DEPLOYMENT, new)) == {("spec.selector", FIELD_VALUE_INVALID)}


def test_deployment_update_of_image_and_replicas_is_allowed():
    new = changed(DEPLOYMENT, lambda d: (d["spec"].update(replicas=5),
                                         _template_spec(d)["containers"][0].update(image="nginx:1.25")))
    assert update_errors(DEPLOYMENT, new) == []


# -- ReplicaSet -----------------------------------------------------------------------------


@pytest.mark.parametrize(("mutate", "path", "kind"), [
    (lambda r: r["spec"].update(replicas=-1), "spec.replicas", FIELD_VALUE_INVALID),
    (lambda r: r["spec"]["template"]["metadata"].update(labels={"tier": "backend"}), "spec.template.metadata.labels",
     FIELD_VALUE_INVALID),
    (lambda r: r["spec"].update(selector={}), "spec.selector", FIELD_VALUE_INVALID),
], ids=["negative_replicas_is_invalid", "selector_must_match_template", "empty_selector_is_invalid"])
def test_invalid_replica_set_is_rejected_naming_the_field(mutate, path, kind):
    assert (path, kind) in fields(create_errors(changed(REPLICA_SET, mutate)))


def test_replica_set_selector_is_immutable():
    new = changed(REPLICA_SET, lambda r: r["spec"]["selector"]["matchLabels"].update(app="guestbook"))
    new["spec"]["template"]["metadata"]["labels"]["app"] = "guestbook"
    assert ("spec.selector", FIELD_VALUE_INVALID) in fields(update_errors(REPLICA_SET, new))


# -- StatefulSet ----------------------------------------------------------------------------


@pytest.mark.parametrize(("mutate", "path", "kind"), [
    (lambda s: s["metadata"].update(name="web.v1"), "metadata.name", FIELD_VALUE_INVALID),
    (lambda s: s["spec"].update(podManagementPolicy="Random"), "spec.podManagementPolicy", FIELD_VALUE_INVALID),
    (lambda s: s["spec"].update(updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": -1}}),
     "spec.updateStrategy.rollingUpdate.partition", FIELD_VALUE_INVALID),
    (lambda s: s["spec"].update(updateStrategy={"type": "OnDelete", "rollingUpdate": {"partition": 1}}),
     "spec.updateStrategy.rollingUpdate", FIELD_VALUE_INVALID),
    (lambda s: s["spec"].update(selector={}), "spec.selector", FIELD_VALUE_INVALID),
    (lambda s: s["spec"].update(replicas=-3), "spec.replicas", FIELD_VALUE_INVALID),
    (lambda s: _template_spec(s).update(restartPolicy="OnFailure"), "spec.template.spec.restartPolicy",
     FIELD_VALUE_NOT_SUPPORTED),
    (lambda s: s["spec"].update(persistentVolumeClaimRetentionPolicy={"whenDeleted": "Keep"}),
     "spec.persistentVolumeClaimRetentionPolicy.whenDeleted", FIELD_VALUE_NOT_SUPPORTED),
], ids=["name_must_be_a_dns_label", "unknown_pod_management_policy_is_invalid", "negative_partition_is_invalid",
        "on_delete_with_rolling_update_is_invalid", "empty_selector_is_invalid", "negative_replicas_is_invalid",
        "restart_policy_must_be_always", "unknown_claim_retention_is_not_supported"])
def test_invalid_stateful_set_is_rejected_naming_the_field(mutate, path, kind):
    assert (path, kind) in fields(create_errors(changed(STATEFUL_SET, mutate)))


def test_stateful_set_pod_spec_is_not_validated_like_kubernetes():
    # Kubernetes validates only the template's labels and annotations; the pods fail later.
    without_image = changed(STATEFUL_SET, lambda s: _template_spec(s)["containers"][0].pop("image"))
    assert create_errors(without_image) == []


def test_stateful_set_update_may_change_replicas_template_and_strategy_only():
    allowed = changed(STATEFUL_SET, lambda s: (s["spec"].update(replicas=5, minReadySeconds=0),
                                               _template_spec(s)["containers"][0].update(image="nginx:1.25")))
    assert update_errors(STATEFUL_SET, allowed) == []
    renamed = changed(STATEFUL_SET, lambda s: s["spec"].update(serviceName="other"))
    assert fields(update_errors(STATEFUL_SET, renamed)) == {("spec", FIELD_VALUE_FORBIDDEN)}


# -- DaemonSet ------------------------------------------------------------------------------


def _ds_rolling(d):
    return d["spec"].setdefault("updateStrategy", {"type": "RollingUpdate"}).setdefault("rollingUpdate", {})


@pytest.mark.parametrize(("mutate", "path", "kind"), [
    (lambda d: _template_spec(d).update(restartPolicy="OnFailure"), "spec.template.spec.restartPolicy",
     FIELD_VALUE_NOT_SUPPORTED),
    (lambda d: _ds_rolling(d).update(maxUnavailable=0, maxSurge=0), "spec.updateStrategy.rollingUpdate.maxUnavailable",
     FIELD_VALUE_REQUIRED),
    (lambda d: _ds_rolling(d).update(maxUnavailable=1, maxSurge=1), "spec.updateStrategy.rollingUpdate.maxSurge",
     FIELD_VALUE_INVALID),
    (lambda d: d["spec"].update(updateStrategy={"type": "Rolling"}), "spec.updateStrategy",
     FIELD_VALUE_NOT_SUPPORTED),
    (lambda d: d["spec"].pop("selector"), "spec.template.metadata.labels", FIELD_VALUE_INVALID),
    (lambda d: _template_spec(d)["volumes"][0]["hostPath"].pop("path"), "spec.template.spec.volumes[0].hostPath.path",
     FIELD_VALUE_REQUIRED),
], ids=["restart_policy_must_be_always", "max_unavailable_and_max_surge_zero_is_required",
        "max_unavailable_and_max_surge_both_set_is_invalid", "unknown_update_strategy_is_not_supported",
        "missing_selector_matches_no_template", "host_path_volume_needs_a_path"])
def test_invalid_daemon_set_is_rejected_naming_the_field(mutate, path, kind):
    assert (path, kind) in fields(create_errors(changed(DAEMON_SET, mutate)))


def test_daemon_set_selector_is_immutable():
    new = changed(DAEMON_SET, lambda d: (d["spec"]["selector"]["matchLabels"].update(tier="logs"),
                                         d["spec"]["template"]["metadata"]["labels"].update(tier="logs")))
    assert fields(update_errors(DAEMON_SET, new)) == {("spec.selector", FIELD_VALUE_INVALID)}


# -- ControllerRevision ---------------------------------------------------------------------


@pytest.mark.parametrize(("mutate", "path", "kind"), [
    (lambda r: r.pop("data"), "data", FIELD_VALUE_REQUIRED),
    (lambda r: r.update(revision=-1), "revision", FIELD_VALUE_INVALID),
], ids=["missing_data_is_required", "negative_revision_is_invalid"])
def test_invalid_controller_revision_is_rejected_naming_the_field(mutate, path, kind):
    assert (path, kind) in fields(create_errors(changed(CONTROLLER_REVISION, mutate)))


def test_controller_revision_data_is_immutable():
    new = changed(CONTROLLER_REVISION, lambda r: r["data"]["spec"].update(replicas=2))
    assert fields(update_errors(CONTROLLER_REVISION, new)) == {("data", FIELD_VALUE_INVALID)}
