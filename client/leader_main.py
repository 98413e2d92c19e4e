"""Running a component's main loop only while it holds its leader-election Lease.

The scheduler and the controller-manager run this way (``--leader-elect``, on by default), so two replicas can
run and the standby takes over when the leader dies. As in Kubernetes, a leader that loses its lease does not try
to carry on: :func:`run_leader_elected` raises :class:`LeadershipLost` and the process exits, to be restarted
clean (by the user or the lab's supervisor) as a standby.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable

from client.client import Client
from client.leaderelection import LeaderElectionConfig, LeaderElector

log = logging.getLogger(__name__)


class LeadershipLost(Exception):
    pass


def default_identity() -> str:
    """``<hostname>_<random>``, as Kubernetes' components name themselves; ``$KUBELING_IDENTITY`` overrides it
    (``kubeling up`` names each replica, so ``kubeling status`` can show which one leads)."""
    return os.environ.get("KUBELING_IDENTITY") or f"{socket.gethostname()}_{uuid.uuid4()}"


async def run_leader_elected(client: Client, lead: Callable[[], Awaitable[None]], *, lock_name: str,
                             identity: str, namespace: str = "kube-system", lease_duration: float = 15.0,
                             renew_deadline: float = 10.0, retry_period: float = 2.0,
                             on_new_leader: Callable[[str], None] | None = None) -> None:
    """Wait for the lease, then run ``lead()`` until it returns or the lease is lost (LeadershipLost)."""
    config = LeaderElectionConfig(lease_namespace=namespace, lease_name=lock_name, identity=identity,
                                  lease_duration=lease_duration, renew_deadline=renew_deadline,
                                  retry_period=retry_period, release_on_cancel=True)
    finished = asyncio.Event()

    async def started() -> None:
        log.info("%s: became leader of %s/%s", identity, namespace, lock_name)
        try:
            await lead()
        finally:
            finished.set()

    def stopped() -> None:
        log.info("%s: stopped leading %s/%s", identity, namespace, lock_name)

    def new_leader(holder: str) -> None:
        if holder and holder != identity:
            log.info("the leader of %s/%s is %s", namespace, lock_name, holder)
        if on_new_leader is not None:
            on_new_leader(holder)

    elector = LeaderElector(client, config, started, stopped, new_leader)
    await elector.run()
    if not finished.is_set():
        raise LeadershipLost(f"leader election lost for {namespace}/{lock_name}")
