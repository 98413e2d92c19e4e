"""A cluster's settings and state, and the command line of each of its components (pure functions).

State lives in ``$KUBELING_HOME/<name>/`` (``KUBELING_HOME`` defaults to ``~/.kubeling``): ``cluster.json`` records
every component's command line, environment and PID, so ``down``, ``restart`` and ``status`` work from any shell;
``logs/<component>.log`` holds each component's output; ``etcd/`` holds etcd's data.

Component names: ``etcd``, ``apiserver``, ``controller-manager``, ``scheduler``, ``proxy``, ``dns``,
``kubelet-<node>`` (nodes are ``<cluster>-node-1``, ``-2``, ...), ``kubelet-hollow``, and with ``--ha``
``scheduler-2`` and ``controller-manager-2``.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "cluster.json"
DEFAULT_NAME = "lab"
KUBELET_PREFIX = "kubelet-"
HOLLOW = "kubelet-hollow"
LEASE_NAMES = {"scheduler": "kube-scheduler", "controller-manager": "kube-controller-manager"}

# --fast-failover: heartbeat, grace and eviction timings short enough for a chaos lab.
FAST_KUBELET = ["--node-status-update-frequency", "1s", "--node-lease-renew-interval", "1s"]
FAST_CONTROLLER_MANAGER = ["--node-monitor-grace-period", "8s", "--node-monitor-period", "1s"]
FAST_APISERVER = ["--default-not-ready-toleration-seconds", "10", "--default-unreachable-toleration-seconds", "10"]
FAST_LEADER_ELECTION = ["--leader-elect-lease-duration", "4s", "--leader-elect-renew-deadline", "3s",
                        "--leader-elect-retry-period", "1s"]

# The kubeling Docker network's gateway: this host as pods see it (the kubelet creates the network, 10.244.0.0/16).
POD_NETWORK_GATEWAY = "10.244.0.1"
POD_NETWORK_CIDR = "10.244.0.0/16"

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$")


def kubeling_home() -> Path:
    return Path(os.environ.get("KUBELING_HOME") or Path.home() / ".kubeling")


def state_dir(name: str) -> Path:
    return kubeling_home() / name


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise ValueError(f"invalid cluster name {name!r}: lowercase letters, digits and '-', at most 32 characters")
    return name


@dataclass
class Settings:
    name: str = DEFAULT_NAME
    nodes: int = 3
    hollow_nodes: int = 0
    fast_failover: bool = False
    ha: bool = False
    with_proxy: bool = False  # the proxy package has a __main__ (checked at `up`, never imported)
    with_dns: bool = False


@dataclass
class Ports:
    etcd_client: int = 0
    etcd_peer: int = 0
    apiserver_http: int = 0
    apiserver_grpc: int = 0


@dataclass
class Component:
    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)  # on top of the caller's environment
    healthz: str = ""  # URL; "{node_ip}" is filled in from the Node object (kubelets bind the node IP)
    pid: int | None = None
    started_at: float | None = None


@dataclass
class ClusterState:
    settings: Settings
    ports: Ports
    components: dict[str, Component] = field(default_factory=dict)  # in start order
    nodes: list[str] = field(default_factory=list)  # real (Docker) nodes, each with a kubelet-<node>

    @property
    def name(self) -> str:
        return self.settings.name

    def to_json(self) -> str:
        return json.dumps({"settings": asdict(self.settings), "ports": asdict(self.ports),
                           "components": [asdict(c) for c in self.components.values()],
                           "nodes": self.nodes}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> ClusterState:
        data: dict[str, Any] = json.loads(text)
        components = [Component(**c) for c in data.get("components", [])]
        return cls(settings=Settings(**data["settings"]), ports=Ports(**data["ports"]),
                   components={c.name: c for c in components}, nodes=list(data.get("nodes", [])))

    def hollow_node_names(self) -> list[str]:
        return [f"{self.name}-hollow-{i}" for i in range(1, self.settings.hollow_nodes + 1)]

    def all_node_names(self) -> list[str]:
        return self.nodes + self.hollow_node_names()


def save(state: ClusterState, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / (STATE_FILE + ".tmp")
    tmp.write_text(state.to_json())
    tmp.replace(directory / STATE_FILE)


def load(directory: Path) -> ClusterState | None:
    path = directory / STATE_FILE
    if not path.exists():
        return None
    return ClusterState.from_json(path.read_text())


def node_name(cluster: str, index: int) -> str:
    return f"{cluster}-node-{index}"


def node_index(cluster: str, node: str) -> int | None:
    m = re.fullmatch(re.escape(cluster) + r"-node-(\d+)", node)
    return int(m.group(1)) if m else None


def next_node_name(cluster: str, existing: Iterable[str]) -> str:
    indexes = [i for i in (node_index(cluster, n) for n in existing) if i is not None]
    return node_name(cluster, max(indexes, default=0) + 1)


def resolve_component(state: ClusterState, target: str) -> str:
    """A component name, or a node name (its kubelet); KeyError naming the choices otherwise."""
    if target in state.components:
        return target
    if KUBELET_PREFIX + target in state.components:
        return KUBELET_PREFIX + target
    raise KeyError(f"no component or node {target!r} in cluster {state.name} "
                   f"(components: {', '.join(state.components)})")


def match_targets(patterns: str | Iterable[str], names: Iterable[str]) -> list[str]:
    """The names matching any of the fnmatch patterns ('scheduler,kubelet-*'); '-pattern' excludes, in order."""
    items = [p.strip() for p in (patterns.split(",") if isinstance(patterns, str) else patterns) if p.strip()]
    chosen: list[str] = []
    for name in names:
        selected = False
        for item in items:
            if item.startswith("-"):
                if fnmatch.fnmatchcase(name, item[1:]):
                    selected = False
            elif fnmatch.fnmatchcase(name, item):
                selected = True
        if selected:
            chosen.append(name)
    return chosen


# ---- command lines (pure) -------------------------------------------------------------------------------------

def _python_module(python: str, module: str) -> list[str]:
    return [python, "-m", module]


def etcd_component(settings: Settings, ports: Ports, directory: Path, etcd_binary: str) -> Component:
    client, peer = f"http://127.0.0.1:{ports.etcd_client}", f"http://127.0.0.1:{ports.etcd_peer}"
    command = [etcd_binary, "--name", settings.name, "--data-dir", str(directory / "etcd"),
               "--listen-client-urls", client, "--advertise-client-urls", client,
               "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
               "--initial-cluster", f"{settings.name}={peer}", "--logger", "zap", "--log-level", "warn"]
    return Component("etcd", command, healthz=f"{client}/health")


def apiserver_component(settings: Settings, ports: Ports, python: str) -> Component:
    command = [*_python_module(python, "apiserver"), "--etcd-servers", f"127.0.0.1:{ports.etcd_client}",
               "--grpc-port", str(ports.apiserver_grpc), "--port", str(ports.apiserver_http),
               "--advertise-address", POD_NETWORK_GATEWAY]
    if settings.fast_failover:
        command += FAST_APISERVER
    return Component("apiserver", command, healthz=f"http://127.0.0.1:{ports.apiserver_http}/healthz")


def leader_elected_component(kind: str, replica: int, settings: Settings, ports: Ports, python: str,
                             healthz_port: int) -> Component:
    """``scheduler`` / ``controller-manager`` (replica 1) or ``<kind>-<replica>``, named by KUBELING_IDENTITY."""
    name = kind if replica == 1 else f"{kind}-{replica}"
    module = kind.replace("-", "_")
    command = [*_python_module(python, module), "--apiserver", f"127.0.0.1:{ports.apiserver_grpc}",
               "--healthz-port", str(healthz_port)]
    if settings.fast_failover:
        command += FAST_LEADER_ELECTION
        if kind == "controller-manager":
            command += FAST_CONTROLLER_MANAGER
    return Component(name, command, env={"KUBELING_IDENTITY": name},
                     healthz=f"http://127.0.0.1:{healthz_port}/healthz")


def kubelet_component(settings: Settings, ports: Ports, directory: Path, python: str, node: str,
                      healthz_port: int) -> Component:
    command = [*_python_module(python, "kubelet"), "--node-name", node,
               "--apiserver", f"127.0.0.1:{ports.apiserver_grpc}", "--root-dir", str(directory / "kubelet"),
               "--port", "0", "--healthz-port", str(healthz_port)]
    if settings.with_proxy and settings.with_dns:
        command += ["--cluster-dns", "10.96.0.10"]
    if settings.fast_failover:
        command += FAST_KUBELET
    return Component(KUBELET_PREFIX + node, command, healthz=f"http://{{node_ip}}:{healthz_port}/healthz")


def hollow_component(settings: Settings, ports: Ports, directory: Path, python: str, healthz_port: int) -> Component:
    command = [*_python_module(python, "kubelet"), "--runtime", "fake", "--hollow-nodes", str(settings.hollow_nodes),
               "--node-name-prefix", f"{settings.name}-hollow-", "--apiserver", f"127.0.0.1:{ports.apiserver_grpc}",
               "--root-dir", str(directory / "kubelet"), "--port", "0", "--healthz-port", str(healthz_port)]
    if settings.fast_failover:
        command += FAST_KUBELET
    return Component(HOLLOW, command, healthz=f"http://127.0.0.1:{healthz_port}/healthz")


def proxy_component(ports: Ports, python: str, healthz_port: int, nodes: list[str]) -> Component:
    """One service proxy for this Docker host (iptables mode, needs root); "local" endpoints are the first node's."""
    command = [*_python_module(python, "proxy"), "--apiserver", f"127.0.0.1:{ports.apiserver_grpc}",
               "--cluster-cidr", POD_NETWORK_CIDR, "--healthz-port", str(healthz_port)]
    if nodes:
        command += ["--hostname-override", nodes[0]]
    return Component("proxy", command, healthz=f"http://127.0.0.1:{healthz_port}/healthz")


