"""Services and Endpoints: defaulting (SetDefaults_Service & the IP-family fields the REST storage
fills in), ValidateService / ValidateServiceUpdate, and ValidateEndpoints.

Allocating a cluster IP or a node port is the apiserver's allocator's job, not this module's;
but an update that omits an allocated value keeps it (Kubernetes' patchAllocatedValues), which
is why `validate_service_update` may fill `clusterIP`, `clusterIPs` and `nodePort`s of the new
object from the old one before it compares them.
"""

from __future__ import annotations

from apimachinery.api.common import (
    Object,
    duplicate,
    ensure,
    entries,
    forbidden,
    from_messages,
    invalid,
    ip_errors,
    not_supported,
    number,
    port_num_or_name,
    protocol,
    required,
    strings,
    sub,
    text,
    valid_port,
    values,
)
from apimachinery.errors import FieldError
from apimachinery.names import (
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    validate_labels,
    validate_object_meta,
)

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
SESSION_AFFINITIES = ("ClientIP", "None")
IP_FAMILY_POLICIES = ("PreferDualStack", "RequireDualStack", "SingleStack")
TRAFFIC_POLICIES = ("Cluster", "Local")
NODE_PORT_RANGE = (30000, 32767)


def _headless(spec: Object) -> bool:
    return spec.get("clusterIP") == "None"


def _externally_accessible(spec: Object) -> bool:
    kind = spec.get("type")
    return kind in ("LoadBalancer", "NodePort") or (kind == "ClusterIP" and bool(spec.get("externalIPs")))


# -- defaulting -----------------------------------------------------------------------------


def default_service(obj: Object) -> None:
    spec = ensure(obj, "spec")
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    if not spec.get("type"):
        spec["type"] = "ClusterIP"
    for _, port in entries(spec, "ports"):
        port.setdefault("protocol", "TCP")
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port")
    if _externally_accessible(spec) and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if spec.get("internalTrafficPolicy") is None and spec["type"] in ("ClusterIP", "NodePort", "LoadBalancer"):
        spec["internalTrafficPolicy"] = "Cluster"
    if spec["type"] == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True
    if spec.get("clusterIP") and not spec.get("clusterIPs"):
        spec["clusterIPs"] = [spec["clusterIP"]]
    if spec["type"] != "ExternalName":
        _default_ip_families(spec)


def _default_ip_families(spec: Object) -> None:
    """A single-stack IPv4 cluster: headless services without a selector are RequireDualStack."""
    if spec.get("ipFamilyPolicy") is None:
        wild = _headless(spec) and not spec.get("selector")
        spec["ipFamilyPolicy"] = "RequireDualStack" if wild else "SingleStack"
    if not spec.get("ipFamilies"):
        spec["ipFamilies"] = ["IPv4"]


# -- validation -----------------------------------------------------------------------------


def validate_service(obj: Object) -> list[FieldError]:
    spec = sub(obj, "spec")
    found = validate_object_meta(sub(obj, "metadata"), True, is_dns1035_label)
    kind = spec.get("type")
    if not entries(spec, "ports") and not _headless(spec) and kind != "ExternalName":
        found.append(required("spec.ports"))
    found += _by_type(spec)
    names: set[str] = set()
    many = len(entries(spec, "ports")) > 1
    for i, port in entries(spec, "ports"):
        found += _validate_port(port, many, names, f"spec.ports[{i}]")
    found += validate_labels(strings(spec, "selector"), "spec.selector")
    found += _session_affinity(spec)
    found += _cluster_ips(spec)
    for i, ip in enumerate(values(spec, "externalIPs")):
        found += from_messages(f"spec.externalIPs[{i}]", ip, ip_errors(text(ip)))
    if not kind:
        found.append(required("spec.type"))
    elif kind not in SERVICE_TYPES:
        found.append(not_supported("spec.type", kind, SERVICE_TYPES))
    found += _node_ports(spec)
    found += _traffic_policies(spec)
    return found


def _by_type(spec: Object) -> list[FieldError]:
    kind = spec.get("type")
    if kind in ("LoadBalancer", "NodePort") and _headless(spec):
        return [invalid("spec.clusterIPs[0]", "None", f"may not be set to 'None' for {kind} services")]
    if kind != "ExternalName":
        return []
    found = [forbidden(f"spec.{key}", "may not be set for ExternalName services")
             for key in ("clusterIPs", "ipFamilies", "ipFamilyPolicy") if spec.get(key)]
    cname = text(spec.get("externalName")).removesuffix(".")
    if not cname:
        return [*found, required("spec.externalName")]
    return found + from_messages("spec.externalName", cname, is_dns1123_subdomain(cname))


