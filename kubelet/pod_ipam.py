"""Pod addresses from the node's pod CIDR (what a CNI plugin's host-local IPAM does for a real kubelet).

The node IPAM controller gives each Node a ``spec.podCIDR`` (e.g. 10.244.3.0/24); every pod sandbox on the node gets
a free address from it, passed to the runtime as ``SandboxConfig.ip`` (the Docker runtime fixes the container's
address on the kubeling network; the fake runtime just records it). So pods on different nodes have addresses from
different ranges, as in a real cluster.

* Usable addresses: the CIDR without its network address, its first host address (.1, a gateway by convention)
  and its broadcast address.
* In use: the addresses of every sandbox the runtime lists for this node (running or not), plus addresses handed
  out whose sandbox is still being created. Nothing is kept on disk: a restarted kubelet reads the runtime's
  sandboxes, so it never hands out a live address; a sandbox the kubelet removes disappears from the listing, which
  is what releases its address.
* An address the runtime refuses as already in use (a container this kubelet does not list holds it: another kubeling
  cluster on the same Docker network, whose nodes are cut from the same cluster CIDR) is skipped for
  ``TAKEN_ELSEWHERE_SECONDS``, so the next attempt takes another one instead of failing on it forever.
* Until the Node has a podCIDR (the controller-manager may not have run yet), ``reserve`` yields None and the
  runtime picks an address itself, as before node IPAM; that is logged once.

:func:`pick_address` is the pure rule; :class:`PodIPAM` adds the Node lookup and the runtime listing.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from kubelet.runtime.interface import Runtime, RuntimeError_

log = logging.getLogger(__name__)
Object = dict[str, Any]
ADDRESS_TAKEN = "address already in use"  # Docker's answer for a fixed IP another container holds
TAKEN_ELSEWHERE_SECONDS = 600.0


def usable_addresses(cidr: str) -> Iterable[str]:
    """The addresses of ``cidr`` a pod may get: all hosts but the first (.1)."""
    network = ipaddress.ip_network(cidr, strict=False)
    gateway = network.network_address + 1
    return (str(ip) for ip in network.hosts() if ip != gateway)


def pick_address(cidr: str, in_use: set[str]) -> str | None:
    """The lowest usable address of ``cidr`` not ``in_use``; None if the range is exhausted."""
    return next((ip for ip in usable_addresses(cidr) if ip not in in_use), None)


def cidr_fits(cidr: str, network: str | None) -> bool:
    """Can addresses of ``cidr`` be given on a network whose subnet is ``network`` (None: no constraint)?"""
    if network is None:
        return True
    try:
        return ipaddress.ip_network(cidr).subnet_of(ipaddress.ip_network(network))  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return False


class PodIPAM:
    """Hands out pod addresses from the node's podCIDR; ``get_node`` reads the Node object (None: not found)."""

    def __init__(self, node_name: str, runtime: Runtime, get_node: Callable[[], Awaitable[Object | None]]) -> None:
        self.node_name = node_name
        self.runtime = runtime
        self._get_node = get_node
        self.cidr: str | None = None  # spec.podCIDR never changes once set, so it is read until seen
        self.network: str | None = None  # the runtime's pod network subnet, when it has one (Docker: the network's)
        self.disabled = False  # the podCIDR cannot be used on this network: the runtime picks addresses
        self._pending: set[str] = set()  # handed out, sandbox not created yet
        self._taken_elsewhere: dict[str, float] = {}  # refused by the runtime as in use -> until when to skip it
        self._lock = asyncio.Lock()
        self._warned = False

    async def pod_cidr(self) -> str | None:
        if self.cidr is None and not self.disabled:
            try:
                node = await self._get_node()
            except Exception as e:  # the apiserver may be down; pods keep starting with Docker's addresses
                log.debug("reading node %s for its podCIDR failed: %s", self.node_name, e)
                node = None
            spec = (node or {}).get("spec") or {}
            self.cidr = spec.get("podCIDR") or next(iter(spec.get("podCIDRs") or []), None)
            if self.cidr is not None and not cidr_fits(self.cidr, self.network):
                log.warning("node %s: podCIDR %s is outside the pod network %s (is the controller-manager's "
                            "--cluster-cidr that network's subnet?); the runtime picks pod addresses",
                            self.node_name, self.cidr, self.network)
                self.cidr, self._warned, self.disabled = None, True, True
            elif self.cidr is not None:
                log.info("node %s: pod addresses from %s", self.node_name, self.cidr)
        return self.cidr

    async def in_use(self) -> set[str]:
        pods = await self.runtime.list_pods(self.node_name)
        now = time.monotonic()
        self._taken_elsewhere = {ip: until for ip, until in self._taken_elsewhere.items() if until > now}
        return {s.ip for pod in pods for s in pod.sandboxes if s.ip} | self._pending | set(self._taken_elsewhere)

    @contextlib.asynccontextmanager
    async def reserve(self, pod: Object) -> AsyncIterator[str | None]:
        """An address for ``pod``'s new sandbox, held until the block (which creates the sandbox) ends."""
        if (pod.get("spec") or {}).get("hostNetwork"):
            yield None
            return
        ip = await self._take()
        try:
            yield ip
        except RuntimeError_ as e:
            if ip is not None and ADDRESS_TAKEN in str(e).lower():
                log.warning("node %s: pod address %s is held by a container this node does not own (another "
                            "cluster on the network?); skipping it", self.node_name, ip)
                self._taken_elsewhere[ip] = time.monotonic() + TAKEN_ELSEWHERE_SECONDS
            raise
        finally:
            if ip is not None:
                self._pending.discard(ip)

    async def _take(self) -> str | None:
        cidr = await self.pod_cidr()
        if cidr is None:
            if not self._warned:
                log.info("node %s has no podCIDR yet: the runtime picks pod addresses", self.node_name)
                self._warned = True
            return None
        async with self._lock:
            ip = pick_address(cidr, await self.in_use())
            if ip is None:
                log.warning("node %s: no free address left in %s; the runtime picks one", self.node_name, cidr)
                return None
            self._pending.add(ip)
            return ip
