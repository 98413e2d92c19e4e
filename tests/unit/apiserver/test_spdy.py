"""SPDY/3.1 framing (apiserver/http_api/spdy.py): byte vectors from the SPDY/3.1 draft's frame layouts, header blocks
through the shared zlib contexts, and input split anywhere."""

from __future__ import annotations

import struct
import zlib

import pytest

from apiserver.http_api import spdy
from apiserver.http_api.spdy import (
    DataFrame,
    Framer,
    GoAway,
    HeadersFrame,
    Ping,
    RstStream,
    Settings,
    SynReply,
    SynStream,
    WindowUpdate,
)

VECTORS = [
    (Ping(1), "80030006 00000004 00000001"),
    (DataFrame(3, b"hi", fin=True), "00000003 01000002 6869"),
    (DataFrame(5), "00000005 00000000"),
    (RstStream(5, spdy.CANCEL), "80030003 00000008 00000005 00000005"),
    (WindowUpdate(1, 32768), "80030009 00000008 00000001 00008000"),
    (WindowUpdate(0, 65536), "80030009 00000008 00000000 00010000"),
    (Settings({spdy.SETTINGS_INITIAL_WINDOW_SIZE: 65536}), "80030004 0000000c 00000001 00000007 00010000"),
    (GoAway(7, 0), "80030007 00000008 00000007 00000000"),
]


@pytest.mark.parametrize(("frame", "wire"), VECTORS, ids=[type(f).__name__ for f, _ in VECTORS])
def test_frames_without_headers_match_the_wire_layout(frame: spdy.Frame, wire: str) -> None:
    raw = bytes.fromhex(wire.replace(" ", ""))
    assert Framer().encode(frame) == raw
    assert Framer().feed(raw) == [frame]


def test_the_header_dictionary_is_spdy3s() -> None:
    assert len(spdy.DICTIONARY) == 1423
    assert spdy.DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert spdy.DICTIONARY.endswith(b"utf-,*,enq=0.")
    assert zlib.adler32(spdy.DICTIONARY) == 0xE3C6A7C2


def test_a_header_block_is_counted_length_prefixed_pairs_with_lowercase_names() -> None:
    block = spdy.encode_header_block({"StreamType": "data", "port": "8080"})
    assert block == (b"\x00\x00\x00\x02" + b"\x00\x00\x00\x0astreamtype" + b"\x00\x00\x00\x04data"
                     + b"\x00\x00\x00\x04port" + b"\x00\x00\x00\x048080")
    assert spdy.decode_header_block(block) == {"streamtype": "data", "port": "8080"}


def test_an_uppercase_header_name_is_a_protocol_error() -> None:
    block = b"\x00\x00\x00\x01\x00\x00\x00\x04Port\x00\x00\x00\x01x"
    with pytest.raises(spdy.ProtocolError, match="not lowercase"):
        spdy.decode_header_block(block)


def test_a_truncated_header_block_is_a_protocol_error() -> None:
    with pytest.raises(spdy.ProtocolError, match="truncated"):
        spdy.decode_header_block(b"\x00\x00\x00\x01\x00\x00\x00\x09port")


def test_syn_stream_layout_and_its_header_block_compressed_with_the_dictionary() -> None:
    headers = {"streamtype": "error", "port": "8080", "requestid": "0"}
    raw = Framer().encode(SynStream(1, headers, priority=2, fin=True))
    first, second, stream_id, associated, priority, slot = struct.unpack_from(">LLLLBB", raw)
    assert first == 0x80030001 and second >> 24 == spdy.FLAG_FIN and second & 0xFFFFFF == len(raw) - 8
    assert (stream_id, associated, priority, slot) == (1, 0, 2 << 5, 0)
    inflate = zlib.decompressobj(zdict=spdy.DICTIONARY)
    assert inflate.decompress(raw[18:]) == spdy.encode_header_block(headers)


def test_header_blocks_share_one_compression_context_per_direction() -> None:
    sender, receiver = Framer(), Framer()
    frames: list[spdy.Frame] = [
        SynStream(1, {"streamtype": "error", "port": "80"}), SynStream(3, {"streamtype": "data", "port": "80"}),
              SynReply(1, {}), HeadersFrame(3, {"x": "a\x00b"}, fin=True)]
    raws = [sender.encode(frame) for frame in frames]
    assert len(raws[1]) < len(raws[0])  # the second block refers back to the first
    assert receiver.feed(b"".join(raws)) == frames
    with pytest.raises(spdy.ProtocolError):
        Framer().feed(raws[1])  # out of context, the block means nothing


def test_input_split_anywhere_yields_the_same_frames() -> None:
    sender = Framer()
    frames: list[spdy.Frame] = [SynStream(1, {"port": "8080"}), DataFrame(1, b"x" * 1000), Ping(3),
                                DataFrame(1, b"", fin=True)]
    raw = b"".join(sender.encode(frame) for frame in frames)
    receiver = Framer()
    got = [frame for i in range(len(raw)) for frame in receiver.feed(raw[i:i + 1])]
    assert got == frames


def test_unknown_control_frames_are_skipped() -> None:
    unknown = struct.pack(">HHL", 0x8003, 0x00FF, 4) + b"\x00\x00\x00\x00"
    assert Framer().feed(unknown + Framer().encode(Ping(2))) == [Ping(2)]


def test_another_spdy_version_is_a_protocol_error() -> None:
    with pytest.raises(spdy.ProtocolError, match="version 2"):
        Framer().feed(struct.pack(">HHL", 0x8002, spdy.PING, 4) + b"\x00\x00\x00\x01")


def test_a_short_control_frame_is_a_protocol_error() -> None:
    with pytest.raises(spdy.ProtocolError, match="too short"):
        Framer().feed(struct.pack(">HHL", 0x8003, spdy.RST_STREAM, 4) + b"\x00\x00\x00\x01")
