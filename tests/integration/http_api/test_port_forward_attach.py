"""`kubectl port-forward` and `kubectl attach` end to end: real kubectl → the HTTP API (SPDY/3.1 tunnelled in a
websocket, or the raw SPDY upgrade, or the websocket channel protocol) → the kubelet's gRPC API (a KubeletAPI on
loopback with a stub runtime; no Docker).

Pod `p` "listens" on port 8080: the stub runtime connects there to an echo server on a loopback port (which answers
`echo: <data>` and half-closes when the client does); every other port is refused. Attaching to `c1` prints three
ticks and ends; with stdin it echoes stdin."""

from __future__ import annotations

import asyncio
import os
import re
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.stream import portforward

from apiserver.http_api import pod_proxy
from apiserver.http_api.port_forward_spdy import serve_spdy_upgrade, serve_spdy_websocket
from kubelet.api import KubeletAPI
from kubelet.runtime.interface import RuntimeError_
from tests.integration.http_api.conftest import kubectl_path
from tests.integration.http_api.test_logs_exec import create_node, ok, run
from tests.unit.kubelet.test_kubelet_api import StubRuntime, StubSession, stub_resolve

pytestmark = pytest.mark.integration

POD: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
                       "spec": {"nodeName": "node-1", "containers": [{"name": "c1", "image": "busybox"}]}}
LISTENING = 8080


class TickSession(StubSession):
    """What attach without stdin shows: three lines of the container's output, then the stream ends."""

    def __init__(self) -> None:
        super().__init__(["cat"], stdin=False, tty=False)
        for i in range(3):
            self.queue.put_nowait((1, f"tick {i}\n".encode()))
        self.queue.put_nowait(None)


class ForwardingRuntime(StubRuntime):
    def __init__(self, echo_port: int) -> None:
        super().__init__()
        self.echo_port = echo_port
        self.forwards: list[tuple[str, int]] = []
        self.attaches: list[tuple[str, bool, bool]] = []

    async def port_forward(self, sandbox_id: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.forwards.append((sandbox_id, port))
        if port != LISTENING:
            raise RuntimeError_(f'failed to connect to localhost:{port} inside namespace "{sandbox_id}": '
                                "connection refused")
        return await asyncio.open_connection("127.0.0.1", self.echo_port)

    async def attach(self, container_id: str, *, stdin: bool, tty: bool) -> StubSession:
        self.attaches.append((container_id, stdin, tty))
        return StubSession(["cat"], stdin, tty) if stdin else TickSession()


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"echo: ")
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.write_eof()
    writer.close()


async def resolve_sandbox(namespace: str, pod: str, uid: str) -> str:
    if (namespace, pod) != ("default", "p"):
        raise LookupError(f'pod "{pod}" not found')
    return "sandbox-p"


@pytest.fixture
async def kubelet(client) -> AsyncIterator[ForwardingRuntime]:
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    runtime = ForwardingRuntime(server.sockets[0].getsockname()[1])
    api = KubeletAPI(runtime, stub_resolve, resolve_sandbox=resolve_sandbox)  # type: ignore[arg-type]
    port = await api.start("127.0.0.1", 0)
    await create_node(client, "node-1", port)
    created = await client.create(POD)
    await client.update_status({**created, "status": {"phase": "Running"}})  # kubectl port-forward checks it
    yield runtime
    await api.stop()
    server.close()


