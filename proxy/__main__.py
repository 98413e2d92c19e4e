"""``kubeling-proxy``: the service proxy (kube-proxy), one per Docker host; needs root (iptables).

    kubeling-proxy --apiserver 127.0.0.1:6444 --hostname-override node-1
    kubeling-proxy --proxy-mode userspace --bind-address 10.244.0.1
    kubeling-proxy --cleanup          # remove every KUBELING- chain and jump, then exit

On SIGTERM/SIGINT the proxy removes its rules before exiting (kube-proxy leaves them in place so that traffic keeps
flowing while it restarts; kubeling cleans up because a lab host is shared with other things). A proxy killed with
SIGKILL leaves its rules; the next one rewrites them without duplicating anything.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket

from client.client import Client
from client.component import run_until_signalled, setup_logging
from client.flags import duration
from client.health_server import HealthServer
from proxy import iptables
from proxy.iptables_rules import ProxyConfig
from proxy.proxier import Mode, Proxier
from proxy.userspace import UserspaceProxier

log = logging.getLogger("proxy")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="kubeling-proxy", description=__doc__.split("\n\n")[0])
    p.add_argument("--apiserver", default="127.0.0.1:6444", help="the apiserver's gRPC address")
    p.add_argument("--proxy-mode", choices=["iptables", "userspace"], default="iptables")
    p.add_argument("--hostname-override", default="", help="this node's name (default: the host name)")
    p.add_argument("--bind-address", default="0.0.0.0", help="userspace mode: where the listeners bind")
    p.add_argument("--cluster-cidr", default="", help="masquerade cluster-IP traffic from outside this range")
    p.add_argument("--iptables-masquerade-bit", type=int, default=14)
    p.add_argument("--min-sync-period", type=duration, default=1.0)
    p.add_argument("--sync-period", type=duration, default=30.0)
    p.add_argument("--cleanup", action="store_true", help="remove all kubeling-proxy rules and exit")
    p.add_argument("--healthz-port", type=int, default=0, help="/healthz and /metrics (0: any free port)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def make_mode(args: argparse.Namespace) -> Mode:
    config = ProxyConfig(node_name=args.hostname_override or socket.gethostname(), cluster_cidr=args.cluster_cidr,
                         masquerade_bit=args.iptables_masquerade_bit)
    if args.proxy_mode == "userspace":
        return UserspaceProxier(config, args.bind_address)
    return iptables.IptablesProxier(config)


async def run(args: argparse.Namespace) -> None:
    async with Client(args.apiserver, retry_timeout=float("inf"), field_manager="kube-proxy") as client:
        proxier = Proxier(client, make_mode(args), min_sync_period=args.min_sync_period,
                          sync_period=args.sync_period)
        health = HealthServer(proxier.synced.is_set, "rules not synced yet")
        port = await health.start("127.0.0.1", args.healthz_port)
        log.info("/healthz and /metrics on port %d", port)
        try:
            await run_until_signalled(proxier.run(), "stopped; rules removed")
        finally:
            await health.stop()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    setup_logging(args.verbose)
    if args.cleanup:
        removed = iptables.cleanup()
        log.info("cleanup: %s", "rules removed" if removed else "nothing to remove")
        return
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
