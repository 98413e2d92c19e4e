"""Node IPAM: one pod CIDR per node, never the gateway's subnet, rebuilt from the Nodes, released on delete."""

from __future__ import annotations

from typing import Any

import pytest

from controller_manager.nodeipam import NodeIpamController, next_free_subnet, node_subnets
from tests.unit.controller_manager.harness import Harness


def node(name: str, cidr: str | None = None) -> dict[str, Any]:
    spec = {"podCIDR": cidr, "podCIDRs": [cidr]} if cidr else {}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": spec}


def cidr_of(h: Harness, name: str) -> str | None:
    stored = h.stored("nodes", name)
    return None if stored is None else stored["spec"].get("podCIDR")


def test_subnets_skip_the_gateway_subnet() -> None:
    subnets = node_subnets("10.244.0.0/16", 24)
    assert len(subnets) == 255 and str(subnets[0]) == "10.244.1.0/24"
    assert next_free_subnet(subnets, {"10.244.1.0/24"}) == "10.244.2.0/24"
    with pytest.raises(ValueError):
        node_subnets("10.244.0.0/16", 8)


async def test_a_new_node_gets_the_first_free_cidr() -> None:
    h = Harness(NodeIpamController, [node("a")])
    await h.reconcile("a")
    stored = h.stored("nodes", "a")
    assert stored is not None and stored["spec"] == {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]}


async def test_two_nodes_before_the_cache_catches_up_get_distinct_cidrs() -> None:
    h = Harness(NodeIpamController, [node("a"), node("b")])
    await h.reconcile("a")
    await h.reconcile("b")  # the cache still shows "a" without a CIDR
    assert {cidr_of(h, "a"), cidr_of(h, "b")} == {"10.244.1.0/24", "10.244.2.0/24"}


async def test_existing_cidrs_are_respected_after_a_restart() -> None:
    h = Harness(NodeIpamController, [node("old1", "10.244.1.0/24"), node("old2", "10.244.3.0/24"), node("new")])
    await h.reconcile("old1")
    await h.reconcile("new")
    assert cidr_of(h, "new") == "10.244.2.0/24"
    assert [w[0] for w in h.writes()] == ["patch"]


async def test_a_deleted_node_releases_its_cidr() -> None:
    h = Harness(NodeIpamController, [node("a"), node("b")])
    await h.reconcile("a")
    del h.api.objects[("nodes", "", "a")]
    h.sync_caches()
    await h.reconcile("a")
    await h.reconcile("b")
    assert cidr_of(h, "b") == "10.244.1.0/24"


async def test_options_and_a_full_range() -> None:
    h = Harness(NodeIpamController, [node("a"), node("b")], {"cluster_cidr": "10.10.0.0/23", "node_cidr_mask_size": 24})
    await h.reconcile("a")
    await h.reconcile("b")
    assert cidr_of(h, "a") == "10.10.1.0/24" and cidr_of(h, "b") is None
    assert h.events == [("Normal", "CIDRNotAvailable", "Node b status is now: CIDRNotAvailable")]
