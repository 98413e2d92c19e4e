"""What a Service's EndpointSlices should contain: pure functions, no I/O.

Kubernetes' EndpointSlice reconciler (staging/src/k8s.io/endpointslice) thinks in three steps:

1. For each address type the Service serves (from `spec.ipFamilies`: IPv4 and/or IPv6), turn every
   selected pod into an Endpoint: its IPs of that family, `conditions` (serving = the pod is Ready;
   terminating = it is being deleted; ready = serving and not terminating, or always when the
   Service sets publishNotReadyAddresses), nodeName, zone (the node's topology.kubernetes.io/zone),
   hostname (as for Endpoints) and a targetRef to the pod. Terminating pods stay in, with their
   conditions saying so.
2. Group the endpoints by their port list: the Service ports resolved against the pod (a named
   targetPort can resolve to different numbers on different pods). Every slice has one port list,
   so each group ends up in its own slices. `desired_endpoints` returns these groups.
3. Plan the fewest slice writes that reach the desired groups: `endpointslice_reconciler`.

An endpoint is identified (`endpoint_key`) by its addresses, hostname and pod name, as Kubernetes'
endpoint hash is; two endpoints with the same key but other differences (a condition flipped) are
"the same endpoint, changed".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controller_manager.endpoints_compute import (
    HEADLESS_LABEL,
    find_port,
    is_headless,
    pod_ips_of_family,
    should_pod_be_in_endpoints,
    should_set_hostname,
    target_ref,
)
from controller_manager.podutil import is_pod_ready

Object = dict[str, Any]
LABEL_SERVICE_NAME = "kubernetes.io/service-name"
LABEL_MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
LABEL_ZONE = "topology.kubernetes.io/zone"
PortsKey = str  # a canonical JSON rendering of a port list
EndpointKey = tuple[tuple[str, ...], str, str, str]


@dataclass
class PortGroup:
    """The endpoints that share one port list (and so can share slices)."""

    ports: list[Object]
    endpoints: dict[EndpointKey, Object] = field(default_factory=dict)


@dataclass
class DesiredEndpoints:
    """Per address type, the endpoint groups by port list; plus pods left out because their node is unknown."""

    by_address_type: dict[str, dict[PortsKey, PortGroup]] = field(default_factory=dict)
    skipped_pods: list[str] = field(default_factory=list)


def address_types(service: Mapping[str, Any]) -> list[str]:
    """getAddressTypesForService: from ipFamilies, else from the clusterIP, else IPv4."""
    spec = service.get("spec") or {}
    families = [f for f in spec.get("ipFamilies") or [] if f in ("IPv4", "IPv6")]
    if families:
        return sorted(set(families))
    cluster_ip = str(spec.get("clusterIP") or "")
    return ["IPv6"] if ":" in cluster_ip else ["IPv4"]


def ports_key(ports: Iterable[Mapping[str, Any]]) -> PortsKey:
    """NewPortMapKey: the same ports in any order give the same key."""
    return json.dumps(sorted(json.dumps(p, sort_keys=True) for p in ports))


def endpoint_key(endpoint: Mapping[str, Any]) -> EndpointKey:
    ref = endpoint.get("targetRef") or {}
    return (tuple(sorted(endpoint.get("addresses") or [])), str(endpoint.get("hostname") or ""),
            str(ref.get("namespace") or ""), str(ref.get("name") or ""))


def endpoint_ports(service: Mapping[str, Any], pod: Mapping[str, Any]) -> list[Object]:
    """getEndpointPorts: each Service port the pod can serve, with the pod's port number."""
    spec = service.get("spec") or {}
    found: list[Object] = []
    for service_port in spec.get("ports") or []:
        number = find_port(pod, service_port)
        if number is None:
            continue
        port: Object = {"name": service_port.get("name") or "", "port": number,
                        "protocol": service_port.get("protocol") or "TCP"}
        if service_port.get("appProtocol"):
            port["appProtocol"] = service_port["appProtocol"]
        found.append(port)
    return found


