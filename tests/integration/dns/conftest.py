"""The DNS server in the test's event loop, against the real apiserver, on a free loopback port; no upstreams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from dnslib import QTYPE, DNSRecord

from dns.app import ClusterDNS, DNSConfig
from tests.integration.kubelet.conftest import hollow_node  # noqa: F401 (a fixture)


@pytest.fixture
async def cluster_dns(client: Any) -> AsyncIterator[ClusterDNS]:
    server = ClusterDNS(client, DNSConfig(listen_host="127.0.0.1", listen_port=0, upstreams=[],
                                          metrics_port=9153, reconcile_period=0.5, sync_timeout=10))
    await server.start()
    yield server
    await server.stop()


async def query(port: int, name: str, qtype: str = "A", *, tcp: bool = False) -> DNSRecord:
    """Ask 127.0.0.1:port (dnslib's blocking client, in a thread: the server runs in this loop)."""
    def send() -> bytes:
        return DNSRecord.question(name, qtype).send("127.0.0.1", port, tcp=tcp, timeout=3)

    return DNSRecord.parse(await asyncio.to_thread(send))


def addresses(reply: DNSRecord) -> list[str]:
    return sorted(str(rr.rdata) for rr in reply.rr if rr.rtype in (QTYPE.A, QTYPE.AAAA))
