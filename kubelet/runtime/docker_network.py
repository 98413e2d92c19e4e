"""The pod network: one Docker bridge network per cluster, created by whichever kubelet comes first.

Several kubelets may share one Docker host and start together. Creation is serialized by a host-wide file lock,
and because Docker's duplicate-name check is best effort (two networks of one name can exist), every caller
settles on the oldest network of that name and removes the duplicate it created.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import tempfile
from collections.abc import Callable
from typing import Any

import docker
import docker.errors
import docker.types

from kubelet.runtime.docker_convert import parse_docker_time
from kubelet.runtime.interface import LABEL_MANAGED, ContainerCreateError


def network_lock_path(network: str) -> str:
    """The host-wide lock serializing the creation of ``network`` by kubelets sharing this Docker host."""
    return os.path.join(tempfile.gettempdir(), f"kubeling-network-{network}.lock")


def _explain(err: docker.errors.APIError) -> str:
    return str(err.explanation or err)


def ensure_network_blocking(api: docker.APIClient, network: str, subnet: str | None) -> str:
    def oldest() -> str | None:
        found = [n for n in api.networks(names=[network]) if n.get("Name") == network]
        if not found:
            return None
        return str(min(found, key=lambda n: (parse_docker_time(n.get("Created")) or 0.0, n["Id"]))["Id"])

    existing = oldest()
    if existing:
        return existing
    with open(network_lock_path(network), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            existing = oldest()
            if existing:
                return existing
            return _create_network(api, network, subnet, oldest)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _create_network(api: docker.APIClient, network: str, subnet: str | None, oldest: Callable[[], str | None]) -> str:
    ipam = None
    if subnet:
        ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
    try:
        created = api.create_network(
            network, driver="bridge", ipam=ipam, check_duplicate=True, labels={LABEL_MANAGED: "true"},
        )["Id"]
    except docker.errors.APIError as err:
        winner = oldest()
        if winner:  # somebody else (another host's lock, another daemon client) won the race
            return str(winner)
        raise ContainerCreateError(f"cannot create network {network}: {_explain(err)}") from err
    winner = oldest() or created
    if winner != created:
        with contextlib.suppress(docker.errors.APIError):
            api.remove_network(created)
    return str(winner)


def remove_network_blocking(api: docker.APIClient, network: str) -> None:
    found: list[dict[str, Any]] = api.networks(names=[network])
    for n in found:
        if n.get("Name") == network:
            with contextlib.suppress(docker.errors.NotFound):
                api.remove_network(n["Id"])
    with contextlib.suppress(OSError):
        os.unlink(network_lock_path(network))


def network_gateway_blocking(api: docker.APIClient, network: str) -> str:
    """The network's gateway address: the host's address on the pod network (the node's InternalIP by default)."""
    for config in (api.inspect_network(network).get("IPAM") or {}).get("Config") or []:
        if config.get("Gateway"):
            return str(config["Gateway"])
        if config.get("Subnet"):  # Docker gives the subnet's first address to the bridge without recording it
            return str(next(ipaddress.ip_network(config["Subnet"]).hosts()))
    return ""


def network_subnet_blocking(api: docker.APIClient, network: str) -> str | None:
    for config in (api.inspect_network(network).get("IPAM") or {}).get("Config") or []:
        if config.get("Subnet"):
            return str(config["Subnet"])
    return None