def _validate_port(port: Object, require_name: bool, names: set[str], path: str) -> list[FieldError]:
    found: list[FieldError] = []
    name = text(port.get("name"))
    if require_name and not name:
        found.append(required(f"{path}.name"))
    elif name:
        found += from_messages(f"{path}.name", name, is_dns1123_label(name))
        if name in names:
            found.append(duplicate(f"{path}.name", name))
        names.add(name)
    found += valid_port(port.get("port", 0), f"{path}.port")
    found += protocol(port.get("protocol"), f"{path}.protocol")
    found += port_num_or_name(port.get("targetPort"), f"{path}.targetPort")
    app_protocol = port.get("appProtocol")
    if isinstance(app_protocol, str):
        found += from_messages(f"{path}.appProtocol", app_protocol, is_qualified_name(app_protocol))
    return found


def _session_affinity(spec: Object) -> list[FieldError]:
    affinity = spec.get("sessionAffinity")
    if not affinity:
        return [required("spec.sessionAffinity")]
    if affinity not in SESSION_AFFINITIES:
        return [not_supported("spec.sessionAffinity", affinity, SESSION_AFFINITIES)]
    if affinity == "None" and spec.get("sessionAffinityConfig") is not None:
        return [forbidden("spec.sessionAffinityConfig", "must not be set when session affinity is None")]
    timeout = number(sub(sub(spec, "sessionAffinityConfig"), "clientIP").get("timeoutSeconds"))
    if affinity == "ClientIP" and timeout is not None and not 0 < timeout <= 86400:
        return [invalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", timeout,
                        "must be greater than 0 and less than 86400")]
    return []


def _cluster_ips(spec: Object) -> list[FieldError]:
    if spec.get("type") == "ExternalName":
        return []
    cluster_ip, cluster_ips = text(spec.get("clusterIP")), values(spec, "clusterIPs")
    found: list[FieldError] = []
    if cluster_ip and not cluster_ips:
        found.append(required("spec.clusterIPs"))
    elif cluster_ip and cluster_ips[0] != cluster_ip:
        found.append(invalid("spec.clusterIPs", cluster_ips, "first value must match `clusterIP`"))
    elif not cluster_ip and cluster_ips:
        found.append(invalid("spec.clusterIPs", cluster_ips, "must be empty when `clusterIP` is not specified"))
    for i, family in enumerate(values(spec, "ipFamilies")):
        if family not in ("IPv4", "IPv6"):
            found.append(not_supported(f"spec.ipFamilies[{i}]", family, ("IPv4", "IPv6")))
    policy = spec.get("ipFamilyPolicy")
    if policy is not None and policy not in IP_FAMILY_POLICIES:
        found.append(not_supported("spec.ipFamilyPolicy", policy, IP_FAMILY_POLICIES))
    for i, ip in enumerate(cluster_ips):
        if i == 0 and ip == "None":
            if len(cluster_ips) > 1:
                found.append(invalid("spec.clusterIPs", cluster_ips, "'None' must be the first and only value"))
            continue
        found += from_messages(f"spec.clusterIPs[{i}]", ip, ip_errors(text(ip)))
    return found