def dns_component(ports: Ports, python: str, dns_port: int, healthz_port: int) -> Component:
    """The DNS server on a free port of every interface; kube-dns's endpoints name that port (see dns/)."""
    command = [*_python_module(python, "dns"), "--apiserver", f"127.0.0.1:{ports.apiserver_grpc}",
               "--listen", f"0.0.0.0:{dns_port}", "--healthz-port", str(healthz_port)]
    return Component("dns", command, healthz=f"http://127.0.0.1:{healthz_port}/healthz")


def cluster_components(settings: Settings, ports: Ports, directory: Path, *, python: str, etcd_binary: str,
                       free_port: Callable[[], int]) -> tuple[list[Component], list[str]]:
    """Every component of a new cluster, in start order, and its node names."""
    components = [etcd_component(settings, ports, directory, etcd_binary), apiserver_component(settings, ports, python)]
    replicas = 2 if settings.ha else 1
    for kind in ("controller-manager", "scheduler"):
        for replica in range(1, replicas + 1):
            components.append(leader_elected_component(kind, replica, settings, ports, python, free_port()))
    nodes = [node_name(settings.name, i) for i in range(1, settings.nodes + 1)]
    for node in nodes:
        components.append(kubelet_component(settings, ports, directory, python, node, free_port()))
    if settings.hollow_nodes > 0:
        components.append(hollow_component(settings, ports, directory, python, free_port()))
    if settings.with_dns:
        components.append(dns_component(ports, python, free_port(), free_port()))
    if settings.with_proxy:
        components.append(proxy_component(ports, python, free_port(), nodes))
    return components, nodes


def new_state(settings: Settings, directory: Path, *, python: str, etcd_binary: str,
              free_port: Callable[[], int]) -> ClusterState:
    ports = Ports(etcd_client=free_port(), etcd_peer=free_port(), apiserver_http=free_port(),
                  apiserver_grpc=free_port())
    components, nodes = cluster_components(settings, ports, directory, python=python, etcd_binary=etcd_binary,
                                           free_port=free_port)
    return ClusterState(settings, ports, {c.name: c for c in components}, nodes)
