"""DNSServer.handle (bytes in, bytes out, no sockets) and the upstream helpers of dns.forward."""

from __future__ import annotations

from pathlib import Path

from dnslib import EDNS0, QTYPE, RCODE, DNSRecord

from client.store import Store
from dns.cluster import ClusterView
from dns.forward import Forwarder, is_self, nameservers, upstreams_from_resolv_conf
from dns.resolver import Resolver
from dns.server import DNSServer


def make_server(headless_endpoints: int = 0) -> DNSServer:
    services, slices = Store(), Store()
    services.upsert({"kind": "Service", "metadata": {"name": "web", "namespace": "default"},
                     "spec": {"clusterIP": "10.96.0.20"}})
    services.upsert({"kind": "Service", "metadata": {"name": "big", "namespace": "default"},
                     "spec": {"clusterIP": "None"}})
    slices.upsert({"kind": "EndpointSlice", "addressType": "IPv4", "ports": [],
                   "metadata": {"name": "big-1", "namespace": "default",
                                "labels": {"kubernetes.io/service-name": "big"}},
                   "endpoints": [{"addresses": [f"10.244.{i // 250}.{i % 250 + 1}"]}
                                 for i in range(headless_endpoints)]})
    return DNSServer(Resolver(ClusterView(services, slices)), Forwarder([]))


async def ask(server: DNSServer, query: DNSRecord, *, tcp: bool = False) -> DNSRecord:
    reply = await server.handle(query.pack(), tcp=tcp)
    assert reply is not None
    return DNSRecord.parse(reply)


async def test_a_cluster_name_is_answered_authoritatively() -> None:
    query = DNSRecord.question("web.default.svc.cluster.local", "A")
    reply = await ask(make_server(), query)
    assert reply.header.id == query.header.id and reply.header.aa == 1 and reply.header.qr == 1
    assert [str(rr.rdata) for rr in reply.rr] == ["10.96.0.20"]


async def test_nxdomain_carries_the_soa() -> None:
    reply = await ask(make_server(), DNSRecord.question("nope.default.svc.cluster.local", "A"))
    assert reply.header.rcode == RCODE.NXDOMAIN
    assert [rr.rtype for rr in reply.auth] == [QTYPE.SOA]


async def test_other_names_are_refused_without_upstreams() -> None:
    reply = await ask(make_server(), DNSRecord.question("example.com", "A"))
    assert reply.header.rcode == RCODE.REFUSED and reply.header.aa == 0


async def test_big_udp_answers_are_truncated_and_complete_over_tcp() -> None:
    server = make_server(headless_endpoints=60)
    query = DNSRecord.question("big.default.svc.cluster.local", "A")
    udp = await ask(server, query)
    assert udp.header.tc == 1 and udp.rr == []
    tcp = await ask(server, query, tcp=True)
    assert tcp.header.tc == 0 and len(tcp.rr) == 60


async def test_edns_raises_the_udp_limit_and_is_echoed() -> None:
    server = make_server(headless_endpoints=60)
    query = DNSRecord.question("big.default.svc.cluster.local", "A")
    query.add_ar(EDNS0(udp_len=4096))
    reply = await ask(server, query)
    assert reply.header.tc == 0 and len(reply.rr) == 60
    assert any(rr.rtype == QTYPE.OPT for rr in reply.ar)


async def test_garbage_gets_formerr_or_nothing() -> None:
    server = make_server()
    query = DNSRecord.question("web.default.svc.cluster.local", "A").pack()
    broken = await server.handle(query[:12] + b"\x07web")
    assert broken is not None and DNSRecord.parse(broken).header.rcode == RCODE.FORMERR
    assert await server.handle(b"\x01\x02") is None
    reply = DNSRecord.question("web.default.svc.cluster.local", "A").reply()
    assert await server.handle(reply.pack()) is None  # never answer a reply


async def test_non_query_opcodes_are_not_implemented() -> None:
    query = DNSRecord.question("web.default.svc.cluster.local", "A")
    query.header.opcode = 2  # STATUS
    assert (await ask(make_server(), query)).header.rcode == RCODE.NOTIMP


def test_resolv_conf_nameservers_skip_comments_and_self(tmp_path: Path) -> None:
    text = "# hi\nnameserver 10.0.0.2\nnameserver bogus\n;x\nnameserver 127.0.0.53 # local\nsearch a.b\n"
    assert nameservers(text) == ["10.0.0.2", "127.0.0.53"]
    path = tmp_path / "resolv.conf"
    path.write_text(text)
    assert upstreams_from_resolv_conf(path, "0.0.0.0", 53) == [("10.0.0.2", 53)]  # 127.0.0.53:53 is us
    assert upstreams_from_resolv_conf(path, "10.244.0.1", 53) == [("10.0.0.2", 53), ("127.0.0.53", 53)]
    assert upstreams_from_resolv_conf(path, "127.0.0.1", 5353) == [("10.0.0.2", 53), ("127.0.0.53", 53)]
    assert upstreams_from_resolv_conf(tmp_path / "missing", "0.0.0.0", 53) == []
    assert is_self("10.244.0.1", "10.244.0.1", 53) and not is_self("10.244.0.1", "10.244.0.1", 5353)
