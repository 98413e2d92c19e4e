"""The Node object a kubelet registers and the status it posts, as pure functions.

Modelled on ``pkg/kubelet/kubelet_node_status.go`` (``initialNode``, ``updateDefaultLabels``,
``setNodeStatus``) and ``pkg/kubelet/nodestatus/setters.go`` (``MachineInfo``, ``NodeAddress``,
``VersionInfo``, ``DaemonEndpoints``, ``MemoryPressureCondition``, ``DiskPressureCondition``,
``PIDPressureCondition``, ``ReadyCondition``).

Inputs are a :class:`NodeConfig` (the kubelet's flags) and a :class:`NodeObservation` (what the machine
looks like now; :mod:`kubelet.host_info` reads a real one, hollow nodes build one by hand). Nothing here does
I/O or reads a clock: ``now`` is passed in.

Eviction thresholds are Kubernetes' hard-eviction defaults on Linux (``DefaultEvictionHard``):
``memory.available<100Mi`` and ``nodefs.available<10%``. Kubernetes has *no* default ``pid.available``
threshold, so PIDPressure stays False unless ``NodeConfig.pid_available_threshold`` is set (the kubelet flag
``--eviction-hard=pid.available<10%`` would set it to 0.10). Allocatable is capacity minus the hard eviction
reservation (memory minus 100Mi, ephemeral-storage minus 10%), as ``GetNodeAllocatableReservation`` computes
it with no system/kube reserved.

Conditions keep ``lastTransitionTime`` from the previous status unless their status changed; every
computation sets ``lastHeartbeatTime`` to ``now``. :func:`node_status_changed` ignores heartbeats, so the
caller posts status only on a real change or once per ``nodeStatusReportFrequency``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from apimachinery.names import is_qualified_name, is_valid_label_value
from apimachinery.quantity import BINARY_SI, Quantity, parse_quantity

Object = dict[str, Any]

TAINT_FLAG = "--register-with-taints"
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
DEFAULT_MAX_PODS = 110
EVICTION_MEMORY_AVAILABLE = 100 * 1024 * 1024  # memory.available<100Mi
EVICTION_NODEFS_AVAILABLE = 0.10  # nodefs.available<10%

LABEL_HOSTNAME = "kubernetes.io/hostname"
LABEL_OS = "kubernetes.io/os"
LABEL_ARCH = "kubernetes.io/arch"
LABEL_BETA_OS = "beta.kubernetes.io/os"
LABEL_BETA_ARCH = "beta.kubernetes.io/arch"
DEFAULT_LABELS = (LABEL_HOSTNAME, LABEL_OS, LABEL_ARCH, LABEL_BETA_OS, LABEL_BETA_ARCH)

MEMORY_PRESSURE = "MemoryPressure"
DISK_PRESSURE = "DiskPressure"
PID_PRESSURE = "PIDPressure"
READY = "Ready"
RUNTIME_DOWN = "container runtime is down"

# condition type -> (status True: reason, message), (status False: reason, message)
_PRESSURE_TEXT = {
    MEMORY_PRESSURE: (("KubeletHasInsufficientMemory", "kubelet has insufficient memory available"),
                      ("KubeletHasSufficientMemory", "kubelet has sufficient memory available")),
    DISK_PRESSURE: (("KubeletHasDiskPressure", "kubelet has disk pressure"),
                    ("KubeletHasNoDiskPressure", "kubelet has no disk pressure")),
    PID_PRESSURE: (("KubeletHasInsufficientPID", "kubelet has insufficient PID available"),
                   ("KubeletHasSufficientPID", "kubelet has sufficient PID available")),
}
# The Events the kubelet records when a condition changes (recordEventFunc in setters.go).
_EVENT_REASONS = {
    MEMORY_PRESSURE: ("NodeHasInsufficientMemory", "NodeHasSufficientMemory"),
    DISK_PRESSURE: ("NodeHasDiskPressure", "NodeHasNoDiskPressure"),
    PID_PRESSURE: ("NodeHasInsufficientPID", "NodeHasSufficientPID"),
    READY: ("NodeReady", "NodeNotReady"),
}


@dataclass(frozen=True)
class NodeConfig:
    """The kubelet flags that shape the Node object."""

    node_name: str
    hostname: str = ""  # --hostname-override; defaults to node_name
    address: str = ""  # --node-ip: the InternalIP
    labels: Mapping[str, str] = field(default_factory=dict)  # --node-labels
    taints: tuple[Object, ...] = ()  # --register-with-taints, parsed by parse_taints
    cpu: str = ""  # capacity overrides; "" = what the machine has
    memory: str = ""
    ephemeral_storage: str = ""
    max_pods: int = DEFAULT_MAX_PODS  # --max-pods
    kubelet_port: int = 10250
    kubelet_version: str = "v1.32.0-kubeling"
    os: str = "linux"
    arch: str = "amd64"
    pid_available_threshold: float | None = None  # fraction; Kubernetes has no default


@dataclass(frozen=True)
class NodeObservation:
    """The machine as seen now. Every field has a harmless default, for hollow nodes."""

    cpu_count: int = 1
    memory_bytes: int = 4 * 1024**3
    ephemeral_storage_bytes: int = 100 * 1024**3
    memory_available_bytes: int = 3 * 1024**3
    disk_available_bytes: int = 80 * 1024**3
    pid_max: int = 4_194_304
    pid_available: int = 4_194_000
    runtime_ok: bool = True
    runtime_error: str = ""  # why the runtime is not ok; "" means "container runtime is down"
    runtime_version: str = "fake://0.1.0"
    kernel_version: str = ""
    os_image: str = ""
    boot_id: str = ""
    machine_id: str = ""
    system_uuid: str = ""

    @property
    def disk_available_fraction(self) -> float:
        return self.disk_available_bytes / self.ephemeral_storage_bytes if self.ephemeral_storage_bytes else 1.0


# -- flags ------------------------------------------------------------------------------------


def parse_taints(specs: list[str] | tuple[str, ...], flag: str = TAINT_FLAG) -> tuple[Object, ...]:
    """``utiltaints.ParseTaints``: "key=value:Effect" or "key:Effect"; ValueError naming the flag."""
    taints: list[Object] = []
    seen: set[tuple[str, str]] = set()
    for spec in specs:
        taint = _parse_taint(spec, flag)
        if (taint["key"], taint["effect"]) in seen:
            raise ValueError(f"{flag}: duplicated taints with the same key and effect: {spec!r}")
        seen.add((taint["key"], taint["effect"]))
        taints.append(taint)
    return tuple(taints)


def _parse_taint(spec: str, flag: str) -> Object:
    key_value, sep, effect = spec.rpartition(":")
    if not sep or not key_value:
        raise ValueError(f'{flag}: invalid taint spec {spec!r}: expected "key=value:Effect" or "key:Effect"')
    if effect not in TAINT_EFFECTS:
        raise ValueError(f"{flag}: invalid taint spec {spec!r}: effect {effect!r} is not one of "
                         f"{', '.join(TAINT_EFFECTS)}")
    key, _, value = key_value.partition("=")
    problems = is_qualified_name(key)
    if problems:
        raise ValueError(f"{flag}: invalid taint spec {spec!r}: key {key!r}: {'; '.join(problems)}")
    problems = is_valid_label_value(value)
    if problems:
        raise ValueError(f"{flag}: invalid taint spec {spec!r}: value {value!r}: {'; '.join(problems)}")
    taint: Object = {"key": key, "effect": effect}
    if value:
        taint["value"] = value
    return taint


# -- registration -----------------------------------------------------------------------------


def default_labels(config: NodeConfig) -> dict[str, str]:
    return {LABEL_HOSTNAME: config.hostname or config.node_name, LABEL_OS: config.os, LABEL_ARCH: config.arch,
            LABEL_BETA_OS: config.os, LABEL_BETA_ARCH: config.arch}


def compute_node_for_registration(config: NodeConfig, obs: NodeObservation) -> Object:
    """``initialNode``: the Node to create, with labels, taints and the machine's status but, as in Kubernetes,
    no conditions: the first status sync adds them (and records their Events)."""
    labels = {**default_labels(config), **config.labels}
    node: Object = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": config.node_name, "labels": labels},
                    "spec": {}}
    if config.taints:
        node["spec"]["taints"] = [dict(t) for t in config.taints]
    node["status"] = _machine_status(config, obs)
    return node


def reconcile_existing_node(config: NodeConfig, existing: Mapping[str, Any]) -> Object | None:
    """The existing Node updated with the labels and taints this kubelet owns, or None if nothing changed.

    Kubernetes' reconcile (``updateDefaultLabels``) rewrites the default labels; kubeling also re-applies
    ``--node-labels`` and adds any missing ``--register-with-taints`` taint (by key and effect) so a restarted
    kubelet restores what it owns. Labels and taints added by others are kept.
    """
    node = copy.deepcopy(dict(existing))
    metadata = node.setdefault("metadata", {})
    labels = metadata.get("labels") or {}
    wanted = {**default_labels(config), **config.labels}
    new_labels = {**labels, **wanted}
    spec = node.setdefault("spec", {})
    taints = list(spec.get("taints") or [])
    present = {(t.get("key"), t.get("effect")) for t in taints}
    missing = [dict(t) for t in config.taints if (t["key"], t["effect"]) not in present]
    if new_labels == labels and not missing:
        return None
    metadata["labels"] = new_labels
    if missing:
        spec["taints"] = taints + missing
    return node


# -- status -----------------------------------------------------------------------------------


def compute_capacity(config: NodeConfig, obs: NodeObservation) -> dict[str, str]:
    """``MachineInfo``: cpu, memory, pods, ephemeral-storage (flag overrides win) and zero hugepages."""
    return {
        "cpu": _override(config.cpu, str(obs.cpu_count)),
        "ephemeral-storage": _override(config.ephemeral_storage, _bytes(obs.ephemeral_storage_bytes)),
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": _override(config.memory, _bytes(obs.memory_bytes)),
        "pods": str(config.max_pods),
    }


def compute_allocatable(capacity: Mapping[str, str]) -> dict[str, str]:
    """Capacity minus the hard-eviction reservation: memory - 100Mi, ephemeral-storage - 10% (never < 0)."""
    allocatable = dict(capacity)
    memory = parse_quantity(capacity["memory"]).value()
    allocatable["memory"] = _bytes(max(0, memory - EVICTION_MEMORY_AVAILABLE))
    storage = parse_quantity(capacity["ephemeral-storage"]).value()
    reserved = int(storage * EVICTION_NODEFS_AVAILABLE)
    allocatable["ephemeral-storage"] = _bytes(max(0, storage - reserved))
    return allocatable


def compute_node_status(config: NodeConfig, obs: NodeObservation, previous_status: Mapping[str, Any] | None,
                        now: str) -> Object:
    """``setNodeStatus``: the full status to post at `now` (RFC3339 seconds)."""
    status = _machine_status(config, obs)
    previous = {c.get("type"): c for c in (previous_status or {}).get("conditions") or []}
    pid_threshold = config.pid_available_threshold
    pid_pressure = pid_threshold is not None and obs.pid_max > 0 and obs.pid_available / obs.pid_max < pid_threshold
    pressures = {
        MEMORY_PRESSURE: obs.memory_available_bytes < EVICTION_MEMORY_AVAILABLE,
        DISK_PRESSURE: obs.disk_available_fraction < EVICTION_NODEFS_AVAILABLE,
        PID_PRESSURE: pid_pressure,
    }
    conditions = []
    for kind, pressure in pressures.items():
        reason, message = _PRESSURE_TEXT[kind][0 if pressure else 1]
        conditions.append(_condition(kind, "True" if pressure else "False", reason, message,
                                     previous.get(kind), now))
    if obs.runtime_ok:
        ready = _condition(READY, "True", "KubeletReady", "kubelet is posting ready status", previous.get(READY), now)
    else:
        ready = _condition(READY, "False", "KubeletNotReady", obs.runtime_error or RUNTIME_DOWN,
                           previous.get(READY), now)
    status["conditions"] = [*conditions, ready]
    return status


def _machine_status(config: NodeConfig, obs: NodeObservation) -> Object:
    capacity = compute_capacity(config, obs)
    addresses = []
    if config.address:
        addresses.append({"type": "InternalIP", "address": config.address})
    addresses.append({"type": "Hostname", "address": config.hostname or config.node_name})
    return {
        "capacity": capacity,
        "allocatable": compute_allocatable(capacity),
        "addresses": addresses,
        "daemonEndpoints": {"kubeletEndpoint": {"Port": config.kubelet_port}},
        "nodeInfo": {
            "machineID": obs.machine_id, "systemUUID": obs.system_uuid or obs.machine_id, "bootID": obs.boot_id,
            "kernelVersion": obs.kernel_version, "osImage": obs.os_image,
            "containerRuntimeVersion": obs.runtime_version, "kubeletVersion": config.kubelet_version,
            "kubeProxyVersion": config.kubelet_version, "operatingSystem": config.os,
            "architecture": config.arch,
        },
    }


def _condition(kind: str, status: str, reason: str, message: str, previous: Mapping[str, Any] | None,
               now: str) -> Object:
    transition = now
    if previous is not None and previous.get("status") == status and previous.get("lastTransitionTime"):
        transition = previous["lastTransitionTime"]
    return {"type": kind, "status": status, "lastHeartbeatTime": now, "lastTransitionTime": transition,
            "reason": reason, "message": message}


def node_status_changed(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """Whether `new` differs from `old` in anything but the conditions' lastHeartbeatTime."""
    if old is None:
        return True
    return _without_heartbeats(old) != _without_heartbeats(new)


