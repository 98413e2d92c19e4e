"""``kubeling-kubelet``: run one node agent (or, with ``--runtime fake --hollow-nodes N``, N hollow ones).

    kubeling-kubelet --node-name lab-node-1 --apiserver 127.0.0.1:6444
    kubeling-kubelet --runtime fake --hollow-nodes 100 --node-name-prefix hollow- --apiserver 127.0.0.1:6444

Every timing is a flag with Kubernetes' default, so tests and chaos labs can shorten them. SIGTERM stops the agent
and leaves the pods' containers running (a restarted kubelet re-adopts them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

from client.client import Client
from client.component import setup_logging
from client.flags import duration, key_values
from client.health_server import HealthServer
from kubelet.kubelet import Kubelet, KubeletConfig
from kubelet.node_status import NodeConfig, NodeObservation, parse_taints
from kubelet.probes import AnnotationProbeRunner, NetworkProbeRunner, ProbeRunner
from kubelet.runtime.interface import Runtime

log = logging.getLogger("kubelet")


def ip_list(text: str) -> tuple[str, ...]:
    """'10.96.0.10,fd00::10' -> ('10.96.0.10', 'fd00::10'); anything but IP addresses is an error."""
    items = tuple(item.strip() for item in text.split(",") if item.strip())
    try:
        return tuple(str(ipaddress.ip_address(item)) for item in items)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="kubeling-kubelet", description=__doc__.split("\n\n")[0])
    p.add_argument("--node-name", default=socket.gethostname())
    p.add_argument("--apiserver", default="127.0.0.1:6444", help="the apiserver's gRPC address")
    p.add_argument("--runtime", choices=["docker", "fake"], default="docker")
    p.add_argument("--root-dir", type=Path, default=None, help="pod volumes live here "
                   "(default $KUBELING_HOME/kubelet/<node>, KUBELING_HOME defaulting to ~/.kubeling)")
    p.add_argument("--node-ip", default="", help="the node's InternalIP (default: the kubeling network's gateway "
                   "for --runtime docker, 127.0.0.1 for fake)")
    p.add_argument("--port", type=int, default=0, help="kubelet API port (0: any free port)")
    p.add_argument("--healthz-port", type=int, default=0, help="/healthz and /metrics port (0: any free port)")
    p.add_argument("--register-with-taints", default="", help="key=value:Effect,...")
    p.add_argument("--node-labels", type=key_values, default={})
    p.add_argument("--cpu", default="", help="cpu capacity to report (default: the machine's)")
    p.add_argument("--memory", default="", help="memory capacity to report (default: the machine's)")
    p.add_argument("--ephemeral-storage", default="")
    p.add_argument("--max-pods", type=int, default=110)
    p.add_argument("--sync-frequency", type=duration, default=60.0)
    p.add_argument("--node-status-update-frequency", type=duration, default=10.0)
    p.add_argument("--node-lease-renew-interval", type=duration, default=10.0)
    p.add_argument("--node-lease-duration-seconds", type=int, default=40)
    p.add_argument("--manifest-dir", type=Path, default=None, help="run the Pods in these files as static pods")
    p.add_argument("--network", default="kubeling", help="the Docker network pods join")
    p.add_argument("--pod-infra-container-image", default="kubeling/pause:3")
    p.add_argument("--cluster-dns", type=ip_list, default=(), help="comma list of DNS server IPs for ClusterFirst "
                   "pods (e.g. 10.96.0.10); empty: pods fall back to the node's resolver (dnsPolicy Default)")
    p.add_argument("--cluster-domain", default="cluster.local", help="the cluster's DNS domain (pods' search list)")
    p.add_argument("--fake-start-delay", type=duration, default=0.0, help="fake runtime: container start time")
    p.add_argument("--hollow-nodes", type=int, default=1, help="fake runtime: kubelets in this process")
    p.add_argument("--node-name-prefix", default="hollow-", help="with --hollow-nodes: names <prefix>1..N")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    try:
        args.taints = parse_taints([t for t in args.register_with_taints.split(",") if t])
    except ValueError as e:
        p.error(str(e))
    if args.hollow_nodes != 1 and args.runtime != "fake":
        p.error("--hollow-nodes needs --runtime fake")
    return args


def make_config(args: argparse.Namespace, node_name: str, node_ip: str) -> KubeletConfig:
    home = Path(os.environ.get("KUBELING_HOME", Path.home() / ".kubeling"))
    root = args.root_dir if args.root_dir is not None else home / "kubelet"
    node = NodeConfig(node_name=node_name, address=node_ip, labels=args.node_labels, taints=args.taints,
                      cpu=args.cpu, memory=args.memory, ephemeral_storage=args.ephemeral_storage,
                      max_pods=args.max_pods)
    return KubeletConfig(
        node=node, root_dir=root / node_name, api_host=node_ip, api_port=args.port,
        sync_frequency=args.sync_frequency, lease_duration=args.node_lease_duration_seconds,
        lease_renew_interval=args.node_lease_renew_interval,
        node_status_update_frequency=args.node_status_update_frequency, manifest_dir=args.manifest_dir,
        cluster_dns=args.cluster_dns, cluster_domain=args.cluster_domain)


async def make_runtime(args: argparse.Namespace) -> tuple[Runtime, ProbeRunner, str]:
    if args.runtime == "fake":
        from kubelet.runtime.fake import FakeRuntime

        return FakeRuntime(start_delay=args.fake_start_delay), AnnotationProbeRunner(), args.node_ip or "127.0.0.1"
    from kubelet.runtime.docker import DockerRuntime

    runtime = DockerRuntime(network=args.network, pause_image=args.pod_infra_container_image)
    await runtime.ensure_network()
    gateway = await runtime.network_gateway()
    return runtime, NetworkProbeRunner(runtime), args.node_ip or gateway or "127.0.0.1"


def observer(args: argparse.Namespace, root: Path) -> Callable[[], Awaitable[NodeObservation]]:
    async def observe() -> NodeObservation:
        if args.runtime == "fake":
            return NodeObservation()
        from kubelet.host_info import observe_host

        root.mkdir(parents=True, exist_ok=True)
        return await asyncio.to_thread(observe_host, root)
    return observe


async def run(args: argparse.Namespace) -> None:
    runtime, probe_runner, node_ip = await make_runtime(args)
    names = [args.node_name] if args.hollow_nodes == 1 else [
        f"{args.node_name_prefix}{i}" for i in range(1, args.hollow_nodes + 1)]
    async with Client(args.apiserver, retry_timeout=float("inf"), field_manager="kubelet") as client:
        kubelets = []
        for name in names:
            config = make_config(args, name, node_ip)
            kubelets.append(Kubelet(client, config, runtime, probe_runner, observer(args, config.root_dir)))
        health = HealthServer(lambda: all(k.node_agent is not None for k in kubelets))
        port = await health.start(node_ip if args.runtime == "docker" else "127.0.0.1", args.healthz_port)
        log.info("kubelet(s) %s: /healthz and /metrics on port %d", ", ".join(names[:3]), port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await asyncio.gather(*(k.start() for k in kubelets))
        log.info("%d kubelet(s) running", len(kubelets))
        await stop.wait()
        for k in kubelets:
            await k.stop()
        await health.stop()
    with contextlib.suppress(Exception):
        await runtime.close()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    setup_logging(args.verbose)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
