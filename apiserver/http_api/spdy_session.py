"""One SPDY/3.1 connection, server side (what moby/spdystream is for the kubelet): the client opens streams, the
server accepts (SYN_REPLY) or refuses (RST_STREAM) each, then both sides send data and half-close (FIN).

The connection runs over any byte transport: ``read()`` returns the next bytes (``b""`` at the end) and ``write``
sends bytes — websocket binary messages for the KEP-4006 tunnel, a raw upgraded HTTP connection otherwise.

- PINGs the client starts (odd ids) are echoed; GOAWAY means no new streams; RST_STREAM ends a stream at once.
- Flow control (SPDY/3.1): every stream, and the session as a whole (stream id 0), has a 64 KiB window the receiver
  reopens with WINDOW_UPDATE. The server sends WINDOW_UPDATEs as the handler reads. It enforces the client's windows
  only once the client has shown it does flow control (a WINDOW_UPDATE or an initial-window SETTING):
  spdystream — the client of every Kubernetes tool — never sends WINDOW_UPDATE and ignores the ones it gets,
  relying on the transport's back-pressure, as this server then does too (every write is awaited).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from apiserver.http_api import spdy

log = logging.getLogger(__name__)
Read = Callable[[], Awaitable[bytes]]
Write = Callable[[bytes], Awaitable[None]]
Accept = Callable[[spdy.Headers], str | None]  # the headers of a new stream -> None (accept) or why it is refused
MAX_CHUNK = 32 * 1024


class SpdyStream:
    """One stream the client opened: ``read()`` until ``b""`` (FIN or reset), ``write``, ``close()`` (our FIN)."""

    def __init__(self, session: SpdySession, stream_id: int, headers: spdy.Headers) -> None:
        self.session, self.id, self.headers = session, stream_id, headers
        self.send_window = session.initial_send_window
        self.local_closed = self.is_reset = False
        self._inbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._ended = False
        self._unacked = 0

    def _deliver(self, data: bytes) -> None:
        if not self._ended:
            self._inbox.put_nowait(data)
            self._ended = not data

    async def read(self) -> bytes:
        data = await self._inbox.get()
        if not data:
            self._inbox.put_nowait(b"")  # every later read sees the end too
            return b""
        self._unacked += len(data)
        if self._unacked >= spdy.DEFAULT_WINDOW // 2 and not self.is_reset:
            await self.session.window_update(self.id, self._unacked)
            self._unacked = 0
        return data

    async def write(self, data: bytes) -> None:
        for start in range(0, len(data), MAX_CHUNK):
            await self.session.send_data(self, data[start:start + MAX_CHUNK])

    async def close(self) -> None:
        """Half-close: we send no more data (a DATA frame with FLAG_FIN)."""
        if not self.local_closed and not self.is_reset:
            self.local_closed = True
            with contextlib.suppress(ConnectionError):
                await self.session.send(spdy.DataFrame(self.id, b"", fin=True))

    async def reset(self, status: int = spdy.CANCEL) -> None:
        if not self.is_reset:
            self._reset()
            with contextlib.suppress(ConnectionError):
                await self.session.send(spdy.RstStream(self.id, status))

    def _reset(self) -> None:
        self.is_reset = True
        self._deliver(b"")
        self.session.forget(self)


class SpdySession:
    def __init__(self, read: Read, write: Write, accept: Accept) -> None:
        self._read, self._write, self._accept = read, write, accept
        self._framer = spdy.Framer()
        self._send_lock = asyncio.Lock()  # frames are encoded (header compression!) and sent in one order
        self._windows = asyncio.Condition()
        self.streams: dict[int, SpdyStream] = {}
        self.incoming: asyncio.Queue[SpdyStream | None] = asyncio.Queue()
        self.last_stream_id = 0
        self.initial_send_window = spdy.DEFAULT_WINDOW
        self.session_send_window = spdy.DEFAULT_WINDOW
        self.flow_control = False
        self.closed = False
        self._unacked = 0

    async def send(self, frame: spdy.Frame) -> None:
        async with self._send_lock:
            if self.closed:
                raise ConnectionError("the SPDY connection is closed")
            await self._write(self._framer.encode(frame))

    async def send_data(self, stream: SpdyStream, data: bytes) -> None:
        while data:
            size = await self._reserve(stream, len(data))
            await self.send(spdy.DataFrame(stream.id, data[:size]))
            data = data[size:]

    async def _reserve(self, stream: SpdyStream, wanted: int) -> int:
        """How much of ``wanted`` may be sent now (waiting for a window when the client does flow control)."""
        if stream.local_closed or stream.is_reset:
            raise ConnectionError(f"SPDY stream {stream.id} is closed")
        if not self.flow_control:
            return wanted
        async with self._windows:
            await self._windows.wait_for(lambda: (stream.send_window > 0 and self.session_send_window > 0)
                                         or stream.is_reset or self.closed)
            if stream.is_reset or self.closed:
                raise ConnectionError(f"SPDY stream {stream.id} is closed")
            size = min(wanted, stream.send_window, self.session_send_window)
            stream.send_window -= size
            self.session_send_window -= size
            return size

    async def window_update(self, stream_id: int, delta: int) -> None:
        with contextlib.suppress(ConnectionError):
            await self.send(spdy.WindowUpdate(stream_id, delta))
            self._unacked += delta
            if self._unacked >= spdy.DEFAULT_WINDOW // 2:
                await self.send(spdy.WindowUpdate(0, self._unacked))
                self._unacked = 0

    def forget(self, stream: SpdyStream) -> None:
        self.streams.pop(stream.id, None)

    async def accept(self) -> SpdyStream | None:
        """The next stream the client opened and we accepted; None once the connection has ended."""
        stream = await self.incoming.get()
        if stream is None:
            self.incoming.put_nowait(None)
        return stream

    async def run(self) -> None:
        """Read frames until the transport ends or the client breaks the protocol; then every stream ends."""
        try:
            while data := await self._read():
                for frame in self._framer.feed(data):
                    await self._handle(frame)
        except spdy.ProtocolError as e:
            log.warning("SPDY connection closed: %s", e)
            with contextlib.suppress(ConnectionError):
                await self.send(spdy.GoAway(self.last_stream_id, 1))
        finally:
            await self._end()

    async def _end(self) -> None:
        async with self._send_lock:
            self.closed = True
        for stream in list(self.streams.values()):
            stream._reset()
        self.incoming.put_nowait(None)
        async with self._windows:
            self._windows.notify_all()

    async def _handle(self, frame: spdy.Frame) -> None:
        if isinstance(frame, spdy.SynStream):
            await self._open(frame)
        elif isinstance(frame, spdy.DataFrame):
            stream = self.streams.get(frame.stream_id)
            if stream is not None:
                if frame.data:
                    stream._deliver(frame.data)
                if frame.fin:
                    stream._deliver(b"")
        elif isinstance(frame, spdy.RstStream):
            stream = self.streams.get(frame.stream_id)
            if stream is not None:
                stream._reset()
        elif isinstance(frame, spdy.Ping):
            if frame.id % 2 == 1:  # the client's ping (server pings carry even ids)
                await self.send(frame)
        elif isinstance(frame, spdy.WindowUpdate | spdy.Settings):
            await self._flow_control(frame)
        elif isinstance(frame, spdy.GoAway):
            log.debug("SPDY client sent GOAWAY (last stream %d)", frame.last_good_stream_id)

    async def _open(self, frame: spdy.SynStream) -> None:
        if frame.stream_id % 2 == 0 or frame.stream_id <= self.last_stream_id:
            await self.send(spdy.RstStream(frame.stream_id, spdy.PROTOCOL_ERROR))
            return
        self.last_stream_id = frame.stream_id
        refused = self._accept(frame.headers)
        if refused is not None:
            log.info("SPDY stream %d refused: %s", frame.stream_id, refused)
            await self.send(spdy.RstStream(frame.stream_id, spdy.CANCEL))
            return
        stream = SpdyStream(self, frame.stream_id, frame.headers)
        self.streams[stream.id] = stream
        if frame.fin:
            stream._deliver(b"")
        await self.send(spdy.SynReply(stream.id, {}))
        self.incoming.put_nowait(stream)

    async def _flow_control(self, frame: spdy.WindowUpdate | spdy.Settings) -> None:
        async with self._windows:
            if isinstance(frame, spdy.Settings):
                size = frame.values.get(spdy.SETTINGS_INITIAL_WINDOW_SIZE)
                if size is None:
                    return
                for stream in self.streams.values():
                    stream.send_window += size - self.initial_send_window
                self.initial_send_window = size
            elif frame.stream_id == 0:
                self.session_send_window += frame.delta
            elif frame.stream_id in self.streams:
                self.streams[frame.stream_id].send_window += frame.delta
            self.flow_control = True
            self._windows.notify_all()
