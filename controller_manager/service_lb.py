"""A lab stand-in for a cloud load balancer: ``type: LoadBalancer`` Services get a node's address as ingress.

In Kubernetes the service controller (pkg/controller/service) asks a cloud provider for a load balancer and writes
its address into ``status.loadBalancer.ingress``; the load balancer forwards to the Service's node ports. kubeling
has no cloud, so this controller does what bare-metal helpers such as k3s' ServiceLB or MetalLB's layer-2 mode do:
it publishes the InternalIP of a Ready node (the first by name), where the service proxy already answers on the
node ports. Traffic to ``<ingress ip>:<nodePort>`` therefore reaches the Service; there is no port-80 listener and
no failover beyond choosing another node when the chosen one stops being Ready.

Keys are Service keys; any Node change re-checks every LoadBalancer Service. A Service that stops being of type
LoadBalancer has its ingress cleared.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from client.informer import Handler
from controller_manager.controller import Controller, ControllerContext

Object = dict[str, Any]


def node_is_ready(node: Object) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def internal_ip(node: Object) -> str | None:
    addresses = (node.get("status") or {}).get("addresses") or []
    return next((a.get("address") for a in addresses if a.get("type") == "InternalIP" and a.get("address")), None)


def desired_ingress(service: Object, nodes: Iterable[Object]) -> list[Object]:
    """``status.loadBalancer.ingress`` for ``service``: the first Ready node's InternalIP, or nothing."""
    if (service.get("spec") or {}).get("type") != "LoadBalancer":
        return []
    for node in sorted(nodes, key=lambda n: str(n["metadata"]["name"])):
        ip = internal_ip(node)
        if ip and node_is_ready(node) and not node["metadata"].get("deletionTimestamp"):
            return [{"ip": ip, "ipMode": "VIP"}]
    return []


class ServiceLBController(Controller):
    name = "service-lb-controller"
    event_source = "service-controller"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.services = ctx.informers.informer("services")
        self.nodes = ctx.informers.informer("nodes")
        self.services.add_handler(Handler(on_add=self.enqueue, on_update=lambda old, new: self.enqueue(new)))
        self.nodes.add_handler(Handler(on_add=self._node_changed, on_update=lambda old, new: self._node_changed(new),
                                       on_delete=self._node_changed))

    def _node_changed(self, _node: Object) -> None:
        for service in self.services.store:
            if (service.get("spec") or {}).get("type") == "LoadBalancer":
                self.enqueue(service)

    async def reconcile(self, key: str) -> None:
        service = self.services.store.get(key)
        if service is None:
            return
        status = service.get("status") or {}
        current = (status.get("loadBalancer") or {}).get("ingress") or []
        wanted = desired_ingress(service, list(self.nodes.store))
        if current == wanted:
            return
        load_balancer = {"ingress": wanted} if wanted else {}
        await self.client.update_status({**service, "status": {**status, "loadBalancer": load_balancer}})
