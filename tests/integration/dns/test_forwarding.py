"""Forwarding to upstream resolvers, with a stand-in upstream on loopback (no query ever leaves the machine)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from dnslib import QTYPE, RCODE, RR, A, DNSRecord

from client.store import Store
from dns.cluster import ClusterView
from dns.forward import Forwarder
from dns.resolver import Resolver
from dns.server import DNSServer
from tests.fixtures import free_port

pytestmark = pytest.mark.integration


class FakeUpstream(asyncio.DatagramProtocol):
    """Answers every A question with 192.0.2.1 (TEST-NET-1) and remembers the names it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        request = DNSRecord.parse(data)
        self.asked.append(str(request.q.qname))
        reply = request.reply()
        reply.header.aa = 0
        reply.add_answer(RR(request.q.qname, QTYPE.A, ttl=60, rdata=A("192.0.2.1")))
        assert self.transport is not None
        self.transport.sendto(reply.pack(), addr)


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[FakeUpstream, int]]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(FakeUpstream, local_addr=("127.0.0.1", 0))
    yield protocol, transport.get_extra_info("sockname")[1]
    transport.close()


def server(upstreams: list[tuple[str, int]]) -> DNSServer:
    services = Store()
    services.upsert({"kind": "Service", "metadata": {"name": "search", "namespace": "default"},
                     "spec": {"type": "ExternalName", "externalName": "search.example.com"}})
    return DNSServer(Resolver(ClusterView(services, Store())), Forwarder(upstreams, timeout=1.0))


async def test_names_outside_the_zone_are_relayed_from_the_upstream(upstream) -> None:
    fake, port = upstream
    dns = server([("127.0.0.1", port)])
    query = DNSRecord.question("www.example.com", "A")
    reply = DNSRecord.parse(await dns.handle(query.pack()) or b"")
    assert reply.header.id == query.header.id
    assert [str(rr.rdata) for rr in reply.rr] == ["192.0.2.1"]
    assert fake.asked == ["www.example.com."]


async def test_an_external_name_target_is_followed_upstream(upstream) -> None:
    fake, port = upstream
    reply = DNSRecord.parse(await server([("127.0.0.1", port)]).handle(
        DNSRecord.question("search.default.svc.cluster.local", "A").pack()) or b"")
    assert [(rr.rtype, str(rr.rdata)) for rr in reply.rr] == [(QTYPE.CNAME, "search.example.com."),
                                                               (QTYPE.A, "192.0.2.1")]
    assert fake.asked == ["search.example.com."]


async def test_a_dead_upstream_is_skipped_and_none_left_is_servfail(upstream) -> None:
    _, port = upstream
    dead = ("127.0.0.1", free_port())  # nothing listens there
    reply = DNSRecord.parse(await server([dead, ("127.0.0.1", port)]).handle(
        DNSRecord.question("www.example.com", "A").pack()) or b"")
    assert [str(rr.rdata) for rr in reply.rr] == ["192.0.2.1"]
    failed = DNSRecord.parse(await server([dead]).handle(DNSRecord.question("www.example.com", "A").pack()) or b"")
    assert failed.header.rcode == RCODE.SERVFAIL
