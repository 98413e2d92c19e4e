"""Port-forward for the Docker runtime: a TCP connection to localhost:<port> *inside the pod's network namespace*,
as Kubernetes' runtimes make it, so a server bound to 127.0.0.1 in the pod is reachable.

The pod's network namespace is the pause (sandbox) container's: ``/proc/<its pid>/ns/net``. A dedicated thread
enters it (``setns(fd, CLONE_NEWNET)`` through libc: Python 3.11 has no ``os.setns``), creates and connects the
socket there — a socket belongs to the namespace it was created in, whichever thread uses it later — and switches
back before it ends. Only that thread ever changes namespace; the event loop and pool threads never do.

That needs the kubelet to see the sandbox's process (the host PID namespace) and CAP_SYS_ADMIN. When it cannot (a
kubelet in a container without ``pid: host``, as in the compose lab), the connection goes to the pod IP instead
and the kubelet logs why: then only servers listening on the pod's address (or 0.0.0.0) are reachable.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import socket
import threading
from typing import Any

import docker
import docker.errors

from kubelet.runtime.docker_convert import sandbox_ip
from kubelet.runtime.interface import NotFoundError, RuntimeError_

log = logging.getLogger(__name__)
CLONE_NEWNET = 0x40000000
CONNECT_TIMEOUT = 5.0
_libc = ctypes.CDLL(None, use_errno=True)


class NetnsUnavailable(Exception):
    """The pod's network namespace cannot be entered from here."""


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise NetnsUnavailable(f"setns: {os.strerror(err)}")


def connect_localhost(port: int, timeout: float = CONNECT_TIMEOUT) -> socket.socket:
    """localhost:port over IPv4, then IPv6; the error names both attempts (as containerd's does)."""
    failures = []
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect((host, port))
        except OSError as e:
            sock.close()
            failures.append(f"{'IPv4' if family == socket.AF_INET else 'IPv6'}: {e.strerror or e}")
            continue
        sock.setblocking(False)
        return sock
    raise ConnectionRefusedError(", ".join(failures))


def connect_in_netns(pid: int, port: int) -> socket.socket:
    """A socket connected to localhost:port in the network namespace of process ``pid``, made in a dedicated thread.
    NetnsUnavailable when the namespace cannot be entered; OSError when the connection fails."""
    try:
        target = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    except OSError as e:
        raise NetnsUnavailable(f"cannot open /proc/{pid}/ns/net: {e.strerror}") from None
    outcome: list[socket.socket | BaseException] = []

    def run() -> None:
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            _setns(target)
            try:
                outcome.append(connect_localhost(port))
            finally:
                _setns(own)  # the thread ends next anyway; leave it as it came
        except BaseException as e:  # handed to the caller
            outcome.append(e)
        finally:
            os.close(own)

    try:
        thread = threading.Thread(target=run, name=f"netns-connect-{pid}-{port}", daemon=True)
        thread.start()
        thread.join()
    finally:
        os.close(target)
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _sandbox(api: docker.APIClient, sandbox_id: str) -> dict[str, Any]:
    try:
        attrs: dict[str, Any] = api.inspect_container(sandbox_id)
    except docker.errors.NotFound as err:
        raise NotFoundError(f"sandbox {sandbox_id} not found") from err
    if not (attrs.get("State") or {}).get("Running"):
        raise RuntimeError_(f"sandbox {sandbox_id} is not running")
    return attrs


async def port_forward(api: docker.APIClient, executor: Any, network: str, sandbox_id: str,
                       port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    loop = asyncio.get_running_loop()
    attrs = await loop.run_in_executor(executor, _sandbox, api, sandbox_id)
    pid = int((attrs.get("State") or {}).get("Pid") or 0)
    try:
        sock = await loop.run_in_executor(executor, connect_in_netns, pid, port)
    except NetnsUnavailable as e:
        ip = sandbox_ip(attrs, network)
        if ip is None:
            raise RuntimeError_(f"cannot enter the network namespace of sandbox {sandbox_id} ({e}) and it has "
                                f"no IP") from None
        log.warning("port-forward to sandbox %s: cannot enter its network namespace (%s); connecting to the pod IP "
                    "%s instead, so listeners bound to 127.0.0.1 in the pod are unreachable", sandbox_id, e, ip)
        return await _open(f"{ip}:{port}", sandbox_id, asyncio.open_connection(ip, port))
    except OSError as e:
        raise RuntimeError_(f'failed to connect to localhost:{port} inside namespace "{sandbox_id}", {e}') from None
    return await asyncio.open_connection(sock=sock)


async def _open(where: str, sandbox_id: str, connecting: Any) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        return await asyncio.wait_for(connecting, CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as e:
        raise RuntimeError_(f"failed to connect to {where} of sandbox {sandbox_id}: {e}") from None
