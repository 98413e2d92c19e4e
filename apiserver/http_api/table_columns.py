"""Per-kind Table columns and cell logic, after Kubernetes' pkg/printers/internalversion/printers.go.

Each kind maps to a `KindTable`: the `meta.k8s.io/v1` column definitions (name, type, format,
description, priority — priority 1 columns are shown only by `kubectl get -o wide`) and a function
that turns one object into that row's cells. Cell functions never raise on missing fields: a
freshly created object has almost no status. Pod and the apps/batch/coordination kinds live in
`tables.py`; the time helpers (`human_duration`, `age`) live here so both modules share them
without an import cycle (`tables.py` re-exports them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]
CellFn = Callable[[Obj, datetime], list[Any]]

NAME_DOC = (
    "Name must be unique within a namespace. Is required when creating resources, although some resources may "
    "allow a client to request the generation of an appropriate name automatically. Name is primarily intended "
    "for creation idempotence and configuration definition. Cannot be updated. "
    "More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
CREATED_DOC = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
    "guaranteed to be set in happens-before order across separate operations. Clients may not set this value. "
    "It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. "
    "More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
CONTAINERS_DOC = "Names of each container in the template."
IMAGES_DOC = "Images referenced by each container in the template."


@dataclass(frozen=True)
class KindTable:
    """The columns Kubernetes serves for one kind, and how to fill a row."""

    columns: list[Obj]
    cells: CellFn


def col(name: str, description: str, *, type_: str = "string", fmt: str = "", priority: int = 0) -> Obj:
    """One `TableColumnDefinition`."""
    return {"name": name, "type": type_, "format": fmt, "description": description, "priority": priority}


def name_col(priority: int = 0) -> Obj:
    return col("Name", NAME_DOC, fmt="name", priority=priority)


def age_col() -> Obj:
    return col("Age", CREATED_DOC)


# ---- time ----------------------------------------------------------------------------------------


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration, from a duration in seconds."""
    ns = math.trunc(seconds * 1e9)
    secs = _go_div(ns, 10**9)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 60 * 2:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        return _two_units(minutes, "m", secs % 60, "s")
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return _two_units(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return _two_units(hours // 24, "d", hours % 24, "h")
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        return _two_units(hours // 24 // 365, "y", (hours // 24) % 365, "d")
    return f"{hours // 24 // 365}y"


def _go_div(a: int, b: int) -> int:
    """Go integer division, which truncates toward zero."""
    q = abs(a) // b
    return q if a >= 0 else -q


def _two_units(big: int, big_unit: str, small: int, small_unit: str) -> str:
    return f"{big}{big_unit}" if small == 0 else f"{big}{big_unit}{small}{small_unit}"


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 (micro)timestamp as an aware datetime; None when absent or unparseable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _aware(now: datetime) -> datetime:
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def since(when: datetime, now: datetime) -> str:
    return human_duration((_aware(now) - when).total_seconds())


def age(timestamp: str | None, now: datetime) -> str:
    """translateTimestampSince: the time since `timestamp`, or "<unknown>" when it is unset."""
    parsed = parse_time(timestamp)
    return "<unknown>" if parsed is None else since(parsed, now)


# ---- small accessors and formatters ----------------------------------------------------------------


def dig(obj: Any, *path: str) -> Any:
    """obj[path[0]][path[1]]...; None as soon as a step is missing or not a mapping."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def meta_name(obj: Obj) -> str:
    return dig(obj, "metadata", "name") or ""


def obj_age(obj: Obj, now: datetime) -> str:
    return age(dig(obj, "metadata", "creationTimestamp"), now)


def format_labels(labels: Any) -> str:
    """labels.FormatLabels: sorted k=v pairs, "<none>" when empty."""
    if not isinstance(labels, dict) or not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def selector_string(selector: Any) -> str:
    """labels.Selector.String() of a LabelSelector ("" for nil or empty)."""
    if not isinstance(selector, dict):
        return ""
    reqs = [(k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key, op = expr.get("key", ""), expr.get("operator", "")
        values = ",".join(sorted(expr.get("values") or []))
        text = {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})",
                "Exists": key, "DoesNotExist": f"!{key}"}.get(op, key)
        reqs.append((key, text))
    return ",".join(text for _, text in sorted(reqs, key=lambda r: r[0]))


def format_selector(selector: Any) -> str:
    """metav1.FormatLabelSelector: the selector string, "<none>" when it selects by nothing."""
    return selector_string(selector) or "<none>"


def container_cells(pod_spec: Any) -> list[str]:
    """layoutContainerCells: comma-joined container names and images."""
    containers = dig(pod_spec, "containers") or []
    return [",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)]


def template_spec(obj: Obj) -> Any:
    return dig(obj, "spec", "template", "spec")


def bool_ptr(value: Any) -> str:
    return "<unset>" if value is None else ("True" if value else "False")


def controller_of(obj: Obj) -> str:
    """The owning controller as "kind.group/name", "<none>" without one (printControllerRevision)."""
    for ref in dig(obj, "metadata", "ownerReferences") or []:
        if ref.get("controller"):
            api_version = str(ref.get("apiVersion", ""))
            group = api_version.split("/")[0] if "/" in api_version else ""
            kind = f"{ref.get('kind', '')}.{group}" if group else str(ref.get("kind", ""))
            return f"{kind.lower()}/{ref.get('name', '')}" if kind else str(ref.get("name", ""))
    return "<none>"


def job_status(job: Obj) -> str:
    """Job STATUS: the first true of Complete, Failed, (deleting) Terminating, Suspended, FailureTarget."""
    conditions = {c.get("type"): c.get("status") for c in dig(job, "status", "conditions") or []}
    if conditions.get("Complete") == "True":
        return "Complete"
    if conditions.get("Failed") == "True":
        return "Failed"
    if dig(job, "metadata", "deletionTimestamp"):
        return "Terminating"
    if conditions.get("Suspended") == "True":
        return "Suspended"
    if conditions.get("FailureTarget") == "True":
        return "FailureTarget"
    return "Running"


# ---- core/v1 ---------------------------------------------------------------------------------------


def _node_status(node: Obj) -> str:
    status: list[str] = []
    for cond in dig(node, "status", "conditions") or []:
        if cond.get("type") == "Ready":
            status = ["Ready" if cond.get("status") == "True" else "NotReady"]
    status = status or ["Unknown"]
    if dig(node, "spec", "unschedulable"):
        status.append("SchedulingDisabled")
    return ",".join(status)


def _node_roles(node: Obj) -> str:
    roles: set[str] = set()
    for key, value in (dig(node, "metadata", "labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/") and key[len("node-role.kubernetes.io/"):]:
            roles.add(key[len("node-role.kubernetes.io/"):])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(roles)) or "<none>"


def _node_address(node: Obj, kind: str) -> str:
    for address in dig(node, "status", "addresses") or []:
        if address.get("type") == kind:
            return str(address.get("address", ""))
    return "<none>"


def _node_cells(node: Obj, now: datetime) -> list[Any]:
    info = dig(node, "status", "nodeInfo") or {}
    wide = [info.get(k) or "<unknown>" for k in ("osImage", "kernelVersion", "containerRuntimeVersion")]
    return [meta_name(node), _node_status(node), _node_roles(node), obj_age(node, now), info.get("kubeletVersion", ""),
            _node_address(node, "InternalIP"), _node_address(node, "ExternalIP"), *wide]


def _lb_ingress(svc: Obj) -> list[str]:
    found: list[str] = []
    for ing in dig(svc, "status", "loadBalancer", "ingress") or []:
        value = ing.get("ip") or ing.get("hostname")
        if value and value not in found:
            found.append(value)
    return found


def _service_external_ip(svc: Obj) -> str:
    svc_type = dig(svc, "spec", "type") or "ClusterIP"
    external = dig(svc, "spec", "externalIPs") or []
    if svc_type in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if svc_type == "LoadBalancer":
        return ",".join(_lb_ingress(svc) + external) or "<pending>"
    if svc_type == "ExternalName":
        return str(dig(svc, "spec", "externalName") or "")
    return "<unknown>"


def _port_string(ports: list[Obj]) -> str:
    pieces = []
    for p in ports:
        proto = p.get("protocol", "TCP")
        node_port = as_int(p.get("nodePort"))
        pieces.append(f"{p.get('port')}:{node_port}/{proto}" if node_port > 0 else f"{p.get('port')}/{proto}")
    return ",".join(pieces)


def _service_cells(svc: Obj, now: datetime) -> list[Any]:
    spec = svc.get("spec") or {}
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [meta_name(svc), spec.get("type", ""), cluster_ips[0] if cluster_ips else "<none>",
            _service_external_ip(svc), _port_string(spec.get("ports") or []) or "<none>", obj_age(svc, now),
            format_labels(spec.get("selector"))]


def format_endpoints(endpoints: Obj) -> str:
    """formatEndpoints: up to three ip:port pairs, then " + N more..."."""
    subsets = endpoints.get("subsets") or []
    if not subsets:
        return "<none>"
    found: list[str] = []
    count = 0
    for subset in subsets:
        addresses = [a.get("ip", "") for a in subset.get("addresses") or []]
        ports = subset.get("ports") or [None]
        for port in ports:
            count += len(addresses)
            for ip in addresses:
                if len(found) == 3:
                    break
                found.append(ip if port is None else _join_host_port(ip, port.get("port")))
    joined = ",".join(found)
    return f"{joined} + {count - 3} more..." if count > 3 else joined


def _join_host_port(host: str, port: Any) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _list_with_more(items: list[str], count: int, limit: int = 3) -> str:
    """listWithMoreString: the first `limit` items, then " + N more...", "<unset>" when empty."""
    if count > limit:
        return f"{','.join(items[:limit])} + {count - limit} more..."
    return ",".join(items) or "<unset>"


def format_discovery_ports(slice_: Obj) -> str:
    """formatDiscoveryPorts: port numbers (a nil port shows its name, or "*")."""
    ports = slice_.get("ports") or []
    shown = [str(p["port"]) if p.get("port") is not None else (p.get("name") if p.get("name") is not None else "*")
             for p in ports]
    return _list_with_more(shown, len(ports))


def format_discovery_endpoints(slice_: Obj) -> str:
    """formatDiscoveryEndpoints: the addresses of every endpoint, up to three."""
    addresses = [str(a) for e in slice_.get("endpoints") or [] for a in e.get("addresses") or []]
    return _list_with_more(addresses, len(addresses))


ENDPOINT_SLICE_DOCS = {
    "addressType": "addressType specifies the type of address carried by this EndpointSlice. All addresses in this "
    "slice must be the same type. This field is immutable after creation. The following address types are "
    "currently supported:\n* IPv4: Represents an IPv4 Address.\n* IPv6: Represents an IPv6 Address.\n* FQDN: "
    "Represents a Fully Qualified Domain Name.",
    "ports": "ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have "
    "a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with "
    "a nil port value, it indicates \"all ports\". Each slice may include a maximum of 100 ports.",
    "endpoints": "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 "
    "endpoints.",
}


def _event_cells(ev: Obj, now: datetime) -> list[Any]:
    first = age(ev.get("firstTimestamp"), now) if ev.get("firstTimestamp") else age(ev.get("eventTime"), now)
    last = age(ev.get("lastTimestamp"), now) if ev.get("lastTimestamp") else first
    count = as_int(ev.get("count"))
    if isinstance(ev.get("series"), dict):
        last = age(dig(ev, "series", "lastObservedTime"), now)
        count = as_int(dig(ev, "series", "count"))
    elif count == 0:
        count = 1
    involved = ev.get("involvedObject") or {}
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    component = dig(ev, "source", "component") or ev.get("reportingController") or ""
    host = dig(ev, "source", "host") or ev.get("reportingInstance") or ""
    source = f"{component}, {host}" if host else component
    return [last, ev.get("type", ""), ev.get("reason", ""), target, involved.get("fieldPath", ""), source,
            str(ev.get("message", "")).strip(), first, count, meta_name(ev)]


CORE_TABLES: dict[str, KindTable] = {
    "Node": KindTable([
        name_col(), col("Status", "The status of the node"), col("Roles", "The roles of the node"), age_col(),
        col("Version", "Kubelet Version reported by the node."),
        col("Internal-IP", "List of addresses reachable to the node.", priority=1),
        col("External-IP", "List of addresses reachable to the node.", priority=1),
        col("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
            priority=1),
        col("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
            priority=1),
        col("Container-Runtime", "ContainerRuntime Version reported by the node through runtime remote API "
            "(e.g. containerd://1.4.2).", priority=1),
    ], _node_cells),
    "Namespace": KindTable(
        [name_col(), col("Status", "The status of the namespace"), age_col()],
        lambda o, now: [meta_name(o), dig(o, "status", "phase") or "", obj_age(o, now)]),
    "Service": KindTable([
        name_col(), col("Type", "type determines how the Service is exposed."),
        col("Cluster-IP", "clusterIP is the IP address of the service and is usually assigned randomly."),
        col("External-IP", "externalIPs is a list of IP addresses for which nodes in the cluster will also "
            "accept traffic for this service."),
        col("Port(s)", "The list of ports that are exposed by this service."), age_col(),
        col("Selector", "Route service traffic to pods with label keys and values matching this selector.",
            priority=1),
    ], _service_cells),
    "Endpoints": KindTable(
        [name_col(), col("Endpoints", "The set of all endpoints is the union of all subsets."), age_col()],
        lambda o, now: [meta_name(o), format_endpoints(o), obj_age(o, now)]),
    # discovery.k8s.io/v1 (printEndpointSlice), kept here with Endpoints, its predecessor.
    "EndpointSlice": KindTable(
        [name_col(), col("AddressType", ENDPOINT_SLICE_DOCS["addressType"]),
         col("Ports", ENDPOINT_SLICE_DOCS["ports"]), col("Endpoints", ENDPOINT_SLICE_DOCS["endpoints"]), age_col()],
        lambda o, now: [meta_name(o), o.get("addressType", ""), format_discovery_ports(o),
                        format_discovery_endpoints(o), obj_age(o, now)]),
    "ConfigMap": KindTable(
        [name_col(), col("Data", "Data contains the configuration data."), age_col()],
        lambda o, now: [meta_name(o), len(o.get("data") or {}) + len(o.get("binaryData") or {}), obj_age(o, now)]),
    "Secret": KindTable(
        [name_col(), col("Type", "Used to facilitate programmatic handling of secret data."),
         col("Data", "Data contains the secret data."), age_col()],
        lambda o, now: [meta_name(o), o.get("type", ""), len(o.get("data") or {}), obj_age(o, now)]),
    "ServiceAccount": KindTable(
        [name_col(), col("Secrets", "Secrets is a list of the secrets in the same namespace that pods running "
                         "using this ServiceAccount are allowed to use."), age_col()],
        lambda o, now: [meta_name(o), len(o.get("secrets") or []), obj_age(o, now)]),
    "Event": KindTable([
        col("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
        col("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
        col("Reason", "This should be a short, machine understandable string that gives the reason for the "
            "transition into the object's current status."),
        col("Object", "The object that this event is about."),
        col("Subobject", "If referring to a piece of an object instead of an entire object, this string should "
            "contain a valid JSON/Go field access statement.", priority=1),
        col("Source", "The component reporting this event. Should be a short machine understandable string.",
            priority=1),
        col("Message", "A human-readable description of the status of this operation."),
        col("First Seen", "The time at which the event was first recorded. (Time of server receipt is in "
            "TypeMeta.)", priority=1),
        col("Count", "The number of times this event has occurred.", priority=1),
        name_col(priority=1),
    ], _event_cells),
}
