"""etcd storage: bytes under keys, guarded by mod revisions.

This is the only module that talks to etcd. It knows nothing about kinds or JSON: it stores
values under keys and answers with etcd revisions, which the registry turns into
`metadata.resourceVersion`. Its guarantees are etcd's:

- every write is a single transaction that compares the key's mod revision, so a create of an
  existing key, or an update/delete with a stale revision, changes nothing and reports the
  current value (`RevisionMismatch`);
- the revision returned by a write is the revision at which the new value is visible;
- a range read at revision R sees exactly the state after R (used to page `continue` tokens
  from one snapshot); if R was compacted, `Compacted` is raised.

aetcd manages the connection; the raw KV stub is used for ranges because aetcd's helpers lack
`limit` and `revision`. Watching lives in `etcd_watch.py`.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import aetcd
import grpc
from aetcd import rpc

from apimachinery import errors

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 256 * 1024 * 1024  # a LIST of many objects in one etcd range response
_EQUAL = rpc.Compare.CompareResult.Value("EQUAL")
_MOD = rpc.Compare.CompareTarget.Value("MOD")


@dataclass(frozen=True)
class KeyValue:
    key: str
    value: bytes
    mod_revision: int
    create_revision: int


class RevisionMismatch(Exception):
    """The key's revision was not the expected one; `current` is what is stored now (None: absent)."""

    def __init__(self, current: KeyValue | None, revision: int) -> None:
        super().__init__("revision mismatch")
        self.current = current
        self.revision = revision


class Compacted(Exception):
    """The requested revision is older than etcd's compaction point."""

    def __init__(self, compact_revision: int) -> None:
        super().__init__(f"revision compacted below {compact_revision}")
        self.compact_revision = compact_revision


@dataclass(frozen=True)
class RangeResult:
    kvs: list[KeyValue]
    revision: int  # the snapshot revision the range was read at
    more: bool
    count: int  # keys in the whole range at that revision (from the first key requested)


def prefix_end(prefix: str) -> bytes:
    """The etcd range end that covers every key starting with `prefix`."""
    raw = bytearray(prefix.encode())
    raw[-1] += 1
    return bytes(raw)


def _kv(raw: rpc.KeyValue) -> KeyValue:
    return KeyValue(raw.key.decode(), raw.value, raw.mod_revision, raw.create_revision)


