"""The apiserver compacts etcd on a schedule, keeping one interval of history."""

from __future__ import annotations

import asyncio

import pytest

from apiserver.server import APIServer, ServerConfig
from client.client import Client

pytestmark = pytest.mark.integration


async def test_the_apiserver_compacts_etcd_to_the_previous_ticks_revision(etcd):
    server = APIServer(ServerConfig(etcd_endpoint=etcd.endpoint, grpc_port=0, http_port=0, compaction_interval=0.4))
    await server.start()
    try:
        async with Client(f"127.0.0.1:{server.grpc_port}") as client:
            first = await client.create({"apiVersion": "v1", "kind": "ConfigMap",
                                         "metadata": {"name": "a", "namespace": "default"}})
            before = await server.storage.oldest_revision()
            deadline = asyncio.get_running_loop().time() + 5
            while await server.storage.oldest_revision() <= int(first["metadata"]["resourceVersion"]):
                assert asyncio.get_running_loop().time() < deadline, "etcd was not compacted"
                await client.patch("configmaps", "a", {"data": {"tick": str(deadline)}}, "default")
                await asyncio.sleep(0.2)
            assert await server.storage.oldest_revision() > before
            # compaction goes to the previous tick's revision, never past the present: the current
            # state stays readable (and a LIST from etcd works)
            assert await server.storage.oldest_revision() <= await server.storage.current_revision()
            assert [i["metadata"]["name"] for i in (await client.list("configmaps", "default"))["items"]] == ["a"]
    finally:
        await server.stop()
