"""The kubelet's own gRPC API (service ``Kubelet`` in proto/kubeling.proto): logs, exec, attach, port-forward, stats.

The apiserver reaches it for ``kubectl logs``, ``exec``, ``attach`` and ``port-forward`` (the way kube-apiserver
proxies to the kubelet's port 10250), finding the address in the Node's ``status.addresses`` and
``status.daemonEndpoints``.

The API knows nothing about pods by itself: the kubelet hands it ``resolve(namespace, pod, container, previous)``,
which answers the runtime container id or raises ``LookupError(message)`` with the text Kubernetes prints
(``container "x" in pod "p" is not valid``); that becomes NOT_FOUND with the message as details. Everything else is
the runtime interface (:mod:`kubelet.runtime.interface`): ``logs``, ``exec_session``, ``attach``, ``port_forward``,
``container_stats``. For port-forward it hands ``resolve_sandbox(namespace, pod, uid)`` (the pod's sandbox id, or
``LookupError``).

- Logs: one empty chunk first (the container was found), then the runtime's chunks; ``limit_bytes`` cuts the
  stream after that many bytes.
- Exec: the first frame must be ``start``; then stdin / stdin_close / resize frames are relayed to the session while
  its output is streamed back; the last frame carries the exit code.
- Attach: the same frames as Exec (``start.command`` empty), relayed to the container's own stdio; ``exit`` (0) last.
- PortForward: the first frame must be ``start``; the runtime connects to the port inside the pod's network namespace;
  then bytes flow both ways; the client's ``close`` half-closes the pod connection; when the pod side ends the
  kubelet sends ``close`` and ends the call. A failed connection is one ``error`` frame with the message Kubernetes
  writes on the error stream: ``error forwarding port 8080 to pod <sandbox id>, uid : <why>``.
- Stats: ``container_stats`` of each running container ``list_stats()`` names, grouped by pod.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import grpc

from kubelet.runtime.interface import ExecSession, Runtime
from kubelet.runtime.interface import RuntimeError_ as RuntimeFailure
from proto import kubeling_pb2 as pb
from proto import kubeling_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

Resolve = Callable[[str, str, str, bool], Awaitable[str]]
ResolveSandbox = Callable[[str, str, str], Awaitable[str]]  # namespace, pod, uid ("" = any) -> sandbox id
CHUNK = 64 * 1024


@dataclass(frozen=True)
class StatsTarget:
    """One running container the kubelet wants stats for."""

    namespace: str
    pod: str
    pod_uid: str
    container: str
    container_id: str


ListStats = Callable[[], Awaitable[list[StatsTarget]]]


def limited(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """The chunks, cut after ``limit`` bytes in total (0 = no limit)."""
    async def cut() -> AsyncIterator[bytes]:
        left = limit
        async for chunk in chunks:
            if limit and len(chunk) >= left:
                if left:
                    yield chunk[:left]
                return
            left -= len(chunk)
            yield chunk
    return cut()


class KubeletAPI(pb_grpc.KubeletServicer):
    def __init__(self, runtime: Runtime, resolve: Resolve, list_stats: ListStats | None = None,
                 resolve_sandbox: ResolveSandbox | None = None) -> None:
        self.runtime = runtime
        self.resolve = resolve
        self.list_stats = list_stats
        self.resolve_sandbox = resolve_sandbox
        self._server: grpc.aio.Server | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Serve on host:port (0 = a free port); returns the bound port."""
        self._server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        pb_grpc.add_KubeletServicer_to_server(self, self._server)
        bound = self._server.add_insecure_port(f"{host}:{port}")
        if bound == 0:
            raise OSError(f"cannot listen on {host}:{port}")
        await self._server.start()
        log.info("kubelet API on %s:%d", host, bound)
        return bound

    async def stop(self, grace: float = 1.0) -> None:
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None

    async def _container_id(self, context: grpc.aio.ServicerContext, namespace: str, pod: str, container: str,
                            previous: bool = False) -> str:
        try:
            return await self.resolve(namespace, pod, container, previous)
        except LookupError as e:
            await context.abort(grpc.StatusCode.NOT_FOUND, str(e.args[0]) if e.args else str(e))
            raise  # unreachable: abort raises

    async def Logs(self, request: pb.LogsRequest,
                   context: grpc.aio.ServicerContext) -> AsyncIterator[pb.LogsChunk]:
        cid = await self._container_id(context, request.namespace, request.pod, request.container, request.previous)
        chunks = self.runtime.logs(cid, follow=request.follow,
                                   tail_lines=request.tail_lines if request.HasField("tail_lines") else None,
                                   since_seconds=request.since_seconds or None, timestamps=request.timestamps)
        yield pb.LogsChunk()
        try:
            async for chunk in limited(chunks, request.limit_bytes):
                yield pb.LogsChunk(data=chunk)
        except RuntimeFailure as e:
            await context.abort(grpc.StatusCode.NOT_FOUND, str(e))

    async def _start_frame(self, frames: AsyncIterator[pb.ExecFrame],
                           context: grpc.aio.ServicerContext) -> pb.ExecStart:
        first = await anext(frames, None)
        if first is None or first.WhichOneof("frame") != "start":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first frame must be a start frame")
        assert first is not None
        return first.start

    async def Exec(self, request_iterator: AsyncIterator[pb.ExecFrame],
                   context: grpc.aio.ServicerContext) -> AsyncIterator[pb.ExecFrame]:
        frames = aiter(request_iterator)
        start = await self._start_frame(frames, context)
        if not start.command:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "you must specify at least 1 command")
        cid = await self._container_id(context, start.namespace, start.pod, start.container)
        session = self.runtime.exec_session(cid, list(start.command), stdin=start.stdin, tty=start.tty)
        async for frame in self._relay(session, start, frames, context):
            yield frame

    async def Attach(self, request_iterator: AsyncIterator[pb.ExecFrame],
                     context: grpc.aio.ServicerContext) -> AsyncIterator[pb.ExecFrame]:
        frames = aiter(request_iterator)
        start = await self._start_frame(frames, context)
        cid = await self._container_id(context, start.namespace, start.pod, start.container)
        async for frame in self._relay(self.runtime.attach(cid, stdin=start.stdin, tty=start.tty), start, frames,
                                       context):
            yield frame

    @staticmethod
    async def _relay(opening: Awaitable[ExecSession], start: pb.ExecStart, frames: AsyncIterator[pb.ExecFrame],
                     context: grpc.aio.ServicerContext) -> AsyncIterator[pb.ExecFrame]:
        """Open the exec or attach session (a runtime failure ends the call), then relay it both ways."""
        try:
            session = await opening
        except RuntimeFailure as e:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(e))
            return
        async for frame in relay_session(session, start, frames):
            yield frame

    async def PortForward(self, request_iterator: AsyncIterator[pb.PortForwardFrame],
                          context: grpc.aio.ServicerContext) -> AsyncIterator[pb.PortForwardFrame]:
        frames = aiter(request_iterator)
        first = await anext(frames, None)
        if first is None or first.WhichOneof("frame") != "start":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first frame must be a start frame")
        assert first is not None
        start = first.start
        sandbox = await self._sandbox_id(context, start)
        try:
            reader, writer = await self.runtime.port_forward(sandbox, start.port)
        except (RuntimeFailure, OSError) as e:
            log.info("port-forward to port %d of pod %s/%s failed: %s", start.port, start.namespace, start.pod, e)
            yield pb.PortForwardFrame(error=f"error forwarding port {start.port} to pod {sandbox}, uid : {e}")
            return
        relay = asyncio.create_task(relay_to_pod(frames, writer), name="port-forward-in")
        try:
            while data := await reader.read(CHUNK):
                yield pb.PortForwardFrame(data=data)
            yield pb.PortForwardFrame(close=True)
        except OSError as e:
            yield pb.PortForwardFrame(error=f"error forwarding port {start.port} to pod {sandbox}, uid : {e}")
        finally:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await relay
            writer.close()

    async def _sandbox_id(self, context: grpc.aio.ServicerContext, start: pb.PortForwardStart) -> str:
        if self.resolve_sandbox is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this kubelet does not forward ports")
        assert self.resolve_sandbox is not None
        try:
            return await self.resolve_sandbox(start.namespace, start.pod, start.uid)
        except LookupError as e:
            await context.abort(grpc.StatusCode.NOT_FOUND, str(e.args[0]) if e.args else str(e))
            raise  # unreachable: abort raises

    async def Stats(self, request: pb.StatsRequest,
                    context: grpc.aio.ServicerContext) -> pb.StatsResponse:
        targets = await self.list_stats() if self.list_stats is not None else []
        pods: dict[str, pb.PodStats] = {}
        for target in targets:
            try:
                stats = await self.runtime.container_stats(target.container_id)
            except RuntimeFailure:
                continue  # the container ended since it was listed
            pod = pods.setdefault(target.pod_uid, pb.PodStats(namespace=target.namespace, name=target.pod,
                                                              uid=target.pod_uid))
            pod.containers.append(pb.ContainerStats(
                name=target.container, container_id=target.container_id,
                cpu_usage_nanocores=stats.cpu_usage_nanocores,
                cpu_usage_core_nanoseconds=stats.cpu_usage_core_nanoseconds,
                memory_usage_bytes=stats.memory_usage_bytes, memory_working_set_bytes=stats.memory_working_set_bytes,
                timestamp=stats.timestamp))
        return pb.StatsResponse(pods=list(pods.values()))


