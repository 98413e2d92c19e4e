"""Upstream resolvers: where names outside the cluster zone go (CoreDNS's ``forward . /etc/resolv.conf``).

``upstreams_from_resolv_conf`` reads the host's nameservers. A nameserver that is the DNS server itself (same
address and port, or a loopback address while we listen on every address of that port) is dropped: forwarding to
it would loop, which CoreDNS's ``loop`` plugin exists to catch. :class:`Forwarder` sends the client's query, as is,
to each upstream in turn over UDP (retrying over TCP when the reply is truncated) and returns the first reply.
With no upstream, the server answers REFUSED; when every upstream fails, SERVFAIL.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import struct
from pathlib import Path

log = logging.getLogger(__name__)
DNS_PORT = 53


def nameservers(resolv_conf: str) -> list[str]:
    """The ``nameserver`` lines of a resolv.conf text, in order (comments and bad addresses skipped)."""
    found = []
    for line in resolv_conf.splitlines():
        fields = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            try:
                found.append(str(ipaddress.ip_address(fields[1].split("%", 1)[0])))
            except ValueError:
                continue
    return found


def is_self(server: str, listen_host: str, listen_port: int) -> bool:
    """Whether ``server``:53 is this DNS server (so forwarding to it would loop)."""
    if listen_port != DNS_PORT:
        return False
    if server == listen_host:
        return True
    address = ipaddress.ip_address(server)
    return listen_host in ("0.0.0.0", "::", "") and (address.is_loopback or address.is_unspecified)


def upstreams_from_resolv_conf(path: Path, listen_host: str, listen_port: int) -> list[tuple[str, int]]:
    try:
        text = path.read_text()
    except OSError as e:
        log.warning("cannot read %s (%s): names outside the cluster will be REFUSED", path, e)
        return []
    servers = nameservers(text)
    kept = [(s, DNS_PORT) for s in servers if not is_self(s, listen_host, listen_port)]
    for dropped in sorted(set(servers) - {s for s, _ in kept}):
        log.warning("not forwarding to %s: it is this DNS server (a loop)", dropped)
    return kept


class _UDPReply(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: object) -> None:
        if not self.reply.done():
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.reply.done():
            self.reply.set_exception(exc)


async def query_udp(query: bytes, host: str, port: int, timeout: float) -> bytes:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(_UDPReply, remote_addr=(host, port))
    try:
        transport.sendto(query)
        return await asyncio.wait_for(protocol.reply, timeout)
    finally:
        transport.close()


async def query_tcp(query: bytes, host: str, port: int, timeout: float) -> bytes:
    async def exchange() -> bytes:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(struct.pack("!H", len(query)) + query)
            await writer.drain()
            (length,) = struct.unpack("!H", await reader.readexactly(2))
            return await reader.readexactly(length)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    return await asyncio.wait_for(exchange(), timeout)


def _truncated(reply: bytes) -> bool:
    return len(reply) >= 3 and bool(reply[2] & 0x02)


class Forwarder:
    """Sends queries to the upstreams, in order, until one answers."""

    def __init__(self, upstreams: list[tuple[str, int]], timeout: float = 2.0) -> None:
        self.upstreams = list(upstreams)
        self.timeout = timeout

    async def forward(self, query: bytes) -> bytes | None:
        """The first upstream reply to ``query`` (same id as the query), or None if none answered."""
        for host, port in self.upstreams:
            try:
                reply = await query_udp(query, host, port, self.timeout)
                if _truncated(reply):
                    reply = await query_tcp(query, host, port, self.timeout)
                if reply[:2] == query[:2]:
                    return reply
            except (OSError, TimeoutError, asyncio.IncompleteReadError, struct.error) as e:
                log.debug("upstream %s:%d failed: %s", host, port, e)
        return None
