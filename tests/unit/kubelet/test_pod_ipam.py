"""Pod addresses from the node's podCIDR: skip network/.1/broadcast, never a live sandbox's address."""

from __future__ import annotations

import asyncio
from typing import Any

from kubelet.pod_ipam import PodIPAM, pick_address
from kubelet.runtime.fake import FakeRuntime
from kubelet.runtime.interface import SandboxConfig


def pod(uid: str, host_network: bool = False) -> dict[str, Any]:
    return {"metadata": {"uid": uid, "name": uid, "namespace": "default"}, "spec": {"hostNetwork": host_network}}


def ipam(runtime: FakeRuntime, node: dict[str, Any] | None) -> PodIPAM:
    async def get_node() -> dict[str, Any] | None:
        return node

    return PodIPAM("n1", runtime, get_node)


async def run(runtime: FakeRuntime, uid: str, ip: str | None) -> str:
    sandbox = await runtime.run_sandbox(SandboxConfig(pod_uid=uid, namespace="default", name=uid, node_name="n1",
                                                      hostname=uid, ip=ip))
    return sandbox.id


def test_pick_skips_network_gateway_and_broadcast() -> None:
    assert pick_address("10.244.3.0/24", set()) == "10.244.3.2"
    assert pick_address("10.244.3.0/24", {"10.244.3.2"}) == "10.244.3.3"
    full = {f"10.244.3.{i}" for i in range(2, 255)}
    assert pick_address("10.244.3.0/24", full) is None
    assert pick_address("10.244.3.0/30", set()) == "10.244.3.2"


async def test_addresses_come_from_the_node_cidr_and_are_distinct() -> None:
    runtime = FakeRuntime()
    allocator = ipam(runtime, {"spec": {"podCIDR": "10.244.7.0/24"}})

    async def create(uid: str) -> str | None:
        async with allocator.reserve(pod(uid)) as ip:
            await asyncio.sleep(0)
            await run(runtime, uid, ip)
            return ip

    ips = await asyncio.gather(*(create(f"p{i}") for i in range(10)))
    assert len(set(ips)) == 10 and all(ip and ip.startswith("10.244.7.") for ip in ips)


async def test_a_restarted_kubelet_never_reuses_a_live_address_and_removal_releases() -> None:
    runtime = FakeRuntime()
    first = ipam(runtime, {"spec": {"podCIDR": "10.244.7.0/24"}})
    async with first.reserve(pod("a")) as ip:
        sandbox = await run(runtime, "a", ip)
    second = ipam(runtime, {"spec": {"podCIDR": "10.244.7.0/24"}})  # a new kubelet, same runtime
    async with second.reserve(pod("b")) as other:
        assert other != ip
    await runtime.remove_sandbox(sandbox)
    async with second.reserve(pod("c")) as reused:
        assert reused == ip


async def test_no_pod_cidr_yet_or_host_network_lets_the_runtime_pick() -> None:
    runtime = FakeRuntime()
    allocator = ipam(runtime, {"spec": {}})
    async with allocator.reserve(pod("a")) as ip:
        assert ip is None
    allocator = ipam(runtime, {"spec": {"podCIDR": "10.244.7.0/24"}})
    async with allocator.reserve(pod("h", host_network=True)) as ip:
        assert ip is None


def test_a_pod_cidr_outside_the_pod_network_is_not_used():
    from kubelet.pod_ipam import cidr_fits

    assert cidr_fits("10.244.3.0/24", "10.244.0.0/16")
    assert not cidr_fits("10.244.3.0/24", "172.29.0.0/16")
    assert cidr_fits("10.244.3.0/24", None)


async def test_an_address_the_runtime_finds_in_use_elsewhere_is_skipped_next_time() -> None:
    """Another cluster on the same Docker network holds 10.244.7.2: the sandbox fails, the retry takes .3."""
    from kubelet.runtime.interface import ContainerCreateError

    allocator = ipam(FakeRuntime(), {"spec": {"podCIDR": "10.244.7.0/24"}})
    try:
        async with allocator.reserve(pod("a")) as ip:
            assert ip == "10.244.7.2"
            raise ContainerCreateError("failed to start pod sandbox: Address already in use")
    except ContainerCreateError:
        pass
    async with allocator.reserve(pod("a")) as retry:
        assert retry == "10.244.7.3"
    try:  # any other failure does not blacklist the address
        async with allocator.reserve(pod("b")) as ip:
            raise ContainerCreateError("failed to start pod sandbox: no such image")
    except ContainerCreateError:
        pass
    async with allocator.reserve(pod("b")) as again:
        assert again == ip == "10.244.7.3"
