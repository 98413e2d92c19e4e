"""Node IPAM (Kubernetes' pkg/controller/nodeipam, the "range allocator"): every Node gets a pod CIDR.

``--cluster-cidr`` (10.244.0.0/16) is cut into subnets of ``--node-cidr-mask-size`` bits (/24: 256 subnets of 254
pod addresses). A Node without ``spec.podCIDR`` gets the first free subnet in ``spec.podCIDR`` and
``spec.podCIDRs``; its kubelet then gives each pod sandbox an address from it (``kubelet/pod_ipam.py``), so a pod's
IP tells which node it runs on, as in a real cluster.

The first subnet is never handed out: kubeling's pods all live on one Docker bridge network, 10.244.0.0/16, whose
gateway (the host, and the address pods use to reach the apiserver) is 10.244.0.1, and containers that get no
fixed address (pods created before their node had a CIDR, anything else on the network) are numbered by Docker
from the bottom of the subnet: 10.244.0.2, .3, ... Keeping 10.244.0.0/24 out of node IPAM keeps those addresses
from ever colliding with a node's pods.

Which subnets are taken is not remembered anywhere but in the Nodes themselves: the controller learns every Node's
podCIDR from its informer (so a restarted controller-manager knows them all before it allocates — informers sync
before controllers run) and forgets a subnet when its Node is deleted. One worker, so two Nodes can never be given
the same subnet between a write and its echo in the cache.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from typing import Any

from apimachinery import errors
from client.informer import Handler
from controller_manager.controller import Controller, ControllerContext

log = logging.getLogger(__name__)
Object = dict[str, Any]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
RETRY_FULL = 30.0  # seconds before a Node that found the range full looks again


def node_subnets(cluster_cidr: str, mask_size: int) -> list[Network]:
    """The subnets nodes may get, in allocation order: all but the one holding the network's gateway (.1)."""
    network = ipaddress.ip_network(cluster_cidr, strict=False)
    if mask_size < network.prefixlen:
        raise ValueError(f"--node-cidr-mask-size {mask_size} is larger than the cluster CIDR {network}")
    gateway = network.network_address + 1
    return [s for s in network.subnets(new_prefix=mask_size) if gateway not in s]


def pod_cidr_of(node: Object) -> str | None:
    spec = node.get("spec") or {}
    return spec.get("podCIDR") or next(iter(spec.get("podCIDRs") or []), None)


def next_free_subnet(subnets: Iterable[Network], taken: set[str]) -> str | None:
    """The first subnet not in ``taken`` (Kubernetes' cidrset scans the same way)."""
    return next((str(s) for s in subnets if str(s) not in taken), None)


class NodeIpamController(Controller):
    name = "nodeipam-controller"
    event_source = "cidrAllocator"
    workers = 1

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.subnets = node_subnets(str(ctx.option("cluster_cidr", "10.244.0.0/16")),
                                    int(ctx.option("node_cidr_mask_size", 24)))
        self.assigned: dict[str, str] = {}  # node name -> CIDR we gave it (until the cache shows it)
        self.nodes = ctx.informers.informer("nodes")
        self.nodes.add_handler(Handler(on_add=self.enqueue, on_update=lambda old, new: self.enqueue(new),
                                       on_delete=self.enqueue))

    def taken(self) -> set[str]:
        """Every subnet in use: the podCIDRs the Nodes show, plus what was just assigned."""
        in_cache = {cidr for node in self.nodes.store if (cidr := pod_cidr_of(node))}
        return in_cache | set(self.assigned.values())

    async def reconcile(self, key: str) -> None:
        node = self.nodes.store.get(key)
        if node is None:
            released = self.assigned.pop(key, None)
            if released:
                log.info("node %s deleted: pod CIDR %s released", key, released)
            return
        if (cidr := pod_cidr_of(node)) is not None:
            self.assigned.pop(key, None)  # the cache knows it now
            return
        if key in self.assigned:
            return  # written; waiting for the cache
        cidr = next_free_subnet(self.subnets, self.taken())
        if cidr is None:
            self.recorder.event(node, "Normal", "CIDRNotAvailable",
                                f"Node {key} status is now: CIDRNotAvailable")
            self.requeue_after(key, RETRY_FULL)
            return
        await self._assign(key, cidr)

    async def _assign(self, name: str, cidr: str) -> None:
        try:
            await self.client.patch("nodes", name, {"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}})
        except errors.NotFound:
            return
        self.assigned[name] = cidr
        log.info("node %s: pod CIDR %s", name, cidr)
