"""The max-in-flight limit: requests past a class's budget are answered 429 with Retry-After."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import orjson
import pytest

from apimachinery import errors
from apiserver.grpc_service import STATUS_KEY, ResourcesServicer
from apiserver.http_api.responses import error_response
from apiserver.inflight import InflightLimiter, http_verb
from client.client import Client
from proto import kubeling_pb2 as pb


def test_requests_past_the_limit_are_refused_with_retry_after_one_second() -> None:
    limiter = InflightLimiter(max_readonly=2, max_mutating=1)
    with limiter.admit("get"), limiter.admit("list"), pytest.raises(errors.TooManyRequests) as refused, \
            limiter.admit("get"):
        pass
    assert refused.value.code == 429
    assert refused.value.retry_after == 1
    assert refused.value.message == "Too many requests, please try again later."
    assert limiter.rejected == 1


def test_reads_and_writes_have_separate_budgets() -> None:
    limiter = InflightLimiter(max_readonly=1, max_mutating=1)
    with limiter.admit("list"), limiter.admit("create"), pytest.raises(errors.TooManyRequests), \
            limiter.admit("patch"):
        pass


def test_long_running_requests_are_not_counted_and_zero_means_no_limit() -> None:
    limiter = InflightLimiter(max_readonly=1, max_mutating=0)
    with limiter.admit("get"), limiter.admit("watch"), limiter.admit("connect"), limiter.admit("create"), \
            limiter.admit("delete"):
        assert limiter.in_flight == {False: 1, True: 2}


def test_a_failed_request_gives_its_slot_back() -> None:
    limiter = InflightLimiter(max_readonly=1, max_mutating=1)
    with pytest.raises(ValueError), limiter.admit("get"):
        raise ValueError("boom")
    with limiter.admit("get"):
        pass


@pytest.mark.parametrize(("method", "watch", "long_running", "verb"), [
    ("GET", False, False, "get"), ("GET", True, False, "watch"), ("POST", False, False, "create"),
    ("PATCH", False, False, "patch"), ("DELETE", False, False, "delete"), ("POST", False, True, "connect")])
def test_http_requests_map_to_their_verb_class(method: str, watch: bool, long_running: bool, verb: str) -> None:
    assert http_verb(method, watch, long_running) == verb


def test_a_429_status_response_carries_the_retry_after_header() -> None:
    response = error_response(errors.too_many_requests("busy", 1))
    assert response.status == 429
    assert response.headers["Retry-After"] == "1"
    assert isinstance(response.body, bytes)
    assert orjson.loads(response.body)["details"] == {"retryAfterSeconds": 1}


class FakeContext:
    def __init__(self) -> None:
        self.aborted: tuple[Any, ...] | None = None

    async def abort(self, code: grpc.StatusCode, message: str, trailing_metadata: Any = ()) -> None:
        self.aborted = (code, message, dict(trailing_metadata))


async def test_the_grpc_api_refuses_a_write_past_the_budget_while_one_is_in_flight() -> None:
    servicer = ResourcesServicer(registry=None, limiter=InflightLimiter(0, 1))  # type: ignore[arg-type]
    release = asyncio.Event()

    async def slow() -> str:
        await release.wait()
        return "done"

    ref = pb.ResourceRef(resource="configmaps")
    first = asyncio.ensure_future(servicer._serve("create", ref, FakeContext(), slow))
    await asyncio.sleep(0)
    context = FakeContext()
    with pytest.raises(errors.TooManyRequests):
        await servicer._serve("update", ref, context, slow)
    assert context.aborted is not None
    code, _, trailers = context.aborted
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert orjson.loads(trailers[STATUS_KEY])["reason"] == "TooManyRequests"
    assert await servicer._serve("get", ref, FakeContext(), lambda: asyncio.sleep(0, "read")) == "read"
    release.set()
    assert await first == "done"


def rpc_error(error: errors.ApiError) -> grpc.aio.AioRpcError:
    trailers = grpc.aio.Metadata((STATUS_KEY, orjson.dumps(error.to_status())))
    return grpc.aio.AioRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.aio.Metadata(), trailers, error.message)


async def test_the_client_retries_a_429_after_the_servers_retry_after() -> None:
    calls: list[float] = []

    async def method(request: Any, timeout: float) -> str:
        calls.append(asyncio.get_running_loop().time())
        if len(calls) == 1:
            raise rpc_error(errors.too_many_requests("busy", 1))
        return "ok"

    client = Client("127.0.0.1:1", retry_timeout=5.0)
    try:
        assert await client._call(method, None) == "ok"
    finally:
        await client.close()
    assert calls[1] - calls[0] >= 0.99


async def test_a_429_without_retry_after_is_the_callers_to_handle() -> None:
    async def method(request: Any, timeout: float) -> str:
        raise rpc_error(errors.TooManyRequests(429, "TooManyRequests", "Cannot evict pod as it would violate "
                                                                         "the pod's disruption budget."))

    client = Client("127.0.0.1:1", retry_timeout=5.0)
    try:
        with pytest.raises(errors.TooManyRequests):
            await client._call(method, None)
    finally:
        await client.close()


async def test_the_http_api_answers_429_past_the_budget_and_does_not_count_watches() -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from apiserver.http_api.inflight_filter import inflight_middleware

    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({})

    app = web.Application(middlewares=[inflight_middleware(InflightLimiter(max_readonly=1, max_mutating=1))])
    app.router.add_get("/api/v1/pods", slow)
    app.router.add_get("/api/v1/namespaces/d/pods/p/log", slow)
    async with TestClient(TestServer(app)) as http:
        held = asyncio.ensure_future(http.get("/api/v1/pods"))
        await asyncio.sleep(0.1)
        refused = await http.get("/api/v1/pods")
        assert refused.status == 429
        assert refused.headers["Retry-After"] == "1"
        assert (await refused.json())["reason"] == "TooManyRequests"
        watch = asyncio.ensure_future(http.get("/api/v1/pods?watch=1"))
        logs = asyncio.ensure_future(http.get("/api/v1/namespaces/d/pods/p/log"))
        await asyncio.sleep(0.1)
        release.set()
        assert [(await r).status for r in (held, watch, logs)] == [200, 200, 200]
