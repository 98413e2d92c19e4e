"""The client library against a real apiserver: informer relists, leader election on a Lease,
resource names as kubectl users type them."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from apimachinery import errors
from apiserver.compaction import Compactor
from client.informer import Handler, Informer
from client.leaderelection import LeaderElectionConfig, LeaderElector

pytestmark = pytest.mark.integration


def configmap(name: str, value: str = "v") -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"},
            "data": {"k": value}}


async def eventually(check, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running(informer: Informer):
    task = asyncio.create_task(informer.run())
    try:
        await informer.wait_for_sync(5)
        yield informer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.mark.parametrize("name", ["pods", "pod", "po", "deploy", "deployments.apps", "leases.coordination.k8s.io"])
async def test_resources_are_named_as_kubectl_users_type_them(client, name):
    listed = await client.list(name, "default")
    assert listed["kind"].endswith("List")


async def test_watch_from_resource_version_zero_starts_with_the_current_state(client):
    await client.create(configmap("a"))
    stream = client.watch("configmaps", "default", resource_version="0")
    event = await asyncio.wait_for(anext(stream), 5)
    assert (event.type, event.object["metadata"]["name"]) == ("ADDED", "a")
    await stream.aclose()


async def test_exact_list_reads_the_past_state_at_that_revision(client):
    first = await client.create(configmap("a"))
    await client.create(configmap("b"))
    past = await client.list("configmaps", "default", resource_version=first["metadata"]["resourceVersion"],
                             resource_version_match="Exact")
    assert [i["metadata"]["name"] for i in past["items"]] == ["a"]


async def test_informer_delivers_adds_updates_and_deletes_once_each(client):
    seen: list[tuple[str, str]] = []
    informer = Informer(client, "configmaps", namespace="default")
    informer.add_handler(Handler(on_add=lambda o: seen.append(("add", o["metadata"]["name"])),
                                 on_update=lambda old, new: seen.append(("update", new["metadata"]["name"])),
                                 on_delete=lambda o: seen.append(("delete", o["metadata"]["name"]))))
    await client.create(configmap("before"))
    async with running(informer):
        await client.create(configmap("a"))
        await client.patch("configmaps", "a", {"data": {"k": "2"}}, "default")
        await client.delete("configmaps", "a", "default")
        await eventually(lambda: len(seen) == 4)
    assert seen == [("add", "before"), ("add", "a"), ("update", "a"), ("delete", "a")]


async def test_informer_relists_after_gone_and_delivers_only_the_difference(client, apiserver):
    seen: list[tuple[str, str]] = []
    informer = Informer(client, "configmaps", namespace="default")
    informer.add_handler(Handler(on_add=lambda o: seen.append(("add", o["metadata"]["name"])),
                                 on_update=lambda old, new: seen.append(("update", new["metadata"]["name"])),
                                 on_delete=lambda o: seen.append(("delete", o["metadata"]["name"]))))
    await client.create(configmap("keep"))
    await client.create(configmap("change"))
    await client.create(configmap("remove"))
    task = asyncio.create_task(informer.run())
    await informer.wait_for_sync(5)
    await eventually(lambda: len(seen) == 3)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await client.patch("configmaps", "change", {"data": {"k": "2"}}, "default")
    await client.delete("configmaps", "remove", "default")
    await client.create(configmap("new"))
    await apiserver.stop()
    await apiserver.storage.connect()
    await Compactor(apiserver.storage).compact(await apiserver.storage.current_revision())
    await apiserver.start()
    seen.clear()
    async with running(informer):
        await eventually(lambda: informer.relists == 2)
        await eventually(lambda: len(seen) == 3)
    assert sorted(seen) == [("add", "new"), ("delete", "remove"), ("update", "change")]
    assert sorted(informer.store.keys()) == ["default/change", "default/keep", "default/new"]


async def test_informer_resync_offers_every_object_again(client):
    await client.create(configmap("a"))
    resynced: list[str] = []
    informer = Informer(client, "configmaps", namespace="default", resync_period=0.2)
    informer.add_handler(Handler(on_update=lambda old, new: resynced.append(new["metadata"]["name"])))
    async with running(informer):
        await eventually(lambda: resynced.count("a") >= 2)


async def test_one_leader_at_a_time_and_the_standby_takes_over_when_the_leader_stops(client):
    leading: list[str] = []
    stopped: list[str] = []

    def elector(identity: str) -> LeaderElector:
        config = LeaderElectionConfig("kube-system", "kube-scheduler", identity, lease_duration=1.5,
                                      renew_deadline=1.0, retry_period=0.2)

        async def lead() -> None:
            leading.append(identity)
            await asyncio.Event().wait()
        return LeaderElector(client, config, lead, lambda: stopped.append(identity))

    first, second = elector("a"), elector("b")
    task_a = asyncio.create_task(first.run())
    await eventually(lambda: leading == ["a"])
    task_b = asyncio.create_task(second.run())
    await asyncio.sleep(1.0)
    assert leading == ["a"] and second.leader == "a"
    lease = await client.get("leases.coordination.k8s.io", "kube-scheduler", "kube-system")
    assert lease["spec"]["holderIdentity"] == "a"
    task_a.cancel()  # the leader dies without releasing
    with contextlib.suppress(asyncio.CancelledError):
        await task_a
    await eventually(lambda: leading == ["a", "b"], timeout=1.5 + 2 * 0.2 * 1.2 + 2)
    lease = await client.get("leases.coordination.k8s.io", "kube-scheduler", "kube-system")
    assert lease["spec"]["holderIdentity"] == "b" and lease["spec"]["leaseTransitions"] == 1
    task_b.cancel()
    with contextlib.suppress(asyncio.CancelledError, errors.ApiError):
        await task_b


async def test_a_clients_writes_are_recorded_under_its_field_manager(apiserver):
    from client.client import Client

    async with Client(f"127.0.0.1:{apiserver.grpc_port}", field_manager="kube-controller-manager") as c:
        cm = await c.create({"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": {"name": "managed", "namespace": "default"}, "data": {"a": "1"}})
        cm["data"]["b"] = "2"
        cm = await c.update(cm)
        cm = await c.patch("configmaps", "managed", {"data": {"c": "3"}}, "default")
    managers = {(e["manager"], e["operation"]) for e in cm["metadata"]["managedFields"]}
    assert managers == {("kube-controller-manager", "Update")}
