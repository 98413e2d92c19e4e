"""Pure conversions between Docker's JSON and the runtime interface's dataclasses (no I/O, unit-testable).

Docker reports times as RFC 3339 with nanoseconds ("2026-11-22T05:49:46.123456789Z", "0001-01-01T00:00:00Z" when
unset) and states as created | restarting | running | removing | paused | exited | dead.
"""

from __future__ import annotations

import calendar
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from kubelet.runtime.interface import (
    LABEL_CONTAINER_NAME,
    LABEL_CONTAINER_TYPE,
    LABEL_POD_NAME,
    LABEL_POD_NAMESPACE,
    LABEL_POD_UID,
    LABEL_RESTART_COUNT,
    LABEL_SANDBOX_ID,
    LABEL_SPEC_HASH,
    SANDBOX_CONTAINER_NAME,
    STATE_CREATED,
    STATE_EXITED,
    STATE_RUNNING,
    STATE_UNKNOWN,
    ContainerStats,
    RuntimeContainer,
    RuntimePod,
    RuntimeSandbox,
    SandboxConfig,
)

CONTAINER_TYPE_SANDBOX = "sandbox"

_RFC3339_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:?\d{2})?$"
)
_DOCKER_NAME_BAD_CHARS = re.compile(r"[^a-zA-Z0-9_.-]")

# Docker state -> interface state. "paused" and "restarting" still hold a live process; "dead" is a container
# whose removal failed after it exited; "removing" is on its way out: nothing the kubelet can rely on.
_STATES = {
    "created": STATE_CREATED,
    "running": STATE_RUNNING,
    "paused": STATE_RUNNING,
    "restarting": STATE_RUNNING,
    "exited": STATE_EXITED,
    "dead": STATE_EXITED,
    "removing": STATE_UNKNOWN,
}


