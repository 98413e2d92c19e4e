"""Server-side Table rendering: the columns and cells `kubectl get` prints, as Kubernetes computes them."""

from datetime import UTC, datetime
from typing import Any

import pytest

from apimachinery.kinds import ResourceType
from apiserver.http_api.tables import age, human_duration, render_table

NOW = datetime(2026, 1, 10, 12, 0, 0, tzinfo=UTC)
CREATED = "2026-01-10T11:55:00Z"  # five minutes before NOW

POD = ResourceType("", "v1", "Pod", "pods")
NODE = ResourceType("", "v1", "Node", "nodes", namespaced=False)
SERVICE = ResourceType("", "v1", "Service", "services")
ENDPOINTS = ResourceType("", "v1", "Endpoints", "endpoints")
EVENT = ResourceType("", "v1", "Event", "events")
DEPLOY = ResourceType("apps", "v1", "Deployment", "deployments")
REVISION = ResourceType("apps", "v1", "ControllerRevision", "controllerrevisions")
JOB = ResourceType("batch", "v1", "Job", "jobs")
CRONJOB = ResourceType("batch", "v1", "CronJob", "cronjobs")
WIDGET = ResourceType("example.com", "v1", "Widget", "widgets")


def meta(name: str = "web", **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "default", "uid": "u1", "creationTimestamp": CREATED, **extra}


def cells(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    table = render_table(rt, [obj], now=NOW)
    names = [c["name"] for c in table["columnDefinitions"]]
    return dict(zip(names, table["rows"][0]["cells"], strict=True))


def pod(containers: int = 1, init: int = 0, status: dict[str, Any] | None = None, **m: Any) -> dict[str, Any]:
    spec = {"containers": [{"name": f"c{i}", "image": "nginx"} for i in range(containers)]}
    if init:
        spec["initContainers"] = [{"name": f"i{i}", "image": "busybox"} for i in range(init)]
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": meta(**m), "spec": spec}
    if status is not None:
        obj["status"] = status
    return obj


def waiting(reason: str, restarts: int = 0, finished: str | None = None) -> dict[str, Any]:
    cs: dict[str, Any] = {"name": "c0", "ready": False, "restartCount": restarts,
                          "state": {"waiting": {"reason": reason}}}
    if finished:
        cs["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": finished}}
    return cs


# ---- human_duration / age ---------------------------------------------------------------------------

