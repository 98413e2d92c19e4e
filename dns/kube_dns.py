"""The ``kube-dns`` Service, and the hand-managed endpoints that point it at this process.

**A lab stand-in.** In Kubernetes, CoreDNS runs as pods of a Deployment in ``kube-system``, and the ``kube-dns``
Service (ClusterIP 10.96.0.10 in kubeadm clusters) selects them; the EndpointSlice controller fills in its
endpoints. kubeling has no Python image to run pods from, so the DNS server runs as a host process instead, and
the Service has **no selector**: this process writes the endpoints itself, the way the apiserver maintains the
``kubernetes`` Service's endpoints. They point at ``--advertise-address`` (default 10.244.0.1, the gateway of the
``kubeling`` Docker network, i.e. the host as pods see it) and at the ports the server really listens on. The service
proxy then routes 10.96.0.10:53 to the host process like any other Service, and kubelets started with
``--cluster-dns 10.96.0.10`` give pods that nameserver.

What is written (and rewritten whenever it differs, so ``kubectl delete`` or an edit is undone within a period):

* Service ``kube-system/kube-dns``: ClusterIP 10.96.0.10 (fixed: the apiserver accepts a requested ClusterIP),
  ports ``dns`` 53/UDP, ``dns-tcp`` 53/TCP, ``metrics`` 9153/TCP, labels as kubeadm sets them;
* Endpoints ``kube-system/kube-dns``: one address, the listen ports (the target ports of the Service's ports);
* EndpointSlice ``kube-system/kube-dns``: the same, labelled ``kubernetes.io/service-name: kube-dns`` and managed
  by ``kubeling-dns`` (the EndpointSlice controller leaves selector-less Services and others' slices alone).

An existing Service with another ClusterIP is left as it is (ClusterIPs are immutable) and reported in the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from apimachinery import errors
from client.client import Client

log = logging.getLogger(__name__)
Object = dict[str, Any]
NAMESPACE = "kube-system"
NAME = "kube-dns"
DEFAULT_CLUSTER_IP = "10.96.0.10"
MANAGED_BY = "kubeling-dns"
SLICES = "endpointslices.discovery.k8s.io"
LABELS = {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "KubeDNS"}


@dataclass(frozen=True)
class KubeDNSEndpoint:
    """Where the server is reachable: the advertised address and the ports it listens on."""

    address: str
    dns_port: int
    metrics_port: int
    cluster_ip: str = DEFAULT_CLUSTER_IP


def desired_service(target: KubeDNSEndpoint) -> Object:
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(LABELS),
                     "annotations": {"prometheus.io/port": "9153", "prometheus.io/scrape": "true"}},
        "spec": {"clusterIP": target.cluster_ip, "type": "ClusterIP", "ports": [
            {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": target.dns_port},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": target.dns_port},
            {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": target.metrics_port}]},
    }


def _ports(target: KubeDNSEndpoint) -> list[Object]:
    return [{"name": "dns", "port": target.dns_port, "protocol": "UDP"},
            {"name": "dns-tcp", "port": target.dns_port, "protocol": "TCP"},
            {"name": "metrics", "port": target.metrics_port, "protocol": "TCP"}]


def desired_endpoints(target: KubeDNSEndpoint) -> Object:
    return {
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(LABELS)},
        "subsets": [{"addresses": [{"ip": target.address}], "ports": _ports(target)}],
    }


def desired_slice(target: KubeDNSEndpoint) -> Object:
    family = "IPv6" if ":" in target.address else "IPv4"
    return {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": NAME, "namespace": NAMESPACE,
                     "labels": {**LABELS, "kubernetes.io/service-name": NAME,
                                "endpointslice.kubernetes.io/managed-by": MANAGED_BY}},
        "addressType": family,
        "endpoints": [{"addresses": [target.address], "conditions": {"ready": True, "serving": True,
                                                                      "terminating": False}}],
        "ports": _ports(target),
    }


def _service_differs(current: Object, desired: Object) -> bool:
    spec, want = current.get("spec") or {}, desired["spec"]
    return (spec.get("selector") or None) is not None or _norm_ports(spec.get("ports")) != _norm_ports(want["ports"])


def _norm_ports(ports: Any) -> list[tuple[Any, ...]]:
    return sorted((p.get("name"), p.get("port"), p.get("protocol", "TCP"), p.get("targetPort")) for p in ports or [])


async def ensure_kube_dns(client: Client, target: KubeDNSEndpoint) -> None:
    """Create or fix the Service, Endpoints and EndpointSlice (idempotent; call it periodically)."""
    service = desired_service(target)
    try:
        current = await client.get("services", NAME, NAMESPACE)
    except errors.NotFound:
        await client.create(service)
        log.info("created Service %s/%s with ClusterIP %s", NAMESPACE, NAME, target.cluster_ip)
    else:
        if (current.get("spec") or {}).get("clusterIP") != target.cluster_ip:
            log.warning("Service %s/%s has ClusterIP %s, not %s; kubelets' --cluster-dns must name the former",
                        NAMESPACE, NAME, current["spec"].get("clusterIP"), target.cluster_ip)
        if _service_differs(current, service):
            current["spec"].pop("selector", None)
            current["spec"]["ports"] = service["spec"]["ports"]
            await client.update(current)
            log.info("updated Service %s/%s", NAMESPACE, NAME)
    await _ensure(client, "endpoints", desired_endpoints(target), ("subsets",))
    await _ensure(client, SLICES, desired_slice(target), ("addressType", "endpoints", "ports"))


async def _ensure(client: Client, resource: str, desired: Object, fields: tuple[str, ...]) -> None:
    try:
        current = await client.get(resource, NAME, NAMESPACE)
    except errors.NotFound:
        await client.create(desired)
        log.info("created %s %s/%s -> %s", resource, NAMESPACE, NAME, desired.get("subsets") or desired["endpoints"])
        return
    labels = current["metadata"].get("labels") or {}
    wanted_labels = desired["metadata"]["labels"]
    if all(current.get(f) == desired[f] for f in fields) and all(labels.get(k) == v for k, v in wanted_labels.items()):
        return
    if current.get("addressType", desired.get("addressType")) != desired.get("addressType"):
        await client.delete(resource, NAME, NAMESPACE)  # addressType is immutable
        await client.create(desired)
        return
    for f in fields:
        current[f] = desired[f]
    current["metadata"]["labels"] = {**labels, **wanted_labels}
    await client.update(current)
    log.info("updated %s %s/%s", resource, NAMESPACE, NAME)
