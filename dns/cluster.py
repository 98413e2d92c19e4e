"""The cluster as the DNS server sees it: Services, their endpoints and Pods, read from informer caches.

:class:`ClusterView` wraps three :class:`client.store.Store` objects (the informers' caches, or stores a unit test
fills by hand) and adds the indexes DNS needs:

* Services by ClusterIP (for PTR queries);
* EndpointSlices by ``<namespace>/<service name>`` (the ``kubernetes.io/service-name`` label);
* Pods by IP (for the ``pods verified`` mode).

Endpoints are read from EndpointSlices (discovery.k8s.io/v1), as CoreDNS does. An endpoint counts as ready when
``conditions.ready`` is not false (the API says a missing value means ready). Slices of type FQDN are ignored.
Nothing here copies or changes the objects: the store hands out its own dicts.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from client.store import Store

Object = dict[str, Any]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
SERVICE_IP_INDEX = "dns.clusterIP"
SLICE_SERVICE_INDEX = "dns.service"
POD_IP_INDEX = "dns.podIP"


@dataclass(frozen=True)
class Port:
    name: str
    protocol: str  # "tcp" | "udp" | "sctp" (lower case, as in SRV names)
    port: int


@dataclass(frozen=True)
class Endpoint:
    """One address of a Service's endpoints, with the ports of the slice it came from."""

    ip: str
    hostname: str  # "" when the endpoint has none
    ready: bool
    ports: tuple[Port, ...]

    @property
    def dns_name(self) -> str:
        """The endpoint's label under its Service: its hostname, else its IP with dashes (as CoreDNS names it)."""
        return self.hostname or dashed(self.ip)


def dashed(ip: str) -> str:
    """10.244.0.5 → 10-244-0-5; fd00::5 → fd00--5 (the form used in pod and endpoint names)."""
    return ip.replace(".", "-").replace(":", "-")


def ip_family(ip: str) -> int:
    """4 or 6; 0 when ``ip`` is not an IP address."""
    try:
        return ipaddress.ip_address(ip).version
    except ValueError:
        return 0


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def cluster_ips(service: Mapping[str, Any]) -> list[str]:
    """spec.clusterIPs (or spec.clusterIP), without "None" and empty values."""
    spec = service.get("spec") or {}
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [str(ip) for ip in ips if ip and ip != "None"]


def is_headless(service: Mapping[str, Any]) -> bool:
    return (service.get("spec") or {}).get("clusterIP") == "None"


def is_external_name(service: Mapping[str, Any]) -> bool:
    return (service.get("spec") or {}).get("type") == "ExternalName"


def _service_ip_index(service: Object) -> list[str]:
    return cluster_ips(service)


def _slice_service_index(slice_: Object) -> list[str]:
    name = (_meta(slice_).get("labels") or {}).get(SERVICE_NAME_LABEL)
    return [f"{_meta(slice_).get('namespace', '')}/{name}"] if name else []


def _pod_ip_index(pod: Object) -> list[str]:
    status = pod.get("status") or {}
    ips = [str(entry.get("ip")) for entry in status.get("podIPs") or [] if entry.get("ip")]
    if not ips and status.get("podIP"):
        ips = [str(status["podIP"])]
    return ips


def slice_endpoints(slice_: Mapping[str, Any]) -> list[Endpoint]:
    """Every address of one EndpointSlice as an :class:`Endpoint` (FQDN slices give none)."""
    if slice_.get("addressType") not in ("IPv4", "IPv6"):
        return []
    ports = tuple(Port(str(p.get("name") or ""), str(p.get("protocol") or "TCP").lower(), int(p["port"]))
                  for p in slice_.get("ports") or [] if p.get("port") is not None)
    found = []
    for endpoint in slice_.get("endpoints") or []:
        ready = (endpoint.get("conditions") or {}).get("ready") is not False
        hostname = str(endpoint.get("hostname") or "")
        found += [Endpoint(str(ip), hostname, ready, ports) for ip in endpoint.get("addresses") or []]
    return found


class ClusterView:
    """Read-only questions over the caches; the stores get the indexes above added to them."""

    def __init__(self, services: Store, slices: Store, pods: Store | None = None) -> None:
        self.services = services
        self.slices = slices
        self.pods = pods
        services.add_indexer(SERVICE_IP_INDEX, _service_ip_index)
        slices.add_indexer(SLICE_SERVICE_INDEX, _slice_service_index)
        if pods is not None:
            pods.add_indexer(POD_IP_INDEX, _pod_ip_index)

    def service(self, namespace: str, name: str) -> Object | None:
        return self.services.get_by_name(namespace, name)

    def namespace_has_services(self, namespace: str) -> bool:
        return bool(self.services.list(namespace))

    def services_with_ip(self, ip: str) -> list[Object]:
        return self.services.by_index(SERVICE_IP_INDEX, ip)

    def endpoints(self, namespace: str, service: str, *, ready_only: bool = True) -> list[Endpoint]:
        """The Service's endpoints over all its slices, one per (IP, hostname): during a slice rebalance an address
        may briefly be listed twice, and the first slice listing it wins."""
        seen: dict[tuple[str, str], Endpoint] = {}
        for slice_ in self.slices.by_index(SLICE_SERVICE_INDEX, f"{namespace}/{service}"):
            for endpoint in slice_endpoints(slice_):
                if endpoint.ready or not ready_only:
                    seen.setdefault((endpoint.ip, endpoint.hostname), endpoint)
        return list(seen.values())

    def endpoints_with_ip(self, ip: str) -> list[tuple[Object, Endpoint]]:
        """(service, endpoint) for every ready endpoint with this IP (for PTR); scans the slices."""
        found = []
        for slice_ in self.slices:
            for endpoint in slice_endpoints(slice_):
                if endpoint.ip != ip or not endpoint.ready:
                    continue
                namespace = str(_meta(slice_).get("namespace", ""))
                name = (_meta(slice_).get("labels") or {}).get(SERVICE_NAME_LABEL, "")
                service = self.service(namespace, name) if name else None
                if service is not None:
                    found.append((service, endpoint))
        return found

    def pod_exists(self, namespace: str, ip: str) -> bool:
        """Whether a pod in ``namespace`` has this IP (always False without a pod cache)."""
        if self.pods is None:
            return False
        return any(_meta(pod).get("namespace") == namespace for pod in self.pods.by_index(POD_IP_INDEX, ip))
