"""discovery.k8s.io/v1 EndpointSlice: addressing, defaulting and validation as in Kubernetes."""

from __future__ import annotations

import pytest
import yaml

from apimachinery import schema
from apimachinery.api import discovery
from apimachinery.errors import (
    FIELD_VALUE_DUPLICATE,
    FIELD_VALUE_INVALID,
    FIELD_VALUE_NOT_SUPPORTED,
    FIELD_VALUE_REQUIRED,
)
from apimachinery.kinds import default_registry
from tests.unit.apimachinery.kind_helpers import admitted, changed, create_errors, fields, messages, update_errors

SLICE = yaml.safe_load("""
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-abc12
  namespace: default
  labels:
    kubernetes.io/service-name: web
    endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
addressType: IPv4
endpoints:
- addresses: ["10.0.0.1"]
  conditions: {ready: true, serving: true, terminating: false}
  nodeName: node-1
  hostname: web-0
  targetRef: {kind: Pod, namespace: default, name: web-0, uid: 0b6e7f7c-6a53-4b0e-9f1e-2f6d2d0a9c12}
ports:
- name: http
  port: 8080
  protocol: TCP
  appProtocol: http
""")


def test_a_controller_written_slice_validates_clean_and_matches_the_openapi_schema():
    assert create_errors(SLICE) == []
    assert schema.validate(admitted(SLICE), "io.k8s.api.discovery.v1.EndpointSlice").errors == []


def test_endpoint_slices_are_addressed_like_kubernetes():
    rt = default_registry().resolve("endpointslices.discovery.k8s.io")
    assert (rt.group, rt.version, rt.kind, rt.namespaced, rt.short_names, rt.has_status) == (
        "discovery.k8s.io", "v1", "EndpointSlice", True, (), False)


def test_a_port_defaults_to_tcp_and_an_empty_name():
    slice_ = admitted(changed(SLICE, lambda s: s.update(ports=[{"port": 80}])))
    assert slice_["ports"] == [{"port": 80, "name": "", "protocol": "TCP"}]


def test_a_slice_may_have_no_endpoints_and_no_ports():
    assert create_errors(changed(SLICE, lambda s: s.update(endpoints=[], ports=[]))) == []


def test_fqdn_and_ipv6_slices_accept_their_own_addresses():
    fqdn = changed(SLICE, lambda s: (s.update(addressType="FQDN"), s["endpoints"][0].update(addresses=["db.example."])))
    ipv6 = changed(SLICE, lambda s: (s.update(addressType="IPv6"), s["endpoints"][0].update(addresses=["fd00::1"])))
    assert create_errors(fqdn) == [] and create_errors(ipv6) == []


def endpoint_count(n: int):
    return lambda s: s.update(endpoints=[{"addresses": [f"10.0.{i // 250}.{i % 250 + 1}"]} for i in range(n)])


@pytest.mark.parametrize(("mutate", "path", "kind"), [
    (lambda s: s.pop("addressType"), "addressType", FIELD_VALUE_REQUIRED),
    (lambda s: s.update(addressType="IP"), "addressType", FIELD_VALUE_NOT_SUPPORTED),
    (lambda s: s["endpoints"][0].update(addresses=[]), "endpoints[0].addresses", FIELD_VALUE_REQUIRED),
    (lambda s: s["endpoints"][0].update(addresses=["fd00::1"]), "endpoints[0].addresses[0]", FIELD_VALUE_INVALID),
    (lambda s: s["endpoints"][0].update(addresses=["127.0.0.1"]), "endpoints[0].addresses[0]",
     FIELD_VALUE_INVALID),
    (lambda s: s["endpoints"][0].update(nodeName="Node_1"), "endpoints[0].nodeName", FIELD_VALUE_INVALID),
    (lambda s: s["endpoints"][0].update(hostname="web.0"), "endpoints[0].hostname", FIELD_VALUE_INVALID),
    (endpoint_count(1001), "endpoints", discovery.FIELD_VALUE_TOO_MANY),
    (lambda s: s["endpoints"][0].update(addresses=[f"10.1.0.{i + 1}" for i in range(101)]),
     "endpoints[0].addresses", discovery.FIELD_VALUE_TOO_MANY),
    (lambda s: s.update(ports=[{"name": f"p{i}", "port": i + 1} for i in range(101)]), "ports",
     discovery.FIELD_VALUE_TOO_MANY),
    (lambda s: s["ports"].append({"name": "http", "port": 9090, "protocol": "TCP"}), "ports[1].name",
     FIELD_VALUE_DUPLICATE),
    (lambda s: s["ports"][0].update(name="HTTP"), "ports[0].name", FIELD_VALUE_INVALID),
    (lambda s: s["ports"][0].update(protocol="HTTP"), "ports[0].protocol", FIELD_VALUE_NOT_SUPPORTED),
    (lambda s: s["ports"][0].update(appProtocol="not a name"), "ports[0].appProtocol", FIELD_VALUE_INVALID),
    (lambda s: (s.update(addressType="FQDN"), s["endpoints"][0].update(addresses=["localhost"])),
     "endpoints[0].addresses[0]", FIELD_VALUE_INVALID),
    (lambda s: s["metadata"].update(name="Web"), "metadata.name", FIELD_VALUE_INVALID),
], ids=["address_type_is_required", "address_type_ip_is_no_longer_supported", "an_endpoint_needs_an_address",
        "an_ipv4_slice_rejects_an_ipv6_address", "loopback_addresses_are_rejected", "node_name_must_be_a_subdomain",
        "hostname_must_be_a_label", "at_most_1000_endpoints", "at_most_100_addresses_per_endpoint",
        "at_most_100_ports", "port_names_are_unique", "port_names_are_dns_labels", "protocol_must_be_supported",
        "app_protocol_must_be_a_qualified_name", "an_fqdn_needs_two_segments", "name_must_be_a_subdomain"])
def test_an_invalid_slice_is_rejected_naming_the_field(mutate, path, kind):
    assert (path, kind) in fields(create_errors(changed(SLICE, mutate)))


def test_too_many_endpoints_reads_as_kubernetes_says_it():
    assert messages(create_errors(changed(SLICE, endpoint_count(1001)))) == [
        "endpoints: Too many: 1001: must have at most 1000 items"]


def test_address_type_is_immutable():
    errors = update_errors(SLICE, changed(SLICE, lambda s: s.update(addressType="IPv6", endpoints=[])))
    assert ("addressType", FIELD_VALUE_INVALID) in fields(errors)


def test_kubectl_get_shows_the_kubernetes_columns_and_cells():
    from datetime import UTC, datetime

    from apiserver.http_api.tables import table_for

    table = table_for(default_registry().resolve("endpointslices"))
    assert [c["name"] for c in table.columns] == ["Name", "AddressType", "Ports", "Endpoints", "Age"]
    many = changed(SLICE, lambda s: s.update(endpoints=[{"addresses": [f"10.0.0.{i}"]} for i in range(1, 6)]))
    many["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    now = datetime(2026, 1, 1, 0, 0, 42, tzinfo=UTC)
    assert table.cells(many, now) == ["web-abc12", "IPv4", "8080", "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...", "42s"]
    assert table.cells(changed(many, lambda s: s.update(endpoints=[], ports=[])), now)[2:4] == ["<unset>", "<unset>"]
