"""The kubelet's gRPC API (kubelet/api.py) over a real loopback gRPC connection, with a scripted stub runtime.

`StubRuntime` and `stub_resolve` are shared with tests/integration/http_api/test_logs_exec.py: pod `p` in
namespace `default` has containers `c1` (a current and a previous attempt) and `c2` (one attempt)."""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from kubelet.api import KubeletAPI, StatsTarget
from kubelet.runtime.interface import ContainerStats, NotFoundError
from proto import kubeling_pb2 as pb
from proto import kubeling_pb2_grpc as pb_grpc

LOGS = {
    "c1-now": [b"one\n", b"two\n", b"three\n"],
    "c1-old": [b"crashed before\n"],
    "c2-now": [b"from c2\n"],
}
ATTEMPTS = {("default", "p"): {"c1": ["c1-now", "c1-old"], "c2": ["c2-now"]}}
TIMESTAMP = b"2026-01-01T00:00:00.000000000Z "


async def stub_resolve(namespace: str, pod: str, container: str, previous: bool) -> str:
    attempts = ATTEMPTS.get((namespace, pod), {}).get(container)
    if attempts is None:
        raise LookupError(f'container "{container}" in pod "{pod}" is not valid')
    if previous and len(attempts) < 2:
        raise LookupError(f'previous terminated container "{container}" in pod "{pod}" not found')
    return attempts[1 if previous else 0]


class StubSession:
    """Scripted commands: `echo ...`, `cat` (stdin echoed until closed), `sh -c 'exit N'`, `sh -c 'echo x >&2'`."""

    def __init__(self, command: list[str], stdin: bool, tty: bool) -> None:
        self.queue: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        self.code = 0
        self.resizes: list[tuple[int, int]] = []
        self.interactive = command == ["cat"]
        script = command[2] if command[:2] == ["sh", "-c"] else shlex.join(command)
        if self.interactive:
            return
        if script.startswith("exit "):
            self.code = int(script.split()[1])
        elif script.endswith(">&2"):
            self.queue.put_nowait((2, script.removeprefix("echo ").removesuffix(" >&2").encode() + b"\n"))
        elif command[0] == "echo":
            self.queue.put_nowait((1, " ".join(command[1:]).encode() + b"\n"))
        else:
            self.queue.put_nowait((2, f"{command[0]}: command not found\n".encode()))
            self.code = 127
        self.queue.put_nowait(None)

    async def write(self, data: bytes) -> None:
        if self.interactive:
            await self.queue.put((1, data))

    async def close_stdin(self) -> None:
        if self.interactive:
            await self.queue.put(None)

    async def resize(self, width: int, height: int) -> None:
        self.resizes.append((width, height))

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        while (item := await self.queue.get()) is not None:
            yield item

    async def wait(self) -> int:
        return self.code


class StubRuntime:
    name = "stub"

    def __init__(self) -> None:
        self.log_calls: list[dict[str, Any]] = []
        self.sessions: list[StubSession] = []

    async def logs(self, container_id: str, *, follow: bool = False, tail_lines: int | None = None,
                   since_seconds: int | None = None, timestamps: bool = False) -> AsyncIterator[bytes]:
        self.log_calls.append({"container_id": container_id, "follow": follow, "tail_lines": tail_lines,
                               "since_seconds": since_seconds, "timestamps": timestamps})
        lines = LOGS[container_id]
        if tail_lines is not None:
            lines = lines[len(lines) - tail_lines:] if tail_lines else []
        for line in lines:
            yield (TIMESTAMP if timestamps else b"") + line
        if follow:
            for i in range(3):
                await asyncio.sleep(0.05)
                yield f"followed {i}\n".encode()

    async def exec_session(self, container_id: str, command: list[str], *, stdin: bool, tty: bool) -> StubSession:
        session = StubSession(command, stdin, tty)
        self.sessions.append(session)
        return session

    async def container_stats(self, container_id: str) -> ContainerStats:
        if container_id == "gone":
            raise NotFoundError(container_id)
        return ContainerStats(container_id, 5_000_000, 123_000_000_000, 10 << 20, 8 << 20, 1767225600.0)


@pytest.fixture
async def kubelet() -> AsyncIterator[tuple[StubRuntime, pb_grpc.KubeletStub]]:
    runtime = StubRuntime()

    async def list_stats() -> list[StatsTarget]:
        return [StatsTarget("default", "p", "uid-p", "c1", "c1-now"), StatsTarget("default", "p", "uid-p", "c2",
                                                                                     "c2-now"),
                StatsTarget("default", "q", "uid-q", "c", "gone")]

    api = KubeletAPI(runtime, stub_resolve, list_stats)  # type: ignore[arg-type]
    port = await api.start("127.0.0.1", 0)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield runtime, pb_grpc.KubeletStub(channel)
    await api.stop()


async def read_logs(stub: pb_grpc.KubeletStub, **fields: Any) -> bytes:
    request = pb.LogsRequest(namespace="default", pod="p", **fields)
    return b"".join([chunk.data async for chunk in stub.Logs(request)])