def pod_to_endpoint(pod: Mapping[str, Any], service: Mapping[str, Any], node: Mapping[str, Any] | None,
                    address_type: str) -> Object:
    """podToEndpoint: the Endpoint of one pod in a slice of `address_type`."""
    serving = is_pod_ready(pod)
    terminating = bool((pod.get("metadata") or {}).get("deletionTimestamp"))
    publish_not_ready = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    endpoint: Object = {
        "addresses": pod_ips_of_family(pod, address_type == "IPv6"),
        "conditions": {"ready": publish_not_ready or (serving and not terminating), "serving": serving,
                       "terminating": terminating},
    }
    if should_set_hostname(pod, service):
        endpoint["hostname"] = pod["spec"]["hostname"]
    endpoint["targetRef"] = target_ref(pod)
    node_name = (pod.get("spec") or {}).get("nodeName")
    if node_name:
        endpoint["nodeName"] = node_name
    zone = ((node or {}).get("metadata") or {}).get("labels", {}).get(LABEL_ZONE)
    if zone:
        endpoint["zone"] = zone
    return endpoint


def desired_endpoints(service: Mapping[str, Any], pods: Iterable[Mapping[str, Any]],
                      nodes: Mapping[str, Mapping[str, Any]]) -> DesiredEndpoints:
    """Steps 1 and 2: every eligible pod as an Endpoint, grouped by address type and port list.

    A pod on a node the cache does not know is left out (and reported in `skipped_pods`, so the
    caller retries later) unless the Service publishes not-ready addresses, as in Kubernetes.
    """
    desired = DesiredEndpoints()
    publish_not_ready = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    for address_type in address_types(service):
        groups = desired.by_address_type.setdefault(address_type, {})
        for pod in sorted(pods, key=lambda p: str((p.get("metadata") or {}).get("name", ""))):
            if not should_pod_be_in_endpoints(pod, True):
                continue
            node_name = (pod.get("spec") or {}).get("nodeName") or ""
            node = nodes.get(node_name)
            if node_name and node is None and not publish_not_ready:
                desired.skipped_pods.append(str((pod.get("metadata") or {}).get("name", "")))
                continue
            ports = endpoint_ports(service, pod)
            group = groups.setdefault(ports_key(ports), PortGroup(ports))
            endpoint = pod_to_endpoint(pod, service, node, address_type)
            if endpoint["addresses"]:
                group.endpoints[endpoint_key(endpoint)] = endpoint
    return desired


def slice_labels(service: Mapping[str, Any]) -> dict[str, str]:
    """setEndpointSliceLabels: the Service's labels, then service-name, managed-by and headless."""
    labels = {k: v for k, v in ((service.get("metadata") or {}).get("labels") or {}).items()
              if k not in (LABEL_SERVICE_NAME, LABEL_MANAGED_BY, HEADLESS_LABEL)}
    labels[LABEL_SERVICE_NAME] = str((service.get("metadata") or {}).get("name", ""))
    labels[LABEL_MANAGED_BY] = CONTROLLER_NAME
    if is_headless(service):
        labels[HEADLESS_LABEL] = ""
    return labels


def owner_reference(service: Mapping[str, Any]) -> Object:
    meta = service.get("metadata") or {}
    return {"apiVersion": "v1", "kind": "Service", "name": meta.get("name", ""), "uid": meta.get("uid", ""),
            "controller": True, "blockOwnerDeletion": True}


def owned_by(slice_: Mapping[str, Any], service: Mapping[str, Any]) -> bool:
    uid = (service.get("metadata") or {}).get("uid")
    return any(ref.get("uid") == uid and ref.get("controller")
               for ref in (slice_.get("metadata") or {}).get("ownerReferences") or [])


def new_slice(service: Mapping[str, Any], ports: list[Object], address_type: str) -> Object:
    """newEndpointSlice: an empty slice named by generateName `<service>-`, owned by the Service."""
    meta = service.get("metadata") or {}
    return {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"generateName": f"{meta.get('name', '')}-", "namespace": meta.get("namespace", ""),
                     "labels": slice_labels(service), "ownerReferences": [owner_reference(service)]},
        "addressType": address_type, "ports": [dict(p) for p in ports], "endpoints": [],
    }
