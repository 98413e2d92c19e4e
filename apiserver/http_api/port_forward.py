"""`pods/portforward`: Kubernetes' port-forward protocols, each forwarded connection relayed to the pod's kubelet as
one ``PortForward`` gRPC call (the kubelet connects to the port inside the pod's network namespace).

Two protocols, as the kubelet's streaming server (pkg/kubelet/cri/streaming/portforward) speaks them:

- **portforward.k8s.io over SPDY/3.1** (kubectl): the client opens two streams per forwarded connection, both with
  headers ``port`` and ``requestID``: ``streamType: error`` (which the client half-closes at once) and
  ``streamType: data``. Data is relayed both ways; a FIN on the data stream half-closes the pod connection; when the
  pod side ends, both streams are closed. A failure is text written on the error stream
  (``error forwarding port 8080 to pod ..., uid : ...connection refused``), which kubectl prints as
  ``an error occurred forwarding 8080 -> 8080: ...``. A stream with a bad ``port`` or ``streamType`` is refused
  (RST_STREAM); a pair whose second stream does not come within STREAM_CREATION_TIMEOUT gets a timeout error.
- **v4.channel.k8s.io over a websocket** (the official Python client), ports from the ``ports`` query: port *i* gets
  data channel 2i and error channel 2i+1; the first message of each carries the port as 2 bytes little-endian.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import grpc
from aiohttp import WSMsgType, web

from apimachinery import errors
from apiserver.http_api.spdy import Headers
from apiserver.http_api.spdy_session import SpdySession, SpdyStream
from proto import kubeling_pb2 as pb

log = logging.getLogger(__name__)
STREAM_CREATION_TIMEOUT = 30.0
OpenCall = Callable[[int], Awaitable[Any]]  # port -> a started PortForward call
Describe = Callable[[grpc.aio.AioRpcError], str]  # a kubelet failure -> the text for the error stream


class DataStream(Protocol):
    async def read(self) -> bytes: ...
    async def write(self, data: bytes) -> None: ...
    async def close(self) -> None: ...


def parse_port(text: str) -> int:
    """A port of a portforward request: 1..65535 (kubelet's checks, with its messages)."""
    try:
        port = int(text, 10)
    except ValueError:
        raise ValueError(f'unable to parse "{text}" as a port') from None
    if not 0 <= port < 65536:
        raise ValueError(f'unable to parse "{text}" as a port: value out of range')
    if port < 1:
        raise ValueError(f'port "{text}" must be > 0')
    return port


def stream_refusal(headers: Headers) -> str | None:
    """Why a new SPDY stream is refused (the kubelet's httpStreamReceived), None when it is acceptable."""
    if not headers.get("port"):
        return '"port" header is required'
    try:
        parse_port(headers["port"])
    except ValueError as e:
        return str(e)
    stream_type = headers.get("streamtype", "")
    if not stream_type:
        return '"streamType" header is required'
    if stream_type not in ("error", "data"):
        return f'invalid stream type "{stream_type}"'
    return None


async def relay(port: int, data: DataStream, report: Callable[[str], Awaitable[None]], open_call: OpenCall,
                describe: Describe) -> None:
    """One forwarded connection: ``data`` ↔ a kubelet PortForward call until the pod side ends; failures go to
    ``report``. The caller closes the streams."""
    try:
        call = await open_call(port)
    except errors.ApiError as e:
        await report(e.message)
        return
    except grpc.aio.AioRpcError as e:
        await report(describe(e))
        return
    upstream = asyncio.create_task(_upstream(data, call), name=f"port-forward-{port}-up")
    try:
        while (frame := await call.read()) is not grpc.aio.EOF:
            kind = frame.WhichOneof("frame")
            if kind == "data":
                await data.write(frame.data)
            elif kind == "error":
                await report(frame.error)
            elif kind == "close":
                break
    except grpc.aio.AioRpcError as e:
        if e.code() != grpc.StatusCode.CANCELLED:
            await report(describe(e))
    except ConnectionError:
        pass  # the client reset the stream or left
    finally:
        upstream.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await upstream
        call.cancel()


async def _upstream(data: DataStream, call: Any) -> None:
    while chunk := await data.read():
        await call.write(pb.PortForwardFrame(data=chunk))
    await call.write(pb.PortForwardFrame(close=True))
    await call.done_writing()


class StreamPair:
    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.data: SpdyStream | None = None
        self.error: SpdyStream | None = None
        self.complete = asyncio.Event()

    def add(self, stream: SpdyStream) -> str | None:
        """Adds the stream; why not, when this pair already has a stream of that type."""
        kind = stream.headers.get("streamtype")
        if getattr(self, kind or "", None) is not None:
            return f"{kind} stream already assigned"
        setattr(self, kind or "", stream)
        if self.data is not None and self.error is not None:
            self.complete.set()
        return None


class SpdyPortForward:
    """portforward.k8s.io on one SPDY session: pairs streams by requestID, one relay per complete pair."""

    def __init__(self, session: SpdySession, open_call: OpenCall, describe: Describe) -> None:
        self.session, self.open_call, self.describe = session, open_call, describe
        self.pairs: dict[str, StreamPair] = {}
        self.tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, coro: Awaitable[None], name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def run(self) -> None:
        try:
            while (stream := await self.session.accept()) is not None:
                request_id = self.request_id(stream)
                pair = self.pairs.get(request_id)
                if pair is None:
                    pair = self.pairs[request_id] = StreamPair(request_id)
                    self._spawn(self._monitor(pair), f"port-forward-pair-{request_id}")
                problem = pair.add(stream)
                if problem is not None:
                    await _write(pair.error, f"error processing stream for request {request_id}: {problem}")
        finally:
            for task in list(self.tasks):
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)

    @staticmethod
    def request_id(stream: SpdyStream) -> str:
        """The requestID header; old clients send none: derive it from the stream ids (error n, data n+2)."""
        request_id = stream.headers.get("requestid", "")
        if request_id:
            return request_id
        return str(stream.id if stream.headers.get("streamtype") == "error" else stream.id - 2)

    async def _monitor(self, pair: StreamPair) -> None:
        try:
            await asyncio.wait_for(pair.complete.wait(), STREAM_CREATION_TIMEOUT)
        except TimeoutError:
            await _write(pair.error, f"timed out waiting for streams of request {pair.request_id}")
            await _close(pair.error, pair.data)
            return
        finally:
            self.pairs.pop(pair.request_id, None)
        await self._forward(pair)

    async def _forward(self, pair: StreamPair) -> None:
        assert pair.data is not None and pair.error is not None
        error_stream = pair.error

        async def report(message: str) -> None:
            await _write(error_stream, message)

        try:
            await relay(parse_port(pair.data.headers["port"]), pair.data, report, self.open_call, self.describe)
        finally:
            await _close(pair.data, pair.error)


