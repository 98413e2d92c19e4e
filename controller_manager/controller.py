"""The shape every controller has. Read this before any controller: they all work like this.

* Informer event handlers never act: they compute which object's key must be looked at again and ``enqueue`` it
  (an owner's key for a pod event, for instance).
* Workers take keys from a rate-limited, de-duplicating work queue and call ``reconcile(key)``.
* ``reconcile`` reads the informer caches (never a stale copy of its own), compares desired and actual state, and
  writes the difference through the client. It must be idempotent: the process may be killed at any line and a
  restarted controller, calling reconcile again, must converge. Errors requeue the key with back-off; a successful
  reconcile forgets the key's failures. ``requeue_after`` lets reconcile ask to be called again later (timers such
  as minReadySeconds or progressDeadlineSeconds).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apimachinery import errors
from client.client import Client
from client.events import EventRecorder
from client.informer_factory import SharedInformerFactory
from client.store import object_key
from client.workqueue import ShutDown, WorkQueue

log = logging.getLogger(__name__)
Object = dict[str, Any]


@dataclass
class ControllerContext:
    """What every controller is built from: the client, the shared informers, an event recorder, the flags."""

    client: Client
    informers: SharedInformerFactory
    recorder: EventRecorder
    options: Mapping[str, Any] = field(default_factory=dict)  # timing flags by name, e.g. "node_monitor_grace_period"
    # A recorder whose events name another source component; None: every controller shares ``recorder``.
    recorders: Callable[[str], EventRecorder] | None = None

    def option(self, name: str, default: Any) -> Any:
        return self.options.get(name, default)

    def recorder_for(self, source: str) -> EventRecorder:
        """The recorder for events from ``source`` (Kubernetes' ``source.component``, e.g. "deployment-controller":
        what ``kubectl describe`` shows under From)."""
        return self.recorders(source) if self.recorders is not None and source else self.recorder


class Controller:
    """Base class: a work queue, workers, and the reconcile contract. Subclasses set ``name`` and implement
    ``reconcile``; their ``__init__`` takes informers from ``ctx.informers`` and registers handlers."""

    name = "controller"
    event_source = ""  # the component its Events name, as in Kubernetes; "" the controller-manager's shared one
    workers = 5

    def __init__(self, ctx: ControllerContext) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.recorder = ctx.recorder_for(self.event_source)
        self.queue: WorkQueue[str] = WorkQueue(self.name)

    def enqueue(self, obj: Mapping[str, Any]) -> None:
        self.queue.add(object_key(dict(obj)))

    def enqueue_key(self, key: str) -> None:
        self.queue.add(key)

    def requeue_after(self, key: str, delay: float) -> None:
        self.queue.add_after(key, delay)

    async def reconcile(self, key: str) -> None:
        raise NotImplementedError

    async def run(self) -> None:
        """Run the workers until cancelled (the informers are started and synced by the caller)."""
        workers = [asyncio.create_task(self._worker(), name=f"{self.name}-worker-{i}") for i in range(self.workers)]
        try:
            await asyncio.gather(*workers)
        finally:
            self.queue.shut_down()
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def _worker(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except ShutDown:
                return
            try:
                await self.reconcile(key)
            except asyncio.CancelledError:
                raise
            except errors.Conflict as e:
                log.debug("%s: %s: conflict, requeued: %s", self.name, key, e)
                self.queue.add_rate_limited(key)
            except Exception as e:
                log.warning("%s: reconciling %s failed (requeued): %s", self.name, key, e, exc_info=True)
                self.queue.add_rate_limited(key)
            else:
                self.queue.forget(key)
            finally:
                self.queue.done(key)
