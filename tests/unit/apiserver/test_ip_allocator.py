"""The cluster-IP bitmap: index mapping, random scan with a static band, errors, persistence, repair."""

from __future__ import annotations

import random

import pytest

from apiserver.allocation_bitmap import AllocationBitmap, range_offset
from apiserver.ipallocator import (
    ErrAllocated,
    ErrFull,
    ErrNotInRange,
    IPRange,
    allocate_ip,
    allocate_next_ip,
    release_ip,
)
from apiserver.service_repair import cluster_ip_view, rebuild


def svc(name: str, ip: str, type_: str = "ClusterIP") -> dict:
    return {"metadata": {"name": name, "namespace": "default"}, "spec": {"type": type_, "clusterIP": ip}}


def test_a_16_holds_every_address_but_network_and_broadcast() -> None:
    r = IPRange.parse("10.96.0.0/16")
    assert r.size == 65534 and r.offset == 256
    assert r.first() == "10.96.0.1" and r.index("10.96.0.1") == 0
    assert r.ip(r.size - 1) == "10.96.255.254"
    for outside in ("10.96.0.0", "10.96.255.255", "10.97.0.1", "not-an-ip"):
        with pytest.raises(ErrNotInRange):
            r.index(outside)


def test_range_offset_is_clamped() -> None:
    assert range_offset(8, 16, 256, 16) == 0
    assert range_offset(64, 16, 256, 16) == 16
    assert range_offset(2048, 16, 256, 16) == 128
    assert range_offset(65536, 16, 256, 16) == 256


def test_user_ip_taken_twice_and_out_of_range_messages() -> None:
    r = IPRange.parse("10.96.0.0/16")
    bitmap = r.new_bitmap()
    allocate_ip(bitmap, r, "10.96.0.5")
    with pytest.raises(ErrAllocated, match=r"^provided IP is already allocated$"):
        allocate_ip(bitmap, r, "10.96.0.5")
    with pytest.raises(ErrNotInRange) as caught:
        allocate_ip(bitmap, r, "10.0.0.5")
    assert str(caught.value) == ("the provided IP (10.0.0.5) is not in the valid range. The range of valid IPs is "
                                 "10.96.0.0/16")


def test_random_allocation_prefers_the_upper_band_and_never_repeats() -> None:
    r = IPRange.parse("10.96.0.0/24")  # 254 addresses, offset 16
    bitmap, rng = r.new_bitmap(), random.Random(1)
    first = [allocate_next_ip(bitmap, r, rng) for _ in range(r.size - r.offset)]
    assert len(set(first)) == len(first)
    assert all(r.index(ip) >= r.offset for ip in first)
    rest = [allocate_next_ip(bitmap, r, rng) for _ in range(r.offset)]
    assert sorted(r.index(ip) for ip in rest) == list(range(r.offset))
    with pytest.raises(ErrFull, match="range is full"):
        allocate_next_ip(bitmap, r, rng)


def test_release_frees_and_ignores_foreign_addresses() -> None:
    r = IPRange.parse("10.96.0.0/28")
    bitmap = r.new_bitmap()
    allocate_ip(bitmap, r, "10.96.0.3")
    release_ip(bitmap, r, "10.96.0.3")
    release_ip(bitmap, r, "192.168.0.1")
    assert bitmap.count() == 0


def test_bitmap_bytes_round_trip_like_big_int() -> None:
    bitmap = AllocationBitmap(100)
    for i in (0, 9, 99):
        bitmap.allocate(i)
    data = bitmap.to_bytes()
    assert data[-1] & 1 and len(data) == 13
    assert AllocationBitmap.from_bytes(data, 100).allocated() == [0, 9, 99]
    assert AllocationBitmap(8).to_bytes() == b""


def test_repair_marks_used_reports_duplicates_and_out_of_range() -> None:
    r = IPRange.parse("10.96.0.0/16")
    snapshot = r.new_bitmap()
    result = rebuild([svc("a", "10.96.0.10"), svc("b", "10.96.0.10"), svc("c", "10.0.0.1"),
                      svc("h", "None"), svc("e", "", "ExternalName")], cluster_ip_view(r), snapshot, {})
    assert result.bitmap.allocated() == [r.index("10.96.0.10")]
    text = "\n".join(result.problems)
    assert "10.96.0.10 for service default/a is not allocated; repairing" in text
    assert "10.96.0.10 for service default/b was assigned to multiple services" in text
    assert "10.0.0.1 for service default/c is not within the range 10.96.0.0/16" in text


def test_repair_releases_a_leak_on_the_third_run() -> None:
    r = IPRange.parse("10.96.0.0/16")
    snapshot = r.new_bitmap()
    allocate_ip(snapshot, r, "10.96.0.20")
    leaks: dict[int, int] = {}
    for _ in range(2):
        result = rebuild([], cluster_ip_view(r), snapshot, leaks)
        assert result.bitmap.has(r.index("10.96.0.20"))
        snapshot, leaks = result.bitmap, result.leaks
    result = rebuild([], cluster_ip_view(r), snapshot, leaks)
    assert result.bitmap.count() == 0 and result.leaks == {}
