"""Service networking in the apiserver, assembled: the two ranges in etcd, the allocation hooks the registry calls
for Services, the repair loops and the ``kubernetes`` Service.

    --service-cluster-ip-range 10.96.0.0/16    → /registry/ranges/serviceips        (apiserver/ipallocator.py)
    --service-node-port-range  30000-32767     → /registry/ranges/servicenodeports  (apiserver/portallocator.py)

Start-up order (see :class:`apiserver.server.APIServer`): repair both ranges from the stored Services before
serving, so a restarted apiserver starts from the truth; serve; then create/reconcile ``default/kubernetes``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from apimachinery.kinds import KindRegistry
from apiserver.ipallocator import IPRange
from apiserver.kubernetes_service import KubernetesService
from apiserver.portallocator import PortRange
from apiserver.range_store import NODE_PORTS_KEY, SERVICE_IPS_KEY, RangeStore
from apiserver.registry.service_alloc import ServiceAllocator
from apiserver.registry.store import Registry
from apiserver.service_repair import RangeRepair, cluster_ip_view, node_port_view
from apiserver.storage import EtcdStorage

log = logging.getLogger(__name__)


class ServiceNetworking:
    def __init__(self, storage: EtcdStorage, config: Any) -> None:
        self.config = config
        self.ip_range = IPRange.parse(config.service_cluster_ip_range)
        self.port_range = PortRange.parse(config.service_node_port_range)
        self.ips = RangeStore(storage, SERVICE_IPS_KEY, self.ip_range.spec, self.ip_range.new_bitmap)
        self.ports = RangeStore(storage, NODE_PORTS_KEY, self.port_range.spec, self.port_range.new_bitmap)
        self.allocator = ServiceAllocator(self.ips, self.ip_range, self.ports, self.port_range)
        self.ip_repair = RangeRepair(storage, self.ips, cluster_ip_view(self.ip_range))
        self.port_repair = RangeRepair(storage, self.ports, node_port_view(self.port_range))
        self.kubernetes_service: KubernetesService | None = None

    async def repair(self) -> None:
        await self.ip_repair.run_once()
        await self.port_repair.run_once()

    async def start_kubernetes_service(self, registry: Registry, kinds: KindRegistry, http_port: int) -> None:
        address = self.config.advertise_address or self.config.bind_address
        self.kubernetes_service = KubernetesService(registry, kinds, self.ip_range.first(), address, http_port)
        try:
            await self.kubernetes_service.reconcile()
        except Exception as e:  # the periodic reconcile tries again; never keep the apiserver from serving
            log.warning("creating the kubernetes Service failed: %s", e)

    def background_tasks(self) -> list[asyncio.Task[None]]:
        interval = self.config.repair_interval
        tasks = [asyncio.create_task(self.ip_repair.run(interval), name="cluster-ip-repair"),
                 asyncio.create_task(self.port_repair.run(interval), name="node-port-repair")]
        if self.kubernetes_service is not None:
            tasks.append(asyncio.create_task(self.kubernetes_service.run(self.config.endpoint_reconcile_interval),
                                             name="kubernetes-service"))
        return tasks
