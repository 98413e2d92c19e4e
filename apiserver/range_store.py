"""An allocation bitmap persisted in etcd (Kubernetes' pkg/registry/core/service/allocator/storage).

One key per range holds a ``RangeAllocation`` object: ``{"range": "10.96.0.0/16", "data": <base64 bitmap>}``
(``/registry/ranges/serviceips`` and ``/registry/ranges/servicenodeports``, Kubernetes' keys). Every change is
read-modify-write with one etcd transaction that compares the key's mod revision, exactly like an API object
update: if another apiserver (or this one, before a restart) wrote in between, the write fails, the current value
comes back with the failure, and the change is re-applied to it. So two creates can never get the same value, even
across apiserver replicas and restarts.

Within one process an ``asyncio.Lock`` serializes the read-modify-write, so concurrent creates queue up instead of
losing compare-and-swap races against each other; the last value written is cached so an allocation costs one etcd
transaction.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import TypeVar

import orjson

from apimachinery import errors
from apiserver.allocation_bitmap import AllocationBitmap
from apiserver.storage import EtcdStorage, KeyValue, RevisionMismatch

T = TypeVar("T")
SERVICE_IPS_KEY = "/registry/ranges/serviceips"
NODE_PORTS_KEY = "/registry/ranges/servicenodeports"


def encode_range(spec: str, bitmap: AllocationBitmap) -> bytes:
    """The stored RangeAllocation object."""
    return orjson.dumps({"apiVersion": "v1", "kind": "RangeAllocation", "metadata": {}, "range": spec,
                         "data": base64.b64encode(bitmap.to_bytes()).decode()})


def decode_range(value: bytes) -> tuple[str, bytes]:
    """(range, bitmap bytes) of a stored RangeAllocation."""
    obj = orjson.loads(value)
    return str(obj.get("range", "")), base64.b64decode(obj.get("data") or "")


class RangeStore:
    """The bitmap of one range, kept in etcd under ``key``."""

    def __init__(self, storage: EtcdStorage, key: str, spec: str, new_bitmap: Callable[[], AllocationBitmap]) -> None:
        self.storage = storage
        self.key = key
        self.spec = spec
        self._new_bitmap = new_bitmap
        self._lock = asyncio.Lock()
        self._cached: tuple[AllocationBitmap, int] | None = None  # (bitmap, mod revision; 0: key absent)

    def _decode(self, kv: KeyValue | None, strict: bool) -> tuple[AllocationBitmap, int]:
        empty = self._new_bitmap()
        if kv is None:
            return empty, 0
        spec, data = decode_range(kv.value)
        if spec != self.spec:
            if strict:
                raise errors.internal(f"the stored range {spec} does not match the configured range {self.spec}; "
                                      "the repair loop rewrites it at apiserver start")
            return empty, kv.mod_revision
        return AllocationBitmap.from_bytes(data, empty.size, empty.offset), kv.mod_revision

    async def snapshot(self) -> tuple[AllocationBitmap, int]:
        """The stored bitmap and its revision, read from etcd now (an unknown range reads as empty)."""
        return self._decode(await self.storage.get(self.key), strict=False)

    async def update(self, change: Callable[[AllocationBitmap], T], dry_run: bool = False) -> T:
        """Apply ``change`` to the current bitmap and store the result; whatever ``change`` raises, nothing is
        written. With ``dry_run`` the result is computed but not stored."""
        async with self._lock:
            while True:
                if self._cached is None:
                    self._cached = self._decode(await self.storage.get(self.key), strict=True)
                bitmap, revision = self._cached
                working = bitmap.copy()
                result = change(working)
                if dry_run or working.bits == bitmap.bits:
                    return result
                try:
                    stored = await self._write(working, revision)
                except RevisionMismatch as e:
                    self._cached = self._decode(e.current, strict=True)
                    continue  # somebody else changed the range: re-apply the change to theirs
                self._cached = (working, stored)
                return result

    async def replace(self, bitmap: AllocationBitmap, expected_revision: int) -> bool:
        """Store ``bitmap`` if the key is still at ``expected_revision`` (the repair loop's write)."""
        async with self._lock:
            try:
                stored = await self._write(bitmap, expected_revision)
            except RevisionMismatch:
                self._cached = None
                return False
            self._cached = (bitmap.copy(), stored)
            return True

    async def _write(self, bitmap: AllocationBitmap, revision: int) -> int:
        value = encode_range(self.spec, bitmap)
        if revision == 0:
            return await self.storage.create(self.key, value)
        return await self.storage.update(self.key, value, revision)