def parse_docker_time(value: str | None) -> float | None:
    """Docker's RFC 3339 (nanosecond) timestamp as float epoch seconds; None for empty or the zero time (year 1)."""
    if not value:
        return None
    m = _RFC3339_RE.match(value.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    if year <= 1:
        return None
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    fraction = m.group(7)
    frac = int(fraction[:9].ljust(9, "0")) / 1e9 if fraction else 0.0
    tz = m.group(8)
    if tz and tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return seconds + frac


def map_state(docker_state: str | None) -> str:
    return _STATES.get((docker_state or "").lower(), STATE_UNKNOWN)


def docker_name(container: str, pod: str, namespace: str, uid: str, attempt: int) -> str:
    """``k8s_<container>_<pod>_<ns>_<uid8>_<attempt>_<random>``, valid as a Docker name and unique."""
    raw = f"k8s_{container}_{pod}_{namespace}_{uid[:8]}_{attempt}_{secrets.token_hex(3)}"
    return _DOCKER_NAME_BAD_CHARS.sub("-", raw)


def resolv_conf(config: SandboxConfig) -> str:
    """The pod's /etc/resolv.conf when it has DNS settings, else "" (Docker's own file stays)."""
    lines = [f"nameserver {server}" for server in config.dns_servers]
    if config.dns_searches:
        lines.append("search " + " ".join(config.dns_searches))
    if config.dns_options:
        lines.append("options " + " ".join(config.dns_options))
    return "\n".join(lines) if config.dns_servers else ""


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def sandbox_ip(attrs: Mapping[str, Any], network: str) -> str | None:
    """The sandbox's address on ``network`` (or on any network when it is not attached to that one)."""
    networks = ((attrs.get("NetworkSettings") or {}).get("Networks")) or {}
    preferred = networks.get(network) or {}
    if preferred.get("IPAddress"):
        return str(preferred["IPAddress"])
    for endpoint in networks.values():
        if endpoint and endpoint.get("IPAddress"):
            return str(endpoint["IPAddress"])
    return None


def to_sandbox(attrs: Mapping[str, Any], network: str) -> RuntimeSandbox:
    """A RuntimeSandbox from a container inspect document."""
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    state = attrs.get("State") or {}
    running = map_state(state.get("Status")) == STATE_RUNNING
    return RuntimeSandbox(
        id=attrs["Id"],
        pod_uid=labels.get(LABEL_POD_UID, ""),
        namespace=labels.get(LABEL_POD_NAMESPACE, ""),
        name=labels.get(LABEL_POD_NAME, ""),
        ready=running,
        ip=sandbox_ip(attrs, network) if running else None,
        created_at=parse_docker_time(attrs.get("Created")) or 0.0,
    )


def to_container(attrs: Mapping[str, Any]) -> RuntimeContainer:
    """A RuntimeContainer from a container inspect document."""
    config = attrs.get("Config") or {}
    labels = config.get("Labels") or {}
    state = attrs.get("State") or {}
    mapped = map_state(state.get("Status"))
    started = parse_docker_time(state.get("StartedAt"))
    finished = parse_docker_time(state.get("FinishedAt"))
    exited = mapped == STATE_EXITED
    if exited and started is not None and finished is not None and started > finished:
        started = finished  # Docker stamps StartedAt after the fact when the process exits at once
    return RuntimeContainer(
        id=attrs["Id"],
        pod_uid=labels.get(LABEL_POD_UID, ""),
        name=labels.get(LABEL_CONTAINER_NAME, ""),
        container_type=labels.get(LABEL_CONTAINER_TYPE, "app"),
        sandbox_id=labels.get(LABEL_SANDBOX_ID, ""),
        restart_count=_int(labels.get(LABEL_RESTART_COUNT)),
        spec_hash=labels.get(LABEL_SPEC_HASH, ""),
        image=config.get("Image", ""),
        image_id=attrs.get("Image", ""),
        state=mapped,
        created_at=parse_docker_time(attrs.get("Created")) or 0.0,
        started_at=started,
        finished_at=finished if exited else None,
        exit_code=_int(state.get("ExitCode")) if exited else None,
        oom_killed=bool(state.get("OOMKilled")),
        error=str(state.get("Error") or ""),
    )


def is_sandbox(attrs: Mapping[str, Any]) -> bool:
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    return bool(
        labels.get(LABEL_CONTAINER_TYPE) == CONTAINER_TYPE_SANDBOX
        or labels.get(LABEL_CONTAINER_NAME) == SANDBOX_CONTAINER_NAME
    )


def group_pods(inspected: Iterable[Mapping[str, Any]], network: str) -> list[RuntimePod]:
    """Group inspect documents by pod uid; sandboxes and containers newest first."""
    by_uid: dict[str, dict[str, Any]] = {}
    for attrs in inspected:
        labels = (attrs.get("Config") or {}).get("Labels") or {}
        uid = labels.get(LABEL_POD_UID)
        if not uid:
            continue
        entry = by_uid.setdefault(
            uid,
            {"ns": labels.get(LABEL_POD_NAMESPACE, ""), "name": labels.get(LABEL_POD_NAME, ""), "s": [], "c": []},
        )
        if is_sandbox(attrs):
            entry["s"].append(to_sandbox(attrs, network))
        else:
            entry["c"].append(to_container(attrs))
    pods = []
    for uid, entry in by_uid.items():
        sandboxes = sorted(entry["s"], key=lambda s: s.created_at, reverse=True)
        containers = sorted(entry["c"], key=lambda c: (c.restart_count, c.created_at), reverse=True)
        pods.append(RuntimePod(uid=uid, namespace=entry["ns"], name=entry["name"], sandboxes=tuple(sandboxes),
                               containers=tuple(containers)))
    return pods


def to_stats(container_id: str, stats: Mapping[str, Any], now: float) -> ContainerStats:
    """ContainerStats from one ``/containers/{id}/stats?stream=false`` sample (cgroup v1 or v2 field names)."""
    cpu = stats.get("cpu_stats") or {}
    precpu = stats.get("precpu_stats") or {}
    total = _int((cpu.get("cpu_usage") or {}).get("total_usage"))
    pre_total = _int((precpu.get("cpu_usage") or {}).get("total_usage"))
    system_delta = _int(cpu.get("system_cpu_usage")) - _int(precpu.get("system_cpu_usage"))
    online = _int(cpu.get("online_cpus")) or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or []) or 1
    nanocores = 0
    if system_delta > 0 and total >= pre_total and pre_total > 0:
        nanocores = int((total - pre_total) / system_delta * online * 1e9)
    memory = stats.get("memory_stats") or {}
    usage = _int(memory.get("usage"))
    detail = memory.get("stats") or {}
    inactive = _int(detail.get("total_inactive_file", detail.get("inactive_file", 0)))
    return ContainerStats(
        container_id=container_id,
        cpu_usage_nanocores=nanocores,
        cpu_usage_core_nanoseconds=total,
        memory_usage_bytes=usage,
        memory_working_set_bytes=max(0, usage - inactive),
        timestamp=parse_docker_time(stats.get("read")) or now,
    )
