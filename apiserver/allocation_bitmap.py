"""The allocation bitmap behind cluster IPs and node ports (Kubernetes' pkg/registry/core/service/allocator).

A range of ``size`` values (IPs of the service CIDR, ports of the node-port range) is one bit per value: 1 =
allocated. Kubernetes keeps the bits in a ``big.Int`` and stores ``Int.Bytes()`` (big-endian, no leading zeros) in a
``RangeAllocation`` object in etcd; a Python ``int`` is the same thing, so :meth:`AllocationBitmap.to_bytes` and
:meth:`AllocationBitmap.from_bytes` give the very same bytes.

Picking a free value is Kubernetes' ``randomScanStrategyWithOffset``: the range is split at ``offset`` into a
small lower band, kept for values users ask for by number (the ``kubernetes`` Service's 10.96.0.1, a hand-picked
nodePort), and the upper band, from which dynamic allocation picks first: a random start, then the first free
value scanning forward (wrapping). Only when the upper band is full does it scan the lower band.

Everything here is pure (the random source is passed in), so every rule has a unit test.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


def range_offset(size: int, minimum: int, maximum: int, step: int) -> int:
    """Kubernetes' calculateRangeOffset: size/step, clamped to [minimum, maximum]; 0 for a range under minimum."""
    if size < minimum:
        return 0
    return max(minimum, min(maximum, size // step))


@dataclass
class AllocationBitmap:
    """``size`` values numbered 0..size-1; ``bits`` has bit i set when value i is allocated."""

    size: int
    offset: int = 0
    bits: int = 0

    def has(self, index: int) -> bool:
        return bool(self.bits >> index & 1)

    def allocate(self, index: int) -> bool:
        """Mark ``index`` allocated; False if it already was (or is outside the range)."""
        if not 0 <= index < self.size or self.has(index):
            return False
        self.bits |= 1 << index
        return True

    def release(self, index: int) -> None:
        if 0 <= index < self.size:
            self.bits &= ~(1 << index)

    def count(self) -> int:
        return self.bits.bit_count()

    def free(self) -> int:
        return self.size - self.count()

    def allocated(self) -> list[int]:
        bits, found, index = self.bits, [], 0
        while bits:
            if bits & 1:
                found.append(index)
            bits >>= 1
            index += 1
        return found

    def next_free(self, rng: random.Random) -> int | None:
        """The value dynamic allocation takes (not yet marked): upper band first, random start; None if full."""
        upper = self.size - self.offset
        if upper > 0:
            found = self._scan(self.offset, upper, rng.randrange(upper))
            if found is not None:
                return found
        if self.offset > 0:
            return self._scan(0, self.offset, rng.randrange(self.offset))
        return None

    def _scan(self, base: int, length: int, start: int) -> int | None:
        for i in range(length):
            at = base + (start + i) % length
            if not self.has(at):
                return at
        return None

    def copy(self) -> AllocationBitmap:
        return AllocationBitmap(self.size, self.offset, self.bits)

    def to_bytes(self) -> bytes:
        """big.Int.Bytes(): big-endian, without leading zero bytes (empty for no allocation)."""
        return self.bits.to_bytes((self.bits.bit_length() + 7) // 8, "big")

    @classmethod
    def from_bytes(cls, data: bytes, size: int, offset: int = 0) -> AllocationBitmap:
        bits = int.from_bytes(data, "big") & ((1 << size) - 1)
        return cls(size, offset, bits)
