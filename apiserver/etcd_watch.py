"""One raw etcd watch on a key prefix, yielding batches of changes with the revision they reach.

The watch cache needs control aetcd's watcher hides (prev_kv, the exact revision of each batch,
cancellation of one stream), so this module opens the Watch bidi-stream itself through aetcd's
channel and yields `WatchBatch`es in revision order. Guarantees: every change under the prefix
after `start_revision` is delivered exactly once, in order, or the iterator raises (`Compacted`
when the start is too old, an ApiError/grpc error when the stream breaks) and the caller
re-establishes from a new list.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
from aetcd import rpc

from apiserver.storage import Compacted, KeyValue, prefix_end

_PUT = rpc.Event.EventType.Value("PUT")


@dataclass(frozen=True)
class Change:
    """One key change: value None means deleted (prev holds the last value when known)."""

    key: str
    value: bytes | None
    revision: int
    prev: KeyValue | None


@dataclass(frozen=True)
class WatchBatch:
    changes: list[Change]
    revision: int  # every change under the prefix up to this revision has been delivered


class EtcdWatch:
    """Watch every key under `prefix` from `start_revision` (inclusive). Use as an async iterator."""

    def __init__(self, channel: grpc.aio.Channel, prefix: str, start_revision: int) -> None:
        self._stub = rpc.WatchStub(channel)
        self._prefix = prefix
        self._start = start_revision
        self._requests: asyncio.Queue[rpc.WatchRequest | None] = asyncio.Queue()
        self._call: grpc.aio.StreamStreamCall | None = None

    def cancel(self) -> None:
        self._requests.put_nowait(None)
        if self._call is not None:
            self._call.cancel()

    async def _outgoing(self) -> AsyncIterator[rpc.WatchRequest]:
        create = rpc.WatchCreateRequest(
            key=self._prefix.encode(), range_end=prefix_end(self._prefix),
            start_revision=self._start, prev_kv=True,
        )
        yield rpc.WatchRequest(create_request=create)
        while (request := await self._requests.get()) is not None:
            yield request

    async def __aiter__(self) -> AsyncIterator[WatchBatch]:
        self._call = self._stub.Watch(self._outgoing())
        async for response in self._call:
            if response.compact_revision:
                raise Compacted(int(response.compact_revision))
            if response.canceled:
                raise ConnectionError(f"etcd canceled the watch: {response.cancel_reason}")
            if response.created and not response.events:
                continue
            changes = [_change(e) for e in response.events]
            if not changes:
                continue  # progress notification: untrustworthy before etcd 3.4.26 (etcd #15220)
            # While catching up, etcd stamps every batch with its *current* revision although more
            # history may follow, so a batch only vouches for its last change.
            yield WatchBatch(changes, changes[-1].revision)


def _change(event: rpc.Event) -> Change:
    kv = event.kv
    prev = event.prev_kv
    prev_kv = KeyValue(prev.key.decode(), prev.value, prev.mod_revision, prev.create_revision) if prev.key else None
    value = kv.value if event.type == _PUT else None
    return Change(kv.key.decode(), value, int(kv.mod_revision), prev_kv)
