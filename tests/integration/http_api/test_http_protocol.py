"""The HTTP protocol details Kubernetes clients rely on: Status errors, watch framing, paging."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

pytestmark = pytest.mark.integration
CM = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def http(apiserver) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(f"http://127.0.0.1:{apiserver.http_port}") as session:
        yield session


def configmap(name: str, **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}, **extra}


async def create(http: aiohttp.ClientSession, name: str) -> dict[str, Any]:
    async with http.post(CM, json=configmap(name)) as response:
        assert response.status == 201, await response.text()
        return dict(await response.json())


async def test_an_unknown_resource_is_a_404_status(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/v1/namespaces/default/widgets") as response:
        assert response.status == 404
        assert response.content_type == "application/json"
        status = await response.json()
    assert status["kind"] == "Status"
    assert status["reason"] == "NotFound"
    assert status["message"] == "the server could not find the requested resource"


async def test_a_missing_object_is_a_404_naming_it(http: aiohttp.ClientSession) -> None:
    async with http.get(f"{CM}/nope") as response:
        assert response.status == 404
        assert (await response.json())["message"] == 'configmaps "nope" not found'


async def test_a_duplicate_create_is_a_409_already_exists(http: aiohttp.ClientSession) -> None:
    await create(http, "dup")
    async with http.post(CM, json=configmap("dup")) as response:
        assert response.status == 409
        status = await response.json()
    assert status["reason"] == "AlreadyExists"
    assert status["message"] == 'configmaps "dup" already exists'


async def test_a_stale_put_is_a_409_conflict(http: aiohttp.ClientSession) -> None:
    created = await create(http, "stale")
    fresh = {**created, "data": {"k": "v2"}}
    async with http.put(f"{CM}/stale", json=fresh) as response:
        assert response.status == 200
    async with http.put(f"{CM}/stale", json={**created, "data": {"k": "v3"}}) as response:
        assert response.status == 409
        status = await response.json()
    assert status["reason"] == "Conflict"
    assert "the object has been modified" in status["message"]


async def test_an_invalid_object_is_a_422_with_causes(http: aiohttp.ClientSession) -> None:
    async with http.post(CM, json=configmap("Not_A_Valid_Name")) as response:
        assert response.status == 422
        status = await response.json()
    assert status["reason"] == "Invalid"
    assert any(cause["field"] == "metadata.name" for cause in status["details"]["causes"])


async def test_malformed_json_is_a_400(http: aiohttp.ClientSession) -> None:
    async with http.post(CM, data=b'{"apiVersion": ', headers={"Content-Type": "application/json"}) as response:
        assert response.status == 400
        status = await response.json()
    assert status["reason"] == "BadRequest"
    assert "not valid JSON" in status["message"]


async def test_a_yaml_body_is_accepted_and_malformed_yaml_is_a_400(http: aiohttp.ClientSession) -> None:
    manifest = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: b\n"
    async with http.post(CM, data=manifest, headers={"Content-Type": "application/yaml"}) as response:
        assert response.status == 201
        assert (await response.json())["data"] == {"a": "b"}
    async with http.post(CM, data=b"a: [unclosed", headers={"Content-Type": "application/yaml"}) as response:
        assert response.status == 400
        assert "not valid YAML" in (await response.json())["message"]


async def test_a_watch_from_a_compacted_revision_is_a_200_with_one_410_error_event(
        apiserver, http: aiohttp.ClientSession) -> None:
    from apiserver.compaction import Compactor

    first = await create(http, "old")
    await create(http, "newer")
    await create(http, "newest")
    await apiserver.stop()  # the watch cache keeps its history; a restart rebuilds it from etcd
    await apiserver.storage.connect()
    await Compactor(apiserver.storage).compact(await apiserver.storage.current_revision())
    await apiserver.start()
    params = {"watch": "1", "resourceVersion": first["metadata"]["resourceVersion"]}
    async with http.get(CM, params=params) as response:
        assert response.status == 200
        lines = [line for line in (await response.read()).splitlines() if line]
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410
    assert event["object"]["reason"] == "Expired"


async def test_watch_events_arrive_as_separate_json_lines(http: aiohttp.ClientSession) -> None:
    created = await create(http, "watched")
    params = {"watch": "true", "resourceVersion": created["metadata"]["resourceVersion"], "timeoutSeconds": "5"}
    async with http.get(CM, params=params) as response:
        assert response.status == 200
        assert response.headers.get("Transfer-Encoding") == "chunked"
        await create(http, "second")
        async with http.delete(f"{CM}/watched") as deleted:
            assert deleted.status == 200
        events = [json.loads(await asyncio.wait_for(response.content.readline(), 5)) for _ in range(2)]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "second"), ("DELETED", "watched")]


async def test_a_watch_ends_after_timeout_seconds(http: aiohttp.ClientSession) -> None:
    async with http.get(CM, params={"watch": "1", "timeoutSeconds": "1"}) as response:
        body = await asyncio.wait_for(response.read(), 5)
    assert body == b""


async def test_limit_and_continue_page_through_a_list(http: aiohttp.ClientSession) -> None:
    for i in range(5):
        await create(http, f"page-{i}")
    names: list[str] = []
    params = {"limit": "2"}
    while True:
        async with http.get(CM, params=params) as response:
            assert response.status == 200
            page = await response.json()
        assert len(page["items"]) <= 2
        names += [item["metadata"]["name"] for item in page["items"]]
        token = page["metadata"].get("continue")
        if not token:
            break
        params = {"limit": "2", "continue": token}
    assert names == [f"page-{i}" for i in range(5)]


async def test_label_selector_filters_a_list(http: aiohttp.ClientSession) -> None:
    async with http.post(CM, json={**configmap("a"), "metadata": {"name": "a", "labels": {"x": "y"}}}) as r:
        assert r.status == 201
    await create(http, "b")
    async with http.get(CM, params={"labelSelector": "x=y"}) as response:
        items = (await response.json())["items"]
    assert [i["metadata"]["name"] for i in items] == ["a"]


async def test_unknown_fields_warn_by_default_and_fail_when_strict(http: aiohttp.ClientSession) -> None:
    async with http.post(CM, json=configmap("warned", bogus=1)) as response:
        assert response.status == 201
        assert "bogus" in response.headers.get("Warning", "")
    async with http.post(CM, params={"fieldValidation": "Strict"}, json=configmap("strict", bogus=1)) as response:
        assert response.status == 400
        assert "bogus" in (await response.json())["message"]


async def test_dry_run_create_stores_nothing(http: aiohttp.ClientSession) -> None:
    async with http.post(CM, params={"dryRun": "All"}, json=configmap("dry")) as response:
        assert response.status == 201
    async with http.get(f"{CM}/dry") as response:
        assert response.status == 404


async def test_apply_patch_without_a_field_manager_is_422(http: aiohttp.ClientSession) -> None:
    await create(http, "applied")
    headers = {"Content-Type": "application/apply-patch+yaml"}
    async with http.patch(f"{CM}/applied", data=b"data: {}", headers=headers) as response:
        assert response.status == 422
        assert (await response.json())["message"] == ('PatchOptions.meta.k8s.io "" is invalid: '
                                                      "fieldManager: Required value: is required for apply patch")


async def test_deletecollection_deletes_what_the_selector_matches(http: aiohttp.ClientSession) -> None:
    async with http.post(CM, json={**configmap("a"), "metadata": {"name": "a", "labels": {"x": "y"}}}) as r:
        assert r.status == 201
    await create(http, "b")
    async with http.delete(CM, params={"labelSelector": "x=y"}) as response:
        assert response.status == 200
    async with http.get(CM) as response:
        assert [i["metadata"]["name"] for i in (await response.json())["items"]] == ["b"]


async def test_discovery_lists_the_scale_subresource_as_autoscaling_v1(http: aiohttp.ClientSession) -> None:
    async with http.get("/apis/apps/v1") as response:
        resources = {r["name"]: r for r in (await response.json())["resources"]}
    assert resources["deployments/scale"]["group"] == "autoscaling"
    assert resources["deployments"]["shortNames"] == ["deploy"]


async def test_binding_assigns_a_pod_to_a_node(http: aiohttp.ClientSession) -> None:
    pods = "/api/v1/namespaces/default/pods"
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    async with http.post(pods, json=pod) as response:
        assert response.status == 201
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"}, "target": {"name": "node-1"}}
    async with http.post(f"{pods}/p/binding", json=binding) as response:
        assert response.status == 201, await response.text()
    async with http.get(f"{pods}/p") as response:
        assert (await response.json())["spec"]["nodeName"] == "node-1"


async def test_an_unknown_body_format_is_a_415_naming_the_accepted_types(http: aiohttp.ClientSession) -> None:
    headers = {"Content-Type": "application/cbor"}
    async with http.post(CM, data=b"\xd9\xd9\xf7", headers=headers) as response:
        assert response.status == 415
        status = await response.json()
    assert status["reason"] == "UnsupportedMediaType"
    assert "application/json" in status["message"]


async def test_a_truncated_protobuf_body_is_a_400(http: aiohttp.ClientSession) -> None:
    headers = {"Content-Type": "application/vnd.kubernetes.protobuf"}
    async with http.post(CM, data=b"k8s\x00\x0a\x0f", headers=headers) as response:
        assert response.status == 400


async def test_status_and_scale_subresources(http: aiohttp.ClientSession) -> None:
    deployments = "/apis/apps/v1/namespaces/default/deployments"
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}},
                                        "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}
    async with http.post(deployments, json=deployment) as response:
        assert response.status == 201
    async with http.get(f"{deployments}/web/scale") as response:
        scale = await response.json()
    assert (scale["kind"], scale["spec"]["replicas"], scale["status"]["selector"]) == ("Scale", 1, "app=web")
    async with http.put(f"{deployments}/web/scale", json={**scale, "spec": {"replicas": 4}}) as response:
        assert response.status == 200
        assert (await response.json())["spec"]["replicas"] == 4
    async with http.put(f"{deployments}/web/scale", json={**scale, "spec": {"replicas": 5}}) as response:
        assert response.status == 409  # the Scale's resourceVersion is stale now
    status_patch = {"status": {"replicas": 2}}
    headers = {"Content-Type": "application/merge-patch+json"}
    async with http.patch(f"{deployments}/web/status", json=status_patch, headers=headers) as response:
        assert response.status == 200, await response.text()
    async with http.get(f"{deployments}/web") as response:
        got = await response.json()
    assert (got["spec"]["replicas"], got["status"]["replicas"]) == (4, 2)


async def test_a_watch_whose_client_goes_away_is_closed_on_the_server(apiserver) -> None:
    cache = apiserver.caches["configmaps"]
    async with aiohttp.ClientSession(f"http://127.0.0.1:{apiserver.http_port}") as session:
        response = await session.get(CM, params={"watch": "1"})
        assert response.status == 200
        assert cache.watcher_count == 1
        response.close()
    for _ in range(50):
        if cache.watcher_count == 0:
            break
        await asyncio.sleep(0.1)
    assert cache.watcher_count == 0


async def test_http_requests_are_counted_in_metrics_by_verb_resource_and_code(http: aiohttp.ClientSession) -> None:
    await create(http, "counted")
    async with http.get(f"{CM}/missing") as response:
        assert response.status == 404
    async with http.get("/metrics") as response:
        text = await response.text()
    assert 'apiserver_request_total{code="201",resource="configmaps",verb="POST"}' in text
    assert 'apiserver_request_total{code="404",resource="configmaps",verb="GET"}' in text


async def test_eviction_deletes_a_bound_pod_gracefully(http: aiohttp.ClientSession, client) -> None:
    await client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
                         "spec": {"containers": [{"name": "c", "image": "kubeling/hello:v1"}]}})
    await client.bind("default", "web", "node-1")
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "web", "namespace": "default"}}
    async with http.post("/api/v1/namespaces/default/pods/web/eviction", json=eviction) as response:
        assert response.status == 201, await response.text()
        assert (await response.json())["status"] == "Success"
    pod = await client.get("pods", "web", "default")
    assert pod["metadata"]["deletionTimestamp"] and pod["metadata"]["deletionGracePeriodSeconds"] == 30