async def _write(stream: SpdyStream | None, message: str) -> None:
    if stream is not None:
        with contextlib.suppress(ConnectionError):
            await stream.write(message.encode())


async def _close(*streams: SpdyStream | None) -> None:
    for stream in streams:
        if stream is not None:
            await stream.close()


def query_ports(request: web.Request) -> list[int]:
    """The ports of a websocket port-forward (``ports=8080&ports=9090`` or ``ports=8080,9090``)."""
    texts = request.query.getall("ports", []) or request.query.getall("port", [])
    if not texts:
        raise errors.bad_request('query parameter "port" is required')
    try:
        return [parse_port(part) for text in texts for part in text.split(",")]
    except ValueError as e:
        raise errors.bad_request(str(e)) from None


class ChannelData:
    """One port's data channel of a v4.channel.k8s.io websocket."""

    def __init__(self, ws: web.WebSocketResponse, channel: int) -> None:
        self.ws, self.channel = ws, channel
        self.inbox: asyncio.Queue[bytes] = asyncio.Queue()

    async def read(self) -> bytes:
        data = await self.inbox.get()
        if not data:
            self.inbox.put_nowait(b"")
        return data

    async def write(self, data: bytes) -> None:
        if self.ws.closed:
            raise ConnectionError("the websocket is closed")
        await self.ws.send_bytes(bytes([self.channel]) + data)

    async def close(self) -> None:
        return None  # the channel protocol has no half-close: the connection ends with the websocket


async def channel_port_forward(ws: web.WebSocketResponse, ports: list[int], open_call: OpenCall,
                               describe: Describe) -> None:
    """Every port is forwarded at once, as the kubelet does; the websocket's end ends them all."""
    channels = [ChannelData(ws, 2 * i) for i in range(len(ports))]
    for i, port in enumerate(ports):
        prefix = struct.pack("<H", port)
        await ws.send_bytes(bytes([2 * i]) + prefix)
        await ws.send_bytes(bytes([2 * i + 1]) + prefix)

    def reporter(channel: int) -> Callable[[str], Awaitable[None]]:
        async def report(message: str) -> None:
            with contextlib.suppress(ConnectionError):
                await ws.send_bytes(bytes([channel]) + message.encode())
        return report

    relays = [asyncio.create_task(relay(port, channels[i], reporter(2 * i + 1), open_call, describe))
              for i, port in enumerate(ports)]
    finished: asyncio.Future[Any] = asyncio.ensure_future(asyncio.gather(*relays, return_exceptions=True))
    reader: asyncio.Future[Any] = asyncio.create_task(_read_channels(ws, channels))
    try:
        await asyncio.wait([finished, reader], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for channel in channels:
            channel.inbox.put_nowait(b"")
        for task in (*relays, reader):
            task.cancel()
        await asyncio.gather(finished, reader, return_exceptions=True)


async def _read_channels(ws: web.WebSocketResponse, channels: list[ChannelData]) -> None:
    """Client messages → the data channels (even channel numbers; the error channels are write-only)."""
    async for msg in ws:
        if msg.type != WSMsgType.BINARY or len(msg.data) < 2 or msg.data[0] % 2:
            continue
        if msg.data[0] // 2 < len(channels):
            channels[msg.data[0] // 2].inbox.put_nowait(msg.data[1:])
