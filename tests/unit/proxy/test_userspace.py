"""The userspace proxy: round robin and affinity (pure), and real TCP/UDP proxying over loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from proxy.model import Endpoint
from proxy.proxier import SyncRunner
from proxy.userspace import LoadBalancer, TcpProxy, UdpProxy

KEY = ("default/web:http", "TCP")
A, B, C = Endpoint("10.0.0.1", 80), Endpoint("10.0.0.2", 80), Endpoint("10.0.0.3", 80)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_round_robin_visits_every_endpoint_in_turn():
    lb = LoadBalancer()
    lb.update(KEY, [A, B, C])
    assert [lb.next_endpoint(KEY, "1.1.1.1") for _ in range(6)] == [A, B, C, A, B, C]


def test_no_endpoints_or_unknown_service_gives_none():
    lb = LoadBalancer()
    assert lb.next_endpoint(KEY, "1.1.1.1") is None
    lb.update(KEY, [])
    assert lb.next_endpoint(KEY, "1.1.1.1") is None


def test_client_ip_affinity_pins_until_the_timeout():
    clock = Clock()
    lb = LoadBalancer(clock)
    lb.update(KEY, [A, B, C], affinity_timeout=10)
    first = lb.next_endpoint(KEY, "1.1.1.1")
    other = lb.next_endpoint(KEY, "2.2.2.2")
    assert first != other
    clock.now += 9
    assert [lb.next_endpoint(KEY, "1.1.1.1") for _ in range(3)] == [first] * 3
    clock.now += 11
    assert lb.next_endpoint(KEY, "1.1.1.1") != first  # expired: round robin again


def test_affinity_to_a_removed_endpoint_is_forgotten():
    lb = LoadBalancer()
    lb.update(KEY, [A, B], affinity_timeout=100)
    assert lb.next_endpoint(KEY, "1.1.1.1") == A
    lb.update(KEY, [B, C], affinity_timeout=100)
    assert lb.next_endpoint(KEY, "1.1.1.1") == B


async def echo_server(tag: bytes) -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read(1024)
        writer.write(tag + data)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.fixture
async def backends() -> AsyncIterator[list[Endpoint]]:
    servers = [await echo_server(tag) for tag in (b"one:", b"two:")]
    yield [Endpoint("127.0.0.1", port) for _, port in servers]
    for server, _ in servers:
        server.close()
        await server.wait_closed()


async def ask(port: int, message: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(message)
    writer.write_eof()
    answer = await reader.read()
    writer.close()
    return answer


async def test_tcp_proxy_alternates_between_backends(backends: list[Endpoint]):
    lb = LoadBalancer()
    lb.update(KEY, backends)
    proxy = TcpProxy(KEY, lb)
    port = await proxy.start("127.0.0.1")
    try:
        answers = [await ask(port, b"hi") for _ in range(4)]
    finally:
        await proxy.stop()
    assert answers == [b"one:hi", b"two:hi", b"one:hi", b"two:hi"]


async def test_tcp_proxy_skips_a_dead_endpoint_and_closes_without_endpoints(backends: list[Endpoint]):
    lb = LoadBalancer()
    lb.update(KEY, [Endpoint("127.0.0.1", 1), backends[0]])  # port 1: connection refused
    proxy = TcpProxy(KEY, lb)
    port = await proxy.start("127.0.0.1")
    try:
        assert await ask(port, b"x") == b"one:x"
        lb.update(KEY, [])
        try:
            answer = await ask(port, b"x")
        except ConnectionResetError:  # closed with our bytes unread: the kernel resets
            answer = b""
        assert answer == b""
    finally:
        await proxy.stop()


async def test_udp_proxy_forwards_datagrams_and_replies():
    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, transport):
            self.transport = transport

        def datagram_received(self, data, addr):
            self.transport.sendto(b"echo:" + data, addr)

    loop = asyncio.get_running_loop()
    server, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    key = ("default/dns", "UDP")
    lb = LoadBalancer()
    lb.update(key, [Endpoint("127.0.0.1", server.get_extra_info("sockname")[1])])
    proxy = UdpProxy(key, lb)
    port = await proxy.start("127.0.0.1")
    answers: asyncio.Queue[bytes] = asyncio.Queue()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data, addr):
            answers.put_nowait(data)

    client, _ = await loop.create_datagram_endpoint(Client, remote_addr=("127.0.0.1", port))
    try:
        client.sendto(b"ping")
        assert await asyncio.wait_for(answers.get(), 5) == b"echo:ping"
        client.sendto(b"again")
        assert await asyncio.wait_for(answers.get(), 5) == b"echo:again"
        assert len(proxy.clients) == 1
    finally:
        client.close()
        await proxy.stop()
        server.close()


async def test_sync_runner_batches_requests_within_the_min_period():
    calls = []

    async def fn() -> None:
        calls.append(asyncio.get_running_loop().time())

    runner = SyncRunner(fn, min_period=0.2, max_period=60)
    task = asyncio.create_task(runner.run())
    try:
        for _ in range(5):
            runner.request()
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert len(calls) == 1
        for _ in range(5):
            runner.request()
        await asyncio.sleep(0.3)
        assert len(calls) == 2 and calls[1] - calls[0] >= 0.19
    finally:
        task.cancel()


def test_flags_pick_the_mode_and_kube_proxy_defaults():
    from proxy.__main__ import make_mode, parse_args
    from proxy.iptables import IptablesProxier
    from proxy.userspace import UserspaceProxier

    args = parse_args(["--hostname-override", "node-1"])
    assert (args.proxy_mode, args.min_sync_period, args.iptables_masquerade_bit) == ("iptables", 1.0, 14)
    assert isinstance(make_mode(args), IptablesProxier)
    userspace = make_mode(parse_args(["--proxy-mode", "userspace", "--min-sync-period", "100ms"]))
    assert isinstance(userspace, UserspaceProxier) and userspace.bind_address == "0.0.0.0"
