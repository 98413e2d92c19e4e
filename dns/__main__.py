"""``kubeling-dns``: the cluster DNS server (CoreDNS's kubernetes + forward plugins, for a lab).

    kubeling-dns --apiserver 127.0.0.1:6444                      # 0.0.0.0:53, zone cluster.local
    kubeling-dns --listen 127.0.0.1:5353 --upstream none -v      # no forwarding: other names are REFUSED

It serves the Kubernetes DNS names of Services, endpoints and Pods (see :mod:`dns.resolver`) and forwards other
names to the nameservers of ``--resolv-conf`` (default the host's /etc/resolv.conf), or to ``--upstream``.

**Lab stand-in:** real clusters run CoreDNS as pods behind the ``kube-dns`` Service. kubeling runs this server as
a host process, so at start it creates (and keeps reconciling) ``kube-system/kube-dns`` — ClusterIP ``--cluster-ip``
(10.96.0.10), no selector — plus an Endpoints and an EndpointSlice that point at ``--advertise-address`` (default
10.244.0.1, the ``kubeling`` Docker network's gateway, which is this host as pods see it) and the ports it really
listens on. The service proxy routes 10.96.0.10:53 there; kubelets pass ``--cluster-dns 10.96.0.10`` to pods.
See :mod:`dns.kube_dns`. ``--manage-service false`` turns this off.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from client.client import Client
from client.component import setup_logging
from client.flags import boolean, duration
from client.health_server import HealthServer
from dns.app import ClusterDNS, DNSConfig
from dns.forward import DNS_PORT, upstreams_from_resolv_conf
from dns.kube_dns import DEFAULT_CLUSTER_IP
from dns.resolver import PODS_MODES

log = logging.getLogger("dns")


def host_port(text: str) -> tuple[str, int]:
    """'0.0.0.0:53', '[::]:53', '127.0.0.1' (port 53)."""
    host, sep, port = text.rpartition(":")
    if not sep or (text.count(":") > 1 and not text.startswith("[")):
        host, port = text, str(DNS_PORT)
    try:
        return host.strip("[]") or "0.0.0.0", int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not host:port") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="kubeling-dns", description=__doc__.split("\n\n")[0])
    p.add_argument("--apiserver", default="127.0.0.1:6444", help="the apiserver's gRPC address")
    p.add_argument("--listen", type=host_port, default=("0.0.0.0", DNS_PORT), help="UDP and TCP address")
    p.add_argument("--cluster-domain", default="cluster.local")
    p.add_argument("--pods", choices=PODS_MODES, default="insecure", help="<ip>.<ns>.pod.<zone> records")
    p.add_argument("--resolv-conf", type=Path, default=Path("/etc/resolv.conf"), help="upstream nameservers")
    p.add_argument("--upstream", default="", help="comma list of upstream host[:port] instead of --resolv-conf; "
                   "'none' to forward nothing")
    p.add_argument("--manage-service", type=boolean, default=True, help="write the kube-dns Service + endpoints")
    p.add_argument("--advertise-address", default="10.244.0.1", help="the address the kube-dns endpoints name")
    p.add_argument("--cluster-ip", default=DEFAULT_CLUSTER_IP, help="the kube-dns Service's ClusterIP")
    p.add_argument("--reconcile-period", type=duration, default=10.0)
    p.add_argument("--healthz-port", type=int, default=0, help="/healthz, /readyz and /metrics (0: any free port)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def upstreams(args: argparse.Namespace) -> list[tuple[str, int]]:
    if args.upstream == "none":
        return []
    if args.upstream:
        return [host_port(item.strip()) for item in args.upstream.split(",") if item.strip()]
    host, port = args.listen
    return upstreams_from_resolv_conf(args.resolv_conf, host, port)


async def run(args: argparse.Namespace) -> None:
    async with Client(args.apiserver, retry_timeout=float("inf"), field_manager="kube-dns") as client:
        dns: ClusterDNS | None = None
        health = HealthServer(lambda: dns is not None and dns.synced, "informers not synced")
        health_host = "127.0.0.1" if args.listen[0] in ("127.0.0.1", "localhost") else args.listen[0]
        metrics_port = await health.start(health_host, args.healthz_port)
        log.info("/healthz and /metrics on %s:%d", health_host, metrics_port)
        host, port = args.listen
        config = DNSConfig(listen_host=host, listen_port=port, cluster_domain=args.cluster_domain, pods=args.pods,
                           upstreams=upstreams(args), manage_service=args.manage_service,
                           advertise_address=args.advertise_address, cluster_ip=args.cluster_ip,
                           metrics_port=metrics_port, reconcile_period=args.reconcile_period)
        dns = ClusterDNS(client, config)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        starting = asyncio.ensure_future(dns.start())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        failed: BaseException | None = None
        if starting.done():
            failed = starting.exception()  # e.g. the port is taken, or no permission to bind port 53
            if failed is None:
                await stopping
        else:
            starting.cancel()
        stopping.cancel()
        log.info("stopping")
        await dns.stop()
        await health.stop()
    if failed is not None:
        log.error("cannot serve DNS on %s:%d: %s", *args.listen, failed)
        raise SystemExit(1)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    setup_logging(args.verbose)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
