"""kubeling-scheduler: assign pending pods to nodes.

Flags follow kube-scheduler's: --config (a KubeSchedulerConfiguration file), --leader-elect and
its timings, --lock-object-name; plus --apiserver (the gRPC address) and --healthz-port.
A config error is printed with the field it is in and the process exits with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from client.client import Client
from client.flags import boolean, duration
from client.health_server import HealthServer
from client.leader_main import LeadershipLost, default_identity, run_leader_elected
from scheduler.config import ConfigError, SchedulerConfiguration, default_configuration, load
from scheduler.scheduler import Scheduler

log = logging.getLogger("scheduler")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="kubeling-scheduler", description=__doc__.split("\n\n")[0])
    p.add_argument("--apiserver", default="127.0.0.1:6444", help="the apiserver's gRPC address")
    p.add_argument("--config", default="", help="a KubeSchedulerConfiguration file")
    p.add_argument("--leader-elect", type=boolean, nargs="?", const=True, default=True)
    p.add_argument("--leader-elect-lease-duration", type=duration, default=15.0)
    p.add_argument("--leader-elect-renew-deadline", type=duration, default=10.0)
    p.add_argument("--leader-elect-retry-period", type=duration, default=2.0)
    p.add_argument("--lock-object-name", default="kube-scheduler")
    p.add_argument("--lock-object-namespace", default="kube-system")
    p.add_argument("--healthz-port", type=int, default=0, help="/healthz and /metrics port (0: any free port)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def read_config(path: str) -> SchedulerConfiguration:
    return load(path) if path else default_configuration()


async def run(args: argparse.Namespace, config: SchedulerConfiguration) -> None:
    async with Client(args.apiserver, retry_timeout=float("inf")) as client:
        scheduler: Scheduler | None = None

        async def lead() -> None:
            nonlocal scheduler
            scheduler = Scheduler(client, config)
            await scheduler.run()

        health = HealthServer(lambda: scheduler is not None and scheduler.ready, "waiting for leadership")
        port = await health.start("127.0.0.1", args.healthz_port)
        log.info("scheduler: /healthz and /metrics on port %d", port)
        main = asyncio.create_task(lead() if not args.leader_elect else run_leader_elected(
            client, lead, lock_name=args.lock_object_name, namespace=args.lock_object_namespace,
            identity=default_identity(), lease_duration=args.leader_elect_lease_duration,
            renew_deadline=args.leader_elect_renew_deadline, retry_period=args.leader_elect_retry_period))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, main.cancel)
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await main
        finally:
            await health.stop()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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