def _node_ports(spec: Object) -> list[FieldError]:
    found: list[FieldError] = []
    seen_node_ports: set[tuple[str, int]] = set()
    seen_ports: set[tuple[str, int | None]] = set()
    low, high = NODE_PORT_RANGE
    for i, port in entries(spec, "ports"):
        node_port = number(port.get("nodePort"))
        if node_port:
            if spec.get("type") == "ClusterIP":
                found.append(forbidden(f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'"))
            elif not low <= node_port <= high:
                found.append(invalid(f"spec.ports[{i}].nodePort", node_port,
                                     f"provided port is not in the valid range. The range of valid ports is "
                                     f"{low}-{high}"))
            if (text(port.get("protocol")), node_port) in seen_node_ports:
                found.append(duplicate(f"spec.ports[{i}].nodePort", node_port))
            seen_node_ports.add((text(port.get("protocol")), node_port))
        key = (text(port.get("protocol")), number(port.get("port")))
        if key in seen_ports:
            found.append(duplicate(f"spec.ports[{i}]", {"port": key[1], "protocol": key[0]}))
        seen_ports.add(key)
    return found


def _traffic_policies(spec: Object) -> list[FieldError]:
    found: list[FieldError] = []
    external = spec.get("externalTrafficPolicy")
    if external and not _externally_accessible(spec):
        found.append(invalid("spec.externalTrafficPolicy", external,
                             "may only be set for externally-accessible services"))
    elif external and external not in TRAFFIC_POLICIES:
        found.append(not_supported("spec.externalTrafficPolicy", external, TRAFFIC_POLICIES))
    internal = spec.get("internalTrafficPolicy")
    if internal is not None and internal not in TRAFFIC_POLICIES:
        found.append(not_supported("spec.internalTrafficPolicy", internal, TRAFFIC_POLICIES))
    return found


def validate_service_update(new: Object, old: Object) -> list[FieldError]:
    """Keep allocated values an update omitted, then: the primary cluster IP may not change."""
    new_spec, old_spec = ensure(new, "spec"), sub(old, "spec")
    _carry_allocated_values(new_spec, old_spec)
    if "ExternalName" in (new_spec.get("type"), old_spec.get("type")):
        return []
    if _headless(new_spec) and _headless(old_spec):
        return []
    new_ips, old_ips = values(new_spec, "clusterIPs"), values(old_spec, "clusterIPs")
    if old_ips and not new_ips:
        return [invalid("spec.clusterIPs[0]", new_ips, "primary clusterIP can not be unset")]
    changed = [i for i, (a, b) in enumerate(zip(old_ips, new_ips, strict=False)) if a != b]
    if len(old_ips) != len(new_ips):
        changed = [i for i in changed if i == 0]
    return [invalid(f"spec.clusterIPs[{i}]", new_ips, "may not change once set") for i in changed]


def _carry_allocated_values(new_spec: Object, old_spec: Object) -> None:
    if "ExternalName" in (new_spec.get("type"), old_spec.get("type")):
        return
    if not new_spec.get("clusterIP") and old_spec.get("clusterIP"):
        new_spec["clusterIP"] = old_spec["clusterIP"]
    if not new_spec.get("clusterIPs") and old_spec.get("clusterIPs"):
        new_spec["clusterIPs"] = list(old_spec["clusterIPs"])
    if new_spec.get("clusterIP") != old_spec.get("clusterIP") and new_spec.get("clusterIPs") == old_spec.get(
            "clusterIPs"):
        new_spec["clusterIPs"] = [new_spec.get("clusterIP")]
    if {text(new_spec.get("type")), text(old_spec.get("type"))} <= {"NodePort", "LoadBalancer"}:
        old_ports = {text(p.get("name")): p.get("nodePort") for _, p in entries(old_spec, "ports")}
        used = {p.get("nodePort") for _, p in entries(new_spec, "ports") if p.get("nodePort")}
        for _, port in entries(new_spec, "ports"):
            previous = old_ports.get(text(port.get("name")))
            if not port.get("nodePort") and previous and previous not in used:
                port["nodePort"] = previous


# -- Endpoints ------------------------------------------------------------------------------


def default_endpoints(obj: Object) -> None:
    for _, subset in entries(obj, "subsets"):
        for _, port in entries(subset, "ports"):
            port.setdefault("protocol", "TCP")


def validate_endpoints(obj: Object) -> list[FieldError]:
    found = validate_object_meta(sub(obj, "metadata"), True, is_dns1123_subdomain)
    for i, subset in entries(obj, "subsets"):
        at = f"subsets[{i}]"
        if not subset.get("addresses") and not subset.get("notReadyAddresses"):
            found.append(required(at, "must specify `addresses` or `notReadyAddresses`"))
        for key in ("addresses", "notReadyAddresses"):
            for j, address in entries(subset, key):
                found += _endpoint_address(address, f"{at}.{key}[{j}]")
        many = len(entries(subset, "ports")) > 1
        for j, port in entries(subset, "ports"):
            found += _endpoint_port(port, many, f"{at}.ports[{j}]")
    return found


def _endpoint_address(address: Object, path: str) -> list[FieldError]:
    ip = text(address.get("ip"))
    found = from_messages(f"{path}.ip", ip, ip_errors(ip))
    hostname = text(address.get("hostname"))
    if hostname:
        found += from_messages(f"{path}.hostname", hostname, is_dns1123_label(hostname))
    node_name = address.get("nodeName")
    if isinstance(node_name, str):
        found += from_messages(f"{path}.nodeName", node_name, is_dns1123_subdomain(node_name))
    return found


def _endpoint_port(port: Object, require_name: bool, path: str) -> list[FieldError]:
    name = text(port.get("name"))
    found: list[FieldError] = []
    if require_name and not name:
        found.append(required(f"{path}.name"))
    elif name:
        found += from_messages(f"{path}.name", name, is_dns1123_label(name))
    return found + valid_port(port.get("port", 0), f"{path}.port") + protocol(port.get("protocol"),
                                                                           f"{path}.protocol")
