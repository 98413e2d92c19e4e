"""The repair loops for cluster IPs and node ports (Kubernetes' pkg/registry/core/service/{ipallocator,
portallocator}/controller/repair.go).

The bitmaps in etcd are a cache of a fact that lives elsewhere: which Services hold which values. A crash between
allocating and writing the Service leaks a value; a restore of etcd from an old backup, or a range flag changed
between restarts, leaves the bitmap wrong. So the apiserver, before it serves and then every ``interval`` seconds,
rebuilds each bitmap from the Services themselves:

1. read the stored bitmap (the snapshot) and its revision, then list every Service from etcd;
2. mark each Service's value in a fresh bitmap; report a value outside the range ("please recreate"), a value held
   by two Services ("assigned to multiple services"), and a value the snapshot did not have ("not allocated;
   repairing" — it is re-marked);
3. a value allocated in the snapshot that no Service holds may be a create still in flight, so it is only flagged;
   it is released when it is still unused on the ``leak_checks``-th consecutive run (Kubernetes: 3);
4. write the fresh bitmap with a compare-and-swap on the snapshot's revision; if anyone allocated meanwhile, start
   over.

:func:`rebuild` is the pure heart (steps 2 and 3).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from apiserver.allocation_bitmap import AllocationBitmap
from apiserver.ipallocator import AllocationError
from apiserver.range_store import RangeStore
from apiserver.registry.service_alloc import cluster_ip_of, node_ports_of
from apiserver.storage import EtcdStorage, prefix_end
from apiserver.watch_cache import is_marker_key

log = logging.getLogger(__name__)
Object = dict[str, Any]
LEAK_CHECKS = 3  # Kubernetes' numRepairsBeforeLeakCleanup
SERVICES_PREFIX = "/registry/services/"


@dataclass
class RangeView:
    """How a repair reads one range: the values a Service holds, and their bitmap indexes."""

    what: str  # "cluster IP" | "node port"
    spec: str  # the range, for messages
    values_of: Callable[[Object], list[Any]]
    index_of: Callable[[Any], int]  # raises AllocationError outside the range
    value_at: Callable[[int], Any]


@dataclass
class Rebuilt:
    bitmap: AllocationBitmap
    leaks: dict[int, int] = field(default_factory=dict)  # index -> runs left before release
    problems: list[str] = field(default_factory=list)


def rebuild(services: list[Object], view: RangeView, snapshot: AllocationBitmap, leaks: dict[int, int],
            leak_checks: int = LEAK_CHECKS) -> Rebuilt:
    """The bitmap the Services imply, with leak bookkeeping carried over from the previous run."""
    result = Rebuilt(AllocationBitmap(snapshot.size, snapshot.offset))
    for svc in services:
        meta = svc.get("metadata") or {}
        who = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
        for value in view.values_of(svc):
            try:
                index = view.index_of(value)
            except AllocationError:
                result.problems.append(f"the {view.what} {value} for service {who} is not within the range "
                                       f"{view.spec}; please recreate")
                continue
            if not result.bitmap.allocate(index):
                result.problems.append(f"the {view.what} {value} for service {who} was assigned to multiple "
                                       "services; please recreate service")
            elif not snapshot.has(index):
                result.problems.append(f"the {view.what} {value} for service {who} is not allocated; repairing")
    for index in snapshot.allocated():
        if result.bitmap.has(index):
            continue
        left = leaks.get(index, leak_checks) - 1
        if left > 0:
            result.leaks[index] = left
            result.bitmap.allocate(index)
            result.problems.append(f"the {view.what} {view.value_at(index)} may have leaked: flagging for later "
                                   "clean up")
        else:
            result.problems.append(f"the {view.what} {view.value_at(index)} appears to have leaked: cleaning up")
    return result


class RangeRepair:
    """Rebuilds one range's bitmap from the Services; ``run_once`` at start, ``run`` forever after."""

    def __init__(self, storage: EtcdStorage, store: RangeStore, view: RangeView,
                 leak_checks: int = LEAK_CHECKS) -> None:
        self.storage = storage
        self.store = store
        self.view = view
        self.leak_checks = leak_checks
        self.leaks: dict[int, int] = {}

    async def run_once(self) -> Rebuilt:
        while True:
            snapshot, revision = await self.store.snapshot()
            services = await list_services(self.storage)
            result = rebuild(services, self.view, snapshot, self.leaks, self.leak_checks)
            if result.bitmap.bits == snapshot.bits and revision:
                break
            if await self.store.replace(result.bitmap, revision):
                break
            log.debug("%s repair: the range changed meanwhile; retrying", self.view.what)
        self.leaks = result.leaks
        for problem in result.problems:
            log.warning("%s repair: %s", self.view.what, problem)
        return result

    async def run(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # etcd may be briefly away; try again next round
                log.warning("%s repair failed: %s", self.view.what, e)


async def list_services(storage: EtcdStorage) -> list[Object]:
    page = await storage.range(SERVICES_PREFIX, prefix_end(SERVICES_PREFIX))
    return [orjson.loads(kv.value) for kv in page.kvs if not is_marker_key(kv.key)]


def cluster_ip_view(ip_range: Any) -> RangeView:
    return RangeView("cluster IP", ip_range.spec,
                     lambda svc: [ip] if (ip := cluster_ip_of(svc.get("spec") or {})) else [],
                     ip_range.index, ip_range.ip)


def node_port_view(port_range: Any) -> RangeView:
    return RangeView("node port", port_range.spec, lambda svc: sorted(node_ports_of(svc.get("spec") or {})),
                     port_range.index, lambda index: port_range.base + index)