def _without_heartbeats(status: Mapping[str, Any]) -> Object:
    stripped = dict(status)
    stripped["conditions"] = sorted(
        ({k: v for k, v in c.items() if k != "lastHeartbeatTime"} for c in status.get("conditions") or []),
        key=lambda c: str(c.get("type")))
    # Quantities compare by value: the apiserver may have canonicalized what we wrote.
    for key in ("capacity", "allocatable"):
        stripped[key] = {name: _quantity_value(v) for name, v in (status.get(key) or {}).items()}
    return stripped


def condition_events(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """The Event reasons the kubelet records for conditions whose status changed (NodeReady, ...)."""
    before = {c.get("type"): c.get("status") for c in (old or {}).get("conditions") or []}
    reasons = []
    for condition in new.get("conditions") or []:
        kind, status = condition.get("type"), condition.get("status")
        if kind in _EVENT_REASONS and before.get(kind) != status:
            true_reason, false_reason = _EVENT_REASONS[kind]
            reasons.append(true_reason if status == "True" else false_reason)
    return reasons


# -- quantities -------------------------------------------------------------------------------


def _override(flag: str, observed: str) -> str:
    return parse_quantity(flag).canonical() if flag else observed


def _bytes(n: int) -> str:
    return Quantity(Decimal(n), BINARY_SI).canonical()


def _quantity_value(value: Any) -> Any:
    try:
        return parse_quantity(value).as_decimal()
    except (ValueError, TypeError):
        return value
