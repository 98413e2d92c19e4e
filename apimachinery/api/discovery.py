"""discovery.k8s.io/v1: EndpointSlice, the scalable successor of Endpoints.

An EndpointSlice holds up to 1000 endpoints of one Service, all of one `addressType` (IPv4, IPv6 or
FQDN), and the ports every one of them serves. The EndpointSlice controller labels each slice with
`kubernetes.io/service-name` (which Service it belongs to) and `endpointslice.kubernetes.io/managed-by`
(who writes it); the API itself does not require those labels, so other writers (a mirroring
controller, a user) can publish slices too.

Defaulting follows pkg/apis/discovery/v1/defaults.go (a port's protocol is TCP, its name "");
validation follows pkg/apis/discovery/validation: a known addressType (immutable afterwards), at
most 1000 endpoints each with 1 to 100 addresses valid for the type, a valid nodeName and hostname,
at most 100 ports with unique DNS-1123 names, a supported protocol and a qualified appProtocol.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from apimachinery.api.common import (
    PROTOCOLS,
    Object,
    duplicate,
    entries,
    from_messages,
    immutable,
    invalid,
    not_supported,
    required,
    sub,
    text,
    values,
)
from apimachinery.errors import FieldError
from apimachinery.kinds import ResourceType
from apimachinery.names import is_dns1123_label, is_dns1123_subdomain, is_qualified_name, validate_object_meta

ADDRESS_TYPES = ("FQDN", "IPv4", "IPv6")
MAX_ENDPOINTS = 1000
MAX_ADDRESSES = 100
MAX_PORTS = 100

LABEL_SERVICE_NAME = "kubernetes.io/service-name"
LABEL_MANAGED_BY = "endpointslice.kubernetes.io/managed-by"

FIELD_VALUE_TOO_MANY = "FieldValueTooMany"


@dataclass(frozen=True)
class TooMany(FieldError):
    """field.TooMany: `endpoints: Too many: 1001: must have at most 1000 items`."""

    def message(self) -> str:
        return f"{self.field}: Too many: {self.detail}"


def too_many(path: str, count: int, limit: int) -> FieldError:
    return TooMany(path, FIELD_VALUE_TOO_MANY, f"{count}: must have at most {limit} items", count)


# -- defaulting -----------------------------------------------------------------------------


def default_endpoint_slice(obj: Object) -> None:
    """SetDefaults_EndpointPort: every port gets a name ("") and a protocol (TCP)."""
    for _, port in entries(obj, "ports"):
        if port.get("name") is None:
            port["name"] = ""
        if port.get("protocol") is None:
            port["protocol"] = "TCP"


# -- validation -----------------------------------------------------------------------------


def validate_endpoint_slice(obj: Object) -> list[FieldError]:
    found = validate_object_meta(sub(obj, "metadata"), True, is_dns1123_subdomain)
    address_type = text(obj.get("addressType"))
    if not address_type:
        found.append(required("addressType"))
    elif address_type not in ADDRESS_TYPES:
        found.append(not_supported("addressType", address_type, ADDRESS_TYPES))
    return found + _endpoints(obj, address_type) + _ports(obj)


def validate_endpoint_slice_update(new: Object, old: Object) -> list[FieldError]:
    return immutable(new.get("addressType"), old.get("addressType"), "addressType")


def _endpoints(obj: Object, address_type: str) -> list[FieldError]:
    endpoints = entries(obj, "endpoints")
    if len(endpoints) > MAX_ENDPOINTS:
        return [too_many("endpoints", len(endpoints), MAX_ENDPOINTS)]
    found: list[FieldError] = []
    for i, endpoint in endpoints:
        found += _endpoint(endpoint, address_type, f"endpoints[{i}]")
    return found


def _endpoint(endpoint: Object, address_type: str, path: str) -> list[FieldError]:
    addresses = values(endpoint, "addresses")
    found: list[FieldError] = []
    if not addresses:
        found.append(required(f"{path}.addresses", "must contain at least 1 address"))
    elif len(addresses) > MAX_ADDRESSES:
        found.append(too_many(f"{path}.addresses", len(addresses), MAX_ADDRESSES))
    for j, address in enumerate(addresses):
        found += address_errors(text(address), address_type, f"{path}.addresses[{j}]")
    node_name = endpoint.get("nodeName")
    if isinstance(node_name, str):
        found += from_messages(f"{path}.nodeName", node_name, is_dns1123_subdomain(node_name))
    hostname = endpoint.get("hostname")
    if isinstance(hostname, str):
        found += from_messages(f"{path}.hostname", hostname, is_dns1123_label(hostname))
    return found


def address_errors(address: str, address_type: str, path: str) -> list[FieldError]:
    """An address valid for its slice's type; unknown types are not checked (as in Kubernetes)."""
    if address_type == "FQDN":
        return _fqdn_errors(address, path)
    if address_type not in ("IPv4", "IPv6"):
        return []
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        ip = None
    if ip is None or ip.version != int(address_type[-1]):
        return [invalid(path, address, f"must be a valid {address_type} address")]
    return _special_ip_errors(ip, address, path)


def _special_ip_errors(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, address: str,
                       path: str) -> list[FieldError]:
    """ValidateNonSpecialIP: no unspecified, loopback or link-local address."""
    found: list[FieldError] = []
    if ip.is_unspecified:
        found.append(invalid(path, address, f"may not be unspecified ({address})"))
    if ip.is_loopback:
        found.append(invalid(path, address, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
    if ip.is_link_local:
        found.append(invalid(path, address, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
    if ip in ipaddress.ip_network("224.0.0.0/24") or (ip.version == 6 and ip in ipaddress.ip_network("ff02::/16")):
        found.append(invalid(path, address, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
    return found


def _fqdn_errors(address: str, path: str) -> list[FieldError]:
    """IsFullyQualifiedDomainName: a DNS subdomain of at least two labels (a trailing dot is allowed)."""
    if not address:
        return [required(path)]
    name = address.removesuffix(".")
    messages = is_dns1123_subdomain(name)
    if messages:
        return [invalid(path, name, ",".join(messages))]
    if len(name.split(".")) < 2:
        return [invalid(path, name, "should be a domain with at least two segments separated by dots")]
    for label in name.split("."):
        if is_dns1123_label(label):
            return [invalid(path, label, ",".join(is_dns1123_label(label)))]
    return []


def _ports(obj: Object) -> list[FieldError]:
    ports = entries(obj, "ports")
    if len(ports) > MAX_PORTS:
        return [too_many("ports", len(ports), MAX_PORTS)]
    found: list[FieldError] = []
    names: set[str] = set()
    for i, port in ports:
        path = f"ports[{i}]"
        name = text(port.get("name"))
        if name:
            found += from_messages(f"{path}.name", name, is_dns1123_label(name))
        if name in names:
            found.append(duplicate(f"{path}.name", name))
        names.add(name)
        found += _port_protocol(port.get("protocol"), f"{path}.protocol")
        app_protocol = port.get("appProtocol")
        if isinstance(app_protocol, str):
            found += from_messages(f"{path}.appProtocol", app_protocol, is_qualified_name(app_protocol))
    return found


def _port_protocol(value: object, path: str) -> list[FieldError]:
    if value is None:
        return [required(path)]
    return [] if value in PROTOCOLS else [not_supported(path, value, PROTOCOLS)]


TYPES: list[ResourceType] = [
    ResourceType("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", has_status=False,
                 schema_ref="io.k8s.api.discovery.v1.EndpointSlice", default=default_endpoint_slice,
                 validate=validate_endpoint_slice, validate_update=validate_endpoint_slice_update),
]
