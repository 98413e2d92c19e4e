"""The DNS listeners: UDP and TCP on one address, both feeding :meth:`DNSServer.handle` (bytes in, bytes out).

``handle`` parses a query (dnslib), asks the :class:`dns.resolver.Resolver`, and packs the reply; names outside the
cluster zone go to the :class:`dns.forward.Forwarder` and its reply is relayed untouched. An ExternalName CNAME
whose target is outside the zone is followed through the forwarder too, so a client gets the addresses in one
round trip (CoreDNS does the same). Replies over UDP are cut to 512 bytes (or the client's EDNS buffer size) with
the TC bit set, telling the client to ask again over TCP, where messages carry a two-byte length prefix (RFC 1035
4.2.2) and a connection may carry many queries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from typing import cast

from dnslib import EDNS0, OPCODE, QTYPE, RCODE, DNSError, DNSHeader, DNSRecord
from dnslib.buffer import Buffer
from prometheus_client import Counter, Histogram

from dns.forward import Forwarder
from dns.resolver import Resolver

log = logging.getLogger(__name__)
UDP_DEFAULT_SIZE = 512
EDNS_SIZE = 1232  # the DNS flag day 2020 buffer size
TCP_IDLE_TIMEOUT = 10.0

REQUESTS = Counter("kubeling_dns_requests_total", "DNS queries received", ["proto", "type"])
RESPONSES = Counter("kubeling_dns_responses_total", "DNS replies sent", ["rcode", "source"])
DURATION = Histogram("kubeling_dns_request_duration_seconds", "Time to answer a query", ["source"])


def _error_reply(data: bytes, rcode: int) -> bytes | None:
    """A header-only reply with ``rcode`` for a query we cannot parse (None if even the header is garbage)."""
    try:
        header = DNSHeader.parse(Buffer(data))
    except (DNSError, struct.error, IndexError):
        return None
    reply = DNSRecord(DNSHeader(id=header.id, qr=1, opcode=header.opcode, rd=header.rd, ra=1, rcode=rcode))
    return reply.pack()


def udp_limit(request: DNSRecord) -> int:
    """512, or the client's EDNS0 buffer size (RFC 6891, carried in the OPT record's class), capped at 65535."""
    for rr in request.ar:
        if rr.rtype == QTYPE.OPT:
            return max(UDP_DEFAULT_SIZE, min(int(rr.rclass), 65535))
    return UDP_DEFAULT_SIZE


class DNSServer:
    """Serves ``resolver`` (and ``forwarder`` for other names) on UDP and TCP at host:port."""

    def __init__(self, resolver: Resolver, forwarder: Forwarder | None = None) -> None:
        self.resolver = resolver
        self.forwarder = forwarder
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self.port = 0

    # -- the protocol-independent part ------------------------------------------------------------------------

    async def handle(self, data: bytes, *, tcp: bool = False) -> bytes | None:
        """The reply to one query (None: send nothing)."""
        try:
            request = DNSRecord.parse(data)
        except (DNSError, struct.error, IndexError, UnicodeDecodeError):
            RESPONSES.labels("FORMERR", "error").inc()
            return _error_reply(data, RCODE.FORMERR)
        if request.header.qr:
            return None  # a reply, not a query: never answer it (that is how reflection loops start)
        max_size = 65535 if tcp else udp_limit(request)
        reply = request.reply()
        if request.header.opcode != OPCODE.QUERY or len(request.questions) != 1:
            reply.header.rcode = RCODE.NOTIMP if request.header.opcode != OPCODE.QUERY else RCODE.FORMERR
            return self._finish(request, reply, max_size, "error")
        question = request.q
        REQUESTS.labels("tcp" if tcp else "udp", QTYPE.get(question.qtype, str(question.qtype))).inc()
        answer = self.resolver.resolve(str(question.qname), question.qtype)
        if answer.forward:
            return await self._forward(request, data, reply, max_size)
        reply.header.rcode = answer.rcode
        for rr in answer.answers:
            reply.add_answer(rr)
        for rr in answer.authority:
            reply.add_auth(rr)
        for rr in answer.additional:
            reply.add_ar(rr)
        await self._chase_external_cname(request, reply)
        return self._finish(request, reply, max_size, "cluster")

    async def _forward(self, request: DNSRecord, data: bytes, reply: DNSRecord, max_size: int) -> bytes | None:
        reply.header.aa = 0
        if self.forwarder is None or not self.forwarder.upstreams:
            reply.header.rcode = RCODE.REFUSED
            return self._finish(request, reply, max_size, "refused")
        with DURATION.labels("upstream").time():
            upstream = await self.forwarder.forward(data)
        if upstream is None:
            reply.header.rcode = RCODE.SERVFAIL
            return self._finish(request, reply, max_size, "upstream")
        rcode = upstream[3] & 0x0F if len(upstream) > 3 else RCODE.SERVFAIL
        RESPONSES.labels(RCODE.get(rcode, str(rcode)), "upstream").inc()
        if len(upstream) > max_size:
            with contextlib.suppress(DNSError):
                return DNSRecord.parse(upstream).truncate().pack()
        return upstream

    async def _chase_external_cname(self, request: DNSRecord, reply: DNSRecord) -> None:
        """Append the upstream's answer for an ExternalName target outside the zone."""
        if self.forwarder is None or not self.forwarder.upstreams or not reply.rr:
            return
        last = reply.rr[-1]
        if last.rtype != QTYPE.CNAME or request.q.qtype == QTYPE.CNAME:
            return
        target = str(last.rdata.label)
        if not self.resolver.resolve(target, request.q.qtype).forward:
            return
        upstream = await self.forwarder.forward(DNSRecord.question(target, QTYPE.get(request.q.qtype)).pack())
        if upstream is None:
            return
        with contextlib.suppress(DNSError):
            for rr in DNSRecord.parse(upstream).rr:
                reply.add_answer(rr)

    def _finish(self, request: DNSRecord, reply: DNSRecord, max_size: int, source: str) -> bytes:
        if any(rr.rtype == QTYPE.OPT for rr in request.ar):
            reply.add_ar(EDNS0(udp_len=EDNS_SIZE))
        RESPONSES.labels(RCODE.get(reply.header.rcode, str(reply.header.rcode)), source).inc()
        packed = reply.pack()
        if len(packed) > max_size:
            packed = reply.truncate().pack()
        return packed

    # -- sockets ----------------------------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> int:
        """Listen on UDP and TCP; with port 0 both use the same free port. Returns the port."""
        loop = asyncio.get_running_loop()
        self._tcp = await asyncio.start_server(self._serve_tcp, host, port)
        self.port = self._tcp.sockets[0].getsockname()[1]
        self._udp, _ = await loop.create_datagram_endpoint(lambda: _UDPProtocol(self), local_addr=(host, self.port))
        return self.port

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            with contextlib.suppress(Exception):
                await self._tcp.wait_closed()
            self._tcp = None

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                (length,) = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), TCP_IDLE_TIMEOUT))
                data = await asyncio.wait_for(reader.readexactly(length), TCP_IDLE_TIMEOUT)
                reply = await self.handle(data, tcp=True)
                if reply is None:
                    break
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        except Exception:
            log.exception("TCP DNS connection failed")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class _UDPProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DNSServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        task = asyncio.ensure_future(self._answer(data, addr))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            reply = await self.server.handle(data)
        except Exception:
            log.exception("DNS query from %s failed", addr)
            reply = _error_reply(data, RCODE.SERVFAIL)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)
