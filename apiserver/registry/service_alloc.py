"""Cluster IPs and node ports for Services: the service REST storage's allocation hooks.

Kubernetes' pkg/registry/core/service/storage wraps the generic store with hooks; the registry
(:mod:`apiserver.registry.store`) calls these the same way:

* ``prepare_update(new, old)`` — before validation: a type change drops what the new type cannot have and the
  user did not change (``dropTypeDependentFields``: NodePort → ClusterIP forgets the node ports, ClusterIP →
  ExternalName forgets the cluster IP).
* ``begin_create(svc)`` / ``begin_update(new, old)`` — after validation, before the etcd write: allocate what the
  object needs and fill it in (``clusterIP``/``clusterIPs``, each port's ``nodePort``). They are async context
  managers around the write: if the write fails, what was allocated is released (a failed create leaks nothing);
  if it succeeds, an update releases what the old object had and the new one no longer has.
* ``after_delete(svc)`` — the object is gone from etcd: release its cluster IP and node ports.

A crash between an allocation and the object write leaks the value until the repair loop
(:mod:`apiserver.service_repair`) finds it allocated but unused.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from apimachinery import errors
from apimachinery.errors import FieldError
from apiserver.allocation_bitmap import AllocationBitmap
from apiserver.ipallocator import AllocationError, IPRange, allocate_ip, allocate_next_ip, release_ip
from apiserver.portallocator import PortRange, allocate_next_port, allocate_port, release_port
from apiserver.range_store import RangeStore

log = logging.getLogger(__name__)
Object = dict[str, Any]


class JSONList(list[Any]):
    """A list shown as JSON in an Invalid message: ``Invalid value: ["10.96.0.5"]``."""

    def __str__(self) -> str:
        return orjson.dumps(list(self)).decode()


# -- pure rules -----------------------------------------------------------------------------------------------------


def needs_cluster_ip(spec: Object) -> bool:
    """Every type but ExternalName has a cluster IP, unless it is headless (``clusterIP: None``)."""
    return spec.get("type") != "ExternalName" and spec.get("clusterIP") != "None"


def allocates_node_ports(spec: Object) -> bool:
    """NodePort, and LoadBalancer unless ``allocateLoadBalancerNodePorts: false`` (Kubernetes' needsNodePort)."""
    kind = spec.get("type")
    return kind == "NodePort" or (kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is not False)


def may_have_node_ports(spec: Object) -> bool:
    return spec.get("type") in ("NodePort", "LoadBalancer")


def ports_of(spec: Object) -> list[Object]:
    return [p for p in spec.get("ports") or [] if isinstance(p, dict)]


def node_ports_of(spec: Object) -> set[int]:
    """The node ports a stored service holds."""
    if not may_have_node_ports(spec):
        return set()
    return {int(p["nodePort"]) for p in ports_of(spec) if p.get("nodePort")}


def cluster_ip_of(spec: Object) -> str | None:
    ip = spec.get("clusterIP")
    return str(ip) if needs_cluster_ip(spec) and ip else None


def drop_type_dependent_fields(new: Object, old: Object) -> None:
    """Kubernetes' dropTypeDependentFields: a field the new type may not have, left as it was, goes away."""
    new_spec = new["spec"] = copy.deepcopy(new.get("spec") or {})  # a patch may share parts with the old object
    old_spec = old.get("spec") or {}

    def same(key: str) -> bool:
        return new_spec.get(key) in (None, old_spec.get(key))

    if old_spec.get("type") != "ExternalName" and new_spec.get("type") == "ExternalName":
        for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if same(key):
                new_spec.pop(key, None)
    if allocates_node_ports(old_spec) and not allocates_node_ports(new_spec):
        old_ports = [p.get("nodePort") for p in ports_of(old_spec)]
        if [p.get("nodePort") for p in ports_of(new_spec)] in (old_ports, [None] * len(old_ports)):
            for port in ports_of(new_spec):
                port.pop("nodePort", None)
    if old_spec.get("type") == "LoadBalancer" and new_spec.get("type") != "LoadBalancer":
        for key in ("allocateLoadBalancerNodePorts", "loadBalancerClass"):
            if same(key):
                new_spec.pop(key, None)
    if new_spec.get("type") not in ("NodePort", "LoadBalancer") and not new_spec.get("externalIPs") \
            and same("externalTrafficPolicy"):
        new_spec.pop("externalTrafficPolicy", None)


# -- the allocator --------------------------------------------------------------------------------------------------


@dataclass
class Taken:
    """What one create or update allocated (released again if its write fails)."""

    ip: str | None = None
    ports: list[int] = field(default_factory=list)


class ServiceAllocator:
    """The Service hooks of the registry, over the two etcd-backed ranges."""

    def __init__(self, ips: RangeStore, ip_range: IPRange, ports: RangeStore, port_range: PortRange,
                 rng: random.Random | None = None) -> None:
        self.ips, self.ip_range = ips, ip_range
        self.ports, self.port_range = ports, port_range
        self.rng = rng or random.Random()

    def prepare_update(self, new: Object, old: Object) -> None:
        drop_type_dependent_fields(new, old)

    @contextlib.asynccontextmanager
    async def begin_create(self, svc: Object, dry_run: bool) -> AsyncIterator[None]:
        async with self._allocating(svc, {}, dry_run):
            yield

    @contextlib.asynccontextmanager
    async def begin_update(self, new: Object, old: Object, dry_run: bool) -> AsyncIterator[None]:
        async with self._allocating(new, old, dry_run):
            yield
        if dry_run:
            return
        new_spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
        old_ip = cluster_ip_of(old_spec)
        await self._release(Taken(old_ip if old_ip != cluster_ip_of(new_spec) else None,
                                  sorted(node_ports_of(old_spec) - node_ports_of(new_spec))))

    async def after_delete(self, svc: Object) -> None:
        spec = svc.get("spec") or {}
        await self._release(Taken(cluster_ip_of(spec), sorted(node_ports_of(spec))))

    @contextlib.asynccontextmanager
    async def _allocating(self, svc: Object, old: Object, dry_run: bool) -> AsyncIterator[None]:
        taken = Taken()
        try:
            await self._allocate_ip(svc, old.get("spec") or {}, taken, dry_run)
            await self._allocate_ports(svc, old.get("spec") or {}, taken, dry_run)
            yield
        except BaseException:
            if not dry_run:
                await self._release(taken)
            raise

    async def _allocate_ip(self, svc: Object, old_spec: Object, taken: Taken, dry_run: bool) -> None:
        spec = svc.setdefault("spec", {})
        if not needs_cluster_ip(spec):
            return
        wanted = str(spec.get("clusterIP") or "")
        if wanted and wanted == cluster_ip_of(old_spec):
            return  # already ours
        name = str((svc.get("metadata") or {}).get("name", ""))

        def change(bitmap: AllocationBitmap) -> str:
            if not wanted:
                return allocate_next_ip(bitmap, self.ip_range, self.rng)
            allocate_ip(bitmap, self.ip_range, wanted)
            return wanted

        try:
            ip = await self.ips.update(change, dry_run)
        except AllocationError as e:
            if not wanted:
                raise errors.internal(f"failed to allocate a serviceIP: {e}") from None
            value = JSONList(spec.get("clusterIPs") or [wanted])
            raise errors.invalid("Service", name, [FieldError("spec.clusterIPs", errors.FIELD_VALUE_INVALID,
                                                              f"failed to allocate IP {wanted}: {e}", value)]) from None
        taken.ip = None if dry_run else ip
        spec["clusterIP"], spec["clusterIPs"] = ip, [ip]

    async def _allocate_ports(self, svc: Object, old_spec: Object, taken: Taken, dry_run: bool) -> None:
        spec = svc.setdefault("spec", {})
        if not may_have_node_ports(spec):
            return
        held = node_ports_of(old_spec)
        automatic = allocates_node_ports(spec)
        name = str((svc.get("metadata") or {}).get("name", ""))

        def change(bitmap: AllocationBitmap) -> list[tuple[int, int]]:
            return plan_node_ports(bitmap, self.port_range, ports_of(spec), held, automatic, self.rng, name)

        chosen = await self.ports.update(change, dry_run)
        for index, port in chosen:
            ports_of(spec)[index]["nodePort"] = port
        if not dry_run:
            taken.ports = sorted({port for _, port in chosen} - held)

    async def _release(self, taken: Taken) -> None:
        """Give values back; a failure here only leaks them until the repair loop reclaims them."""
        try:
            if taken.ip:
                await self.ips.update(lambda bitmap: release_ip(bitmap, self.ip_range, str(taken.ip)))
            if taken.ports:
                await self.ports.update(lambda bitmap: _release_ports(bitmap, self.port_range, taken.ports))
        except Exception as e:  # logged; repair reclaims
            log.warning("releasing service allocations %s failed (the repair loop will reclaim them): %s", taken, e)


def plan_node_ports(bitmap: AllocationBitmap, port_range: PortRange, ports: list[Object], held: set[int],
                    automatic: bool, rng: random.Random, name: str) -> list[tuple[int, int]]:
    """Mark the node ports of ``ports`` in ``bitmap``: a user's port must be free (or already ``held`` by this
    service), a missing one is picked at random when ``automatic``. Returns (port index, node port) pairs."""
    chosen: list[tuple[int, int]] = []
    mine = set(held)
    for i, port in enumerate(ports):
        wanted = port.get("nodePort")
        if wanted:
            if int(wanted) not in mine:
                try:
                    allocate_port(bitmap, port_range, int(wanted))
                except AllocationError as e:
                    raise errors.invalid("Service", name, [FieldError(
                        f"spec.ports[{i}].nodePort", errors.FIELD_VALUE_INVALID, str(e), int(wanted))]) from None
                mine.add(int(wanted))
            chosen.append((i, int(wanted)))
        elif automatic:
            try:
                chosen.append((i, allocate_next_port(bitmap, port_range, rng)))
            except AllocationError as e:
                raise errors.internal(f"failed to allocate a nodePort: {e}") from None
    return chosen


def _release_ports(bitmap: AllocationBitmap, port_range: PortRange, ports: list[int]) -> None:
    for port in ports:
        release_port(bitmap, port_range, port)
