"""What ``up``, ``down``, ``restart``, ``add-node`` and ``remove-node`` do (the CLI only parses and prints)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from kubeling import api, cluster, processes
from kubeling.cluster import KUBELET_PREFIX, ClusterState, Component, Settings

ETCD_CANDIDATES = ("etcd", "/usr/bin/etcd", "/usr/local/bin/etcd")
# kubelet/runtime/interface.py's label names (read, not imported: the CLI imports no component)
LABEL_MANAGED = "io.kubeling.managed"
LABEL_NODE = "io.kubeling.node"


class SetupError(Exception):
    """Something the machine lacks; the message says what to install."""


def find_etcd() -> str:
    for candidate in ETCD_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    raise SetupError("etcd is not installed: apt-get install etcd-server (or run `make deps`, which installs it)")


def docker_client():  # -> docker.DockerClient (import deferred: `kubeling status` should not need docker)
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception as err:
        if shutil.which("dockerd") is None:
            raise SetupError("Docker is not installed: apt-get install docker.io, then start dockerd "
                             "(or run `make deps`, which does both)") from err
        raise SetupError(f"dockerd is not reachable ({err}): start it (`make deps` does, or "
                         "`nohup dockerd >/var/log/dockerd.log 2>&1 &`)") from err
    return client


def has_module(name: str) -> bool:
    """Whether ``name`` can be run as ``python -m name`` (found, never imported)."""
    try:
        return importlib.util.find_spec(f"{name}.__main__") is not None
    except (ImportError, ValueError):
        return False


def apiserver_url(state: ClusterState) -> str:
    return f"http://127.0.0.1:{state.ports.apiserver_http}"


def new_cluster(settings: Settings, directory: Path, report: Callable[[str], None] = print) -> ClusterState:
    settings.with_dns = has_module("dns")
    settings.with_proxy = has_module("proxy")
    if settings.with_proxy and os.geteuid() != 0:
        report(f"the service proxy needs root (iptables): cluster {settings.name} starts without one")
        settings.with_proxy = False
    others = processes.running_module_pids("proxy") if settings.with_proxy else []
    if others:  # its iptables chains (KUBELING-*) are host-wide: two proxies would rewrite each other's rules
        report(f"another kubeling service proxy runs on this host (pid {others[0]}): cluster {settings.name} "
               "starts without one (its Service IPs are not routed)")
        settings.with_proxy = False
    state = cluster.new_state(settings, directory, python=sys.executable, etcd_binary=find_etcd(),
                              free_port=processes.PortPicker())
    cluster.save(state, directory)
    return state


def start_component(state: ClusterState, component: Component, directory: Path, timeout: float = 30.0) -> int:
    """Spawn it, record the PID, and for etcd and the apiserver wait until they answer (others start async)."""
    pid = processes.spawn(component, directory)
    cluster.save(state, directory)
    if component.name in ("etcd", "apiserver"):
        try:
            processes.wait_http(component.healthz, component, timeout)
        except (RuntimeError, TimeoutError) as err:
            log = processes.log_path(directory, component.name)
            raise SetupError(f"{err}; the end of {log}:\n{processes.tail(log)}") from err
    return pid


def start_missing(state: ClusterState, directory: Path, report: Callable[[str], None] = print) -> list[str]:
    """Start, in order, every component that is not running; the names started."""
    started = []
    for component in state.components.values():
        if processes.alive(component):
            continue
        pid = start_component(state, component, directory)
        report(f"started {component.name} (pid {pid}, log {processes.log_path(directory, component.name)})")
        started.append(component.name)
    return started


def not_ready(state: ClusterState) -> list[str]:
    """The cluster's nodes that are not Ready yet (every one when the apiserver does not answer)."""
    try:
        found = api.nodes(apiserver_url(state))
    except api.ApiError:
        return state.all_node_names()
    return [n for n in state.all_node_names() if n not in found or not api.node_ready(found[n])]


def dead_components(state: ClusterState) -> list[str]:
    return [name for name, c in state.components.items() if not processes.alive(c)]


def remove_containers(node_names: list[str]) -> int:
    """Remove every Docker container kubeling's kubelets created for these nodes; how many."""
    if not node_names:
        return 0
    import docker.errors

    try:
        client = docker_client()
    except SetupError:
        return 0
    removed = 0
    try:
        for node in node_names:
            filters = {"label": [f"{LABEL_MANAGED}=true", f"{LABEL_NODE}={node}"]}
            for container in client.containers.list(all=True, filters=filters):
                with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                    container.remove(force=True, v=True)
                    removed += 1
    finally:
        client.close()
    return removed


def down(state: ClusterState, directory: Path, purge: bool) -> tuple[list[str], int]:
    """Stop every process (the agents and controllers, then the apiserver, then etcd), remove the containers."""
    comps = list(state.components.values())
    rest = [c for c in comps if c.name not in ("etcd", "apiserver")]
    stopped = processes.stop_all(rest)
    stopped += processes.stop_all([c for c in comps if c.name == "apiserver"])
    stopped += processes.stop_all([c for c in comps if c.name == "etcd"])
    removed = remove_containers(state.nodes)
    for c in comps:
        c.pid = None
    if purge:
        shutil.rmtree(directory, ignore_errors=True)
    else:
        cluster.save(state, directory)
    return stopped, removed


def restart(state: ClusterState, name: str, directory: Path) -> int:
    """Start ``name`` again with its recorded command (stopping it first if it still runs)."""
    component = state.components[name]
    processes.stop(component)
    return start_component(state, component, directory)


def add_node(state: ClusterState, directory: Path) -> str:
    node = cluster.next_node_name(state.name, state.nodes)
    picker = processes.PortPicker()
    component = cluster.kubelet_component(state.settings, state.ports, directory, sys.executable, node, picker())
    # keep start order: kubelets before dns/proxy
    items = list(state.components.items())
    position = max((i for i, (n, _) in enumerate(items) if n.startswith(KUBELET_PREFIX)), default=len(items) - 1) + 1
    items.insert(position, (component.name, component))
    state.components = dict(items)
    state.nodes.append(node)
    start_component(state, component, directory)
    return node


def remove_node(state: ClusterState, node: str, directory: Path) -> tuple[bool, int]:
    """Stop its kubelet, delete the Node object, remove its containers; (Node deleted, containers removed)."""
    name = KUBELET_PREFIX + node
    if name not in state.components:
        raise KeyError(f"no node {node!r} in cluster {state.name} (nodes: {', '.join(state.nodes)})")
    processes.stop(state.components[name])
    deleted = False
    with contextlib.suppress(api.ApiError):
        deleted = api.delete_node(apiserver_url(state), node)
    removed = remove_containers([node])
    del state.components[name]
    state.nodes.remove(node)
    cluster.save(state, directory)
    return deleted, removed


def wait_ready(state: ClusterState, timeout: float, tick: Callable[[list[str], list[str]], None]) -> list[str]:
    """Until every node is Ready; ``tick(not ready, dead components)`` on each poll. Returns the nodes not Ready."""
    deadline = time.monotonic() + timeout
    pending = not_ready(state)
    while pending and time.monotonic() < deadline:
        dead = dead_components(state)
        tick(pending, dead)
        if dead:
            return pending
        time.sleep(0.5)
        pending = not_ready(state)
    tick(pending, dead_components(state))
    return pending
