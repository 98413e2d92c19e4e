"""The proxy's control loop: watch Services and EndpointSlices, and sync the chosen mode when they change.

Informer handlers only mark the state dirty; :class:`SyncRunner` (kube-proxy's BoundedFrequencyRunner) then runs a
sync at most once per ``min_sync_period`` (changes arriving meanwhile are batched into the next sync) and at
least once per ``sync_period`` (repairing rules someone else removed). Each sync recomputes everything from the
informer caches: level-triggered, so a proxy killed at any moment and restarted converges.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Protocol

from client.client import Client
from client.informer import Handler
from client.informer_factory import SharedInformerFactory
from proxy.model import ServicePort, build_service_ports

log = logging.getLogger("proxy")
ENDPOINT_SLICES = "endpointslices.discovery.k8s.io"


class Mode(Protocol):
    mode: str
    last_sync_seconds: float

    async def start(self) -> None: ...
    async def sync(self, ports: list[ServicePort]) -> None: ...
    async def stop(self, *, clean: bool = True) -> None: ...


class SyncRunner:
    """Calls ``fn`` when asked, at most once per ``min_period`` seconds and at least once per ``max_period``."""

    def __init__(self, fn: Any, min_period: float, max_period: float) -> None:
        self.fn = fn
        self.min_period = min_period
        self.max_period = max_period
        self._wanted = asyncio.Event()
        self._last = 0.0

    def request(self) -> None:
        self._wanted.set()

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wanted.wait(), self.max_period)
            wait = self._last + self.min_period - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # batch whatever else arrives meanwhile
            self._wanted.clear()
            self._last = time.monotonic()
            try:
                await self.fn()
            except Exception:
                log.exception("sync failed; retrying")
                await asyncio.sleep(self.min_period)
                self._wanted.set()


class Proxier:
    """Informers + runner + one mode (iptables or userspace)."""

    def __init__(self, client: Client, mode: Mode, *, min_sync_period: float = 1.0,
                 sync_period: float = 30.0) -> None:
        self.client = client
        self.mode = mode
        self.informers = SharedInformerFactory(client)
        self.services = self.informers.informer("services")
        self.slices = self.informers.informer(ENDPOINT_SLICES)
        self.runner = SyncRunner(self.sync, min_sync_period, sync_period)
        self.synced = asyncio.Event()
        self.syncs = 0
        handler = Handler(on_add=lambda _: self.runner.request(), on_update=lambda _a, _b: self.runner.request(),
                          on_delete=lambda _: self.runner.request())
        self.services.add_handler(handler)
        self.slices.add_handler(handler)

    def ports(self) -> list[ServicePort]:
        return build_service_ports(self.services.store.list(), self.slices.store.list())

    async def sync(self) -> None:
        ports = self.ports()
        await self.mode.sync(ports)
        self.syncs += 1
        self.synced.set()
        log.debug("%s sync #%d: %d service ports in %.3fs", self.mode.mode, self.syncs, len(ports),
                  self.mode.last_sync_seconds)

    async def run(self, *, clean_on_exit: bool = True) -> None:
        """Run until cancelled; on the way out remove the rules (unless ``clean_on_exit`` is False)."""
        await self.mode.start()
        self.informers.start()
        try:
            await self.informers.wait_for_sync()
            log.info("caches synced; proxy mode %s", self.mode.mode)
            self.runner.request()
            await self.runner.run()
        finally:
            await self.informers.stop()
            await self.mode.stop(clean=clean_on_exit)
