"""The node-port bitmap and the pure Service allocation rules."""

from __future__ import annotations

import random
from typing import Any

import pytest

from apimachinery import errors
from apiserver.portallocator import (
    ErrAllocated,
    ErrFull,
    ErrPortNotInRange,
    PortRange,
    allocate_next_port,
    allocate_port,
    release_port,
)
from apiserver.registry.service_alloc import (
    JSONList,
    allocates_node_ports,
    drop_type_dependent_fields,
    needs_cluster_ip,
    plan_node_ports,
)


def test_the_default_range_and_its_static_band() -> None:
    r = PortRange.parse("30000-32767")
    assert (r.base, r.size, r.offset, r.spec) == (30000, 2768, 86, "30000-32767")
    assert PortRange.parse("30000+99") == PortRange(30000, 100)
    for bad in ("x-y", "5-1", "0-10", "65000-70000"):
        with pytest.raises(ValueError):
            PortRange.parse(bad)


def test_user_ports_and_messages() -> None:
    r = PortRange.parse("30000-32767")
    bitmap = r.new_bitmap()
    allocate_port(bitmap, r, 30080)
    with pytest.raises(ErrAllocated, match=r"^provided port is already allocated$"):
        allocate_port(bitmap, r, 30080)
    with pytest.raises(ErrPortNotInRange, match="The range of valid ports is 30000-32767"):
        allocate_port(bitmap, r, 80)
    release_port(bitmap, r, 30080)
    allocate_port(bitmap, r, 30080)


def test_random_ports_fill_the_upper_band_first() -> None:
    r = PortRange.parse("30000-30099")  # offset 16
    bitmap, rng = r.new_bitmap(), random.Random(7)
    ports = [allocate_next_port(bitmap, r, rng) for _ in range(84)]
    assert len(set(ports)) == 84 and min(ports) >= 30016
    assert len({allocate_next_port(bitmap, r, rng) for _ in range(16)}) == 16
    with pytest.raises(ErrFull):
        allocate_next_port(bitmap, r, rng)


def test_which_types_allocate() -> None:
    assert needs_cluster_ip({"type": "NodePort"}) and not needs_cluster_ip({"type": "ExternalName"})
    assert not needs_cluster_ip({"type": "ClusterIP", "clusterIP": "None"})
    assert allocates_node_ports({"type": "NodePort"}) and allocates_node_ports({"type": "LoadBalancer"})
    assert not allocates_node_ports({"type": "LoadBalancer", "allocateLoadBalancerNodePorts": False})
    assert not allocates_node_ports({"type": "ClusterIP"})


def test_plan_node_ports_keeps_held_ports_and_rejects_taken_ones() -> None:
    r = PortRange.parse("30000-32767")
    bitmap = r.new_bitmap()
    allocate_port(bitmap, r, 30001)
    ports = [{"port": 80, "nodePort": 30001}, {"port": 81}]
    chosen = plan_node_ports(bitmap, r, ports, {30001}, True, random.Random(0), "web")
    assert chosen[0] == (0, 30001) and chosen[1][0] == 1 and bitmap.count() == 2
    with pytest.raises(errors.Invalid) as caught:
        plan_node_ports(bitmap, r, [{"port": 80, "nodePort": 30001}], set(), True, random.Random(0), "other")
    assert "spec.ports[0].nodePort: Invalid value: 30001: provided port is already allocated" in str(caught.value)


def test_node_port_to_cluster_ip_drops_unchanged_node_ports() -> None:
    ports: list[dict[str, Any]] = [{"port": 80, "nodePort": 30005}]
    old: dict[str, Any] = {"spec": {"type": "NodePort", "externalTrafficPolicy": "Cluster", "ports": ports}}
    new: dict[str, Any] = {"spec": {**old["spec"], "type": "ClusterIP"}}
    drop_type_dependent_fields(new, old)
    assert new["spec"] == {"type": "ClusterIP", "ports": [{"port": 80}]}
    assert old["spec"]["ports"][0]["nodePort"] == 30005


def test_cluster_ip_to_external_name_drops_the_ip() -> None:
    old: dict[str, Any] = {"spec": {"type": "ClusterIP", "clusterIP": "10.96.0.9", "clusterIPs": ["10.96.0.9"],
                    "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack"}}
    new = {"spec": {**old["spec"], "type": "ExternalName", "externalName": "example.com"}}
    drop_type_dependent_fields(new, old)
    assert new["spec"] == {"type": "ExternalName", "externalName": "example.com"}


def test_json_list_renders_like_kubernetes() -> None:
    assert str(JSONList(["10.96.0.5"])) == '["10.96.0.5"]'
