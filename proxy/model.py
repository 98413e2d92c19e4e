"""What the proxy programs: service ports and their endpoints, computed from Services and EndpointSlices (pure).

kube-proxy's ``ServicePortMap`` and ``EndpointsMap`` in one step. A Service with three ports is three
:class:`ServicePort` s, each named ``namespace/name:portname`` (``namespace/name`` when the port has no name), as
kube-proxy's ``ServicePortName`` prints. Its endpoints come from every EndpointSlice labelled
``kubernetes.io/service-name=<name>`` whose port list has a port of the same name and protocol.

Rules kept from kube-proxy:

- only *ready* endpoints receive traffic (``conditions.ready``; a missing value counts as ready, as in Kubernetes);
- a headless Service (``clusterIP: None``) and an ExternalName Service get no rules;
- ``internalTrafficPolicy: Local`` sends cluster-IP traffic only to endpoints on this node, and
  ``externalTrafficPolicy: Local`` does the same for NodePort traffic. "This node" is the proxy's node name
  (``--hostname-override``) compared with the endpoint's ``nodeName``. On one Docker host several kubelets may run
  side by side: each node's pods are "local" only to the proxy started with that node's name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Object = Mapping[str, Any]
LABEL_SERVICE_NAME = "kubernetes.io/service-name"
DEFAULT_AFFINITY_TIMEOUT = 10800  # seconds: Kubernetes' default sessionAffinityConfig.clientIP.timeoutSeconds


@dataclass(frozen=True, order=True)
class Endpoint:
    """One backend of a service port: ``ip:port`` on a node."""

    ip: str
    port: int
    node_name: str = ""

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass
class ServicePort:
    """One port of one Service, with the ready endpoints that serve it."""

    namespace: str
    name: str
    port_name: str
    protocol: str  # "TCP" | "UDP" (SCTP is skipped)
    cluster_ip: str
    port: int
    node_port: int = 0
    affinity_timeout: int = 0  # seconds; 0: no ClientIP affinity
    internal_local: bool = False
    external_local: bool = False
    endpoints: list[Endpoint] = field(default_factory=list)

    @property
    def port_string(self) -> str:
        """kube-proxy's ServicePortName.String(): ``ns/name:port`` or ``ns/name``."""
        base = f"{self.namespace}/{self.name}"
        return f"{base}:{self.port_name}" if self.port_name else base

    @property
    def key(self) -> tuple[str, str]:
        return (self.port_string, self.protocol)

    def local_endpoints(self, node_name: str) -> list[Endpoint]:
        return [e for e in self.endpoints if e.node_name == node_name]

    def cluster_endpoints(self, node_name: str) -> list[Endpoint]:
        """Where cluster-IP traffic goes: every ready endpoint, or the local ones for internalTrafficPolicy Local."""
        return self.local_endpoints(node_name) if self.internal_local else list(self.endpoints)


def is_proxied(service: Object) -> bool:
    """Headless, ExternalName and IP-less Services are not proxied."""
    spec = service.get("spec") or {}
    cluster_ip = str(spec.get("clusterIP") or "")
    return spec.get("type", "ClusterIP") != "ExternalName" and cluster_ip not in ("", "None") and ":" not in cluster_ip


def affinity_timeout(spec: Object) -> int:
    if spec.get("sessionAffinity") != "ClientIP":
        return 0
    config = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {})
    return int(config.get("timeoutSeconds") or DEFAULT_AFFINITY_TIMEOUT)


def service_ports(service: Object) -> list[ServicePort]:
    """The proxied ports of one Service, without endpoints yet."""
    if not is_proxied(service):
        return []
    meta, spec = service.get("metadata") or {}, service.get("spec") or {}
    has_node_ports = spec.get("type") in ("NodePort", "LoadBalancer")
    found = []
    for port in spec.get("ports") or []:
        protocol = port.get("protocol") or "TCP"
        if protocol not in ("TCP", "UDP"):
            continue
        found.append(ServicePort(
            namespace=meta.get("namespace") or "default", name=meta.get("name") or "",
            port_name=port.get("name") or "", protocol=protocol, cluster_ip=spec["clusterIP"],
            port=int(port["port"]), node_port=int(port.get("nodePort") or 0) if has_node_ports else 0,
            affinity_timeout=affinity_timeout(spec),
            internal_local=spec.get("internalTrafficPolicy") == "Local",
            external_local=has_node_ports and spec.get("externalTrafficPolicy") == "Local"))
    return found


def slice_endpoints(endpoint_slice: Object, port_name: str, protocol: str) -> list[Endpoint]:
    """The ready IPv4 endpoints of one slice for the port called ``port_name``."""
    if endpoint_slice.get("addressType", "IPv4") != "IPv4":
        return []
    number = next((int(p["port"]) for p in endpoint_slice.get("ports") or []
                   if (p.get("name") or "") == port_name and (p.get("protocol") or "TCP") == protocol
                   and p.get("port") is not None), None)
    if number is None:
        return []
    found = []
    for endpoint in endpoint_slice.get("endpoints") or []:
        conditions = endpoint.get("conditions") or {}
        if conditions.get("ready") is False or not endpoint.get("addresses"):
            continue
        found.append(Endpoint(endpoint["addresses"][0], number, endpoint.get("nodeName") or ""))
    return found


def build_service_ports(services: Iterable[Object], slices: Iterable[Object]) -> list[ServicePort]:
    """Every proxied service port with its ready endpoints (deduplicated, sorted), in a stable order."""
    by_service: dict[tuple[str, str], list[Object]] = {}
    for endpoint_slice in slices:
        meta = endpoint_slice.get("metadata") or {}
        owner = (meta.get("labels") or {}).get(LABEL_SERVICE_NAME)
        if owner:
            by_service.setdefault((meta.get("namespace") or "default", owner), []).append(endpoint_slice)
    ports: list[ServicePort] = []
    for service in services:
        for port in service_ports(service):
            endpoints: set[Endpoint] = set()
            for endpoint_slice in by_service.get((port.namespace, port.name), []):
                endpoints.update(slice_endpoints(endpoint_slice, port.port_name, port.protocol))
            port.endpoints = sorted(endpoints)
            ports.append(port)
    return sorted(ports, key=lambda p: p.key)
