"""LIST and WATCH semantics: selectors, pagination from one snapshot, watch from "", "0", N,
compaction → Gone, selector transitions, bookmarks, and resuming across an apiserver restart."""

from __future__ import annotations

import asyncio

import pytest

from apimachinery import errors
from apiserver.compaction import Compactor

pytestmark = pytest.mark.integration


def pod(name: str, labels: dict | None = None, node: str = "", phase: str = "") -> dict:
    spec: dict = {"containers": [{"name": "c", "image": "busybox"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": labels or {}}, "spec": spec}


def configmap(name: str, namespace: str = "default", labels: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}}, "data": {"k": "v"}}


def names(lst: dict) -> list[str]:
    return [item["metadata"]["name"] for item in lst["items"]]


async def next_events(stream, count: int, timeout: float = 5.0) -> list:
    async def take() -> list:
        return [await anext(stream) for _ in range(count)]
    return await asyncio.wait_for(take(), timeout)


# -- list ---------------------------------------------------------------------------------------

async def test_list_filters_by_equality_and_set_based_label_selectors(client):
    await client.create(configmap("a", labels={"app": "web", "env": "prod"}))
    await client.create(configmap("b", labels={"app": "web", "env": "qa"}))
    await client.create(configmap("c", labels={"app": "db"}))
    assert names(await client.list("configmaps", "default", label_selector="app=web")) == ["a", "b"]
    assert names(await client.list("configmaps", "default", label_selector="app!=web")) == ["c"]
    assert names(await client.list("configmaps", "default", label_selector="env in (qa, dev)")) == ["b"]
    assert names(await client.list("configmaps", "default", label_selector="env notin (qa)")) == ["a", "c"]
    assert names(await client.list("configmaps", "default", label_selector="env")) == ["a", "b"]
    assert names(await client.list("configmaps", "default", label_selector="!env")) == ["c"]


async def test_list_filters_by_field_selectors(client):
    await client.create(pod("p1", node="n1"))
    await client.create(pod("p2", node="n2"))
    await client.create(pod("p3"))
    assert names(await client.list("pods", "default", field_selector="spec.nodeName=n1")) == ["p1"]
    assert names(await client.list("pods", "default", field_selector="spec.nodeName=")) == ["p3"]
    assert names(await client.list("pods", "default", field_selector="metadata.name!=p1,spec.nodeName!=")) == ["p2"]
    assert names(await client.list("pods", "default", field_selector="status.phase=Pending")) == ["p1", "p2", "p3"]


async def test_event_field_selectors_select_by_involved_object(client):
    for name, kind in (("e1", "Pod"), ("e2", "Node")):
        await client.create({"apiVersion": "v1", "kind": "Event",
                             "metadata": {"name": name, "namespace": "default"},
                             "involvedObject": {"kind": kind, "name": "x", "namespace": "default"},
                             "reason": "Test", "message": "m", "type": "Normal"})
    listed = await client.list("events", "default", field_selector="involvedObject.kind=Pod")
    assert names(listed) == ["e1"]


async def test_unsupported_field_selector_is_a_bad_request(client):
    with pytest.raises(errors.BadRequest, match=r"field label not supported: spec\.bogus"):
        await client.list("pods", "default", field_selector="spec.bogus=1")


async def test_malformed_label_selector_is_a_bad_request(client):
    with pytest.raises(errors.BadRequest):
        await client.list("pods", "default", label_selector="app in (web")


async def test_list_across_namespaces_and_within_one(client):
    await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    await client.create(configmap("a"))
    await client.create(configmap("b", namespace="other"))
    assert names(await client.list("configmaps", "default")) == ["a"]
    assert sorted(names(await client.list("configmaps"))) == ["a", "b"]


async def test_pages_come_from_one_snapshot_even_with_writes_between_pages(client):
    for i in range(7):
        await client.create(configmap(f"cm-{i}"))
    first = await client.list("configmaps", "default", limit=3)
    assert names(first) == ["cm-0", "cm-1", "cm-2"]
    assert first["metadata"]["remainingItemCount"] == 4
    await client.create(configmap("cm-9"))
    await client.delete("configmaps", "cm-5", "default")
    second = await client.list("configmaps", "default", limit=3, continue_=first["metadata"]["continue"])
    third = await client.list("configmaps", "default", limit=3, continue_=second["metadata"]["continue"])
    assert names(second) == ["cm-3", "cm-4", "cm-5"]
    assert names(third) == ["cm-6"]
    assert "continue" not in third["metadata"]
    assert third["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


async def test_paged_list_with_a_selector_fills_each_page(client):
    for i in range(6):
        await client.create(configmap(f"cm-{i}", labels={"even": str(i % 2 == 0).lower()}))
    first = await client.list("configmaps", "default", limit=2, label_selector="even=true")
    assert names(first) == ["cm-0", "cm-2"]
    rest = await client.list("configmaps", "default", limit=2, label_selector="even=true",
                             continue_=first["metadata"]["continue"])
    assert names(rest) == ["cm-4"]


async def test_continue_token_past_compaction_is_gone(client, apiserver):
    for i in range(4):
        await client.create(configmap(f"cm-{i}"))
    first = await client.list("configmaps", "default", limit=2)
    await client.patch("configmaps", "cm-0", {"data": {"k": "new"}}, "default")
    await Compactor(apiserver.storage).compact(await apiserver.storage.current_revision())
    with pytest.raises(errors.Gone, match="too old to display a consistent list"):
        await client.list("configmaps", "default", limit=2, continue_=first["metadata"]["continue"])


async def test_tampered_continue_token_is_a_bad_request(client):
    with pytest.raises(errors.BadRequest, match="continue"):
        await client.list("configmaps", "default", limit=2, continue_="not-a-token")


async def test_list_with_resource_version_zero_is_served_from_the_watch_cache(client, apiserver):
    created = await client.create(configmap("a"))
    listed = await client.list("configmaps", "default", resource_version=created["metadata"]["resourceVersion"])
    assert names(listed) == ["a"]
    assert int(listed["metadata"]["resourceVersion"]) >= int(created["metadata"]["resourceVersion"])


# -- watch --------------------------------------------------------------------------------------

async def test_watch_without_resource_version_starts_with_the_current_state(client):
    await client.create(configmap("a"))
    stream = client.watch("configmaps", "default")
    first = await next_events(stream, 1)
    assert [(e.type, e.object["metadata"]["name"]) for e in first] == [("ADDED", "a")]
    await client.create(configmap("b"))
    live = await next_events(stream, 1)
    assert [(e.type, e.object["metadata"]["name"]) for e in live] == [("ADDED", "b")]
    await stream.aclose()


async def test_watch_from_a_resource_version_sends_only_later_changes_in_order(client):
    a = await client.create(configmap("a"))
    await client.patch("configmaps", "a", {"data": {"k": "2"}}, "default")
    await client.create(configmap("b"))
    await client.delete("configmaps", "a", "default")
    stream = client.watch("configmaps", "default", resource_version=a["metadata"]["resourceVersion"])
    events = await next_events(stream, 3)
    assert [(e.type, e.object["metadata"]["name"]) for e in events] == [
        ("MODIFIED", "a"), ("ADDED", "b"), ("DELETED", "a")]
    revisions = [int(e.resource_version) for e in events]
    assert revisions == sorted(revisions) and revisions[0] > int(a["metadata"]["resourceVersion"])
    await stream.aclose()


async def test_watch_from_a_compacted_resource_version_is_gone(client, apiserver):
    a = await client.create(configmap("a"))
    for i in range(3):
        await client.patch("configmaps", "a", {"data": {"k": str(i)}}, "default")
    await apiserver.stop()
    await apiserver.storage.connect()
    await Compactor(apiserver.storage).compact(await apiserver.storage.current_revision())
    await apiserver.start()
    stream = client.watch("configmaps", "default", resource_version=a["metadata"]["resourceVersion"])
    with pytest.raises(errors.Gone):
        await anext(stream)


async def test_an_object_leaving_the_selector_is_deleted_for_that_watcher(client):
    created = await client.create(configmap("a", labels={"app": "web"}))
    stream = client.watch("configmaps", "default", label_selector="app=web",
                          resource_version=created["metadata"]["resourceVersion"])
    await client.patch("configmaps", "a", {"metadata": {"labels": {"app": "db"}}}, "default")
    await client.patch("configmaps", "a", {"metadata": {"labels": {"app": "web"}}}, "default")
    events = await next_events(stream, 2)
    assert [e.type for e in events] == ["DELETED", "ADDED"]
    await stream.aclose()


async def test_bookmarks_carry_progress_when_asked_for(client):
    created = await client.create(configmap("a"))
    stream = client.watch("configmaps", "default", allow_bookmarks=True,
                          resource_version=created["metadata"]["resourceVersion"])
    await client.create(configmap("b", namespace="kube-system"))  # another namespace: filtered out
    event = (await next_events(stream, 1))[0]
    assert event.type == "BOOKMARK"
    assert int(event.resource_version) > int(created["metadata"]["resourceVersion"])
    await stream.aclose()


async def test_watch_resumes_from_before_an_apiserver_restart_without_relisting(client, apiserver):
    a = await client.create(configmap("a"))
    await client.create(configmap("b"))
    await apiserver.stop()
    await apiserver.start()
    await client.create(configmap("c"))
    stream = client.watch("configmaps", "default", resource_version=a["metadata"]["resourceVersion"])
    events = await next_events(stream, 2)
    assert [(e.type, e.object["metadata"]["name"]) for e in events] == [("ADDED", "b"), ("ADDED", "c")]
    await stream.aclose()
