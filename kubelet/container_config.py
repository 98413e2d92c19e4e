"""From a pod's spec to what the runtime needs: pure functions, no I/O.

``compute_sandbox_config`` describes the pod's pause container (hostname, DNS, host ports);
``compute_container_config`` one app or init container (command and args with ``$(VAR)`` expanded, env, mounts,
resource limits mapped to Docker's CPU quota / shares and memory limit, securityContext).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apimachinery.quantity import parse_quantity
from kubelet.container_env import expand_command
from kubelet.dns_config import DNSSettings
from kubelet.pod_actions import container_spec_hash
from kubelet.runtime.interface import ContainerConfig, Mount, SandboxConfig

MIN_CPU_SHARES = 2
SHARES_PER_CPU = 1024
DEFAULT_GRACE_SECONDS = 30


def pod_hostname(pod: Mapping[str, Any]) -> str:
    """spec.hostname, or the pod name; at most 63 characters, as Kubernetes truncates it."""
    spec = pod.get("spec") or {}
    name = str(spec.get("hostname") or (pod.get("metadata") or {}).get("name", ""))
    return name[:63].rstrip("-.")


def grace_period_seconds(pod: Mapping[str, Any]) -> int:
    """The deletion grace period if the pod is being deleted, else spec.terminationGracePeriodSeconds."""
    meta = pod.get("metadata") or {}
    if meta.get("deletionGracePeriodSeconds") is not None:
        return int(meta["deletionGracePeriodSeconds"])
    value = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
    return DEFAULT_GRACE_SECONDS if value is None else int(value)


def compute_sandbox_config(pod: Mapping[str, Any], node_name: str, ip: str | None = None,
                           dns: DNSSettings | None = None) -> SandboxConfig:
    """The sandbox of ``pod``. ``dns`` is (nameservers, searches, options), from
    :func:`kubelet.dns_config.compute_pod_dns` per the pod's dnsPolicy; without it, only ``spec.dnsConfig``."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    servers, searches, options = dns if dns is not None else _dns_config_only(spec)
    ports = tuple(
        (int(port["hostPort"]), int(port["containerPort"]), str(port.get("protocol", "TCP")).lower())
        for container in spec.get("containers") or []
        for port in container.get("ports") or []
        if port.get("hostPort")
    )
    return SandboxConfig(
        pod_uid=str(meta.get("uid", "")),
        namespace=str(meta.get("namespace", "default")),
        name=str(meta.get("name", "")),
        node_name=node_name,
        hostname=pod_hostname(pod),
        host_network=bool(spec.get("hostNetwork")),
        ip=ip,
        dns_servers=servers,
        dns_searches=searches,
        dns_options=options,
        port_mappings=ports,
        annotations=dict(meta.get("annotations") or {}),
    )


def _dns_config_only(spec: Mapping[str, Any]) -> DNSSettings:
    dns = spec.get("dnsConfig") or {}
    return (
        tuple(dns.get("nameservers") or ()),
        tuple(dns.get("searches") or ()),
        tuple(f"{o['name']}:{o['value']}" if o.get("value") else str(o["name"]) for o in dns.get("options") or ()),
    )


def _millis(resources: Mapping[str, Any], kind: str, name: str) -> int | None:
    value = (resources.get(kind) or {}).get(name)
    return None if value is None else parse_quantity(value).milli_value()


def compute_container_config(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    *,
    container_type: str,
    restart_count: int,
    env: tuple[tuple[str, str], ...],
    mounts: tuple[Mount, ...],
    node_name: str,
) -> ContainerConfig:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    resources = container.get("resources") or {}
    cpu_limit = _millis(resources, "limits", "cpu")
    cpu_request = _millis(resources, "requests", "cpu")
    memory = (resources.get("limits") or {}).get("memory")
    security = {**(spec.get("securityContext") or {}), **(container.get("securityContext") or {})}
    command = container.get("command")
    args = container.get("args")
    return ContainerConfig(
        pod_uid=str(meta.get("uid", "")),
        namespace=str(meta.get("namespace", "default")),
        pod_name=str(meta.get("name", "")),
        node_name=node_name,
        name=str(container["name"]),
        container_type=container_type,
        restart_count=restart_count,
        spec_hash=container_spec_hash(container),
        image=str(container.get("image", "")),
        command=tuple(expand_command(list(command), env)) if command else None,
        args=tuple(expand_command(list(args), env)) if args else None,
        env=env,
        working_dir=container.get("workingDir") or None,
        mounts=mounts,
        cpu_quota_millis=cpu_limit or None,
        cpu_shares=max(MIN_CPU_SHARES, cpu_request * SHARES_PER_CPU // 1000) if cpu_request is not None else None,
        memory_limit_bytes=parse_quantity(memory).value() if memory is not None else None,
        run_as_user=security.get("runAsUser"),
        run_as_group=security.get("runAsGroup"),
        privileged=bool(security.get("privileged", False)),
        tty=bool(container.get("tty", False)),
        stdin=bool(container.get("stdin", False)),
        stdin_once=bool(container.get("stdinOnce", False)),
        termination_grace_seconds=grace_period_seconds(pod),
        annotations=dict(meta.get("annotations") or {}),
    )
