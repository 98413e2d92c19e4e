"""Reading this machine into a :class:`~kubelet.node_status.NodeObservation` (what cAdvisor tells the kubelet).

Sources: ``/proc/meminfo`` (MemTotal, MemAvailable), ``os.cpu_count()``, ``statvfs`` of the kubelet's root
directory (nodefs), ``/proc/sys/kernel/pid_max`` and the number of ``/proc/<pid>`` entries (pid.available),
``/proc/sys/kernel/random/boot_id``, ``/etc/machine-id``, ``/sys/class/dmi/id/product_uuid`` (usually only
root may read it), ``/etc/os-release`` PRETTY_NAME and ``platform.release()``.

One call reads a few small files and lists /proc: well under a millisecond or two, cheap enough for every
10 s status update. Every read degrades to a neutral value (0 / "") on a machine that lacks the file; the
caller applies the kubelet's flag overrides (capacity in :class:`~kubelet.node_status.NodeConfig`) and the
runtime's health (``dataclasses.replace(obs, runtime_ok=..., runtime_version=...)``).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

from kubelet.node_status import NodeObservation

PROC = Path("/proc")


def _read(path: Path | str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def meminfo(path: Path | str = PROC / "meminfo") -> dict[str, int]:
    """/proc/meminfo in bytes: {"MemTotal": ..., "MemAvailable": ...}."""
    values: dict[str, int] = {}
    for line in _read(path).splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            scale = 1024 if len(parts) > 1 and parts[1] == "kB" else 1
            values[name.strip()] = int(parts[0]) * scale
    return values


def disk_usage(directory: Path | str) -> tuple[int, int]:
    """(capacity bytes, available bytes) of the filesystem holding `directory`, as statvfs sees it."""
    try:
        st = os.statvfs(directory)
    except OSError:
        return 0, 0
    return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize


def pid_counts(proc: Path = PROC) -> tuple[int, int]:
    """(pid_max, pids available): pid_max minus the number of processes now running."""
    text = _read(proc / "sys/kernel/pid_max")
    pid_max = int(text) if text.isdigit() else 0
    try:
        running = sum(1 for entry in os.scandir(proc) if entry.name.isdigit())
    except OSError:
        running = 0
    return pid_max, max(0, pid_max - running)


def os_image(path: Path | str = "/etc/os-release") -> str:
    """PRETTY_NAME from os-release, e.g. "Debian GNU/Linux 12 (bookworm)"."""
    for line in _read(path).splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "PRETTY_NAME":
            return value.strip().strip('"').strip("'")
    return ""


def observe_host(root_dir: Path | str = "/") -> NodeObservation:
    """What the machine looks like now; `root_dir` is the kubelet's --root-dir (its nodefs)."""
    memory = meminfo()
    storage_bytes, storage_available = disk_usage(root_dir)
    pid_max, pid_available = pid_counts()
    return NodeObservation(
        cpu_count=os.cpu_count() or 1,
        memory_bytes=memory.get("MemTotal", 0),
        memory_available_bytes=memory.get("MemAvailable", memory.get("MemFree", 0)),
        ephemeral_storage_bytes=storage_bytes,
        disk_available_bytes=storage_available,
        pid_max=pid_max,
        pid_available=pid_available,
        kernel_version=platform.release(),
        os_image=os_image(),
        boot_id=_read(PROC / "sys/kernel/random/boot_id"),
        machine_id=_read("/etc/machine-id") or _read("/var/lib/dbus/machine-id"),
        system_uuid=_read("/sys/class/dmi/id/product_uuid"),
    )
