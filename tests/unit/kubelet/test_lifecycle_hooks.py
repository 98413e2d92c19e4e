"""Lifecycle hooks: exec through a stub runtime, httpGet against a real loopback server, sleep, with Kubernetes'
failure messages."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from aiohttp import web

from kubelet.lifecycle_hooks import REASON_HTTP_FALLBACK, run_hook
from kubelet.runtime.interface import ExecResult, NotFoundError

LOOPBACK = "127.0.0.1"
POD: dict[str, Any] = {"metadata": {"name": "web", "namespace": "default", "uid": "u-1"}}
CONTAINER: dict[str, Any] = {"name": "app", "image": "nginx"}
WHERE = 'for Container "app" in Pod "web_default(u-1)"'


class StubRuntime:
    def __init__(self, exit_code: int = 0, output: bytes = b"", delay: float = 0.0,
                 error: Exception | None = None) -> None:
        self.exit_code, self.output, self.delay, self.error = exit_code, output, delay, error
        self.calls: list[tuple[str, list[str]]] = []

    async def exec_sync(self, container_id: str, command: list[str], timeout: float) -> ExecResult:
        self.calls.append((container_id, command))
        if self.error is not None:
            raise self.error
        await asyncio.sleep(self.delay)
        return ExecResult(self.exit_code, self.output)


async def hook(handler: dict[str, Any], runtime: StubRuntime | None = None, timeout: float = 5.0,
               **kwargs: Any) -> str | None:
    return await run_hook(handler, kind="postStart", pod=POD, container=CONTAINER, container_id="c1",
                          pod_ip=LOOPBACK, runtime=cast(Any, runtime or StubRuntime()), timeout=timeout, **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def server() -> AsyncIterator[tuple[int, list[dict[str, str]]]]:
    """A loopback HTTP server that records each request's headers; /broken answers 500."""
    seen: list[dict[str, str]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(dict(request.headers.items()))
        return web.Response(status=500 if request.path == "/broken" else 200)

    app = web.Application()
    app.router.add_get("/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port).start()
    yield port, seen
    await runner.cleanup()


# -- exec --------------------------------------------------------------------------------------------------------


async def test_exec_hook_success_returns_none() -> None:
    runtime = StubRuntime()
    assert await hook({"exec": {"command": ["sh", "-c", "echo hi"]}}, runtime) is None
    assert runtime.calls == [("c1", ["sh", "-c", "echo hi"])]


async def test_exec_hook_failure_message_reads_like_kubernetes() -> None:
    message = await hook({"exec": {"command": ["sh", "-c", "exit 3"]}}, StubRuntime(3, b"oops\n"))
    assert message == (f"Exec lifecycle hook ([sh -c exit 3]) {WHERE} failed - error: "
                       "command 'sh -c exit 3' exited with 3: oops\n, message: \"oops\\n\"")


async def test_exec_hook_timeout_fails() -> None:
    message = await hook({"exec": {"command": ["sleep", "60"]}}, StubRuntime(delay=5), timeout=0.05)
    assert message == f'Exec lifecycle hook ([sleep 60]) {WHERE} failed - error: command "sleep 60" timed out, ' \
                      'message: ""'


async def test_exec_hook_runtime_error_fails() -> None:
    message = await hook({"exec": {"command": ["true"]}}, StubRuntime(error=NotFoundError("container c1 is gone")))
    assert message is not None
    assert "error: container c1 is gone" in message


# -- httpGet -----------------------------------------------------------------------------------------------------


async def test_http_hook_any_response_is_success_and_sends_the_lifecycle_user_agent(
        server: tuple[int, list[dict[str, str]]]) -> None:
    port, seen = server
    assert await hook({"httpGet": {"path": "/broken", "port": port}}) is None  # the status code is not checked
    assert seen[0]["User-Agent"] == "kube-lifecycle/1.32"


async def test_http_hook_uses_named_ports_and_headers(server: tuple[int, list[dict[str, str]]]) -> None:
    port, seen = server
    container = {**CONTAINER, "ports": [{"name": "admin", "containerPort": port}]}
    action = {"path": "/drain", "port": "admin", "httpHeaders": [{"name": "X-Reason", "value": "stop"}]}
    message = await run_hook({"httpGet": action}, kind="preStop", pod=POD, container=container, container_id="c1",
                             pod_ip=LOOPBACK, runtime=cast(Any, StubRuntime()), timeout=5)
    assert message is None
    assert seen[0]["X-Reason"] == "stop"


async def test_http_hook_connection_refused_fails() -> None:
    port = free_port()
    message = await hook({"httpGet": {"path": "/stop", "port": port}})
    assert message == (f"HTTP lifecycle hook (/stop) {WHERE} failed - error: Get \"http://{LOOPBACK}:{port}/stop\": "
                       f"dial tcp {LOOPBACK}:{port}: connect: connection refused")


async def test_http_hook_unknown_named_port_fails() -> None:
    message = await hook({"httpGet": {"path": "/stop", "port": "admin"}})
    assert message is not None
    assert "couldn't find port: admin" in message


async def test_https_hook_answered_in_plain_http_falls_back_with_an_event(
        server: tuple[int, list[dict[str, str]]]) -> None:
    port, seen = server
    events: list[tuple[str, str, str]] = []
    action = {"path": "/", "port": port, "scheme": "HTTPS",
              "httpHeaders": [{"name": "Authorization", "value": "Bearer secret"}]}
    message = await hook({"httpGet": action}, record_event=lambda pod, t, r, m: events.append((t, r, m)))
    assert message is None
    assert "Authorization" not in seen[0]
    assert events == [("Warning", REASON_HTTP_FALLBACK, f"request to HTTPS lifecycle hook {LOOPBACK}:{port} got "
                                                        "HTTP response, retry with HTTP succeeded")]


# -- sleep and others --------------------------------------------------------------------------------------------


async def test_sleep_hook_sleeps_its_seconds() -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    assert await hook({"sleep": {"seconds": 3}}, sleep=fake_sleep) is None
    assert slept == [3]


async def test_sleep_hook_cut_short_by_the_timeout_fails() -> None:
    message = await hook({"sleep": {"seconds": 30}}, timeout=0.01)
    assert message == f"Sleep lifecycle hook (30) {WHERE} failed - error: container terminated before sleep hook " \
                      "finished"


async def test_a_handler_without_action_is_rejected() -> None:
    message = await hook({})
    assert message is not None
    assert message.startswith("Cannot run handler: invalid handler")
