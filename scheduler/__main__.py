"""kubeling-scheduler: assign pending pods to nodes.

Flags follow kube-scheduler's: --config (a KubeSchedulerConfiguration file), --leader-elect and
its timings, --lock-object-name; plus --apiserver (the gRPC address) and --healthz-port.
A config error is printed with the field it is in and the process exits with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from client.client import Client
from client.component import add_leader_election_flags, leader_elected, run_until_signalled, setup_logging
from client.health_server import HealthServer
from client.leader_main import LeadershipLost
from scheduler.config import ConfigError, SchedulerConfiguration, default_configuration, load
from scheduler.scheduler import Scheduler

log = logging.getLogger("scheduler")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="kubeling-scheduler", description=__doc__.split("\n\n")[0])
    p.add_argument("--apiserver", default="127.0.0.1:6444", help="the apiserver's gRPC address")
    p.add_argument("--config", default="", help="a KubeSchedulerConfiguration file")
    add_leader_election_flags(p, "kube-scheduler")
    p.add_argument("--healthz-port", type=int, default=0, help="/healthz and /metrics port (0: any free port)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def read_config(path: str) -> SchedulerConfiguration:
    return load(path) if path else default_configuration()


async def run(args: argparse.Namespace, config: SchedulerConfiguration) -> None:
    async with Client(args.apiserver, retry_timeout=float("inf"), field_manager="kube-scheduler") as client:
        scheduler: Scheduler | None = None

        async def lead() -> None:
            nonlocal scheduler
            scheduler = Scheduler(client, config)
            await scheduler.run()

        health = HealthServer(lambda: scheduler is not None and scheduler.ready, "waiting for leadership")
        port = await health.start("127.0.0.1", args.healthz_port)
        log.info("scheduler: /healthz and /metrics on port %d", port)
        try:
            await run_until_signalled(leader_elected(client, lead, args))
        finally:
            await health.stop()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    setup_logging(args.verbose)
    try:
        config = read_config(args.config)
    except (ConfigError, OSError) as e:
        print(f"kubeling-scheduler: invalid configuration {args.config}: {e}", file=sys.stderr)
        sys.exit(1)
    try:
        asyncio.run(run(args, config))
    except LeadershipLost as e:
        log.error("%s; exiting", e)
        sys.exit(1)


if __name__ == "__main__":
    main()