async def run_exec(stub: pb_grpc.KubeletStub, command: list[str], stdin: list[bytes] | None = None
                   ) -> tuple[bytes, bytes, int]:
    frames = [pb.ExecFrame(start=pb.ExecStart(namespace="default", pod="p", container="c1", command=command,
                                              stdin=stdin is not None, stdout=True, stderr=True))]
    frames += [pb.ExecFrame(stdin=data) for data in stdin or []]
    frames += [pb.ExecFrame(resize=pb.ExecResize(width=80, height=24)), pb.ExecFrame(stdin_close=True)]
    out, err, code = b"", b"", -1
    async for frame in stub.Exec(iter(frames)):
        if frame.WhichOneof("frame") == "output":
            if frame.output.stream == 1:
                out += frame.output.data
            else:
                err += frame.output.data
        elif frame.WhichOneof("frame") == "exit":
            code = frame.exit.exit_code
    return out, err, code


async def test_logs_stream_the_current_container(kubelet) -> None:
    runtime, stub = kubelet
    assert await read_logs(stub, container="c1") == b"one\ntwo\nthree\n"
    assert runtime.log_calls[-1] == {"container_id": "c1-now", "follow": False, "tail_lines": None,
                                     "since_seconds": None, "timestamps": False}


async def test_logs_pass_tail_since_timestamps_and_previous(kubelet) -> None:
    runtime, stub = kubelet
    assert await read_logs(stub, container="c1", tail_lines=2) == b"two\nthree\n"
    assert await read_logs(stub, container="c1", tail_lines=0) == b""
    assert await read_logs(stub, container="c1", previous=True, timestamps=True,
                           since_seconds=30) == TIMESTAMP + b"crashed before\n"
    assert runtime.log_calls[-1]["since_seconds"] == 30 and runtime.log_calls[-1]["container_id"] == "c1-old"


async def test_logs_honour_limit_bytes(kubelet) -> None:
    _, stub = kubelet
    assert await read_logs(stub, container="c1", limit_bytes=6) == b"one\ntw"
    assert await read_logs(stub, container="c1", limit_bytes=4) == b"one\n"


async def test_logs_follow_streams_until_the_runtime_ends(kubelet) -> None:
    _, stub = kubelet
    assert await read_logs(stub, container="c2", follow=True) == b"from c2\nfollowed 0\nfollowed 1\nfollowed 2\n"


@pytest.mark.parametrize(("container", "previous", "message"), [
    ("nope", False, 'container "nope" in pod "p" is not valid'),
    ("c2", True, 'previous terminated container "c2" in pod "p" not found'),
])
async def test_unknown_containers_are_not_found_with_kubernetes_message(kubelet, container: str, previous: bool,
                                                                        message: str) -> None:
    _, stub = kubelet
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await read_logs(stub, container=container, previous=previous)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert info.value.details() == message


async def test_exec_relays_output_and_exit_code(kubelet) -> None:
    _, stub = kubelet
    assert await run_exec(stub, ["echo", "hi"]) == (b"hi\n", b"", 0)
    assert await run_exec(stub, ["sh", "-c", "exit 3"]) == (b"", b"", 3)
    assert await run_exec(stub, ["sh", "-c", "echo oops >&2"]) == (b"", b"oops\n", 0)


async def test_exec_relays_stdin_resize_and_stdin_close(kubelet) -> None:
    runtime, stub = kubelet
    assert await run_exec(stub, ["cat"], [b"data\n", b"more\n"]) == (b"data\nmore\n", b"", 0)
    assert runtime.sessions[-1].resizes == [(80, 24)]


async def test_exec_in_an_unknown_container_is_not_found(kubelet) -> None:
    _, stub = kubelet
    start = pb.ExecFrame(start=pb.ExecStart(namespace="default", pod="p", container="x", command=["ls"],
                                            stdout=True))
    with pytest.raises(grpc.aio.AioRpcError) as info:
        _ = [frame async for frame in stub.Exec(iter([start]))]
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    assert info.value.details() == 'container "x" in pod "p" is not valid'


async def test_exec_must_start_with_a_start_frame(kubelet) -> None:
    _, stub = kubelet
    with pytest.raises(grpc.aio.AioRpcError) as info:
        _ = [frame async for frame in stub.Exec(iter([pb.ExecFrame(stdin=b"x")]))]
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_stats_group_running_containers_by_pod_and_skip_vanished_ones(kubelet) -> None:
    _, stub = kubelet
    response = await stub.Stats(pb.StatsRequest())
    assert [(p.name, p.uid, [c.name for c in p.containers]) for p in response.pods] == [("p", "uid-p",
                                                                                        ["c1", "c2"])]
    c1 = response.pods[0].containers[0]
    assert (c1.container_id, c1.cpu_usage_nanocores, c1.memory_working_set_bytes) == ("c1-now", 5_000_000, 8 << 20)
