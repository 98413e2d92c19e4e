"""The apiserver process, assembled: etcd storage, watch caches, registry, gRPC and HTTP.

Start-up order: connect to etcd (waiting for it, so the apiserver can start before etcd in a
chaos run), fill a watch cache per kind (rebuilding history from the last compaction point so
that watches from before a restart resume), make sure the system namespaces exist, then serve.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import grpc
from aiohttp import web

from apimachinery import errors
from apimachinery.kinds import KindRegistry, default_registry
from apiserver.admission import AdmissionChain
from apiserver.admission.default_toleration_seconds import DefaultTolerationSeconds
from apiserver.admission.namespace_lifecycle import NamespaceLifecycle
from apiserver.admission.priority import Priority
from apiserver.authorization import new_authorizer
from apiserver.compaction import Compactor
from apiserver.grpc_service import ResourcesServicer, add_resources_service
from apiserver.http_api import add_api_routes
from apiserver.inflight import InflightLimiter
from apiserver.registry.store import Registry
from apiserver.registry.validation import Validation
from apiserver.service_networking import ServiceNetworking
from apiserver.storage import EtcdStorage
from apiserver.watch_cache import WatchCache
from client.health_server import add_health_routes

log = logging.getLogger(__name__)
STARTUP_CACHE_TIMEOUT = 60.0  # seconds for every watch cache to replay history at start
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass
class ServerConfig:
    etcd_endpoint: str = "127.0.0.1:2379"
    bind_address: str = "127.0.0.1"
    grpc_port: int = 6444
    http_port: int = 6443
    compaction_interval: float = 300.0
    watch_cache_capacity: int = 100_000
    bookmark_interval: float = 5.0
    history_replay_limit: int = 100_000  # revisions of etcd history a restarted cache may replay
    watch_batch_interval: float = 0.01
    # Several apiservers on one host share the ports (SO_REUSEPORT; the kernel spreads connections).
    reuse_port: bool = False
    max_requests_inflight: int = 400  # read-only requests worked on at once (0: no limit)
    max_mutating_requests_inflight: int = 200
    default_not_ready_toleration_seconds: int = 300
    default_unreachable_toleration_seconds: int = 300
    service_cluster_ip_range: str = "10.96.0.0/16"
    service_node_port_range: str = "30000-32767"
    advertise_address: str = ""  # the kubernetes Service's endpoint; "" = bind_address
    repair_interval: float = 180.0  # the cluster IP / node port repair loops (Kubernetes: 3 minutes)
    endpoint_reconcile_interval: float = 10.0  # the kubernetes Service reconciler (Kubernetes: 10 s)
    authorization_mode: str = "AlwaysAllow"  # AlwaysAllow | AlwaysDeny, or a comma-separated chain


class APIServer:
    def __init__(self, config: ServerConfig, kinds: KindRegistry | None = None) -> None:
        self.config = config
        self.kinds = kinds or default_registry()
        self.authorizer = new_authorizer(config.authorization_mode)
        self.limiter = InflightLimiter(config.max_requests_inflight, config.max_mutating_requests_inflight)
        self.storage = EtcdStorage(config.etcd_endpoint)
        self.services = ServiceNetworking(self.storage, config)
        self.caches: dict[str, WatchCache] = {}
        self.registry: Registry | None = None
        self._grpc: grpc.aio.Server | None = None
        self._http: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.ready = False
        self.grpc_port = config.grpc_port
        self.http_port = config.http_port

    async def start(self) -> None:
        await self._connect_etcd()
        await self._start_caches()
        self.registry = Registry(self.storage, self.kinds, Validation(),
                                 AdmissionChain([NamespaceLifecycle(self._namespace),
                                                 Priority(self.caches, self.storage),
                                                 DefaultTolerationSeconds(
                                                     self.config.default_not_ready_toleration_seconds,
                                                     self.config.default_unreachable_toleration_seconds)]),
                                 self.caches, {"services": self.services.allocator})
        await self._ensure_system_namespaces()
        await self.services.repair()
        await self._serve_grpc()
        await self._serve_http()
        await self.services.start_kubernetes_service(self.registry, self.kinds, self.http_port)
        compactor = Compactor(self.storage, self.config.compaction_interval)
        self._tasks.append(asyncio.create_task(compactor.run(), name="compactor"))
        self._tasks.extend(self.services.background_tasks())
        self.ready = True
        log.info("apiserver ready: gRPC on %s:%d, HTTP on %s:%d", self.config.bind_address, self.grpc_port,
                 self.config.bind_address, self.http_port)

    async def stop(self) -> None:
        self.ready = False
        for task in self._tasks:
            task.cancel()
        self._tasks = []
        if self._grpc is not None:
            await self._grpc.stop(grace=1.0)
        if self._http is not None:
            await self._http.cleanup()
        for cache in self.caches.values():
            await cache.stop()
        await self.storage.close()

    async def _connect_etcd(self) -> None:
        delay = 0.2
        while True:
            try:
                await self.storage.connect()
                await self.storage.current_revision()
                return
            except Exception as e:
                log.warning("waiting for etcd at %s: %s", self.config.etcd_endpoint, e)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _start_caches(self) -> None:
        current = await self.storage.current_revision()
        history_from = max(await self.storage.oldest_revision(), current - self.config.history_replay_limit, 1)
        for rt in self.kinds.all():
            cache = WatchCache(self.storage, rt, capacity=self.config.watch_cache_capacity,
                               bookmark_interval=self.config.bookmark_interval)
            self.caches[rt.group_resource] = cache
        await asyncio.gather(*(cache.start(history_from) for cache in self.caches.values()))
        # History replays through the watch; wait until each cache has caught up with "now". Every cache replays
        # the same window at once, so this may take far longer than a request may wait for freshness.
        await asyncio.gather(*(cache.wait_fresh(current, STARTUP_CACHE_TIMEOUT) for cache in self.caches.values()))

    async def _namespace(self, name: str) -> dict | None:
        assert self.registry is not None
        rt = self.kinds.get("", "namespaces")
        assert rt is not None
        cached = self.caches[rt.group_resource].state.get(rt.key("", name))
        if cached is not None:
            return cached.obj
        try:
            return await self.registry.get(rt, "", name)
        except errors.NotFound:
            return None

    async def _ensure_system_namespaces(self) -> None:
        assert self.registry is not None
        rt = self.kinds.get("", "namespaces")
        assert rt is not None
        for name in SYSTEM_NAMESPACES:
            with contextlib.suppress(errors.AlreadyExists):
                await self.registry.create(rt, {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": name}}, "")

    async def _serve_grpc(self) -> None:
        assert self.registry is not None
        options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                   ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                   ("grpc.so_reuseport", int(self.config.reuse_port))]
        self._grpc = grpc.aio.server(options=options)
        servicer = ResourcesServicer(self.registry, self.config.watch_batch_interval, self.limiter)
        add_resources_service(servicer, self._grpc)
        address = f"{self.config.bind_address}:{self.grpc_port}"  # a restart keeps the port it had
        self.grpc_port = self._grpc.add_insecure_port(address)
        if self.grpc_port == 0:
            raise RuntimeError(f"cannot listen on {address}")
        await self._grpc.start()

    async def _serve_http(self) -> None:
        app = web.Application()
        add_health_routes(app, lambda: self.ready, "not ready: watch caches are still loading")
        assert self.registry is not None
        add_api_routes(app, self.registry, self.authorizer, self.limiter)
        self._http = web.AppRunner(app, access_log=None)
        await self._http.setup()
        site = web.TCPSite(self._http, self.config.bind_address, self.http_port,
                           reuse_port=self.config.reuse_port or None)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.http_port = sockets[0].getsockname()[1]
