"""Node ports from the node-port range (Kubernetes' pkg/registry/core/service/portallocator).

``--service-node-port-range`` (default 30000-32767) maps onto bitmap indexes: port = base + index. Like cluster IPs,
the range has a static lower band for ports users choose by number (size/32 clamped to [16, 128]: 86 ports,
30000-30085, by default); random allocation picks from the rest first.

Errors carry Kubernetes' texts, which the service REST layer wraps as
``spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from apiserver.allocation_bitmap import AllocationBitmap, range_offset
from apiserver.ipallocator import AllocationError, ErrAllocated, ErrFull

__all__ = ["AllocationError", "ErrAllocated", "ErrFull", "ErrPortNotInRange", "PortRange", "allocate_next_port",
           "allocate_port", "release_port"]


class ErrPortNotInRange(AllocationError):
    def __init__(self, valid_range: str) -> None:
        super().__init__(f"provided port is not in the valid range. The range of valid ports is {valid_range}")


@dataclass(frozen=True)
class PortRange:
    """An inclusive port range, e.g. ``PortRange.parse("30000-32767")``."""

    base: int
    size: int

    @classmethod
    def parse(cls, text: str) -> PortRange:
        """``low-high`` (or ``low+count``, as Kubernetes' PortRange.Set accepts); ValueError if malformed."""
        if "+" in text:
            low, _, count = text.partition("+")
            base, size = int(low), int(count) + 1
        else:
            low, _, high = text.partition("-")
            base = int(low)
            size = int(high or low) - base + 1
        if base < 1 or size < 1 or base + size - 1 > 65535:
            raise ValueError(f"invalid port range {text!r}")
        return cls(base, size)

    @property
    def spec(self) -> str:
        return f"{self.base}-{self.base + self.size - 1}"

    @property
    def offset(self) -> int:
        return range_offset(self.size, 16, 128, 32)

    def new_bitmap(self) -> AllocationBitmap:
        return AllocationBitmap(self.size, self.offset)

    def index(self, port: int) -> int:
        index = int(port) - self.base
        if not 0 <= index < self.size:
            raise ErrPortNotInRange(self.spec)
        return index

    def contains(self, port: int) -> bool:
        return 0 <= int(port) - self.base < self.size


def allocate_port(bitmap: AllocationBitmap, port_range: PortRange, port: int) -> None:
    if not bitmap.allocate(port_range.index(port)):
        raise ErrAllocated("port")


def allocate_next_port(bitmap: AllocationBitmap, port_range: PortRange, rng: random.Random) -> int:
    index = bitmap.next_free(rng)
    if index is None:
        raise ErrFull()
    bitmap.allocate(index)
    return port_range.base + index


def release_port(bitmap: AllocationBitmap, port_range: PortRange, port: int) -> None:
    if port_range.contains(port):
        bitmap.release(port_range.index(port))
