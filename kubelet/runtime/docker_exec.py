"""Exec and streaming for the Docker runtime: hijacked exec connections, Docker's stream framing, and a pump that
turns a blocking iterator (read in its own thread) into an async iterator with back-pressure.

Docker multiplexes stdout and stderr of a non-tty exec/attach on one connection: each frame is an 8-byte header
``[stream, 0, 0, 0, size (uint32 big-endian)]`` then ``size`` bytes. With a tty the bytes arrive raw.

We start execs ourselves (the SDK's ``exec_start(socket=True)`` hands back the raw socket and loses whatever the
HTTP parser had already buffered after the 101 response: for a fast command that is the whole output), reading
through the response's buffered reader and writing stdin to the socket under it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

import docker
import docker.errors

from kubelet.runtime.interface import ExecResult, NotFoundError, RuntimeError_

STDOUT = 1
STDERR = 2
TIMEOUT_EXIT_CODE = 124  # what `timeout(1)` returns; the prober treats any non-zero code as a failure
_END = object()


class HijackedStream:
    """A hijacked Docker connection (exec start, container attach): a buffered reader for output, the socket for
    stdin (blocking calls, use in threads)."""

    def __init__(self, api: docker.APIClient, res: Any, tty: bool) -> None:
        self.api = api
        self.tty = tty
        try:
            api._raise_for_status(res)
        except docker.errors.NotFound as err:
            raise NotFoundError(err.explanation or str(err)) from err
        except docker.errors.APIError as err:
            raise RuntimeError_(err.explanation or str(err)) from err
        self._response = res
        self.reader: Any = res.raw._fp.fp  # io.BufferedReader over the connection's SocketIO
        self.sock: socket.socket = self.reader.raw._sock
        self.sock.settimeout(None)

    def chunks(self) -> Iterator[tuple[int, bytes]]:
        """(stream, data) until the command ends (EOF); blocking."""
        if self.tty:
            while True:
                data = self.reader.read1(65536)
                if not data:
                    return
                yield STDOUT, data
        while True:
            header = self.reader.read(8)
            if len(header) < 8:
                return
            stream, size = header[0], struct.unpack(">L", header[4:8])[0]
            data = self.reader.read(size) if size else b""
            if len(data) < size:
                return
            yield (STDERR if stream == STDERR else STDOUT), data

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close_stdin(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_WR)

    def exit_code(self, wait: float = 2.0) -> int:
        """What the stream ended with; a plain stream (an attach) has no exit code of its own: 0."""
        return 0

    def resize(self, width: int, height: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self._response.close()


class HijackedExec(HijackedStream):
    """One started exec."""

    def __init__(self, api: docker.APIClient, exec_id: str, tty: bool) -> None:
        self.exec_id = exec_id
        res = api._post_json(
            api._url("/exec/{0}/start", exec_id),
            headers={"Connection": "Upgrade", "Upgrade": "tcp"},
            data={"Tty": tty, "Detach": False},
            stream=True,
        )
        super().__init__(api, res, tty)

    def resize(self, width: int, height: int) -> None:
        self.api.exec_resize(self.exec_id, height=height, width=width)

    def exit_code(self, wait: float = 2.0) -> int:
        """The exec's exit code (it may take Docker a moment after EOF to record it)."""
        deadline = time.monotonic() + wait
        while True:
            info = self.api.exec_inspect(self.exec_id)
            if not info.get("Running") or time.monotonic() > deadline:
                code = info.get("ExitCode")
                return int(code) if code is not None else -1
            time.sleep(0.01)


def create_exec(api: docker.APIClient, container_id: str, command: list[str], stdin: bool, tty: bool) -> str:
    try:
        res = api.exec_create(container_id, command, stdout=True, stderr=True, stdin=stdin, tty=tty)
    except docker.errors.NotFound as err:
        raise NotFoundError(err.explanation or str(err)) from err
    except docker.errors.APIError as err:
        raise RuntimeError_(err.explanation or str(err)) from err
    return str(res["Id"])


