"""The two ways SPDY reaches `pods/portforward`, both ending in one :class:`SpdySession` + :class:`SpdyPortForward`:

- **tunnelled in a websocket** (KEP-4006, kubectl ≥ 1.30 by default): the client asks for the websocket subprotocol
  ``SPDY/3.1+portforward.k8s.io`` and the server picks it; from then on every websocket binary message carries
  bytes of the SPDY connection (message boundaries mean nothing), as client-go's TunnelingConnection writes them.
- **a raw HTTP upgrade** (older kubectl, or when the websocket upgrade fails): ``Connection: Upgrade``,
  ``Upgrade: SPDY/3.1``, ``X-Stream-Protocol-Version: portforward.k8s.io``; the server answers 101 with the same
  headers and the connection carries SPDY frames directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import WSMsgType, web

from apiserver.http_api.port_forward import Describe, OpenCall, SpdyPortForward, stream_refusal
from apiserver.http_api.spdy_session import Read, SpdySession, Write

log = logging.getLogger(__name__)
PORT_FORWARD_PROTOCOL = "portforward.k8s.io"
TUNNEL_PROTOCOL = "SPDY/3.1+" + PORT_FORWARD_PROTOCOL


async def serve_spdy(read: Read, write: Write, open_call: OpenCall, describe: Describe) -> None:
    """Runs the SPDY connection until the client (or the transport) ends it."""
    session = SpdySession(read, write, stream_refusal)
    forwarder = asyncio.create_task(SpdyPortForward(session, open_call, describe).run(), name="port-forward")
    try:
        await session.run()
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await forwarder


async def serve_spdy_websocket(ws: web.WebSocketResponse, open_call: OpenCall, describe: Describe) -> None:
    async def read() -> bytes:
        while True:
            msg = await ws.receive()
            if msg.type == WSMsgType.BINARY:
                if msg.data:
                    return bytes(msg.data)
            elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return b""
            else:
                log.warning("port-forward tunnel: unexpected %s message, closing", msg.type.name)
                return b""

    async def write(data: bytes) -> None:
        if ws.closed:
            raise ConnectionError("the websocket is closed")
        await ws.send_bytes(data)

    await serve_spdy(read, write, open_call, describe)


class RawParser:
    """Takes the place of aiohttp's HTTP parser on an upgraded connection: every byte goes to the queue."""

    def __init__(self, queue: asyncio.Queue[bytes]) -> None:
        self.queue = queue

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if data:
            self.queue.put_nowait(bytes(data))
        return False, b""

    def feed_eof(self) -> None:
        self.queue.put_nowait(b"")


async def serve_spdy_upgrade(request: web.Request, open_call: OpenCall, describe: Describe) -> web.StreamResponse:
    offered = [p.strip() for value in request.headers.getall("X-Stream-Protocol-Version", [])
               for p in value.split(",")]
    if offered and PORT_FORWARD_PROTOCOL not in offered:
        raise web.HTTPForbidden(text=f"unable to upgrade: unable to negotiate protocol: client supports {offered}, "
                                     f"server supports [{PORT_FORWARD_PROTOCOL}]")
    response = web.StreamResponse(status=101, headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1",
                                                       "X-Stream-Protocol-Version": PORT_FORWARD_PROTOCOL})
    await response.prepare(request)
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    assert request.protocol is not None
    request.protocol.keep_alive(False)
    request.protocol.set_parser(RawParser(queue))  # type: ignore[arg-type]

    async def read() -> bytes:
        data = await queue.get()
        if not data:
            queue.put_nowait(b"")
        return data

    async def write(data: bytes) -> None:
        transport = request.transport
        if transport is None or transport.is_closing():
            raise ConnectionError("the connection is closed")
        await response.write(data)

    try:
        await serve_spdy(read, write, open_call, describe)
    finally:
        if request.transport is not None:
            request.transport.close()
    return response
