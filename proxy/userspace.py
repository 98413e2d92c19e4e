"""The userspace mode: a Python proxy per service port, and iptables rules that redirect the service to it.

This is how kube-proxy started (pkg/proxy/userspace, removed in Kubernetes 1.26). For every service port the
proxy opens a listener on the host (``--bind-address``, default 0.0.0.0, on a random free port); iptables
REDIRECTs ``ClusterIP:port`` and ``<local address>:NodePort`` to it (:func:`proxy.iptables_rules.userspace_ruleset`).
Each accepted TCP connection is paired with a new connection to an endpoint picked by :class:`LoadBalancer`
(round robin; ``sessionAffinity: ClientIP`` pins a client IP to its endpoint until ``timeoutSeconds`` of idleness),
and bytes are copied both ways. UDP works per client address: the first datagram of a client opens a socket to an
endpoint, replies go back through the listener.

Every byte crosses the kernel twice more and runs through Python: slower than the iptables mode (see
docs/benchmarks.md), but all of it can be read, logged and stepped through.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from proxy import conntrack, iptables
from proxy.iptables_rules import ProxyConfig, userspace_ruleset
from proxy.model import Endpoint, ServicePort

log = logging.getLogger("proxy.userspace")
Key = tuple[str, str]  # (port string, protocol)
CONNECT_TIMEOUT = 2.0
UDP_IDLE_TIMEOUT = 30.0
BUFFER = 65536
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # Linux; Python 3.11 lacks the constant


@dataclass
class Affinity:
    endpoint: Endpoint
    last_used: float


@dataclass
class Balancer:
    endpoints: list[Endpoint] = field(default_factory=list)
    next_index: int = 0
    affinity_timeout: int = 0
    affinity: dict[str, Affinity] = field(default_factory=dict)


class LoadBalancer:
    """Round robin over the ready endpoints of each service port, with optional ClientIP affinity (pure logic).

    ``clock`` is injectable so tests can move time.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.services: dict[Key, Balancer] = {}

    def update(self, key: Key, endpoints: list[Endpoint], affinity_timeout: int = 0) -> None:
        balancer = self.services.setdefault(key, Balancer())
        if balancer.endpoints != endpoints:
            balancer.endpoints = list(endpoints)
            balancer.next_index = 0
        balancer.affinity_timeout = affinity_timeout
        alive = set(endpoints)
        balancer.affinity = {ip: a for ip, a in balancer.affinity.items()
                             if affinity_timeout and a.endpoint in alive}

    def remove(self, key: Key) -> None:
        self.services.pop(key, None)

    def next_endpoint(self, key: Key, client_ip: str) -> Endpoint | None:
        balancer = self.services.get(key)
        if balancer is None or not balancer.endpoints:
            return None
        now = self.clock()
        if balancer.affinity_timeout:
            pinned = balancer.affinity.get(client_ip)
            if pinned and now - pinned.last_used <= balancer.affinity_timeout:
                pinned.last_used = now
                return pinned.endpoint
        endpoint = balancer.endpoints[balancer.next_index % len(balancer.endpoints)]
        balancer.next_index = (balancer.next_index + 1) % len(balancer.endpoints)
        if balancer.affinity_timeout:
            balancer.affinity[client_ip] = Affinity(endpoint, now)
        return endpoint


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until EOF, then half-close the other side."""
    try:
        while data := await reader.read(BUFFER):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (ConnectionError, OSError):
        pass


class TcpProxy:
    """One listener for one TCP service port."""

    def __init__(self, key: Key, balancer: LoadBalancer) -> None:
        self.key = key
        self.balancer = balancer
        self.server: asyncio.Server | None = None
        self.port = 0
        self.connections: set[asyncio.Task[None]] = set()

    async def start(self, host: str) -> int:
        self.server = await asyncio.start_server(self._accept, host, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.connections.add(task)
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            pass  # stop() cancels open connections: ending this handler quietly is the point
        finally:
            writer.close()
            if task is not None:
                self.connections.discard(task)

    async def _connect(self, client_ip: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """Try endpoints in balancer order, as kube-proxy's userspace proxy did (a few attempts)."""
        for _ in range(3):
            endpoint = self.balancer.next_endpoint(self.key, client_ip)
            if endpoint is None:
                return None
            try:
                return await asyncio.wait_for(asyncio.open_connection(endpoint.ip, endpoint.port), CONNECT_TIMEOUT)
            except (OSError, TimeoutError) as err:
                log.info("%s: cannot reach %s: %s", self.key[0], endpoint.address, err)
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client_ip = (writer.get_extra_info("peername") or ("", 0))[0]
        backend = await self._connect(client_ip)
        if backend is None:
            return  # closing the client's connection: the nearest thing to "connection refused"
        backend_reader, backend_writer = backend
        try:
            await asyncio.gather(pipe(reader, backend_writer), pipe(backend_reader, writer))
        finally:
            backend_writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for task in list(self.connections):
                task.cancel()
            await asyncio.gather(*self.connections, return_exceptions=True)
            await self.server.wait_closed()


class _Backend(asyncio.DatagramProtocol):
    """The socket to an endpoint for one UDP client: replies go back to the client through the listener."""

    def __init__(self, listener: UdpProxy, client: tuple[str, int], local_ip: str, endpoint: Endpoint) -> None:
        self.listener = listener
        self.endpoint = endpoint
        self.client = client
        self.local_ip = local_ip
        self.transport: asyncio.DatagramTransport | None = None
        self.last_used = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.last_used = time.monotonic()
        self.listener.reply(data, self.client, self.local_ip)


