"""Cluster IPs from the service CIDR (Kubernetes' pkg/registry/core/service/ipallocator, bitmap flavour).

The CIDR's addresses map onto bitmap indexes: index 0 is the address after the network address, and the network
and (IPv4) broadcast addresses are never handed out — they are not in the bitmap at all, as in Kubernetes, so they
can neither be allocated nor released. With the default 10.96.0.0/16 that is 10.96.0.1 … 10.96.255.254.

The first address (10.96.0.1) is where the ``kubernetes`` Service lives; it sits in the static lower band (see
:mod:`apiserver.allocation_bitmap`), so random allocation only takes it when the upper band is full, and the
apiserver claims it at start-up before anyone else can.

Errors carry Kubernetes' texts, which the service REST layer wraps as
``spec.clusterIPs: Invalid value: ["10.96.0.5"]: failed to allocate IP 10.96.0.5: provided IP is already allocated``.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass

from apiserver.allocation_bitmap import AllocationBitmap, range_offset


class AllocationError(Exception):
    """An allocation failed; ``str(e)`` is Kubernetes' message."""


class ErrFull(AllocationError):
    def __init__(self) -> None:
        super().__init__("range is full")


class ErrAllocated(AllocationError):
    def __init__(self, what: str = "IP") -> None:
        super().__init__(f"provided {what} is already allocated")


class ErrNotInRange(AllocationError):
    def __init__(self, ip: str, valid_range: str) -> None:
        super().__init__(f"the provided IP ({ip}) is not in the valid range. The range of valid IPs is {valid_range}")


@dataclass(frozen=True)
class IPRange:
    """A service CIDR, e.g. ``IPRange.parse("10.96.0.0/16")``."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network

    @classmethod
    def parse(cls, cidr: str) -> IPRange:
        return cls(ipaddress.ip_network(cidr, strict=False))

    @property
    def spec(self) -> str:
        """The range as RangeAllocation.range stores it."""
        return str(self.network)

    @property
    def size(self) -> int:
        """How many addresses the bitmap holds: all but the network (and, for IPv4, the broadcast) address."""
        total = self.network.num_addresses
        reserved = 2 if self.network.version == 4 else 1
        return max(total - reserved, 0)

    @property
    def offset(self) -> int:
        """The static band for user-chosen IPs: size/16 clamped to [16, 256] (Kubernetes' defaults)."""
        return range_offset(self.network.num_addresses, 16, 256, 16)

    def new_bitmap(self) -> AllocationBitmap:
        return AllocationBitmap(self.size, self.offset)

    def index(self, ip: str) -> int:
        """The bitmap index of ``ip``; ErrNotInRange if the CIDR's usable addresses do not hold it."""
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            raise ErrNotInRange(ip, self.spec) from None
        index = int(address) - int(self.network.network_address) - 1
        if address.version != self.network.version or not 0 <= index < self.size:
            raise ErrNotInRange(ip, self.spec)
        return index

    def ip(self, index: int) -> str:
        return str(self.network.network_address + 1 + index)

    def first(self) -> str:
        """The address reserved for the ``kubernetes`` Service (Kubernetes' GetIndexedIP(cidr, 1))."""
        return self.ip(0)

    def contains(self, ip: str) -> bool:
        try:
            self.index(ip)
        except ErrNotInRange:
            return False
        return True


def allocate_ip(bitmap: AllocationBitmap, ip_range: IPRange, ip: str) -> None:
    """Mark a user-chosen ``ip`` allocated: ErrNotInRange or ErrAllocated otherwise."""
    if not bitmap.allocate(ip_range.index(ip)):
        raise ErrAllocated("IP")


def allocate_next_ip(bitmap: AllocationBitmap, ip_range: IPRange, rng: random.Random) -> str:
    """Take a free address by random scan; ErrFull when there is none."""
    index = bitmap.next_free(rng)
    if index is None:
        raise ErrFull()
    bitmap.allocate(index)
    return ip_range.ip(index)


def release_ip(bitmap: AllocationBitmap, ip_range: IPRange, ip: str) -> None:
    """Free ``ip``; an address outside the range is ignored (Kubernetes' Release does the same)."""
    if ip_range.contains(ip):
        bitmap.release(ip_range.index(ip))
