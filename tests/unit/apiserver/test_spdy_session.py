"""The server side of a SPDY/3.1 connection (apiserver/http_api/spdy_session.py) over an in-memory transport, driven
by a client-side Framer; and the portforward.k8s.io stream checks (apiserver/http_api/port_forward.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from apiserver.http_api import spdy
from apiserver.http_api.port_forward import SpdyPortForward, stream_refusal
from apiserver.http_api.spdy import DataFrame, Framer, Ping, RstStream, Settings, SynReply, SynStream, WindowUpdate
from apiserver.http_api.spdy_session import SpdySession

DATA = {"streamtype": "data", "port": "8080", "requestid": "0"}


class Wire:
    """The client end: frames in, frames out."""

    def __init__(self) -> None:
        self.framer = Framer()
        self.to_server: asyncio.Queue[bytes] = asyncio.Queue()
        self.from_server: asyncio.Queue[bytes] = asyncio.Queue()
        self.pending: list[spdy.Frame] = []

    async def read(self) -> bytes:
        return await self.to_server.get()

    async def write(self, data: bytes) -> None:
        self.from_server.put_nowait(data)

    def send(self, *frames: spdy.Frame) -> None:
        self.to_server.put_nowait(b"".join(self.framer.encode(frame) for frame in frames))

    async def receive(self, timeout: float = 2.0) -> spdy.Frame:
        while not self.pending:
            self.pending = self.framer.feed(await asyncio.wait_for(self.from_server.get(), timeout))
        return self.pending.pop(0)

    async def nothing_more(self) -> bool:
        await asyncio.sleep(0.05)
        return not self.pending and self.from_server.empty()


@pytest.fixture
async def wire() -> AsyncIterator[tuple[Wire, SpdySession]]:
    wire = Wire()
    session = SpdySession(wire.read, wire.write, stream_refusal)
    runner = asyncio.create_task(session.run())
    yield wire, session
    wire.to_server.put_nowait(b"")
    await asyncio.wait_for(runner, 2)


async def test_an_accepted_stream_is_replied_to_and_carries_data_until_fin(wire) -> None:
    client, session = wire
    client.send(SynStream(1, DATA), DataFrame(1, b"hello "), DataFrame(1, b"world", fin=True))
    assert await client.receive() == SynReply(1, {})
    stream = await session.accept()
    assert stream is not None and stream.headers == DATA
    assert [await stream.read(), await stream.read(), await stream.read(), await stream.read()] == [
        b"hello ", b"world", b"", b""]
    await stream.write(b"back")
    await stream.close()
    assert [await client.receive(), await client.receive()] == [DataFrame(1, b"back"), DataFrame(1, b"", fin=True)]


async def test_a_stream_with_bad_headers_is_refused_with_rst_stream(wire) -> None:
    client, session = wire
    client.send(SynStream(1, {"streamtype": "data"}), SynStream(3, {**DATA, "streamtype": "bogus"}))
    assert await client.receive() == RstStream(1, spdy.CANCEL)
    assert await client.receive() == RstStream(3, spdy.CANCEL)
    assert session.incoming.empty()


async def test_a_server_initiated_stream_id_from_the_client_is_a_protocol_error(wire) -> None:
    client, _ = wire
    client.send(SynStream(2, DATA))
    assert await client.receive() == RstStream(2, spdy.PROTOCOL_ERROR)


async def test_client_pings_are_echoed_and_server_ids_are_not(wire) -> None:
    client, _ = wire
    client.send(Ping(2), Ping(7))
    assert await client.receive() == Ping(7)
    assert await client.nothing_more()


async def test_a_reset_stream_ends_reads_and_refuses_writes(wire) -> None:
    client, session = wire
    client.send(SynStream(1, DATA))
    await client.receive()
    stream = await session.accept()
    assert stream is not None
    client.send(RstStream(1, spdy.CANCEL))
    assert await asyncio.wait_for(stream.read(), 2) == b""
    with pytest.raises(ConnectionError):
        await stream.write(b"late")


async def test_without_window_updates_from_the_client_writes_are_not_held_back(wire) -> None:
    client, session = wire
    client.send(SynStream(1, DATA))
    await client.receive()
    stream = await session.accept()
    assert stream is not None
    await asyncio.wait_for(stream.write(b"x" * 200_000), 2)  # beyond 64 KiB: spdystream does no flow control
    received = 0
    while received < 200_000:
        frame = await client.receive()
        assert isinstance(frame, DataFrame)
        received += len(frame.data)


async def test_once_the_client_does_flow_control_its_windows_are_respected(wire) -> None:
    client, session = wire
    client.send(Settings({spdy.SETTINGS_INITIAL_WINDOW_SIZE: 10}), SynStream(1, DATA))
    await client.receive()
    stream = await session.accept()
    assert stream is not None
    writing = asyncio.create_task(stream.write(b"a" * 25))
    assert await client.receive() == DataFrame(1, b"a" * 10)
    assert await client.nothing_more() and not writing.done()
    client.send(WindowUpdate(1, 20))
    assert await client.receive() == DataFrame(1, b"a" * 15)
    await asyncio.wait_for(writing, 2)


async def test_the_server_reopens_the_clients_window_as_it_reads(wire) -> None:
    client, session = wire
    client.send(SynStream(1, DATA), DataFrame(1, b"z" * 40_000))
    await client.receive()
    stream = await session.accept()
    assert stream is not None
    assert await stream.read() == b"z" * 40_000
    assert await client.receive() == WindowUpdate(1, 40_000)
    assert await client.receive() == WindowUpdate(0, 40_000)


async def test_the_end_of_the_transport_ends_every_stream_and_accept(wire) -> None:
    client, session = wire
    client.send(SynStream(1, DATA))
    await client.receive()
    stream = await session.accept()
    assert stream is not None
    client.to_server.put_nowait(b"")
    assert await asyncio.wait_for(stream.read(), 2) == b""
    assert await asyncio.wait_for(session.accept(), 2) is None


@pytest.mark.parametrize(("headers", "why"), [
    ({"streamtype": "data"}, '"port" header is required'),
    ({"port": "http", "streamtype": "data"}, 'unable to parse "http" as a port'),
    ({"port": "0", "streamtype": "data"}, 'port "0" must be > 0'),
    ({"port": "70000", "streamtype": "data"}, 'unable to parse "70000" as a port: value out of range'),
    ({"port": "80"}, '"streamType" header is required'),
    ({"port": "80", "streamtype": "control"}, 'invalid stream type "control"'),
    ({"port": "80", "streamtype": "error"}, None),
])
def test_port_forward_streams_are_checked_as_the_kubelet_does(headers: dict[str, str], why: str | None) -> None:
    assert stream_refusal(headers) == why


async def test_streams_without_a_request_id_are_paired_by_stream_id(wire) -> None:
    client, session = wire
    client.send(SynStream(5, {"streamtype": "error", "port": "80"}), SynStream(7, {"streamtype": "data", "port": "80"}))
    await client.receive()
    await client.receive()
    error, data = await session.accept(), await session.accept()
    assert error is not None and data is not None
    assert SpdyPortForward.request_id(error) == SpdyPortForward.request_id(data) == "5"
