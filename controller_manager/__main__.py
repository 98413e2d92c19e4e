"""``kubeling-controller-manager``: run the built-in controllers, leader-elected.

    kubeling-controller-manager --apiserver 127.0.0.1:6444
    kubeling-controller-manager --controllers '*,-podgc' --node-monitor-grace-period 10s

``--controllers`` works as in Kubernetes: ``*`` is every controller, ``name`` adds one, ``-name`` removes one. Every
timing is a flag with Kubernetes' default; controllers read them as ``ctx.option(<flag name with underscores>)``
(``--node-monitor-grace-period`` → ``node_monitor_grace_period``, in seconds). ``--option name=value`` sets any
other option a controller reads.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import Any

from client.client import Client
from client.component import add_leader_election_flags, leader_elected, run_until_signalled, setup_logging
from client.events import EventRecorder
from client.flags import duration, key_values
from client.health_server import HealthServer
from client.informer_factory import SharedInformerFactory
from client.leader_main import LeadershipLost
from controller_manager.controller import Controller, ControllerContext
from controller_manager.controllers import CONTROLLERS, load_controller

log = logging.getLogger("controller-manager")

# (flag, type, Kubernetes default); each becomes ctx.option("<flag with underscores>").
TIMING_FLAGS: list[tuple[str, Any, Any]] = [
    ("--node-monitor-grace-period", duration, 40.0),
    ("--node-monitor-period", duration, 5.0),
    ("--node-startup-grace-period", duration, 60.0),
    ("--node-eviction-rate", float, 0.1),
    ("--secondary-node-eviction-rate", float, 0.01),
    ("--large-cluster-size-threshold", int, 50),
    ("--unhealthy-zone-threshold", float, 0.55),
    ("--terminated-pod-gc-threshold", int, 12500),
    ("--pod-gc-quarantine-period", duration, 40.0),
    ("--job-backoff-initial", duration, 10.0),
    ("--job-backoff-max", duration, 360.0),
    ("--max-endpoints-per-slice", int, 100),
    ("--cluster-cidr", str, "10.244.0.0/16"),  # nodeipam: the pod network, cut into one CIDR per node
    ("--node-cidr-mask-size", int, 24),
]


def selected_controllers(spec: str) -> list[str]:
    """Kubernetes' --controllers: '*' all, 'x' add, '-x' remove; unknown names are an error."""
    chosen: set[str] = set()
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name = item.lstrip("-")
        if name != "*" and name not in CONTROLLERS:
            raise argparse.ArgumentTypeError(f"--controllers: unknown controller {name!r} "
                                             f"(known: {', '.join(sorted(CONTROLLERS))})")
        if item == "*":
            chosen |= set(CONTROLLERS)
        elif item.startswith("-"):
            chosen.discard(name)
        else:
            chosen.add(name)
    return sorted(chosen)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="kubeling-controller-manager", description=__doc__.split("\n\n")[0])
    p.add_argument("--apiserver", default="127.0.0.1:6444", help="the apiserver's gRPC address")
    p.add_argument("--controllers", type=selected_controllers, default=selected_controllers("*"))
    add_leader_election_flags(p, "kube-controller-manager")
    p.add_argument("--healthz-port", type=int, default=0, help="/healthz and /metrics (0: any free port)")
    for flag, kind, default in TIMING_FLAGS:
        p.add_argument(flag, type=kind, default=default)
    p.add_argument("--option", type=key_values, action="append", default=[], help="name=value for a controller")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def options_from(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {flag[2:].replace("-", "_"): getattr(args, flag[2:].replace("-", "_"))
                               for flag, _, _ in TIMING_FLAGS}
    for pairs in args.option:
        options.update(pairs)
    return options


async def run_controllers(client: Client, names: list[str], options: dict[str, Any]) -> None:
    """Build every controller, start the shared informers, then run the controllers until cancelled."""
    informers = SharedInformerFactory(client)
    recorder = EventRecorder(client, "controller-manager")
    recorders = {recorder.component: recorder}

    def recorder_for(source: str) -> EventRecorder:
        """One recorder per event source, as each Kubernetes controller has ("deployment-controller", ...)."""
        if source not in recorders:
            recorders[source] = EventRecorder(client, source)
            recorders[source].start()
        return recorders[source]

    ctx = ControllerContext(client=client, informers=informers, recorder=recorder, options=options,
                            recorders=recorder_for)
    controllers: list[Controller] = [load_controller(CONTROLLERS[name], ctx) for name in names]
    recorder.start()
    informers.start()
    try:
        await informers.wait_for_sync()
        log.info("caches synced; running %d controllers: %s", len(controllers), ", ".join(names))
        await asyncio.gather(*(controller.run() for controller in controllers))
    finally:
        await informers.stop()
        for each in recorders.values():
            await each.stop()


async def run(args: argparse.Namespace) -> None:
    async with Client(args.apiserver, retry_timeout=float("inf"), field_manager="kube-controller-manager") as client:
        health = HealthServer(lambda: True)
        port = await health.start("127.0.0.1", args.healthz_port)
        log.info("/healthz and /metrics on port %d", port)
        options = options_from(args)

        async def lead() -> None:
            await run_controllers(client, args.controllers, options)

        try:
            await run_until_signalled(leader_elected(client, lead, args))
        finally:
            await health.stop()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    setup_logging(args.verbose)
    try:
        asyncio.run(run(args))
    except LeadershipLost as e:
        log.error("%s; exiting", e)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
