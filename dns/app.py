"""The DNS process put together: informers → ClusterView → Resolver → DNSServer, plus the kube-dns objects.

:class:`ClusterDNS` is what ``python -m dns`` runs and what integration tests start in their own event loop:

    dns = ClusterDNS(client, DNSConfig(listen_host="127.0.0.1", listen_port=0, upstreams=[]))
    await dns.start()          # lists Services, EndpointSlices and Pods, then listens; dns.port is the port
    ...
    await dns.stop()

Until the informers have synced, queries for the cluster zone would see an empty cluster and answer NXDOMAIN, so
the server only starts listening after the first list (``/readyz`` turns ok at the same moment).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from apimachinery import errors
from client.client import Client
from client.informer import Handler
from client.informer_factory import SharedInformerFactory
from dns.cluster import ClusterView
from dns.forward import Forwarder
from dns.kube_dns import DEFAULT_CLUSTER_IP, KubeDNSEndpoint, ensure_kube_dns
from dns.resolver import Resolver
from dns.server import DNSServer

log = logging.getLogger(__name__)


@dataclass
class DNSConfig:
    listen_host: str = "0.0.0.0"
    listen_port: int = 53
    cluster_domain: str = "cluster.local"
    pods: str = "insecure"  # CoreDNS's "pods" option: disabled | insecure | verified
    upstreams: list[tuple[str, int]] = field(default_factory=list)  # empty: REFUSED for names outside the zone
    upstream_timeout: float = 2.0
    manage_service: bool = True  # write the kube-dns Service/Endpoints/EndpointSlice (see dns.kube_dns)
    advertise_address: str = "10.244.0.1"
    cluster_ip: str = DEFAULT_CLUSTER_IP
    metrics_port: int = 0  # the port /metrics is served on, published in the Endpoints
    reconcile_period: float = 10.0
    sync_timeout: float | None = None


class ClusterDNS:
    def __init__(self, client: Client, config: DNSConfig) -> None:
        self.client = client
        self.config = config
        self.informers = SharedInformerFactory(client)
        services = self.informers.informer("services")
        slices = self.informers.informer("endpointslices.discovery.k8s.io")
        pods = self.informers.informer("pods")
        self.cluster = ClusterView(services.store, slices.store, pods.store)
        self.resolver = Resolver(self.cluster, domain=config.cluster_domain, pods=config.pods,
                                 serial=int(time.time()))
        for informer in (services, slices):  # pods only matter to "pods verified"; they churn the most
            informer.add_handler(Handler(on_add=self._changed, on_update=self._changed, on_delete=self._changed))
        self.server = DNSServer(self.resolver, Forwarder(config.upstreams, config.upstream_timeout))
        self.port = 0
        self.synced = False
        self._reconciler: asyncio.Task[None] | None = None

    def _changed(self, *objects: Any) -> None:
        self.resolver.serial = max(self.resolver.serial + 1, int(time.time()))

    async def start(self) -> int:
        self.informers.start()
        await self.informers.wait_for_sync(self.config.sync_timeout)
        self.synced = True
        self.port = await self.server.start(self.config.listen_host, self.config.listen_port)
        log.info("serving %s on %s:%d (UDP and TCP); upstreams: %s", self.config.cluster_domain,
                 self.config.listen_host, self.port,
                 ", ".join(f"{h}:{p}" for h, p in self.config.upstreams) or "none (REFUSED)")
        if self.config.manage_service:
            self._reconciler = asyncio.create_task(self._reconcile_loop(), name="kube-dns-service")
        return self.port

    async def stop(self) -> None:
        if self._reconciler is not None:
            self._reconciler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconciler
            self._reconciler = None
        await self.server.stop()
        await self.informers.stop()

    async def _reconcile_loop(self) -> None:
        target = KubeDNSEndpoint(address=self.config.advertise_address, dns_port=self.port,
                                 metrics_port=self.config.metrics_port or 9153,
                                 cluster_ip=self.config.cluster_ip)
        while True:
            try:
                await ensure_kube_dns(self.client, target)
            except errors.ApiError as e:
                log.warning("reconciling the kube-dns Service failed (will retry): %s", e)
            await asyncio.sleep(self.config.reconcile_period)