class EtcdStorage:
    """Compare-and-swap storage over one etcd endpoint ("host:port")."""

    def __init__(self, endpoint: str, timeout: float = 10.0) -> None:
        host, _, port = endpoint.rpartition(":")
        self.endpoint = endpoint
        self.timeout = timeout
        self._client = aetcd.Client(host=host or "127.0.0.1", port=int(port), options={
            "grpc.max_receive_message_length": MAX_RESPONSE_BYTES})

    async def connect(self) -> None:
        await self._client.connect()

    async def close(self) -> None:
        await self._client.close()

    @property
    def channel(self) -> grpc.aio.Channel:
        return self._client.channel

    async def _call(self, method: str, request: object) -> object:
        await self._client.connect()
        try:
            return await getattr(self._client.kvstub, method)(request, timeout=self.timeout)
        except grpc.aio.AioRpcError as e:
            raise _translate(e) from e

    async def current_revision(self) -> int:
        """The cluster's current revision (a cheap count-only range)."""
        response = await self._call("Range", rpc.RangeRequest(key=b"\0", count_only=True))
        return int(response.header.revision)  # type: ignore[attr-defined]

    async def get(self, key: str) -> KeyValue | None:
        response = await self._call("Range", rpc.RangeRequest(key=key.encode()))
        kvs = response.kvs  # type: ignore[attr-defined]
        return _kv(kvs[0]) if kvs else None

    async def range(self, start: str, end: bytes, *, limit: int = 0, revision: int = 0) -> RangeResult:
        """Keys in [start, end) at `revision` (0 = now), at most `limit` (0 = all)."""
        request = rpc.RangeRequest(key=start.encode(), range_end=end, limit=limit, revision=revision)
        response = await self._call("Range", request)
        return RangeResult(
            kvs=[_kv(kv) for kv in response.kvs],  # type: ignore[attr-defined]
            revision=revision or int(response.header.revision),  # type: ignore[attr-defined]
            more=bool(response.more),  # type: ignore[attr-defined]
            count=int(response.count),  # type: ignore[attr-defined]
        )

    async def create(self, key: str, value: bytes) -> int:
        """Put `value` only if `key` does not exist; returns the new revision."""
        return await self._put_if(key, value, expected_revision=0)

    async def update(self, key: str, value: bytes, expected_revision: int) -> int:
        """Put `value` only if the key is at `expected_revision`; returns the new revision."""
        if expected_revision <= 0:
            raise ValueError("update needs the expected mod revision of an existing key")
        return await self._put_if(key, value, expected_revision)

    async def delete(self, key: str, expected_revision: int) -> int:
        """Delete only if the key is at `expected_revision`; returns the deletion revision."""
        compare = rpc.Compare(result=_EQUAL, target=_MOD, key=key.encode(), mod_revision=expected_revision)
        op = rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=key.encode()))
        return await self._txn(key, compare, op)

    async def _put_if(self, key: str, value: bytes, expected_revision: int) -> int:
        compare = rpc.Compare(result=_EQUAL, target=_MOD, key=key.encode(), mod_revision=expected_revision)
        op = rpc.RequestOp(request_put=rpc.PutRequest(key=key.encode(), value=value))
        return await self._txn(key, compare, op)

    async def _txn(self, key: str, compare: rpc.Compare, op: rpc.RequestOp) -> int:
        on_failure = rpc.RequestOp(request_range=rpc.RangeRequest(key=key.encode()))
        request = rpc.TxnRequest(compare=[compare], success=[op], failure=[on_failure])
        response = await self._call("Txn", request)
        revision = int(response.header.revision)  # type: ignore[attr-defined]
        if response.succeeded:  # type: ignore[attr-defined]
            log.debug("etcd write %s at revision %d", key, revision)
            return revision
        kvs = response.responses[0].response_range.kvs  # type: ignore[attr-defined]
        raise RevisionMismatch(_kv(kvs[0]) if kvs else None, revision)

    async def oldest_revision(self) -> int:
        """The oldest revision etcd can still be read at (its compaction point), by binary search."""
        low, high = 1, await self.current_revision()
        while low < high:
            middle = (low + high) // 2
            try:
                await self._call("Range", rpc.RangeRequest(key=b"\0", count_only=True, revision=middle))
                high = middle
            except Compacted:
                low = middle + 1
        return low

    async def put(self, key: str, value: bytes) -> int:
        """Unconditional put, for the apiserver's own bookkeeping keys (never for API objects)."""
        response = await self._call("Put", rpc.PutRequest(key=key.encode(), value=value))
        return int(response.header.revision)  # type: ignore[attr-defined]

    async def compact(self, revision: int) -> None:
        with contextlib.suppress(Compacted):  # someone compacted further already
            await self._call("Compact", rpc.CompactionRequest(revision=revision))

    async def defragment(self) -> None:
        await self._client.defragment()


def _translate(e: grpc.aio.AioRpcError) -> Exception:
    details = e.details() or ""
    if e.code() == grpc.StatusCode.OUT_OF_RANGE and "compacted" in details:
        return Compacted(0)
    if e.code() == grpc.StatusCode.OUT_OF_RANGE and "future revision" in details:
        return errors.ApiError(504, errors.REASON_TIMEOUT, f"Too large resource version: {details}")
    if e.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return errors.unavailable(f"etcd is unavailable: {details}")
    return errors.internal(f"etcd error: {e.code().name}: {details}")
