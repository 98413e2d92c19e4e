"""kill -9 the apiserver during a stream of writes; nothing acknowledged may be lost.

Writers create ConfigMaps as fast as they can and record every acknowledgement (name, revision).
Mid-stream the apiserver process is killed with SIGKILL and restarted on the same ports. Then:
- every acknowledged write is in etcd, at exactly the acknowledged revision;
- each writer's acknowledged revisions only go up, across the restart too;
- an informer that ran through the whole thing holds every object in etcd, and saw each one
  added exactly once: no missed and no duplicated event.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib

import pytest
from aetcd import Client as Etcd

from apimachinery import errors
from client.client import Client
from client.informer import Handler, Informer
from tests.fixtures import ApiserverProcess

pytestmark = [pytest.mark.integration, pytest.mark.chaos]
WRITERS = 4


async def write_until(client: Client, writer: int, stop: asyncio.Event, acks: list[tuple[str, int]]) -> None:
    i = 0
    while not stop.is_set():
        name = f"w{writer}-{i}"
        i += 1
        try:
            created = await client.create({"apiVersion": "v1", "kind": "ConfigMap",
                                           "metadata": {"name": name, "namespace": "default"},
                                           "data": {"i": str(i)}})
        except errors.ApiError:
            await asyncio.sleep(0.05)  # unavailable, or committed-but-unacknowledged (AlreadyExists on retry)
            continue
        acks.append((name, int(created["metadata"]["resourceVersion"])))


async def stored_revisions(endpoint: str) -> dict[str, int]:
    host, port = endpoint.split(":")
    async with Etcd(host=host, port=int(port)) as etcd:
        result = await etcd.get_prefix(b"/registry/configmaps/default/")
    return {kv.key.decode().rsplit("/", 1)[1]: kv.mod_revision for kv in result}


async def test_kill_9_of_the_apiserver_loses_no_acknowledged_write_and_the_informer_misses_nothing(
        etcd, logs_dir):
    server = ApiserverProcess(etcd.endpoint, logs_dir / "apiserver.log")
    server.start()
    client = Client(server.target, retry_timeout=1.0, timeout=5.0)
    added: collections.Counter[str] = collections.Counter()
    updates: list[str] = []
    informer = Informer(client, "configmaps", namespace="default")
    informer.add_handler(Handler(on_add=lambda o: added.update([o["metadata"]["name"]]),
                                 on_update=lambda old, new: updates.append(new["metadata"]["name"])))
    informer_task = asyncio.create_task(informer.run())
    acks: list[list[tuple[str, int]]] = [[] for _ in range(WRITERS)]
    stop = asyncio.Event()
    writers = [asyncio.create_task(write_until(client, w, stop, acks[w])) for w in range(WRITERS)]
    try:
        await asyncio.sleep(1.5)
        acked_before_kill = sum(len(a) for a in acks)
        server.kill()
        await asyncio.sleep(0.5)
        server.start()
        acked_at_restart = sum(len(a) for a in acks)

        async def writes_resumed() -> None:
            while sum(len(a) for a in acks) < acked_at_restart + 50:
                await asyncio.sleep(0.05)
        await asyncio.wait_for(writes_resumed(), 15)
        stop.set()
        await asyncio.gather(*writers)

        stored = await stored_revisions(etcd.endpoint)
        all_acks = [ack for writer_acks in acks for ack in writer_acks]
        assert acked_before_kill > 20, "writes were acknowledged before the kill"
        for name, revision in all_acks:
            assert stored.get(name) == revision, f"acknowledged {name}@{revision} but etcd has {stored.get(name)}"
        for writer_acks in acks:
            revisions = [revision for _, revision in writer_acks]
            assert revisions == sorted(revisions) and len(set(revisions)) == len(revisions)

        async def converged() -> None:
            while set(informer.store.keys()) != {f"default/{n}" for n in stored}:
                await asyncio.sleep(0.05)
        await asyncio.wait_for(converged(), 15)
        assert set(added) == set(stored)
        duplicated = {name: n for name, n in added.items() if n > 1}
        assert not duplicated, f"added more than once: {duplicated}"
        assert updates == []
    finally:
        stop.set()
        informer_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await informer_task
        await client.close()
        server.stop()