def exec_sync_blocking(api: docker.APIClient, container_id: str, command: list[str], timeout: float) -> ExecResult:
    """Run ``command`` to completion (stdout and stderr interleaved). Past ``timeout`` the connection is dropped and
    the result is exit code 124 with a note appended (the process itself may linger: Docker cannot kill an exec)."""
    deadline = time.monotonic() + timeout
    exec_id = create_exec(api, container_id, command, stdin=False, tty=False)
    hijack = HijackedExec(api, exec_id, tty=False)
    out = bytearray()
    try:
        hijack.sock.settimeout(max(0.001, deadline - time.monotonic()))
        try:
            for _stream, data in hijack.chunks():
                out += data
                hijack.sock.settimeout(max(0.001, deadline - time.monotonic()))
        except (TimeoutError, OSError):
            if time.monotonic() < deadline:
                raise
            out += f"\ncommand {command!r} timed out after {timeout:g}s".encode()
            return ExecResult(exit_code=TIMEOUT_EXIT_CODE, output=bytes(out))
    finally:
        hijack.close()
    return ExecResult(exit_code=hijack.exit_code(), output=bytes(out))


def pump(
    open_iter: Callable[[], Iterable[Any]],
    close: Callable[[], None] | None = None,
    maxsize: int = 64,
    name: str = "docker-stream",
) -> AsyncIterator[Any]:
    """Iterate a blocking iterable in a dedicated daemon thread (long-lived streams must not hold pool threads) and
    yield its items asynchronously. ``close`` is called when the consumer stops early, to unblock the thread."""

    async def gen() -> AsyncIterator[Any]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=maxsize)
        stop = threading.Event()

        def put(item: Any) -> bool:
            fut = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
            while True:
                try:
                    fut.result(0.25)
                    return True
                except TimeoutError:
                    if stop.is_set():
                        fut.cancel()
                        return False
                except Exception:  # loop closed or put cancelled
                    return False

        def run() -> None:
            try:
                iterable = open_iter()
                if stop.is_set():  # the consumer left while we were connecting
                    if close is not None:
                        close()
                    return
                for item in iterable:
                    if stop.is_set() or not put(item):
                        return
            except BaseException as err:  # handed to the consumer
                if not stop.is_set():
                    put(err)
                return
            if not stop.is_set():
                put(_END)

        thread = threading.Thread(target=run, name=name, daemon=True)
        try:
            thread.start()
        except RuntimeError:
            return
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            if close is not None and thread.is_alive():
                with contextlib.suppress(Exception):
                    close()

    return gen()


class DockerExecSession:
    """An interactive exec (kubectl exec -it) or attach: implements interface.ExecSession."""

    def __init__(self, hijack: HijackedStream, executor: Any) -> None:
        self._hijack = hijack
        self._executor = executor
        self._ended = asyncio.get_running_loop().create_future()
        self._output = self._read()
        self._output_taken = False

    async def _read(self) -> AsyncIterator[tuple[int, bytes]]:
        try:
            async for chunk in pump(self._hijack.chunks, self._hijack.close, name="docker-exec"):
                yield chunk
        finally:
            if not self._ended.done():
                self._ended.set_result(None)

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def write(self, data: bytes) -> None:
        await self._run(self._hijack.write, data)

    async def close_stdin(self) -> None:
        await self._run(self._hijack.close_stdin)

    async def resize(self, width: int, height: int) -> None:
        try:
            await self._run(self._hijack.resize, width, height)
        except docker.errors.APIError as err:
            raise RuntimeError_(err.explanation or str(err)) from err

    def output(self) -> AsyncIterator[tuple[int, bytes]]:
        self._output_taken = True
        return self._output

    async def wait(self) -> int:
        """Waits for the output to end (draining it if nobody reads it), then returns the exit code."""
        if not self._ended.done() and not self._output_taken:
            async for _ in self._output:
                pass
        await self._ended
        return int(await self._run(self._hijack.exit_code))

    async def close(self) -> None:
        await self._output.aclose()  # type: ignore[attr-defined]
        await self._run(self._hijack.close)
