"""kubelet.host_info reads this machine sanely, and degrades to neutral values when files are missing."""

from __future__ import annotations

import os
import time
from pathlib import Path

from kubelet.host_info import disk_usage, meminfo, observe_host, os_image, pid_counts


def test_observe_host_reads_this_machine(tmp_path: Path):
    obs = observe_host(tmp_path)
    assert obs.cpu_count == os.cpu_count()
    assert obs.memory_bytes > 64 * 1024**2
    assert 0 < obs.memory_available_bytes <= obs.memory_bytes
    assert 0 < obs.disk_available_bytes <= obs.ephemeral_storage_bytes
    assert 0.0 < obs.disk_available_fraction <= 1.0
    assert 0 < obs.pid_available < obs.pid_max
    assert obs.kernel_version and obs.boot_id
    assert obs.runtime_ok  # the caller decides about the runtime


def test_observe_host_is_cheap_enough_for_every_status_update(tmp_path: Path):
    started = time.perf_counter()
    for _ in range(20):
        observe_host(tmp_path)
    assert (time.perf_counter() - started) / 20 < 0.05


def test_meminfo_parses_kb_lines(tmp_path: Path):
    path = tmp_path / "meminfo"
    path.write_text("MemTotal:       16000 kB\nMemAvailable:    8000 kB\nHugePages_Total:       0\n")
    assert meminfo(path) == {"MemTotal": 16000 * 1024, "MemAvailable": 8000 * 1024, "HugePages_Total": 0}
    assert meminfo(tmp_path / "missing") == {}


def test_os_image_reads_pretty_name(tmp_path: Path):
    path = tmp_path / "os-release"
    path.write_text('NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')
    assert os_image(path) == "Debian GNU/Linux 12 (bookworm)"
    assert os_image(tmp_path / "missing") == ""


def test_disk_usage_and_pid_counts_degrade_on_missing_paths(tmp_path: Path):
    assert disk_usage(tmp_path / "missing") == (0, 0)
    assert pid_counts(tmp_path) == (0, 0)
    pid_max, available = pid_counts()
    assert pid_max - available >= 1  # this process, at least
