"""A fake container runtime for hollow nodes: the kubelet's code runs unchanged, but nothing is started.

Containers live in memory. ``start_container`` waits ``start_delay`` seconds (as Docker would take) and the
container runs until told otherwise. What a container does is driven by pod annotations, so a test can script it
(``<c>`` is the container name):

* ``fake.kubeling.io/start-delay``: seconds every container of the pod takes to start (default: the runtime's);
* ``fake.kubeling.io/exit-after.<c>``: the container exits this many seconds after it started;
* ``fake.kubeling.io/exit-code.<c>``: ...with this exit code (default 0);
* ``fake.kubeling.io/oom.<c>``: "true": when it exits, it was OOM-killed (exit code 137);
* probe outcomes: see :class:`kubelet.probes.AnnotationProbeRunner` (``fake.kubeling.io/probe.<kind>.<c>``);
* ``fake.kubeling.io/listen``: ports ("8080,9090") on which the pod "listens": ``kubectl port-forward`` to one of them
  reaches an in-process echo server; any other port is refused.

``kubectl attach`` to a running fake container prints one line, then echoes stdin (when attached with stdin) until
it is closed.

Images whose repository starts with ``fake.invalid/`` fail to pull (to exercise ErrImagePull / ImagePullBackOff);
every other image is "present". Each fake container costs a few hundred bytes, so one process holds many nodes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

from kubelet.runtime.image_ref import parse_image_reference
from kubelet.runtime.interface import (
    STATE_CREATED,
    STATE_EXITED,
    STATE_RUNNING,
    ContainerConfig,
    ContainerStats,
    ExecResult,
    ExecSession,
    ImagePullError,
    NotFoundError,
    RuntimeContainer,
    RuntimeError_,
    RuntimePod,
    RuntimeSandbox,
    SandboxConfig,
)

ANNOTATION_PREFIX = "fake.kubeling.io/"
FAILING_REGISTRY = "fake.invalid/"
FAKE_VERSION = "fake://1.0.0"


@dataclass
class _Container:
    record: RuntimeContainer
    node: str
    exit_after: float | None = None
    exit_code: int = 0
    oom: bool = False
    start_delay: float = 0.0

    def current(self, now: float) -> RuntimeContainer:
        """The record as of ``now``: a running container whose scripted lifetime is over has exited."""
        rec = self.record
        if rec.state == STATE_RUNNING and self.exit_after is not None and rec.started_at is not None:
            finished = rec.started_at + self.exit_after
            if now >= finished:
                code = 137 if self.oom else self.exit_code
                self.record = replace(rec, state=STATE_EXITED, finished_at=finished, exit_code=code,
                                      oom_killed=self.oom)
        return self.record


@dataclass
class _Sandbox:
    record: RuntimeSandbox
    node: str
    containers: list[str] = field(default_factory=list)
    listen: frozenset[int] = frozenset()


def _ports(text: str) -> frozenset[int]:
    return frozenset(int(p) for p in text.replace(" ", "").split(",") if p.isdigit())


class FakeAttachSession:
    """An attach to a fake container: one greeting line, then stdin echoed back until it is closed."""

    def __init__(self, name: str, stdin: bool) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.queue.put_nowait(f"attached to fake container {name}\n".encode())
        if not stdin:
            self.queue.put_nowait(None)

    async def write(self, data: bytes) -> None:
        await self.queue.put(data)

    async def close_stdin(self) -> None:
        await self.queue.put(None)

    async def resize(self, width: int, height: int) -> None:
        return None

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        while (data := await self.queue.get()) is not None:
            yield 1, data

    async def wait(self) -> int:
        return 0


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The fake pod's listener: every byte back, then a half-close when the client half-closes."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


class FakeRuntime:
    """Implements :class:`kubelet.runtime.interface.Runtime` in memory. Shareable by many hollow kubelets."""

    name = "fake"

    def __init__(self, start_delay: float = 0.0, clock=time.time) -> None:
        self.start_delay = start_delay
        self.clock = clock
        self._ids = itertools.count(1)
        self._ips = itertools.count(1)
        self.sandboxes: dict[str, _Sandbox] = {}
        self.containers: dict[str, _Container] = {}
        self.pulled: list[str] = []
        self._echoes: set[asyncio.Task[None]] = set()  # the fake pods' port-forward listeners

    def _new_id(self) -> str:
        return f"{next(self._ids):064x}"

    def _new_ip(self) -> str:
        n = next(self._ips)
        return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255 or 1}"

    async def version(self) -> str:
        return FAKE_VERSION

    async def ping(self) -> bool:
        return True

    async def list_pods(self, node_name: str, pod_uid: str | None = None) -> list[RuntimePod]:
        now = self.clock()
        pods: dict[str, RuntimePod] = {}
        for sandbox in self.sandboxes.values():
            if sandbox.node != node_name or (pod_uid is not None and sandbox.record.pod_uid != pod_uid):
                continue
            rec = sandbox.record
            pod = pods.get(rec.pod_uid) or RuntimePod(uid=rec.pod_uid, namespace=rec.namespace, name=rec.name)
            containers = tuple(self.containers[c].current(now) for c in sandbox.containers if c in self.containers)
            pods[rec.pod_uid] = replace(pod, sandboxes=(*pod.sandboxes, rec), containers=pod.containers + containers)
        return [_newest_first(pod) for pod in pods.values()]

    async def run_sandbox(self, config: SandboxConfig) -> RuntimeSandbox:
        record = RuntimeSandbox(id=self._new_id(), pod_uid=config.pod_uid, namespace=config.namespace,
                                name=config.name, ready=True, ip=config.ip or self._new_ip(),
                                created_at=self.clock())
        listen = _ports(config.annotations.get(f"{ANNOTATION_PREFIX}listen", ""))
        self.sandboxes[record.id] = _Sandbox(record, config.node_name, listen=listen)
        return record

    async def stop_sandbox(self, sandbox_id: str) -> None:
        sandbox = self.sandboxes.get(sandbox_id)
        if sandbox is not None:
            sandbox.record = replace(sandbox.record, ready=False)

    async def remove_sandbox(self, sandbox_id: str) -> None:
        sandbox = self.sandboxes.pop(sandbox_id, None)
        for container_id in sandbox.containers if sandbox else ():
            self.containers.pop(container_id, None)

    async def image_present(self, image: str) -> bool:
        parse_image_reference(image)
        return not image.startswith(FAILING_REGISTRY) and image in self.pulled

    async def pull_image(self, image: str) -> None:
        parse_image_reference(image)
        if image.startswith(FAILING_REGISTRY):
            raise ImagePullError(f'failed to pull image "{image}": no such host (fake runtime)')
        if image not in self.pulled:
            self.pulled.append(image)

    async def create_container(self, sandbox_id: str, config: ContainerConfig) -> str:
        sandbox = self.sandboxes.get(sandbox_id)
        if sandbox is None:
            raise NotFoundError(f"sandbox {sandbox_id} not found")
        notes = config.annotations
        name = config.name
        record = RuntimeContainer(
            id=self._new_id(), pod_uid=config.pod_uid, name=name, container_type=config.container_type,
            sandbox_id=sandbox_id, restart_count=config.restart_count, spec_hash=config.spec_hash,
            image=config.image, image_id=f"fake://{config.image}", state=STATE_CREATED, created_at=self.clock())
        exit_after = notes.get(f"{ANNOTATION_PREFIX}exit-after.{name}")
        self.containers[record.id] = _Container(
            record, sandbox.node,
            exit_after=float(exit_after) if exit_after is not None else None,
            exit_code=int(notes.get(f"{ANNOTATION_PREFIX}exit-code.{name}", "0")),
            oom=notes.get(f"{ANNOTATION_PREFIX}oom.{name}") == "true",
            start_delay=float(notes.get(f"{ANNOTATION_PREFIX}start-delay", self.start_delay)))
        sandbox.containers.append(record.id)
        return record.id

    def _get(self, container_id: str) -> _Container:
        container = self.containers.get(container_id)
        if container is None:
            raise NotFoundError(f"container {container_id} not found")
        return container

    async def start_container(self, container_id: str) -> None:
        container = self._get(container_id)
        if container.start_delay > 0:
            await asyncio.sleep(container.start_delay)
        container.record = replace(container.record, state=STATE_RUNNING, started_at=self.clock())

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        container = self.containers.get(container_id)
        if container is None:
            return
        rec = container.current(self.clock())
        if rec.state in (STATE_RUNNING, STATE_CREATED):
            code = 137 if rec.state == STATE_RUNNING else 0
            container.record = replace(rec, state=STATE_EXITED, finished_at=self.clock(), exit_code=code)

    async def remove_container(self, container_id: str) -> None:
        container = self.containers.pop(container_id, None)
        if container is not None:
            sandbox = self.sandboxes.get(container.record.sandbox_id)
            if sandbox is not None and container_id in sandbox.containers:
                sandbox.containers.remove(container_id)

    async def exec_sync(self, container_id: str, command: list[str], timeout: float) -> ExecResult:
        self._get(container_id)
        return ExecResult(exit_code=0, output=b"")

    async def exec_session(self, container_id: str, command: list[str], *, stdin: bool, tty: bool) -> ExecSession:
        raise NotImplementedError("exec is not available on a hollow node (fake runtime)")

    async def attach(self, container_id: str, *, stdin: bool, tty: bool) -> ExecSession:
        rec = self._get(container_id).current(self.clock())
        if rec.state != STATE_RUNNING:
            raise RuntimeError_(f"container {container_id} is not running")
        return FakeAttachSession(rec.name, stdin)

    async def port_forward(self, sandbox_id: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        sandbox = self.sandboxes.get(sandbox_id)
        if sandbox is None:
            raise NotFoundError(f"sandbox {sandbox_id} not found")
        if port not in sandbox.listen:
            raise RuntimeError_(f'failed to connect to localhost:{port} inside namespace "{sandbox_id}": '
                                f"connection refused")
        ours, theirs = socket.socketpair()
        echo = asyncio.create_task(_echo(*await asyncio.open_connection(sock=theirs)), name=f"fake-echo-{port}")
        self._echoes.add(echo)
        echo.add_done_callback(self._echoes.discard)
        return await asyncio.open_connection(sock=ours)

    async def logs(self, container_id: str, *, follow: bool = False, tail_lines: int | None = None,
                   since_seconds: int | None = None, timestamps: bool = False) -> AsyncIterator[bytes]:
        rec = self._get(container_id).record
        yield f"fake container {rec.name} (restart {rec.restart_count}) of pod {rec.pod_uid}\n".encode()

    async def container_stats(self, container_id: str) -> ContainerStats:
        self._get(container_id)
        return ContainerStats(container_id=container_id, cpu_usage_nanocores=0, cpu_usage_core_nanoseconds=0,
                              memory_usage_bytes=0, memory_working_set_bytes=0, timestamp=self.clock())

    async def close(self) -> None:
        for echo in list(self._echoes):
            echo.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await echo


def _newest_first(pod: RuntimePod) -> RuntimePod:
    """Sort by id: fake ids increase, so this is creation order even within one clock tick."""
    return replace(pod, sandboxes=tuple(sorted(pod.sandboxes, key=lambda s: s.id, reverse=True)),
                   containers=tuple(sorted(pod.containers, key=lambda c: c.id, reverse=True)))
