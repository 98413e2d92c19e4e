"""What the Endpoints object of a Service should be: pure functions, no I/O.

A Service with a selector publishes the pods it selects as one Endpoints object of the same name
(pkg/controller/endpoint). For every selected pod that has an IP and is not finished:

* its address is {ip, nodeName, targetRef: the Pod}, plus `hostname` when the pod asked for one
  under this Service (`spec.hostname` set and `spec.subdomain` == the Service's name);
* it is listed under `addresses` when the pod is Ready (or the Service sets
  `publishNotReadyAddresses`), else under `notReadyAddresses`; a terminating pod (deletionTimestamp
  set) is left out, unless `publishNotReadyAddresses`;
* each Service port becomes an endpoint port whose number is the pod's: `targetPort` as a number
  is used as is, as a name it is looked up among the pod's container ports (same protocol). A pod
  that does not expose a named port is not an endpoint for that port.

Pods whose named ports resolve to different numbers cannot share a subset, since a subset is "these
addresses x these ports". `repack_subsets` (Kubernetes' RepackSubsets) regroups the one-address
subsets built per pod and port into the fewest subsets: addresses that serve exactly the same
ports, with the same readiness per port, share a subset.

The small pod facts here (`should_pod_be_in_endpoints`, `find_port`, `should_set_hostname`,
`pod_ips_of_family`) are shared with the EndpointSlice controller, as Kubernetes shares them in
its endpointslice util package.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from typing import Any

from apimachinery.labels import selector_from_set
from controller_manager.podutil import is_pod_ready

Object = dict[str, Any]
HEADLESS_LABEL = "service.kubernetes.io/headless"
PortKey = tuple[str, int, str, str] | None  # (name, port, protocol, appProtocol); None: "no ports"


# -- facts about services and pods ---------------------------------------------------------------


def service_selects_pods(service: Mapping[str, Any]) -> bool:
    """Services without a selector (and ExternalName ones) get no endpoints from the controllers."""
    spec = service.get("spec") or {}
    return spec.get("type") != "ExternalName" and bool(spec.get("selector"))


def selected_pods(service: Mapping[str, Any], pods: Iterable[Object]) -> list[Object]:
    """The pods (of the Service's namespace) its selector matches."""
    selector = selector_from_set((service.get("spec") or {}).get("selector"))
    return [p for p in pods if selector.matches((p.get("metadata") or {}).get("labels") or {})]


def services_selecting(services: Iterable[Mapping[str, Any]], pod: Mapping[str, Any]) -> set[str]:
    """Keys ("namespace/name") of the Services with a selector that matches the pod's labels."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    return {f"{s['metadata'].get('namespace', '')}/{s['metadata']['name']}" for s in services
            if service_selects_pods(s) and selector_from_set(s["spec"]["selector"]).matches(labels)}


def is_headless(service: Mapping[str, Any]) -> bool:
    return (service.get("spec") or {}).get("clusterIP") == "None"


def should_pod_be_in_endpoints(pod: Mapping[str, Any], include_terminating: bool) -> bool:
    """Not finished (Succeeded/Failed), has an IP, and — unless `include_terminating` — not being deleted."""
    status = pod.get("status") or {}
    if status.get("phase") in ("Succeeded", "Failed"):
        return False
    if not status.get("podIP") and not status.get("podIPs"):
        return False
    return include_terminating or not (pod.get("metadata") or {}).get("deletionTimestamp")


def should_set_hostname(pod: Mapping[str, Any], service: Mapping[str, Any]) -> bool:
    spec, meta, svc_meta = pod.get("spec") or {}, pod.get("metadata") or {}, service.get("metadata") or {}
    return (bool(spec.get("hostname")) and spec.get("subdomain") == svc_meta.get("name")
            and meta.get("namespace") == svc_meta.get("namespace"))


def find_port(pod: Mapping[str, Any], service_port: Mapping[str, Any]) -> int | None:
    """podutil.FindPort: the pod's port number for a Service port's targetPort, None if it has none."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int) and not isinstance(target, bool):
        return target
    protocol = service_port.get("protocol") or "TCP"
    for container in (pod.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port["containerPort"])
    return None


def is_ipv6(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).version == 6
    except ValueError:
        return False


def pod_ips(pod: Mapping[str, Any]) -> list[str]:
    status = pod.get("status") or {}
    ips = [str(entry.get("ip", "")) for entry in status.get("podIPs") or [] if entry.get("ip")]
    return ips or ([status["podIP"]] if status.get("podIP") else [])


def pod_ips_of_family(pod: Mapping[str, Any], ipv6: bool) -> list[str]:
    return [ip for ip in pod_ips(pod) if is_ipv6(ip) == ipv6]


def service_wants_ipv6(service: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    """The family of the Service's primary IP (ipFamilies[0]; else its clusterIP; else the pod's IP)."""
    spec = service.get("spec") or {}
    families = spec.get("ipFamilies") or []
    if families:
        return families[0] == "IPv6"
    cluster_ip = spec.get("clusterIP") or ""
    if cluster_ip and cluster_ip != "None":
        return is_ipv6(cluster_ip)
    return is_ipv6(str((pod.get("status") or {}).get("podIP", "")))


def target_ref(pod: Mapping[str, Any]) -> Object:
    meta = pod.get("metadata") or {}
    return {"kind": "Pod", "namespace": meta.get("namespace", ""), "name": meta.get("name", ""),
            "uid": meta.get("uid", "")}


# -- one pod as an EndpointAddress, one Service port as an EndpointPort ---------------------------


def pod_address(pod: Mapping[str, Any], service: Mapping[str, Any]) -> Object | None:
    """The EndpointAddress of a pod for this Service, None when it has no IP of the Service's family."""
    ips = pod_ips_of_family(pod, service_wants_ipv6(service, pod))
    if not ips:
        return None
    address: Object = {"ip": ips[0]}
    if should_set_hostname(pod, service):
        address["hostname"] = pod["spec"]["hostname"]
    node_name = (pod.get("spec") or {}).get("nodeName")
    if node_name:
        address["nodeName"] = node_name
    address["targetRef"] = target_ref(pod)
    return address


def endpoint_port(service_port: Mapping[str, Any], number: int) -> Object:
    port: Object = {"port": number, "protocol": service_port.get("protocol") or "TCP"}
    if service_port.get("name"):
        port["name"] = service_port["name"]
    if service_port.get("appProtocol"):
        port["appProtocol"] = service_port["appProtocol"]
    return port


# -- subsets -------------------------------------------------------------------------------------


def compute_subsets(service: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> list[Object]:
    """The Endpoints subsets for a Service and the pods its selector matches (already repacked)."""
    spec = service.get("spec") or {}
    publish_not_ready = bool(spec.get("publishNotReadyAddresses"))
    service_ports = spec.get("ports") or []
    singles: list[Object] = []
    for pod in pods:
        if not should_pod_be_in_endpoints(pod, publish_not_ready):
            continue
        address = pod_address(pod, service)
        if address is None:
            continue
        which = "addresses" if publish_not_ready or is_pod_ready(pod) else "notReadyAddresses"
        if not service_ports and is_headless(service):
            singles.append({which: [address]})
        for service_port in service_ports:
            number = find_port(pod, service_port)
            if number is not None:
                singles.append({which: [address], "ports": [endpoint_port(service_port, number)]})
    return repack_subsets(singles)


def _port_key(port: Mapping[str, Any] | None) -> PortKey:
    if port is None:
        return None
    return (str(port.get("name") or ""), int(port.get("port") or 0), str(port.get("protocol") or "TCP"),
            str(port.get("appProtocol") or ""))


def _address_key(address: Mapping[str, Any]) -> tuple[str, str]:
    return str(address.get("ip", "")), str((address.get("targetRef") or {}).get("uid", ""))


def repack_subsets(subsets: Iterable[Mapping[str, Any]]) -> list[Object]:
    """RepackSubsets: group addresses by the exact set of (port, readiness) they have; sorted."""
    addresses: dict[tuple[str, str], Object] = {}
    ports: dict[PortKey, Object | None] = {}
    readiness: dict[PortKey, dict[tuple[str, str], bool]] = {}
    for subset in subsets:
        for port in subset.get("ports") or [None]:
            key = _port_key(port)
            ports[key] = dict(port) if port is not None else None
            states = readiness.setdefault(key, {})
            for ready, field in ((True, "addresses"), (False, "notReadyAddresses")):
                for address in subset.get(field) or []:
                    addr_key = _address_key(address)
                    addresses.setdefault(addr_key, dict(address))
                    states[addr_key] = states.get(addr_key, True) and ready  # not ready trumps ready
    groups: dict[frozenset[tuple[tuple[str, str], bool]], list[Object]] = {}
    for key, states in readiness.items():
        group = groups.setdefault(frozenset(states.items()), [])
        if ports[key] is not None:
            group.append(ports[key])  # type: ignore[arg-type]
    return sort_subsets([_subset(members, group_ports, addresses) for members, group_ports in groups.items()])


def _subset(members: frozenset[tuple[tuple[str, str], bool]], ports: list[Object],
            addresses: Mapping[tuple[str, str], Object]) -> Object:
    subset: Object = {}
    ready = [addresses[key] for key, is_ready in members if is_ready]
    not_ready = [addresses[key] for key, is_ready in members if not is_ready]
    if ready:
        subset["addresses"] = ready
    if not_ready:
        subset["notReadyAddresses"] = not_ready
    if ports:
        subset["ports"] = ports
    return subset


def sort_subsets(subsets: list[Object]) -> list[Object]:
    """SortSubsets: addresses by (ip, uid), ports and subsets in a stable order."""
    for subset in subsets:
        for field in ("addresses", "notReadyAddresses"):
            if field in subset:
                subset[field] = sorted(subset[field], key=_address_key)
        if "ports" in subset:
            subset["ports"] = sorted(subset["ports"], key=lambda p: _port_key(p) or ("", 0, "", ""))
    return sorted(subsets, key=lambda s: json.dumps(s, sort_keys=True))


# -- the Endpoints object --------------------------------------------------------------------------


def endpoints_labels(service: Mapping[str, Any]) -> dict[str, str]:
    """The Service's labels, plus service.kubernetes.io/headless for a headless Service."""
    labels = dict((service.get("metadata") or {}).get("labels") or {})
    labels.pop(HEADLESS_LABEL, None)
    if is_headless(service):
        labels[HEADLESS_LABEL] = ""
    return labels


def endpoints_up_to_date(current: Mapping[str, Any], service: Mapping[str, Any], subsets: list[Object]) -> bool:
    """Whether `current` already has these subsets and the Service's labels (the no-op check)."""
    current_labels = dict((current.get("metadata") or {}).get("labels") or {})
    return (sort_subsets([dict(s) for s in current.get("subsets") or []]) == subsets
            and current_labels == endpoints_labels(service))


def compute_endpoints(service: Mapping[str, Any], subsets: list[Object],
                      current: Mapping[str, Any] | None) -> Object:
    """The Endpoints to write: `current` (if any) with the new subsets and labels."""
    meta = service.get("metadata") or {}
    if current is None:
        endpoints: Object = {"apiVersion": "v1", "kind": "Endpoints",
                             "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace")}}
    else:
        endpoints = json.loads(json.dumps(current))
    endpoints["metadata"]["labels"] = endpoints_labels(service)
    endpoints["subsets"] = subsets
    return endpoints
