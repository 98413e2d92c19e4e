"""Shared fixtures: one real etcd per test session (wiped before each test that uses it), and an
apiserver plus client in the test's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.fixtures import EtcdServer


@pytest.fixture(scope="session")
def etcd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdServer]:
    server = EtcdServer(tmp_path_factory.mktemp("etcd") / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def etcd(etcd_server: EtcdServer) -> AsyncIterator[EtcdServer]:
    """The session's etcd with every key removed: each test starts from an empty store."""
    from aetcd import Client

    host, port = etcd_server.endpoint.split(":")
    async with Client(host=host, port=int(port)) as client:
        await client.delete_range(b"\0", b"\0")
    yield etcd_server


@pytest.fixture
async def apiserver(etcd: EtcdServer) -> AsyncIterator:
    """An APIServer in this event loop, on free ports, with short bookmark/compaction timings."""
    from apiserver.server import APIServer, ServerConfig

    server = APIServer(ServerConfig(etcd_endpoint=etcd.endpoint, grpc_port=0, http_port=0,
                                    bookmark_interval=0.5, compaction_interval=3600))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client(apiserver) -> AsyncIterator:
    from client.client import Client

    async with Client(f"127.0.0.1:{apiserver.grpc_port}", retry_timeout=5.0) as c:
        yield c


@pytest.fixture
def logs_dir(tmp_path: Path) -> Path:
    path = tmp_path / "logs"
    path.mkdir()
    return path
