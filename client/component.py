"""What every component's ``main`` shares: logging, running until SIGTERM/SIGINT, and leader election flags.

The scheduler and the controller-manager take Kubernetes' leader election flags (``--leader-elect`` and its
timings, ``--lock-object-name``/``--lock-object-namespace``); :func:`leader_elected` turns them into the
coroutine to run: ``lead()`` directly, or ``lead()`` only while holding the Lease.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from client.client import Client
from client.flags import boolean, duration
from client.leader_main import default_identity, run_leader_elected

log = logging.getLogger(__name__)


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def add_leader_election_flags(parser: argparse.ArgumentParser, lock_name: str) -> None:
    parser.add_argument("--leader-elect", type=boolean, nargs="?", const=True, default=True)
    parser.add_argument("--leader-elect-lease-duration", type=duration, default=15.0)
    parser.add_argument("--leader-elect-renew-deadline", type=duration, default=10.0)
    parser.add_argument("--leader-elect-retry-period", type=duration, default=2.0)
    parser.add_argument("--lock-object-name", default=lock_name)
    parser.add_argument("--lock-object-namespace", default="kube-system")


def leader_elected(client: Client, lead: Callable[[], Awaitable[None]],
                   args: argparse.Namespace) -> Coroutine[Any, Any, None]:
    """``lead()`` itself with ``--leader-elect=false``; else ``lead()`` while this process holds the Lease."""
    if not args.leader_elect:
        async def direct() -> None:
            await lead()
        return direct()
    return run_leader_elected(client, lead, lock_name=args.lock_object_name, namespace=args.lock_object_namespace,
                              identity=default_identity(), lease_duration=args.leader_elect_lease_duration,
                              renew_deadline=args.leader_elect_renew_deadline,
                              retry_period=args.leader_elect_retry_period)


async def run_until_signalled(main: Coroutine[Any, Any, None], stopping: str = "stopping") -> None:
    """Run ``main`` until it ends or SIGTERM/SIGINT cancels it (a cancelled main is a clean stop)."""
    task = asyncio.ensure_future(main)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        log.info(stopping)