async def relay_session(session: ExecSession, start: pb.ExecStart,
                        frames: AsyncIterator[pb.ExecFrame]) -> AsyncIterator[pb.ExecFrame]:
    """The session's output as frames (only the streams asked for; with a tty all is stdout), ``exit`` last, while
    the client's frames are relayed to it."""
    relay = asyncio.create_task(relay_input(frames, session), name="exec-stdin")
    try:
        async for stream, data in session.output():
            if (stream == 1 and start.stdout) or (stream == 2 and start.stderr) or start.tty:
                yield pb.ExecFrame(output=pb.ExecOutput(stream=1 if start.tty else stream, data=data))
        yield pb.ExecFrame(exit=pb.ExecExit(exit_code=await session.wait()))
    finally:
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await relay


async def relay_to_pod(frames: AsyncIterator[pb.PortForwardFrame], writer: asyncio.StreamWriter) -> None:
    """Client frames → the pod connection; the client's ``close`` (or the end of its frames) half-closes it."""
    async for frame in frames:
        kind = frame.WhichOneof("frame")
        if kind == "data":
            writer.write(frame.data)
            await writer.drain()
        elif kind == "close":
            break
    if writer.can_write_eof() and not writer.is_closing():
        writer.write_eof()


async def relay_input(frames: AsyncIterator[pb.ExecFrame], session: ExecSession) -> None:
    """Client frames → the session: stdin chunks, stdin close (also when the client stops sending), resizes."""
    stdin_open = True
    async for frame in frames:
        kind = frame.WhichOneof("frame")
        if kind == "stdin" and stdin_open:
            await session.write(frame.stdin)
        elif kind == "stdin_close" and stdin_open:
            stdin_open = False
            await session.close_stdin()
        elif kind == "resize":
            await session.resize(frame.resize.width, frame.resize.height)
    if stdin_open:
        await session.close_stdin()
