"""Running one probe: httpGet against a real aiohttp server on loopback, tcpSocket, exec through a stub runtime,
gRPC health against a real grpc.aio server, and the annotation runner of hollow nodes."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import grpc
import pytest
from aiohttp import web

from kubelet.http_get import ActionError, resolve_port
from kubelet.probes import (
    FAILURE,
    SUCCESS,
    UNKNOWN,
    AnnotationProbeRunner,
    NetworkProbeRunner,
    ProbeResult,
    decode_health_response,
    encode_health_request,
)
from kubelet.runtime.interface import ExecResult, NotFoundError

LOOPBACK = "127.0.0.1"
Handler = Callable[[web.Request], Awaitable[web.Response]]
CONTAINER: dict[str, Any] = {"name": "web", "image": "nginx", "ports": [{"name": "http", "containerPort": 0}]}


class StubRuntime:
    """Implements only ``exec_sync``: answers from a script, records the calls."""

    def __init__(self, exit_code: int = 0, output: bytes = b"", delay: float = 0.0,
                 error: Exception | None = None) -> None:
        self.exit_code, self.output, self.delay, self.error = exit_code, output, delay, error
        self.calls: list[tuple[str, list[str], float]] = []

    async def exec_sync(self, container_id: str, command: list[str], timeout: float) -> ExecResult:
        self.calls.append((container_id, command, timeout))
        if self.error is not None:
            raise self.error
        await asyncio.sleep(self.delay)
        return ExecResult(self.exit_code, self.output)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def _app(port: int, release: asyncio.Event) -> web.Application:
    """Routes for every httpGet case; ``/slow`` answers only once ``release`` is set (at teardown)."""

    def text(body: str, status: int = 200) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            return web.Response(status=status, text=body)
        return handle

    def found(location: str) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            raise web.HTTPFound(location)
        return handle

    async def headers(request: web.Request) -> web.Response:
        return web.json_response(dict(request.headers.items()))

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="late")

    app = web.Application()
    app.router.add_get("/ok", text("all good"))
    app.router.add_get("/fail", text("database down", 500))
    app.router.add_get("/redirect", found("/ok"))
    app.router.add_get("/redirect-fail", found("/fail"))
    app.router.add_get("/offsite", found(f"http://localhost:{port}/fail"))
    app.router.add_get("/loop", found("/loop"))
    app.router.add_get("/headers", headers)
    app.router.add_get("/slow", slow)
    return app


@pytest.fixture
async def server() -> AsyncIterator[int]:
    """A real HTTP server on a free loopback port; yields the port."""
    port, release = free_port(), asyncio.Event()
    runner = web.AppRunner(_app(port, release))
    await runner.setup()
    await web.TCPSite(runner, LOOPBACK, port).start()
    yield port
    release.set()
    await runner.cleanup()


async def probe(spec: dict[str, Any], runtime: Any = None, container: dict[str, Any] | None = None) -> ProbeResult:
    runner = NetworkProbeRunner(cast(Any, runtime or StubRuntime()))
    return await runner.run("readiness", spec, pod={}, container=container or CONTAINER, container_id="c1",
                            pod_ip=LOOPBACK)


# -- httpGet -----------------------------------------------------------------------------------------------------


async def test_http_200_is_success_with_the_body(server: int) -> None:
    result = await probe({"httpGet": {"path": "/ok", "port": server}})
    assert result == ProbeResult(SUCCESS, "all good")


async def test_http_500_is_failure_with_kubernetes_wording(server: int) -> None:
    result = await probe({"httpGet": {"path": "/fail", "port": server}})
    assert result == ProbeResult(FAILURE, "HTTP probe failed with statuscode: 500")


async def test_http_redirect_to_the_same_host_is_followed(server: int) -> None:
    assert (await probe({"httpGet": {"path": "/redirect", "port": server}})).result == SUCCESS
    assert (await probe({"httpGet": {"path": "/redirect-fail", "port": server}})).result == FAILURE


async def test_http_redirect_to_another_host_is_a_success_with_a_warning(server: int) -> None:
    result = await probe({"httpGet": {"path": "/offsite", "port": server}})
    assert result.result == SUCCESS
    assert result.warning
    assert result.message.startswith("Probe terminated redirects, Response body: ")


async def test_http_redirect_loop_stops_after_ten(server: int) -> None:
    result = await probe({"httpGet": {"path": "/loop", "port": server}})
    assert result == ProbeResult(FAILURE, f'Get "http://{LOOPBACK}:{server}/loop": stopped after 10 redirects')


async def test_http_sends_headers_user_agent_and_accept(server: int) -> None:
    headers = [{"name": "X-Probe", "value": "yes"}, {"name": "Host", "value": "example.test"}]
    result = await probe({"httpGet": {"path": "/headers", "port": server, "httpHeaders": headers}})
    assert result.result == SUCCESS
    assert '"X-Probe": "yes"' in result.message
    assert '"Host": "example.test"' in result.message
    assert '"User-Agent": "kube-probe/1.32"' in result.message
    assert '"Accept": "*/*"' in result.message


async def test_http_user_agent_can_be_overridden(server: int) -> None:
    headers = [{"name": "User-Agent", "value": "mine"}]
    result = await probe({"httpGet": {"path": "/headers", "port": server, "httpHeaders": headers}})
    assert '"User-Agent": "mine"' in result.message


async def test_http_timeout_is_a_failure(server: int) -> None:
    result = await probe({"httpGet": {"path": "/slow", "port": server}, "timeoutSeconds": 0.2})
    assert result.result == FAILURE
    assert result.message == (f'Get "http://{LOOPBACK}:{server}/slow": context deadline exceeded '
                              "(Client.Timeout exceeded while awaiting headers)")


async def test_http_connection_refused_reads_like_go() -> None:
    port = free_port()
    result = await probe({"httpGet": {"path": "/healthz", "port": port}})
    assert result == ProbeResult(
        FAILURE, f'Get "http://{LOOPBACK}:{port}/healthz": dial tcp {LOOPBACK}:{port}: connect: connection refused')


async def test_http_named_port_resolves_through_the_container_ports(server: int) -> None:
    container = {"name": "web", "ports": [{"name": "http", "containerPort": server}]}
    result = await probe({"httpGet": {"path": "/ok", "port": "http"}}, container=container)
    assert result.result == SUCCESS


async def test_unknown_named_port_is_an_error_not_a_failure() -> None:
    result = await probe({"httpGet": {"path": "/ok", "port": "metrics"}})
    assert result.result == UNKNOWN
    assert "couldn't find port: metrics" in result.message


def test_resolve_port_accepts_numbers_names_and_numeric_strings() -> None:
    container = {"ports": [{"name": "http", "containerPort": 8080}]}
    assert resolve_port(80, container) == 80
    assert resolve_port("http", container) == 8080
    assert resolve_port("9090", container) == 9090
    with pytest.raises(ActionError, match="invalid port number: 70000"):
        resolve_port(70000, container)


# -- tcpSocket ---------------------------------------------------------------------------------------------------


async def test_tcp_open_port_is_success(server: int) -> None:
    assert await probe({"tcpSocket": {"port": server}}) == ProbeResult(SUCCESS)


async def test_tcp_closed_port_is_failure() -> None:
    port = free_port()
    result = await probe({"tcpSocket": {"port": port}})
    assert result == ProbeResult(FAILURE, f"dial tcp {LOOPBACK}:{port}: connect: connection refused")


# -- exec --------------------------------------------------------------------------------------------------------


async def test_exec_exit_zero_is_success_and_gets_the_timeout() -> None:
    runtime = StubRuntime(0, b"ok\n")
    result = await probe({"exec": {"command": ["cat", "/tmp/healthy"]}, "timeoutSeconds": 3}, runtime)
    assert result == ProbeResult(SUCCESS, "ok\n")
    assert runtime.calls == [("c1", ["cat", "/tmp/healthy"], 3.0)]


async def test_exec_non_zero_exit_is_failure_with_the_output() -> None:
    result = await probe({"exec": {"command": ["cat", "/nope"]}}, StubRuntime(1, b"cat: /nope: No such file\n"))
    assert result == ProbeResult(FAILURE, "cat: /nope: No such file\n")


async def test_exec_timeout_is_failure() -> None:
    result = await probe({"exec": {"command": ["sleep", "9"]}, "timeoutSeconds": 0.05}, StubRuntime(delay=5))
    assert result == ProbeResult(FAILURE, 'command "sleep 9" timed out')


async def test_exec_runtime_error_is_unknown() -> None:
    result = await probe({"exec": {"command": ["true"]}}, StubRuntime(error=NotFoundError("no such container c1")))
    assert result == ProbeResult(UNKNOWN, "no such container c1")


async def test_probe_without_handler_is_unknown() -> None:
    assert (await probe({"periodSeconds": 3})).result == UNKNOWN


# -- gRPC --------------------------------------------------------------------------------------------------------


def test_health_messages_round_trip() -> None:
    assert encode_health_request("") == b""
    assert encode_health_request("db") == b"\x0a\x02db"
    assert decode_health_response(b"\x08\x01") == 1
    assert decode_health_response(b"") == 0
    assert decode_health_response(b"\x12\x01x\x08\x02") == 2  # an unknown field is skipped


@pytest.fixture
async def grpc_server() -> AsyncIterator[tuple[int, dict[str, int]]]:
    """A gRPC server whose Health/Check answers from a service -> status table (unknown service: NOT_FOUND)."""
    statuses: dict[str, int] = {"": 1, "sick": 2}

    async def check(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        service = request[2:].decode()
        if service not in statuses:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return b"\x08" + bytes([statuses[service]])

    handler = grpc.method_handlers_generic_handler(
        "grpc.health.v1.Health", {"Check": grpc.unary_unary_rpc_method_handler(check)})
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port(f"{LOOPBACK}:0")
    await server.start()
    yield port, statuses
    await server.stop(None)


async def test_grpc_serving_is_success(grpc_server: tuple[int, dict[str, int]]) -> None:
    port, _ = grpc_server
    assert await probe({"grpc": {"port": port}}) == ProbeResult(SUCCESS, "service healthy")


async def test_grpc_not_serving_is_failure(grpc_server: tuple[int, dict[str, int]]) -> None:
    port, _ = grpc_server
    result = await probe({"grpc": {"port": port, "service": "sick"}})
    assert result == ProbeResult(FAILURE, 'service unhealthy (responded with "NOT_SERVING")')


async def test_grpc_error_status_is_failure(grpc_server: tuple[int, dict[str, int]]) -> None:
    port, _ = grpc_server
    result = await probe({"grpc": {"port": port, "service": "other"}})
    assert result == ProbeResult(
        FAILURE, "error: health rpc probe failed: rpc error: code = NotFound desc = unknown service")


# -- the annotation runner ---------------------------------------------------------------------------------------


async def test_annotation_runner_follows_the_pod_annotation() -> None:
    runner = AnnotationProbeRunner()

    async def run(annotations: dict[str, str]) -> ProbeResult:
        pod = {"metadata": {"annotations": annotations}}
        return await runner.run("liveness", {}, pod=pod, container={"name": "web"}, container_id="c", pod_ip="")

    key = "fake.kubeling.io/probe.liveness.web"
    assert (await run({})).result == SUCCESS
    assert (await run({key: "success"})).result == SUCCESS
    assert await run({key: "failure"}) == ProbeResult(FAILURE, f"fake probe failure (annotation {key})")
    assert (await run({"fake.kubeling.io/probe.readiness.web": "failure"})).result == SUCCESS
    assert (await run({key: "maybe"})).result == UNKNOWN
