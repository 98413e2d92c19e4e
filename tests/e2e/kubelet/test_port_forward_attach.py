"""`kubectl port-forward` and `kubectl attach` to real pods: kubectl → apiserver (SPDY in a websocket) → the
kubelet's gRPC API → Docker (a socket made inside the pod's network namespace; a hijacked attach)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.kubelet.conftest import DockerNode
from tests.e2e.kubelet.test_pods import create, sh, wait_phase
from tests.integration.http_api.conftest import kubectl_path

pytestmark = pytest.mark.e2e
# httpd bound to 127.0.0.1 only: reachable from inside the pod's network namespace, not on the pod IP.
LOCAL_HTTPD = "mkdir -p /www && echo hi-from-pod > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www"


async def start_kubectl(kubeconfig: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        kubectl_path(), "--kubeconfig", str(kubeconfig), *args, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


@pytest.fixture
async def processes() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    started: list[asyncio.subprocess.Process] = []
    yield started
    for process in started:
        if process.returncode is None:
            process.terminate()
        await process.communicate()


async def port_forward(kubeconfig: Path, pod: str, port: int,
                       processes: list[asyncio.subprocess.Process]) -> tuple[asyncio.subprocess.Process, int]:
    process = await start_kubectl(kubeconfig, "port-forward", f"pod/{pod}", f":{port}")
    processes.append(process)
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    match = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) -> \d+", line)
    assert match, f"unexpected kubectl output {line!r}"
    return process, int(match[1])


async def http_get(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.0\r\nHost: pod\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 15)
    writer.close()
    return answer


async def test_port_forward_reaches_a_server_bound_to_localhost_in_the_pod(
        client, docker_node: DockerNode, kubeconfig: Path, processes: list[asyncio.subprocess.Process]) -> None:
    await create(client, docker_node, "local-web", [sh("web", LOCAL_HTTPD)])
    await wait_phase(client, "local-web", "Running")
    _, local = await port_forward(kubeconfig, "local-web", 8080, processes)
    first, second = await asyncio.gather(http_get(local), http_get(local))
    for answer in (first, second):
        assert answer.startswith(b"HTTP/1.") and answer.endswith(b"hi-from-pod\n"), answer


async def test_port_forward_to_a_closed_port_reports_connection_refused(
        client, docker_node: DockerNode, kubeconfig: Path, processes: list[asyncio.subprocess.Process]) -> None:
    await create(client, docker_node, "quiet", [sh("c", "sleep 3600")])
    await wait_phase(client, "quiet", "Running")
    process, local = await port_forward(kubeconfig, "quiet", 9999, processes)
    assert await http_get(local) == b""
    _, err = await asyncio.wait_for(process.communicate(), 15)
    assert "an error occurred forwarding" in err.decode() and "Connection refused" in err.decode(), err


async def test_attach_streams_what_the_container_prints_from_now_on(
        client, docker_node: DockerNode, kubeconfig: Path, processes: list[asyncio.subprocess.Process]) -> None:
    await create(client, docker_node, "ticker", [sh("c", "i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.5; done")])
    await wait_phase(client, "ticker", "Running")
    process = await start_kubectl(kubeconfig, "attach", "ticker", "-c", "c")
    processes.append(process)
    assert process.stdout is not None
    lines = [(await asyncio.wait_for(process.stdout.readline(), 15)).decode() for _ in range(2)]
    first, second = (int(re.fullmatch(r"tick (\d+)\n", line)[1]) for line in lines)  # type: ignore[index]
    assert second == first + 1


async def test_attach_with_stdin_reaches_a_container_that_keeps_stdin_open(
        client, docker_node: DockerNode, kubeconfig: Path, processes: list[asyncio.subprocess.Process]) -> None:
    await create(client, docker_node, "reader", [sh("c", "while read line; do echo got $line; done", stdin=True)])
    await wait_phase(client, "reader", "Running")
    process = await start_kubectl(kubeconfig, "attach", "-i", "reader", "-c", "c")
    processes.append(process)
    assert process.stdin is not None and process.stdout is not None
    await asyncio.sleep(1)  # kubectl attaches before it reads stdin; what is typed before is still delivered
    process.stdin.write(b"hello\n")
    await process.stdin.drain()
    assert await asyncio.wait_for(process.stdout.readline(), 15) == b"got hello\n"
