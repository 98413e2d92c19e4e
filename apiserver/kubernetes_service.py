"""The ``kubernetes`` Service in ``default``: how pods find the apiserver (Kubernetes'
pkg/controlplane/controller/kubernetesservice and the endpoint reconciler).

At start-up, and every ``interval`` seconds after, the apiserver makes sure that

* Service ``default/kubernetes`` exists: ClusterIP = the service CIDR's first address (10.96.0.1), one port
  ``https`` 443 → targetPort = the apiserver's HTTP port, no selector (nobody else manages its endpoints);
* Endpoints ``default/kubernetes`` and EndpointSlice ``default/kubernetes`` list the apiserver's advertise
  address (``--advertise-address``; for pods on the kubeling Docker network the lab passes the network's gateway,
  10.244.0.1, which is the host) on the HTTP port.

Writes go through the registry, so the Service's cluster IP is allocated like any other (the first address sits in
the allocator's static band, so nobody else gets it by chance). Someone deleting or editing these objects sees them
put back. (The real apiserver serves HTTPS on 443; kubeling's HTTP API is plain HTTP, so the port name is kept
for compatibility and the target port is the real one.)
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import logging
from typing import Any

from apimachinery import errors
from apimachinery.kinds import KindRegistry, ResourceType
from apiserver.registry.store import Registry

log = logging.getLogger(__name__)
Object = dict[str, Any]
NAME, NAMESPACE = "kubernetes", "default"
SERVICE_PORT = 443
LABELS = {"component": "apiserver", "provider": "kubernetes"}


def desired_service(cluster_ip: str, target_port: int) -> Object:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(LABELS)},
            "spec": {"type": "ClusterIP", "clusterIP": cluster_ip, "sessionAffinity": "None",
                     "ports": [{"name": "https", "port": SERVICE_PORT, "protocol": "TCP",
                                "targetPort": target_port}]}}


def desired_endpoints(address: str, port: int) -> Object:
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": {"endpointslice.kubernetes.io/skip-mirror":
                                                                           "true"}},
            "subsets": [{"addresses": [{"ip": address}], "ports": [{"name": "https", "port": port,
                                                                    "protocol": "TCP"}]}]}


def desired_slice(address: str, port: int) -> Object:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": {"kubernetes.io/service-name": NAME}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def service_update(current: Object, desired: Object) -> Object | None:
    """The Service to write if its type or ports drifted (getMasterServiceUpdateIfNeeded), else None."""
    spec, want = current.get("spec") or {}, desired["spec"]
    if spec.get("type") == want["type"] and spec.get("ports") == want["ports"]:
        return None
    return {**current, "spec": {**spec, "type": want["type"], "ports": want["ports"]}}


def content_update(current: Object, desired: Object, keys: tuple[str, ...]) -> Object | None:
    """``current`` with ``keys`` (and labels) taken from ``desired``, or None when nothing differs."""
    labels = {**((current.get("metadata") or {}).get("labels") or {}), **desired["metadata"]["labels"]}
    if all(current.get(k) == desired.get(k) for k in keys) and labels == current["metadata"].get("labels"):
        return None
    return {**current, "metadata": {**current["metadata"], "labels": labels}, **{k: desired[k] for k in keys}}


class KubernetesService:
    """Creates and keeps reconciled the ``kubernetes`` Service, Endpoints and EndpointSlice."""

    def __init__(self, registry: Registry, kinds: KindRegistry, cluster_ip: str, address: str, port: int) -> None:
        self.registry = registry
        self.kinds = kinds
        self.cluster_ip, self.address, self.port = cluster_ip, address, port

    def _rt(self, group: str, plural: str) -> ResourceType:
        rt = self.kinds.get(group, plural)
        assert rt is not None
        return rt

    async def reconcile(self) -> None:
        rt = self._rt("", "services")
        desired = desired_service(self.cluster_ip, self.port)
        current = await self._ensure(rt, desired)
        if current is not None and (update := service_update(current, desired)) is not None:
            log.info("reconciling the kubernetes Service's ports")
            await self.registry.update(rt, update, NAMESPACE, NAME)
        if is_loopback(self.address):
            log.warning("advertise address %s is a loopback address, which Endpoints may not hold and pods cannot "
                        "reach: the kubernetes Service has no endpoints (pass --advertise-address)", self.address)
            return
        await self._reconcile_content(self._rt("", "endpoints"), desired_endpoints(self.address, self.port),
                                      ("subsets",))
        await self._reconcile_content(self._rt("discovery.k8s.io", "endpointslices"),
                                      desired_slice(self.address, self.port), ("addressType", "endpoints", "ports"))

    async def _ensure(self, rt: ResourceType, desired: Object) -> Object | None:
        """Create ``desired`` if missing; returns the existing object (None if it was just created)."""
        try:
            return await self.registry.get(rt, NAMESPACE, NAME)
        except errors.NotFound:
            pass
        try:
            await self.registry.create(rt, copy.deepcopy(desired), NAMESPACE)
            log.info("created %s %s/%s", rt.kind, NAMESPACE, NAME)
        except errors.AlreadyExists:
            return await self.registry.get(rt, NAMESPACE, NAME)
        return None

    async def _reconcile_content(self, rt: ResourceType, desired: Object, keys: tuple[str, ...]) -> None:
        current = await self._ensure(rt, desired)
        if current is not None and (update := content_update(current, desired, keys)) is not None:
            await self.registry.update(rt, update, NAMESPACE, NAME)

    async def run(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reconcile()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # a conflict or etcd hiccup: next round
                log.warning("reconciling the kubernetes Service failed: %s", e)
