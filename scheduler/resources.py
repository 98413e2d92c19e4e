"""Resource arithmetic: what a pod requests and what a node has, as plain integers.

CPU is counted in millicores, everything else in units (bytes for memory). A pod's request is
Kubernetes' `resource.PodRequests`: the larger of (the sum of its app containers plus restartable
"sidecar" init containers) and (the biggest ordinary init container plus the sidecars started
before it), plus `spec.overhead`. The "non-zero" request is what scoring uses: a container that
requests no cpu / memory counts as 100m / 200Mi, so best-effort pods still spread out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from apimachinery.quantity import parse_quantity

CPU, MEMORY, EPHEMERAL_STORAGE, PODS = "cpu", "memory", "ephemeral-storage", "pods"
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
Resources = dict[str, int]


@lru_cache(maxsize=8192)
def _parse(resource: str, text: str) -> int:
    quantity = parse_quantity(text)
    return quantity.milli_value() if resource == CPU else quantity.value()


def amount(resource: str, value: Any) -> int:
    """`"500m"` cpu -> 500; `"1Gi"` memory -> 1073741824. Unparseable counts as 0."""
    try:
        return _parse(resource, str(value))
    except ValueError:
        return 0


def resource_list(values: Mapping[str, Any] | None) -> Resources:
    return {name: amount(name, value) for name, value in (values or {}).items()}


def _add(total: Resources, more: Mapping[str, int]) -> None:
    for name, value in more.items():
        total[name] = total.get(name, 0) + value


def _max_into(total: Resources, other: Mapping[str, int]) -> None:
    for name, value in other.items():
        if value > total.get(name, 0):
            total[name] = value


def _container_requests(container: Mapping[str, Any], non_zero: bool) -> Resources:
    requests = resource_list((container.get("resources") or {}).get("requests"))
    if non_zero:
        requests = {CPU: requests.get(CPU) or DEFAULT_MILLI_CPU_REQUEST,
                    MEMORY: requests.get(MEMORY) or DEFAULT_MEMORY_REQUEST}
    return requests


def pod_requests(spec: Mapping[str, Any], non_zero: bool = False) -> Resources:
    """resource.PodRequests (or, with `non_zero`, the cpu/memory scoring uses)."""
    total: Resources = {}
    for container in spec.get("containers") or ():
        _add(total, _container_requests(container, non_zero))
    sidecars: Resources = {}
    init_max: Resources = {}
    for container in spec.get("initContainers") or ():
        requests = _container_requests(container, non_zero)
        if container.get("restartPolicy") == "Always":
            _add(total, requests)
            _add(sidecars, requests)
            _max_into(init_max, sidecars)
        else:
            with_sidecars = dict(sidecars)
            _add(with_sidecars, requests)
            _max_into(init_max, with_sidecars)
    _max_into(total, init_max)
    if not non_zero:
        _add(total, resource_list(spec.get("overhead")))
    return {name: value for name, value in total.items() if value}


def host_ports(spec: Mapping[str, Any]) -> tuple[tuple[str, str, int], ...]:
    """The (hostIP, protocol, hostPort) triples the pod's containers ask for."""
    found = []
    containers: Iterable[Mapping[str, Any]] = [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]
    for container in containers:
        for port in container.get("ports") or ():
            if port.get("hostPort"):
                found.append((port.get("hostIP") or "0.0.0.0", port.get("protocol") or "TCP", int(port["hostPort"])))
    return tuple(found)


def ports_conflict(used: Iterable[tuple[str, str, int]], wanted: tuple[str, str, int]) -> bool:
    """HostPortInfo.CheckConflict: same protocol and port, and either IP is 0.0.0.0 or they are equal."""
    ip, protocol, port = wanted
    for used_ip, used_protocol, used_port in used:
        if used_port == port and used_protocol == protocol and (
                ip == "0.0.0.0" or used_ip == "0.0.0.0" or ip == used_ip):
            return True
    return False