class UdpProxy:
    """One listener for one UDP service port; one backend socket per client address.

    A reply must leave from the very address the client's datagram was redirected to (127.0.0.1 for the host's
    own traffic, the bridge gateway for a pod's), or conntrack cannot match it and undo the REDIRECT. A socket
    bound to 0.0.0.0 would pick the source by routing, so the listener asks the kernel for each datagram's
    destination (``IP_PKTINFO``) and sets it as the source of the replies.
    """

    def __init__(self, key: Key, balancer: LoadBalancer) -> None:
        self.key = key
        self.balancer = balancer
        self.sock: socket.socket | None = None
        self.port = 0
        self.clients: dict[tuple[str, int], _Backend] = {}
        self._pending: set[asyncio.Task[None]] = set()

    async def start(self, host: str) -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        sock.bind((host, 0))
        sock.setblocking(False)
        self.sock, self.port = sock, sock.getsockname()[1]
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)
        return self.port

    def _readable(self) -> None:
        while self.sock is not None:
            try:
                data, ancillary, _, addr = self.sock.recvmsg(BUFFER, socket.CMSG_SPACE(12))
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:
                log.debug("%s: recvmsg: %s", self.key[0], err)
                return
            local_ip = next((socket.inet_ntoa(d[8:12]) for level, kind, d in ancillary
                             if level == socket.IPPROTO_IP and kind == IP_PKTINFO), "0.0.0.0")
            self.datagram_received(data, addr, local_ip)

    def reply(self, data: bytes, client: tuple[str, int], local_ip: str) -> None:
        if self.sock is None:
            return
        info = struct.pack("I4s4s", 0, socket.inet_aton(local_ip), b"\0" * 4)
        with contextlib.suppress(OSError):
            self.sock.sendmsg([data], [(socket.IPPROTO_IP, IP_PKTINFO, info)], 0, client)

    def datagram_received(self, data: bytes, addr: tuple[str, int], local_ip: str) -> None:
        backend = self.clients.get(addr)
        if backend is not None and backend.transport is not None:
            backend.last_used = time.monotonic()
            backend.transport.sendto(data)
            return
        task = asyncio.ensure_future(self._open(data, addr, local_ip))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _open(self, data: bytes, addr: tuple[str, int], local_ip: str) -> None:
        endpoint = self.balancer.next_endpoint(self.key, addr[0])
        if endpoint is None:
            return
        loop = asyncio.get_running_loop()
        _, backend = await loop.create_datagram_endpoint(lambda: _Backend(self, addr, local_ip, endpoint),
                                                         remote_addr=(endpoint.ip, endpoint.port))
        self.clients[addr] = backend
        if backend.transport is not None:
            backend.transport.sendto(data)

    def expire(self, idle: float = UDP_IDLE_TIMEOUT, alive: set[Endpoint] | None = None) -> None:
        """Forget clients idle for ``idle`` seconds or whose endpoint is no longer ``alive``."""
        now = time.monotonic()
        for addr, backend in list(self.clients.items()):
            gone = alive is not None and backend.endpoint not in alive
            if (gone or now - backend.last_used > idle) and backend.transport is not None:
                backend.transport.close()
                del self.clients[addr]

    async def stop(self) -> None:
        self.expire(idle=-1)
        if self.sock is not None:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None


class UserspaceProxier:
    """The userspace mode: keeps one listener per service port and the REDIRECT rules that lead to them."""

    mode = "userspace"

    def __init__(self, config: ProxyConfig, bind_address: str = "0.0.0.0") -> None:
        self.config = config
        self.bind_address = bind_address
        self.balancer = LoadBalancer()
        self.listeners: dict[Key, TcpProxy | UdpProxy] = {}
        self.previous: list[ServicePort] = []
        self.last_sync_seconds = 0.0

    async def start(self) -> None:
        return None

    async def _listener(self, port: ServicePort) -> TcpProxy | UdpProxy:
        listener = self.listeners.get(port.key)
        if listener is None:
            listener = TcpProxy(port.key, self.balancer) if port.protocol == "TCP" else UdpProxy(port.key,
                                                                                                 self.balancer)
            await listener.start(self.bind_address)
            self.listeners[port.key] = listener
            log.info("%s/%s: proxying on port %d", port.port_string, port.protocol, listener.port)
        return listener

    async def sync(self, ports: Iterable[ServicePort]) -> None:
        current = {p.key: p for p in ports}
        for key in [k for k in self.listeners if k not in current]:
            await self.listeners.pop(key).stop()
            self.balancer.remove(key)
        portals = []
        for port in current.values():
            endpoints = port.cluster_endpoints(self.config.node_name)
            self.balancer.update(port.key, endpoints, port.affinity_timeout)
            listener = await self._listener(port)
            if isinstance(listener, UdpProxy):
                listener.expire(alive=set(endpoints))  # the userspace twin of clearing conntrack entries
            portals.append((port, listener.port))
        rules = userspace_ruleset(portals, self.config, self.bind_address)
        self.last_sync_seconds = await asyncio.to_thread(iptables.apply, rules)
        # A UDP flow that started before its REDIRECT existed is remembered un-NATed by conntrack: clear it.
        stale = conntrack.stale_udp_flows(self.previous, current.values())
        if stale:
            await asyncio.to_thread(conntrack.delete_flows, stale)
        self.previous = list(current.values())

    async def stop(self, *, clean: bool = True) -> None:
        for listener in self.listeners.values():
            with contextlib.suppress(Exception):
                await listener.stop()
        self.listeners.clear()
        if clean:
            await asyncio.to_thread(iptables.cleanup)
