"""SPDY/3.1 framing: frames to bytes and bytes to frames, nothing else (no sockets, no asyncio).

`kubectl port-forward` speaks SPDY/3.1 (the draft protocol HTTP/2 grew out of), either tunnelled in websocket binary
messages (subprotocol ``SPDY/3.1+portforward.k8s.io``, KEP-4006) or over a raw ``Upgrade: SPDY/3.1`` connection.
Kubernetes' side of it is moby/spdystream; this is the same wire format, written from the SPDY/3.1 draft:

- every frame has an 8-byte header. A control frame: ``1 | version (15 bits) | type (16 bits)``, then
  ``flags (8) | length (24)``. A data frame: ``0 | stream id (31 bits)``, then ``flags (8) | length (24)``.
- control frames: SYN_STREAM (open a stream, with headers), SYN_REPLY (accept it, with headers), RST_STREAM (abort
  it), SETTINGS, PING (echoed by the receiver), GOAWAY (no new streams), HEADERS, WINDOW_UPDATE (flow control).
- FLAG_FIN on SYN_STREAM/SYN_REPLY/DATA half-closes the sender's side of the stream.
- header blocks (``count``, then ``len name len value`` pairs, 32-bit lengths, lowercase names, several values of
  one name joined by NUL) are zlib-compressed with SPDY's preset dictionary; each direction of a connection keeps
  one compression context for its whole life, flushed (Z_SYNC_FLUSH) after every block. So the order in which
  frames are encoded must be the order in which they are sent.

`Framer` holds both contexts: `encode(frame) -> bytes` and `feed(bytes) -> [frames]` (any split of the input).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN, FLAG_UNIDIRECTIONAL = 0x01, 0x02
# RST_STREAM status codes.
PROTOCOL_ERROR, INVALID_STREAM, REFUSED_STREAM, UNSUPPORTED_VERSION, CANCEL, INTERNAL_ERROR = 1, 2, 3, 4, 5, 6
FLOW_CONTROL_ERROR, STREAM_IN_USE, STREAM_ALREADY_CLOSED = 7, 8, 9
SETTINGS_INITIAL_WINDOW_SIZE = 7
DEFAULT_WINDOW = 64 * 1024
MAX_LENGTH = (1 << 24) - 1
STREAM_ID_MASK = 0x7FFFFFFF

# The preset zlib dictionary of SPDY/3 header blocks: 65 length-prefixed words, then a run of common values.
_WORDS = (
    "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding",
    "accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection",
    "content-base", "content-encoding", "content-language", "content-length", "content-location", "content-md5",
    "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host", "if-match",
    "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified", "location",
    "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer", "retry-after", "server",
    "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via", "warning", "www-authenticate",
    "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin",
)
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)
DICTIONARY = b"".join(struct.pack(">L", len(w)) + w.encode() for w in _WORDS) + _TAIL.encode()

Headers = dict[str, str]  # lowercase name -> value (several values joined by NUL)


class ProtocolError(Exception):
    """The peer sent something that is not SPDY/3.1; the connection cannot continue."""


@dataclass(frozen=True)
class DataFrame:
    stream_id: int
    data: bytes = b""
    fin: bool = False


@dataclass(frozen=True)
class SynStream:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    associated_to: int = 0
    priority: int = 0  # 0 (highest) .. 7
    fin: bool = False
    unidirectional: bool = False


@dataclass(frozen=True)
class SynReply:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    fin: bool = False


@dataclass(frozen=True)
class RstStream:
    stream_id: int
    status: int


@dataclass(frozen=True)
class Settings:
    values: dict[int, int] = field(default_factory=dict)  # setting id -> value
    clear: bool = False


@dataclass(frozen=True)
class Ping:
    id: int


@dataclass(frozen=True)
class GoAway:
    last_good_stream_id: int
    status: int = 0


@dataclass(frozen=True)
class HeadersFrame:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    fin: bool = False


@dataclass(frozen=True)
class WindowUpdate:
    stream_id: int  # 0: the whole session (SPDY/3.1)
    delta: int


Frame = DataFrame | SynStream | SynReply | RstStream | Settings | Ping | GoAway | HeadersFrame | WindowUpdate


def encode_header_block(headers: Headers) -> bytes:
    """The uncompressed block: count, then (name length, name, value length, value), 32-bit big-endian lengths."""
    out = [struct.pack(">L", len(headers))]
    for name, value in headers.items():
        raw_name, raw_value = name.lower().encode(), value.encode()
        out += [struct.pack(">L", len(raw_name)), raw_name, struct.pack(">L", len(raw_value)), raw_value]
    return b"".join(out)


def decode_header_block(block: bytes) -> Headers:
    def take(offset: int) -> tuple[bytes, int]:
        if offset + 4 > len(block):
            raise ProtocolError("truncated header block")
        (size,) = struct.unpack_from(">L", block, offset)
        end = offset + 4 + size
        if end > len(block):
            raise ProtocolError("truncated header block")
        return block[offset + 4:end], end

    if len(block) < 4:
        raise ProtocolError("truncated header block")
    (count,) = struct.unpack_from(">L", block)
    headers: Headers = {}
    offset = 4
    for _ in range(count):
        name, offset = take(offset)
        value, offset = take(offset)
        if name != name.lower() or not name:
            raise ProtocolError(f"header name {name!r} is empty or not lowercase")
        headers[name.decode()] = value.decode("utf-8", "replace")
    return headers


def _control(kind: int, flags: int, payload: bytes) -> bytes:
    if len(payload) > MAX_LENGTH:
        raise ValueError("frame too long")
    return struct.pack(">HHL", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload


class Framer:
    """One connection's framing state: the outgoing and incoming header compression contexts and unparsed input."""

    def __init__(self) -> None:
        self._compressor = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
        self._decompressor = zlib.decompressobj(zdict=DICTIONARY)
        self._buffer = bytearray()

    def _headers(self, headers: Headers) -> bytes:
        return self._compressor.compress(encode_header_block(headers)) + self._compressor.flush(zlib.Z_SYNC_FLUSH)

    def encode(self, frame: Frame) -> bytes:
        if isinstance(frame, DataFrame):
            if len(frame.data) > MAX_LENGTH:
                raise ValueError("frame too long")
            flags = FLAG_FIN if frame.fin else 0
            return struct.pack(">LL", frame.stream_id & STREAM_ID_MASK, (flags << 24) | len(frame.data)) + frame.data
        if isinstance(frame, SynStream):
            flags = (FLAG_FIN if frame.fin else 0) | (FLAG_UNIDIRECTIONAL if frame.unidirectional else 0)
            head = struct.pack(">LLBB", frame.stream_id, frame.associated_to, (frame.priority & 7) << 5, 0)
            return _control(SYN_STREAM, flags, head + self._headers(frame.headers))
        if isinstance(frame, SynReply | HeadersFrame):
            kind = SYN_REPLY if isinstance(frame, SynReply) else HEADERS
            payload = struct.pack(">L", frame.stream_id) + self._headers(frame.headers)
            return _control(kind, FLAG_FIN if frame.fin else 0, payload)
        if isinstance(frame, RstStream):
            return _control(RST_STREAM, 0, struct.pack(">LL", frame.stream_id, frame.status))
        if isinstance(frame, Settings):
            entries = b"".join(struct.pack(">LL", key & 0xFFFFFF, value) for key, value in frame.values.items())
            return _control(SETTINGS, 1 if frame.clear else 0, struct.pack(">L", len(frame.values)) + entries)
        if isinstance(frame, Ping):
            return _control(PING, 0, struct.pack(">L", frame.id))
        if isinstance(frame, GoAway):
            return _control(GOAWAY, 0, struct.pack(">LL", frame.last_good_stream_id, frame.status))
        return _control(WINDOW_UPDATE, 0, struct.pack(">LL", frame.stream_id, frame.delta))

    def feed(self, data: bytes) -> list[Frame]:
        """Every frame completed by ``data`` (a partial frame waits for the next call); unknown control frame types
        are skipped, as the protocol requires."""
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= 8:
            first, second = struct.unpack_from(">LL", self._buffer)
            length = second & 0xFFFFFF
            if len(self._buffer) < 8 + length:
                break
            payload = bytes(self._buffer[8:8 + length])
            del self._buffer[:8 + length]
            frame = self._decode(first, second >> 24, payload)
            if frame is not None:
                frames.append(frame)
        return frames

    def _decode(self, first: int, flags: int, payload: bytes) -> Frame | None:
        if not first & 0x80000000:
            return DataFrame(first & STREAM_ID_MASK, payload, bool(flags & FLAG_FIN))
        version, kind = (first >> 16) & 0x7FFF, first & 0xFFFF
        if version != VERSION:
            raise ProtocolError(f"unsupported SPDY version {version}")
        fin = bool(flags & FLAG_FIN)
        try:
            if kind == SYN_STREAM:
                stream_id, associated, priority = struct.unpack_from(">LLB", payload)
                return SynStream(stream_id & STREAM_ID_MASK, self._inflate(payload[10:]),
                                 associated & STREAM_ID_MASK, priority >> 5, fin, bool(flags & FLAG_UNIDIRECTIONAL))
            if kind in (SYN_REPLY, HEADERS):
                (stream_id,) = struct.unpack_from(">L", payload)
                cls = SynReply if kind == SYN_REPLY else HeadersFrame
                return cls(stream_id & STREAM_ID_MASK, self._inflate(payload[4:]), fin)
            return self._decode_fixed(kind, flags, payload)
        except struct.error:
            raise ProtocolError(f"control frame of type {kind} is too short") from None

    def _decode_fixed(self, kind: int, flags: int, payload: bytes) -> Frame | None:
        if kind == RST_STREAM:
            stream_id, status = struct.unpack_from(">LL", payload)
            return RstStream(stream_id & STREAM_ID_MASK, status)
        if kind == SETTINGS:
            (count,) = struct.unpack_from(">L", payload)
            entries = [struct.unpack_from(">LL", payload, 4 + 8 * i) for i in range(count)]
            return Settings({key & 0xFFFFFF: value for key, value in entries}, bool(flags & 1))
        if kind == PING:
            return Ping(struct.unpack_from(">L", payload)[0])
        if kind == GOAWAY:
            last, status = struct.unpack_from(">LL", payload[:8].ljust(8, b"\0"))  # SPDY/2 peers send 4 bytes
            return GoAway(last & STREAM_ID_MASK, status)
        if kind == WINDOW_UPDATE:
            stream_id, delta = struct.unpack_from(">LL", payload)
            return WindowUpdate(stream_id & STREAM_ID_MASK, delta & STREAM_ID_MASK)
        return None

    def _inflate(self, compressed: bytes) -> Headers:
        try:
            block = self._decompressor.decompress(compressed)
        except zlib.error as e:
            raise ProtocolError(f"header block does not decompress: {e}") from None
        return decode_header_block(block)