class PortForward:
    """`kubectl port-forward pod/p :<port>` running in the background; `local` is the port it listens on."""

    def __init__(self, process: asyncio.subprocess.Process, local: int) -> None:
        self.process, self.local = process, local

    @classmethod
    async def start(cls, kubeconfig: Path, remote: int, env: dict[str, str] | None = None) -> PortForward:
        process = await asyncio.create_subprocess_exec(
            kubectl_path(), "--kubeconfig", str(kubeconfig), "port-forward", "pod/p", f":{remote}",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**os.environ, **(env or {})})
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
        match = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)", line)
        if not match:
            _, err = await process.communicate()
            raise AssertionError(f"unexpected kubectl output {line!r}: {err.decode()}")
        assert int(match[2]) == remote
        return cls(process, int(match[1]))

    async def round_trip(self, data: bytes) -> bytes:
        """Connect, send, half-close, read to the end."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.local)
        writer.write(data)
        await writer.drain()
        writer.write_eof()
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        return answer

    async def stop(self) -> str:
        if self.process.returncode is None:
            self.process.terminate()
        _, err = await self.process.communicate()
        return err.decode()


@pytest.fixture
async def forwards() -> AsyncIterator[list[PortForward]]:
    started: list[PortForward] = []
    yield started
    for forward in started:
        await forward.stop()


async def test_kubectl_port_forward_tunnels_spdy_in_a_websocket_to_the_pod_port(
        kubeconfig: Path, kubelet: ForwardingRuntime, forwards: list[PortForward],
        monkeypatch: pytest.MonkeyPatch) -> None:
    tunnels: list[str | None] = []

    async def spy(ws: Any, *args: Any) -> None:
        tunnels.append(ws.ws_protocol)
        await serve_spdy_websocket(ws, *args)

    monkeypatch.setattr(pod_proxy, "serve_spdy_websocket", spy)
    forward = await PortForward.start(kubeconfig, LISTENING)
    forwards.append(forward)
    assert await forward.round_trip(b"hello") == b"echo: hello"
    assert kubelet.forwards == [("sandbox-p", LISTENING)]
    assert tunnels == ["SPDY/3.1+portforward.k8s.io"]


async def test_kubectl_port_forward_serves_concurrent_connections(
        kubeconfig: Path, kubelet: ForwardingRuntime, forwards: list[PortForward]) -> None:
    forward = await PortForward.start(kubeconfig, LISTENING)
    forwards.append(forward)
    big = os.urandom(300_000)  # several SPDY data frames, beyond one flow-control window
    answers = await asyncio.gather(forward.round_trip(b"one"), forward.round_trip(big), forward.round_trip(b"two"))
    assert answers == [b"echo: one", b"echo: " + big, b"echo: two"]
    assert len(kubelet.forwards) == 3


async def test_kubectl_port_forward_over_the_raw_spdy_upgrade(
        kubeconfig: Path, kubelet: ForwardingRuntime, forwards: list[PortForward],
        monkeypatch: pytest.MonkeyPatch) -> None:
    upgrades: list[str] = []

    async def spy(request: Any, *args: Any) -> Any:
        upgrades.append(request.headers["Upgrade"])
        return await serve_spdy_upgrade(request, *args)

    monkeypatch.setattr(pod_proxy, "serve_spdy_upgrade", spy)
    forward = await PortForward.start(kubeconfig, LISTENING, env={"KUBECTL_PORT_FORWARD_WEBSOCKETS": "false"})
    forwards.append(forward)
    assert await forward.round_trip(b"over spdy") == b"echo: over spdy"
    assert upgrades == ["SPDY/3.1"]


async def test_kubectl_port_forward_to_a_port_nobody_listens_on_prints_the_error(
        kubeconfig: Path, kubelet: ForwardingRuntime, forwards: list[PortForward]) -> None:
    forward = await PortForward.start(kubeconfig, 9999)
    assert await forward.round_trip(b"anyone?") == b""
    await asyncio.wait_for(forward.process.wait(), 10)  # kubectl gives up on the whole forward: lost connection
    err = await forward.stop()
    assert "an error occurred forwarding" in err and "9999" in err, err
    assert "error forwarding port 9999 to pod sandbox-p, uid : " in err and "connection refused" in err, err


async def test_kubectl_port_forward_to_a_pod_on_an_unreachable_kubelet_fails(kubeconfig: Path, client) -> None:
    from tests.fixtures import free_port

    await create_node(client, "node-2", free_port())
    created = await client.create({**POD, "metadata": {"name": "lost", "namespace": "default"},
                                   "spec": {**POD["spec"], "nodeName": "node-2"}})
    await client.update_status({**created, "status": {"phase": "Running"}})
    code, _, err = await run(kubeconfig, "port-forward", "pod/lost", ":8080")
    assert code == 1 and 'node "node-2"' in err and "unreachable" in err, err


async def test_kubectl_attach_reads_the_container_output(kubeconfig: Path, kubelet: ForwardingRuntime) -> None:
    assert await ok(kubeconfig, "attach", "p", "-c", "c1") == "tick 0\ntick 1\ntick 2\n"
    assert kubelet.attaches == [("c1-now", False, False)]


async def test_kubectl_attach_with_stdin_relays_it(kubeconfig: Path, kubelet: ForwardingRuntime) -> None:
    assert await ok(kubeconfig, "attach", "-i", "p", "-c", "c1", input="typed\n") == "typed\n"
    assert kubelet.attaches == [("c1-now", True, False)]


async def test_attach_needs_one_stream(apiserver, kubelet: ForwardingRuntime) -> None:
    url = f"http://127.0.0.1:{apiserver.http_port}/api/v1/namespaces/default/pods/p/attach"
    async with aiohttp.ClientSession() as http, http.post(url, params={"container": "c1"}) as response:
        assert response.status == 400
        assert (await response.json())["message"] == "you must specify at least 1 of stdin, stdout, stderr"


async def test_websocket_channel_port_forward_as_the_python_client_speaks_it(
        apiserver, kubelet: ForwardingRuntime) -> None:
    url = f"http://127.0.0.1:{apiserver.http_port}/api/v1/namespaces/default/pods/p/portforward"
    received: dict[int, bytes] = {0: b"", 1: b"", 2: b"", 3: b""}
    async with aiohttp.ClientSession() as http, \
            http.ws_connect(url, params={"ports": f"{LISTENING},9999"}, protocols=("v4.channel.k8s.io",)) as ws:
        await ws.send_bytes(b"\x00ping")
        while received[0] != struct.pack("<H", LISTENING) + b"echo: ping" or len(received[3]) <= 2:
            msg = await ws.receive(timeout=10)
            assert msg.type == aiohttp.WSMsgType.BINARY, msg
            received[msg.data[0]] += msg.data[1:]
    assert received[1] == struct.pack("<H", LISTENING)
    assert received[2] == struct.pack("<H", 9999)
    assert received[3][2:].decode().startswith("error forwarding port 9999 to pod sandbox-p, uid : ")


def python_client_round_trip(kubeconfig: Path, data: bytes) -> bytes:
    """The official client's portforward (blocking): one socket to port 8080 of pod p."""
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    with k8s.ApiClient(configuration) as api:
        forward = portforward(k8s.CoreV1Api(api).connect_get_namespaced_pod_portforward, "p", "default",
                              ports=str(LISTENING))
        sock = forward.socket(LISTENING)
        sock.settimeout(10)
        sock.sendall(data)
        answer = b""
        while len(answer) < len(data) + len(b"echo: "):
            answer += sock.recv(65536)
        sock.close()
        forward.close()
        return answer


async def test_the_official_python_client_forwards_a_port(kubeconfig: Path, kubelet: ForwardingRuntime) -> None:
    assert await asyncio.to_thread(python_client_round_trip, kubeconfig, b"from python") == b"echo: from python"
