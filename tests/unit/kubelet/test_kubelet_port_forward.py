"""The kubelet API's PortForward and Attach (kubelet/api.py) over a real loopback gRPC connection, with the fake
runtime: pod `web` listens on 8080 (annotation fake.kubeling.io/listen), which echoes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from kubelet.api import KubeletAPI
from kubelet.runtime.fake import ANNOTATION_PREFIX, FakeRuntime
from kubelet.runtime.interface import ContainerConfig, SandboxConfig
from proto import kubeling_pb2 as pb
from proto import kubeling_pb2_grpc as pb_grpc


@pytest.fixture
async def kubelet() -> AsyncIterator[tuple[pb_grpc.KubeletStub, dict[str, str]]]:
    runtime = FakeRuntime()
    sandbox = await runtime.run_sandbox(SandboxConfig(pod_uid="uid-web", namespace="default", name="web",
                                                      node_name="n", hostname="web",
                                                      annotations={f"{ANNOTATION_PREFIX}listen": "8080"}))
    running = await runtime.create_container(sandbox.id, ContainerConfig(
        pod_uid="uid-web", namespace="default", pod_name="web", node_name="n", name="app", container_type="app",
        restart_count=0, spec_hash="h", image="busybox"))
    await runtime.start_container(running)
    created = await runtime.create_container(sandbox.id, ContainerConfig(
        pod_uid="uid-web", namespace="default", pod_name="web", node_name="n", name="late", container_type="app",
        restart_count=0, spec_hash="h", image="busybox"))
    ids = {"sandbox": sandbox.id, "app": running, "late": created}

    async def resolve(namespace: str, pod: str, container: str, previous: bool) -> str:
        if container not in ids:
            raise LookupError(f'container "{container}" in pod "{pod}" is not valid')
        return ids[container]

    async def resolve_sandbox(namespace: str, pod: str, uid: str) -> str:
        if (namespace, pod) != ("default", "web") or uid not in ("", "uid-web"):
            raise LookupError(f'pod "{pod}" not found on node n')
        return sandbox.id

    api = KubeletAPI(runtime, resolve, resolve_sandbox=resolve_sandbox)
    port = await api.start("127.0.0.1", 0)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield pb_grpc.KubeletStub(channel), ids
    await api.stop()
    await runtime.close()


def start(port: int, pod: str = "web", uid: str = "") -> pb.PortForwardFrame:
    return pb.PortForwardFrame(start=pb.PortForwardStart(namespace="default", pod=pod, uid=uid, port=port))


async def forward(stub: pb_grpc.KubeletStub, frames: list[pb.PortForwardFrame]) -> list[tuple[str, Any]]:
    return [(f.WhichOneof("frame"), getattr(f, f.WhichOneof("frame") or "data")) async for f in
            stub.PortForward(iter(frames))]


async def test_port_forward_relays_bytes_and_the_half_close(kubelet) -> None:
    stub, _ = kubelet
    got = await forward(stub, [start(8080, uid="uid-web"), pb.PortForwardFrame(data=b"ping"),
                               pb.PortForwardFrame(close=True)])
    assert b"".join(v for k, v in got if k == "data") == b"ping"
    assert got[-1] == ("close", True)


async def test_port_forward_to_a_closed_port_is_one_error_frame_in_kubernetes_words(kubelet) -> None:
    stub, ids = kubelet
    got = await forward(stub, [start(9090)])
    assert got == [("error", f"error forwarding port 9090 to pod {ids['sandbox']}, uid : failed to connect to "
                             f'localhost:9090 inside namespace "{ids["sandbox"]}": connection refused')]


async def test_port_forward_to_an_unknown_pod_or_uid_is_not_found(kubelet) -> None:
    stub, _ = kubelet
    for frame in (start(8080, pod="other"), start(8080, uid="someone-else")):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await forward(stub, [frame])
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_port_forward_must_start_with_a_start_frame(kubelet) -> None:
    stub, _ = kubelet
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await forward(stub, [pb.PortForwardFrame(data=b"x")])
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def attach_start(container: str, stdin: bool) -> pb.ExecFrame:
    return pb.ExecFrame(start=pb.ExecStart(namespace="default", pod="web", container=container, stdin=stdin,
                                           stdout=True, stderr=True))


async def test_attach_streams_output_then_exit_zero(kubelet) -> None:
    stub, _ = kubelet
    frames = [attach_start("app", stdin=True), pb.ExecFrame(stdin=b"typed\n"), pb.ExecFrame(stdin_close=True)]
    got = [f async for f in stub.Attach(iter(frames))]
    assert b"".join(f.output.data for f in got if f.WhichOneof("frame") == "output") == (
        b"attached to fake container app\ntyped\n")
    assert got[-1].WhichOneof("frame") == "exit" and got[-1].exit.exit_code == 0


async def test_attach_to_a_container_that_is_not_running_fails(kubelet) -> None:
    stub, _ = kubelet
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        _ = [f async for f in stub.Attach(iter([attach_start("late", stdin=False)]))]
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "is not running" in (caught.value.details() or "")
