"""kubelet.node_status: the registered Node, its status and change detection, as Kubernetes computes them."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from apimachinery.quantity import parse_quantity
from kubelet.node_status import (
    NodeConfig,
    NodeObservation,
    compute_allocatable,
    compute_capacity,
    compute_node_for_registration,
    compute_node_status,
    condition_events,
    node_status_changed,
    parse_taints,
    reconcile_existing_node,
)

GI = 1024**3
MI = 1024**2
T1, T2, T3 = "2026-01-01T00:00:00Z", "2026-01-01T00:00:10Z", "2026-01-01T00:00:20Z"
CONFIG = NodeConfig(node_name="node-1", address="10.0.0.5", labels={"zone": "a"},
                    taints=parse_taints(["dedicated=gpu:NoSchedule"]), kubelet_port=10250)
OBS = NodeObservation(cpu_count=4, memory_bytes=8 * GI, ephemeral_storage_bytes=100 * GI,
                      memory_available_bytes=6 * GI, disk_available_bytes=50 * GI, pid_max=1000, pid_available=900,
                      runtime_version="docker://20.10.24", kernel_version="6.1.0", os_image="Debian GNU/Linux 12",
                      boot_id="b", machine_id="m")


def conditions(status):
    return {c["type"]: c for c in status["conditions"]}


# -- labels and taints ------------------------------------------------------------------------


def test_registration_has_default_and_extra_labels_taints_and_status():
    node = compute_node_for_registration(CONFIG, OBS)
    assert node["metadata"]["name"] == "node-1"
    assert node["metadata"]["labels"] == {
        "kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64", "zone": "a"}
    assert node["spec"]["taints"] == [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
    assert node["status"]["capacity"]["cpu"] == "4"
    assert "conditions" not in node["status"]  # the first status sync adds them, as in Kubernetes
    status = compute_node_status(CONFIG, OBS, node["status"], T1)
    assert [c["type"] for c in status["conditions"]] == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]


def test_hostname_override_is_the_hostname_label_and_address():
    config = dataclasses.replace(CONFIG, hostname="host.example")
    node = compute_node_for_registration(config, OBS)
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "host.example"
    assert node["status"]["addresses"] == [{"type": "InternalIP", "address": "10.0.0.5"},
                                           {"type": "Hostname", "address": "host.example"}]


@pytest.mark.parametrize(("spec", "taint"), [
    ("a=b:NoSchedule", {"key": "a", "value": "b", "effect": "NoSchedule"}),
    ("a:NoExecute", {"key": "a", "effect": "NoExecute"}),
    ("example.com/x=:PreferNoSchedule", {"key": "example.com/x", "effect": "PreferNoSchedule"}),
])
def test_parse_taints_accepts_kubernetes_forms(spec, taint):
    assert parse_taints([spec]) == (taint,)


@pytest.mark.parametrize(("spec", "fragment"), [
    ("a=b", "expected"),
    ("a=b:Sometimes", "effect 'Sometimes'"),
    (":NoSchedule", "expected"),
    ("bad key!=v:NoSchedule", "key 'bad key!'"),
    ("k=bad value:NoSchedule", "value 'bad value'"),
])
def test_parse_taints_errors_name_the_flag_and_the_problem(spec, fragment):
    with pytest.raises(ValueError, match="--register-with-taints") as info:
        parse_taints([spec])
    assert fragment in str(info.value)


def test_parse_taints_rejects_duplicates_by_key_and_effect():
    with pytest.raises(ValueError, match="duplicated"):
        parse_taints(["a=1:NoSchedule", "a=2:NoSchedule"])
    assert len(parse_taints(["a=1:NoSchedule", "a=1:NoExecute"])) == 2


def test_reconcile_restores_owned_labels_and_taints_and_keeps_others():
    existing: dict[str, Any] = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": "node-1", "resourceVersion": "5",
                             "labels": {"kubernetes.io/hostname": "old", "team": "blue"}},
                "spec": {"taints": [{"key": "other", "effect": "NoExecute"}]}, "status": {"x": 1}}
    node = reconcile_existing_node(CONFIG, existing)
    assert node is not None
    assert node["metadata"]["labels"]["team"] == "blue"
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "node-1"
    assert node["metadata"]["labels"]["zone"] == "a"
    assert node["spec"]["taints"] == [{"key": "other", "effect": "NoExecute"},
                                      {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
    assert node["metadata"]["resourceVersion"] == "5" and node["status"] == {"x": 1}
    assert existing["metadata"]["labels"]["kubernetes.io/hostname"] == "old"  # input untouched
    assert reconcile_existing_node(CONFIG, node) is None


# -- capacity and allocatable -----------------------------------------------------------------


def test_capacity_from_the_machine_with_default_max_pods():
    assert compute_capacity(CONFIG, OBS) == {"cpu": "4", "memory": "8Gi", "ephemeral-storage": "100Gi",
                                             "pods": "110", "hugepages-1Gi": "0", "hugepages-2Mi": "0"}


def test_capacity_overrides_win():
    config = dataclasses.replace(CONFIG, cpu="16", memory="64Gi", max_pods=500, ephemeral_storage="1Ti")
    capacity = compute_capacity(config, OBS)
    assert (capacity["cpu"], capacity["memory"], capacity["pods"], capacity["ephemeral-storage"]) == (
        "16", "64Gi", "500", "1Ti")


@pytest.mark.parametrize(("memory", "storage", "want_memory", "want_storage"), [
    ("8Gi", "100Gi", 8 * GI - 100 * MI, 90 * GI),
    ("1Gi", "10G", GI - 100 * MI, 9_000_000_000),
    ("50Mi", "0", 0, 0),
])
def test_allocatable_subtracts_hard_eviction_thresholds(memory, storage, want_memory, want_storage):
    allocatable = compute_allocatable({"cpu": "2", "memory": memory, "ephemeral-storage": storage, "pods": "110"})
    assert parse_quantity(allocatable["memory"]).value() == want_memory
    assert parse_quantity(allocatable["ephemeral-storage"]).value() == want_storage
    assert allocatable["cpu"] == "2" and allocatable["pods"] == "110"


def test_node_info_and_daemon_endpoints():
    status = compute_node_status(CONFIG, OBS, None, T1)
    assert status["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}
    info = status["nodeInfo"]
    assert info["kubeletVersion"] == CONFIG.kubelet_version == info["kubeProxyVersion"]
    assert info["containerRuntimeVersion"] == "docker://20.10.24"
    assert (info["operatingSystem"], info["architecture"], info["kernelVersion"]) == ("linux", "amd64", "6.1.0")
    assert (info["bootID"], info["machineID"], info["systemUUID"], info["osImage"]) == (
        "b", "m", "m", "Debian GNU/Linux 12")


# -- conditions -------------------------------------------------------------------------------


def test_healthy_node_conditions_use_kubernetes_reasons():
    got = {t: (c["status"], c["reason"], c["message"]) for t, c in conditions(compute_node_status(
        CONFIG, OBS, None, T1)).items()}
    assert got == {
        "MemoryPressure": ("False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        "DiskPressure": ("False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        "PIDPressure": ("False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        "Ready": ("True", "KubeletReady", "kubelet is posting ready status"),
    }


PRESSURE_CASES = [
    ("MemoryPressure", dict(memory_available_bytes=99 * MI), CONFIG, "KubeletHasInsufficientMemory"),
    ("DiskPressure", dict(disk_available_bytes=9 * GI), CONFIG, "KubeletHasDiskPressure"),
    ("PIDPressure", dict(pid_available=50), dataclasses.replace(CONFIG, pid_available_threshold=0.1),
     "KubeletHasInsufficientPID"),
]


@pytest.mark.parametrize(("kind", "change", "config", "reason"), PRESSURE_CASES)
def test_pressure_transition_updates_last_transition_time_and_steady_state_keeps_it(kind, change, config, reason):
    healthy = compute_node_status(config, OBS, None, T1)
    steady = compute_node_status(config, OBS, healthy, T2)
    assert conditions(steady)[kind]["lastTransitionTime"] == T1
    assert conditions(steady)[kind]["lastHeartbeatTime"] == T2
    pressured = compute_node_status(config, dataclasses.replace(OBS, **change), steady, T3)
    condition = conditions(pressured)[kind]
    assert (condition["status"], condition["reason"], condition["lastTransitionTime"]) == ("True", reason, T3)
    assert conditions(pressured)["Ready"]["lastTransitionTime"] == T1  # others keep theirs


def test_pid_pressure_is_off_without_a_threshold_as_in_kubernetes():
    status = compute_node_status(CONFIG, dataclasses.replace(OBS, pid_available=0), None, T1)
    assert conditions(status)["PIDPressure"]["status"] == "False"


def test_runtime_down_makes_the_node_not_ready_with_the_error():
    down = dataclasses.replace(OBS, runtime_ok=False, runtime_error="docker: connection refused")
    ready = compute_node_status(CONFIG, OBS, None, T1)
    status = compute_node_status(CONFIG, down, ready, T2)
    condition = conditions(status)["Ready"]
    assert (condition["status"], condition["reason"], condition["message"], condition["lastTransitionTime"]) == (
        "False", "KubeletNotReady", "docker: connection refused", T2)
    default = conditions(compute_node_status(CONFIG, dataclasses.replace(OBS, runtime_ok=False), None, T1))
    assert default["Ready"]["message"] == "container runtime is down"


# -- change detection -------------------------------------------------------------------------


def test_changed_ignores_heartbeats_only():
    first = compute_node_status(CONFIG, OBS, None, T1)
    second = compute_node_status(CONFIG, OBS, first, T2)
    assert not node_status_changed(first, second)
    assert node_status_changed(None, second)
    pressured = compute_node_status(CONFIG, dataclasses.replace(OBS, memory_available_bytes=0), second, T3)
    assert node_status_changed(second, pressured)
    rebooted = compute_node_status(CONFIG, dataclasses.replace(OBS, boot_id="new"), second, T3)
    assert node_status_changed(second, rebooted)


def test_changed_compares_quantities_by_value():
    first = compute_node_status(CONFIG, OBS, None, T1)
    canonical = {**first, "capacity": {**first["capacity"], "memory": str(8 * GI)}}
    assert not node_status_changed(canonical, compute_node_status(CONFIG, OBS, first, T2))


def test_condition_events_name_each_transition():
    ready = compute_node_status(CONFIG, OBS, None, T1)
    assert condition_events(None, ready) == ["NodeHasSufficientMemory", "NodeHasNoDiskPressure",
                                             "NodeHasSufficientPID", "NodeReady"]
    assert condition_events(ready, compute_node_status(CONFIG, OBS, ready, T2)) == []
    down = compute_node_status(CONFIG, dataclasses.replace(OBS, runtime_ok=False), ready, T2)
    assert condition_events(ready, down) == ["NodeNotReady"]


def test_observation_defaults_make_a_healthy_hollow_node():
    status = compute_node_status(NodeConfig(node_name="hollow-0"), NodeObservation(), None, T1)
    assert all(c["status"] == ("True" if c["type"] == "Ready" else "False") for c in status["conditions"])