@pytest.mark.parametrize(("seconds", "expected"), [
    (-3, "<invalid>"), (-1.5, "0s"), (0, "0s"), (59, "59s"), (119, "119s"), (120, "2m"), (125, "2m5s"),
    (599, "9m59s"), (600, "10m"), (3 * 3600 - 1, "179m"), (3 * 3600, "3h"), (3 * 3600 + 300, "3h5m"),
    (8 * 3600, "8h"), (47 * 3600 + 59 * 60, "47h"), (48 * 3600, "2d"), (51 * 3600, "2d3h"), (8 * 86400, "8d"),
    (730 * 86400, "2y"), (731 * 86400, "2y1d"), (8 * 365 * 86400, "8y"),
])
def test_human_duration_matches_kubernetes_boundaries(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


def test_age_is_unknown_without_a_timestamp_and_human_otherwise() -> None:
    assert age(None, NOW) == "<unknown>"
    assert age("", NOW) == "<unknown>"
    assert age(CREATED, NOW) == "5m"


# ---- Pod -------------------------------------------------------------------------------------------

def test_pod_columns_match_kubernetes_and_wide_ones_have_priority_1() -> None:
    cols = render_table(POD, [], now=NOW)["columnDefinitions"]
    assert [(c["name"], c["priority"]) for c in cols] == [
        ("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0),
        ("IP", 1), ("Node", 1), ("Nominated Node", 1), ("Readiness Gates", 1)]
    assert cols[0]["format"] == "name" and cols[0]["type"] == "string"


@pytest.mark.parametrize(("case", "obj", "ready", "status", "restarts"), [
    ("pending pod with no status", pod(), "0/1", "", "0"),
    ("pending pod", pod(status={"phase": "Pending"}), "0/1", "Pending", "0"),
    ("running and ready", pod(status={"phase": "Running", "containerStatuses": [
        {"name": "c0", "ready": True, "restartCount": 0, "state": {"running": {}}}]}), "1/1", "Running", "0"),
    ("crash looping", pod(status={"phase": "Running", "containerStatuses": [
        waiting("CrashLoopBackOff", 3, "2026-01-10T11:58:00Z")]}), "0/1", "CrashLoopBackOff", "3 (2m ago)"),
    ("image pull backoff", pod(status={"phase": "Pending", "containerStatuses": [waiting("ImagePullBackOff")]}),
     "0/1", "ImagePullBackOff", "0"),
    ("deleting", pod(deletionTimestamp="2026-01-10T11:59:00Z", status={"phase": "Running"}), "0/1", "Terminating",
     "0"),
    ("deleting but already succeeded", pod(deletionTimestamp="2026-01-10T11:59:00Z", status={"phase": "Succeeded"}),
     "0/1", "Succeeded", "0"),
    ("first of two init containers running", pod(init=2, status={"phase": "Pending", "initContainerStatuses": [
        {"name": "i0", "restartCount": 0, "state": {"running": {}}},
        {"name": "i1", "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]}),
     "0/1", "Init:0/2", "0"),
    ("init container failed", pod(init=1, status={"phase": "Pending", "initContainerStatuses": [
        {"name": "i0", "restartCount": 0, "state": {"terminated": {"exitCode": 2}}}]}), "0/1", "Init:ExitCode:2", "0"),
    ("completed", pod(status={"phase": "Succeeded", "containerStatuses": [
        {"name": "c0", "ready": False, "restartCount": 0, "state": {"terminated": {"exitCode": 0,
                                                                                  "reason": "Completed"}}}]}),
     "0/1", "Completed", "0"),
    ("terminated by a signal", pod(status={"phase": "Failed", "containerStatuses": [
        {"name": "c0", "restartCount": 0, "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}),
     "0/1", "Signal:9", "0"),
])
def test_pod_ready_status_and_restarts(case: str, obj: dict[str, Any], ready: str, status: str,
                                       restarts: str) -> None:
    row = cells(POD, obj)
    assert (row["Ready"], row["Status"], row["Restarts"]) == (ready, status, restarts), case


def test_pod_without_status_shows_none_for_ip_and_node_and_its_age() -> None:
    row = cells(POD, pod())
    assert (row["Name"], row["Age"], row["IP"], row["Node"], row["Readiness Gates"]) == (
        "web", "5m", "<none>", "<none>", "<none>")


def test_finished_pods_carry_the_completed_row_condition() -> None:
    table = render_table(POD, [pod(status={"phase": "Succeeded"}), pod(status={"phase": "Running"})], now=NOW)
    assert table["rows"][0]["conditions"][0]["reason"] == "Succeeded"
    assert "conditions" not in table["rows"][1]


# ---- workloads and core kinds -----------------------------------------------------------------------

def test_deployment_ready_up_to_date_available_and_wide_columns() -> None:
    deploy = {"metadata": meta(), "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                                           "template": {"spec": {"containers": [{"name": "w", "image": "nginx:1"}]}}},
              "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    assert cells(DEPLOY, deploy) == {"Name": "web", "Ready": "2/3", "Up-to-date": 3, "Available": 2, "Age": "5m",
                                     "Containers": "w", "Images": "nginx:1", "Selector": "app=web"}
    fresh = cells(DEPLOY, {"metadata": meta(), "spec": {"replicas": 1}})
    assert (fresh["Ready"], fresh["Up-to-date"], fresh["Available"]) == ("0/1", 0, 0)


@pytest.mark.parametrize(("spec", "status", "external", "ports"), [
    ({"type": "ClusterIP", "clusterIP": "10.96.0.10", "ports": [{"port": 80, "protocol": "TCP"}]}, {},
     "<none>", "80/TCP"),
    ({"type": "NodePort", "clusterIP": "10.96.0.11", "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"},
                                                             {"port": 53, "protocol": "UDP"}]}, {},
     "<none>", "80:30080/TCP,53/UDP"),
    ({"type": "LoadBalancer", "clusterIP": "10.96.0.12", "ports": []}, {}, "<pending>", "<none>"),
    ({"type": "LoadBalancer", "clusterIP": "10.96.0.12"}, {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}},
     "1.2.3.4", "<none>"),
])
def test_service_external_ip_and_ports(spec: dict[str, Any], status: dict[str, Any], external: str,
                                       ports: str) -> None:
    row = cells(SERVICE, {"metadata": meta(), "spec": {**spec, "selector": {"app": "web"}}, "status": status})
    assert (row["Type"], row["Cluster-IP"], row["External-IP"], row["Port(s)"], row["Selector"]) == (
        spec["type"], spec["clusterIP"], external, ports, "app=web")


def test_endpoints_show_three_addresses_then_how_many_more() -> None:
    subset = {"addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 5)], "ports": [{"port": 80}]}
    assert cells(ENDPOINTS, {"metadata": meta(), "subsets": [subset]})["Endpoints"] == (
        "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...")
    assert cells(ENDPOINTS, {"metadata": meta()})["Endpoints"] == "<none>"


@pytest.mark.parametrize(("ready", "unschedulable", "status"), [
    ("True", False, "Ready"), ("False", False, "NotReady"), ("True", True, "Ready,SchedulingDisabled"),
    (None, False, "Unknown"),
])
def test_node_status_roles_and_version(ready: str | None, unschedulable: bool, status: str) -> None:
    conditions = [] if ready is None else [{"type": "Ready", "status": ready}]
    node = {"metadata": meta("n1", labels={"node-role.kubernetes.io/control-plane": ""}),
            "spec": {"unschedulable": unschedulable},
            "status": {"conditions": conditions, "nodeInfo": {"kubeletVersion": "v1.31.0"},
                       "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}]}}
    row = cells(NODE, node)
    assert (row["Status"], row["Roles"], row["Version"], row["Internal-IP"], row["External-IP"], row["OS-Image"]) == (
        status, "control-plane", "v1.31.0", "172.18.0.2", "<none>", "<unknown>")


def test_node_without_role_labels_has_roles_none() -> None:
    assert cells(NODE, {"metadata": meta("n1")})["Roles"] == "<none>"


@pytest.mark.parametrize(("spec", "status", "expected_status", "completions", "duration"), [
    ({"completions": 1}, {}, "Running", "0/1", ""),
    ({"completions": 3}, {"succeeded": 3, "startTime": "2026-01-10T11:55:00Z",
                          "completionTime": "2026-01-10T11:56:30Z",
                          "conditions": [{"type": "Complete", "status": "True"}]}, "Complete", "3/3", "90s"),
    ({"parallelism": 2}, {"startTime": "2026-01-10T11:57:00Z",
                          "conditions": [{"type": "Failed", "status": "True"}]}, "Failed", "0/1 of 2", "3m"),
    ({"completions": 1, "suspend": True}, {"conditions": [{"type": "Suspended", "status": "True"}]},
     "Suspended", "0/1", ""),
])
def test_job_status_completions_and_duration(spec: dict[str, Any], status: dict[str, Any], expected_status: str,
                                             completions: str, duration: str) -> None:
    row = cells(JOB, {"metadata": meta(), "spec": spec, "status": status})
    assert (row["Status"], row["Completions"], row["Duration"]) == (expected_status, completions, duration)


def test_cronjob_schedule_timezone_suspend_and_last_schedule() -> None:
    cj = {"metadata": meta(), "spec": {"schedule": "*/5 * * * *", "suspend": False},
          "status": {"active": [{"name": "j1"}], "lastScheduleTime": "2026-01-10T11:58:00Z"}}
    row = cells(CRONJOB, cj)
    assert (row["Schedule"], row["Timezone"], row["Suspend"], row["Active"], row["Last Schedule"]) == (
        "*/5 * * * *", "<none>", "False", 1, "2m")


def test_controller_revision_names_its_controller_with_group() -> None:
    rev = {"metadata": meta("web-7d4", ownerReferences=[
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "web", "controller": True}]), "revision": 2}
    assert cells(REVISION, rev) == {"Name": "web-7d4", "Controller": "daemonset.apps/web", "Revision": 2, "Age": "5m"}


def test_event_columns_lead_with_last_seen_and_name_is_wide() -> None:
    ev = {"metadata": meta("web.17a"), "involvedObject": {"kind": "Pod", "name": "web"}, "type": "Normal",
          "reason": "Scheduled", "message": " assigned ", "source": {"component": "default-scheduler"},
          "firstTimestamp": "2026-01-10T11:50:00Z", "lastTimestamp": "2026-01-10T11:58:00Z"}
    row = cells(EVENT, ev)
    assert (row["Last Seen"], row["Object"], row["Message"], row["First Seen"], row["Count"], row["Source"]) == (
        "2m", "pod/web", "assigned", "10m", 1, "default-scheduler")
    cols = render_table(EVENT, [], now=NOW)["columnDefinitions"]
    assert cols[-1] == {**cols[-1], "name": "Name", "format": "name", "priority": 1}



PDB = ResourceType("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets")


@pytest.mark.parametrize(("spec", "min_available", "max_unavailable"), [
    ({"minAvailable": 2}, "2", "N/A"), ({"maxUnavailable": "25%"}, "N/A", "25%"), ({}, "N/A", "N/A")])
def test_pdb_columns_show_the_budget_and_allowed_disruptions(spec: dict[str, Any], min_available: str,
                                                             max_unavailable: str) -> None:
    row = cells(PDB, {"metadata": meta(), "spec": spec, "status": {"disruptionsAllowed": 1}})
    assert row == {"Name": "web", "Min Available": min_available, "Max Unavailable": max_unavailable,
                   "Allowed Disruptions": 1, "Age": "5m"}

# ---- the Table envelope -------------------------------------------------------------------------------

@pytest.mark.parametrize(("include", "expected"), [
    ("Metadata", {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta()}),
    ("Object", pod()),
    ("None", None),
])
def test_include_object_shapes(include: str, expected: dict[str, Any] | None) -> None:
    row = render_table(POD, [pod()], now=NOW, include_object=include)["rows"][0]
    assert row.get("object") == expected


def test_table_envelope_carries_list_metadata() -> None:
    table = render_table(POD, [], now=NOW, list_metadata={"resourceVersion": "42", "continue": "abc"})
    assert (table["kind"], table["apiVersion"], table["metadata"], table["rows"]) == (
        "Table", "meta.k8s.io/v1", {"resourceVersion": "42", "continue": "abc"}, [])


def test_unknown_kind_gets_the_default_table_convertor_columns() -> None:
    table = render_table(WIDGET, [{"metadata": meta("w1")}, {"metadata": {"name": "w2"}}], now=NOW)
    assert [(c["name"], c["type"], c["format"]) for c in table["columnDefinitions"]] == [
        ("Name", "string", "name"), ("Created At", "date", "")]
    assert [r["cells"] for r in table["rows"]] == [["w1", "2026-01-10T11:55:00Z"], ["w2", "0001-01-01T00:00:00Z"]]


@pytest.mark.parametrize("kind", ["Namespace", "ConfigMap", "Secret", "ServiceAccount", "ReplicaSet", "StatefulSet",
                                  "DaemonSet", "Lease", "Pod", "Node", "Service", "Endpoints", "Event", "Deployment",
                                  "ControllerRevision", "Job", "CronJob"])
def test_every_kind_renders_a_bare_object_with_one_cell_per_column(kind: str) -> None:
    table = render_table(ResourceType("", "v1", kind, kind.lower() + "s"), [{"metadata": {"name": "x"}}], now=NOW)
    assert len(table["rows"][0]["cells"]) == len(table["columnDefinitions"])
    assert "x" in table["rows"][0]["cells"]
