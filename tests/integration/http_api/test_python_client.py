"""The official `kubernetes` Python client, unchanged, against kubeling's HTTP API.

The client is synchronous and the apiserver runs in the test's event loop, so every client call goes through
`asyncio.to_thread` and the loop keeps serving."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException

pytestmark = pytest.mark.integration

WATCH_TIMEOUT = 10


@pytest.fixture
def api_client(kubeconfig: Path) -> Iterator[k8s.ApiClient]:
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    with k8s.ApiClient(configuration) as api:
        yield api


@pytest.fixture
def v1(api_client: k8s.ApiClient) -> k8s.CoreV1Api:
    return k8s.CoreV1Api(api_client)


@pytest.fixture
def apps(api_client: k8s.ApiClient) -> k8s.AppsV1Api:
    return k8s.AppsV1Api(api_client)


async def call(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(func, *args, **kwargs)


async def api_error(func: Callable[..., Any], *args: Any, **kwargs: Any) -> ApiException:
    with pytest.raises(ApiException) as info:
        await call(func, *args, **kwargs)
    return info.value


def is_a(obj: object, kind: type) -> bool:
    """isinstance without mypy narrowing: the generated models type every field as Optional."""
    return isinstance(obj, kind)


def status_body(error: ApiException) -> dict[str, Any]:
    assert error.body is not None
    body = json.loads(error.body)
    assert body["kind"] == "Status"
    assert body["apiVersion"] == "v1"
    assert body["status"] == "Failure"
    assert body["code"] == error.status
    return body


def configmap(name: str, **data: str) -> k8s.V1ConfigMap:
    return k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name=name), data=data or None)


def deployment(name: str, replicas: int = 1) -> k8s.V1Deployment:
    labels = {"app": name}
    return k8s.V1Deployment(
        metadata=k8s.V1ObjectMeta(name=name),
        spec=k8s.V1DeploymentSpec(
            replicas=replicas,
            selector=k8s.V1LabelSelector(match_labels=labels),
            template=k8s.V1PodTemplateSpec(
                metadata=k8s.V1ObjectMeta(labels=labels),
                spec=k8s.V1PodSpec(containers=[k8s.V1Container(name=name, image="nginx")]),
            ),
        ),
    )


def collect_events(v1: k8s.CoreV1Api, resource_version: str, count: int,
                   ready: threading.Event | None = None) -> list[dict[str, Any]]:
    """Watch configmaps in `default` from `resource_version` until `count` events arrive (blocking)."""
    events: list[dict[str, Any]] = []
    w = k8s_watch.Watch()
    stream = w.stream(v1.list_namespaced_config_map, "default", resource_version=resource_version,
                      timeout_seconds=WATCH_TIMEOUT)
    if ready is not None:
        ready.set()
    for event in stream:
        events.append(event)
        if len(events) == count:
            break
    w.stop()
    return events


# --- CoreV1: ConfigMaps ----------------------------------------------------------------------------------------------

async def test_configmap_create_read_replace_patch_delete_round_trip(v1: k8s.CoreV1Api) -> None:
    created = await call(v1.create_namespaced_config_map, "default", configmap("settings", color="blue"))
    assert is_a(created, k8s.V1ConfigMap)
    assert created.metadata.name == "settings"
    assert created.metadata.namespace == "default"
    assert created.metadata.uid
    assert created.metadata.resource_version
    assert created.data == {"color": "blue"}

    read = await call(v1.read_namespaced_config_map, "settings", "default")
    assert read.metadata.uid == created.metadata.uid
    assert read.data == {"color": "blue"}

    read.data = {"color": "green"}
    replaced = await call(v1.replace_namespaced_config_map, "settings", "default", read)
    assert replaced.data == {"color": "green"}
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)

    patched = await call(v1.patch_namespaced_config_map, "settings", "default", {"data": {"size": "L"}})
    assert patched.data == {"color": "green", "size": "L"}
    assert int(patched.metadata.resource_version) > int(replaced.metadata.resource_version)

    await call(v1.delete_namespaced_config_map, "settings", "default")
    error = await api_error(v1.read_namespaced_config_map, "settings", "default")
    assert error.status == 404
    assert status_body(error)["reason"] == "NotFound"


async def test_configmaps_are_listed_in_pages_with_limit_and_continue(v1: k8s.CoreV1Api) -> None:
    for i in range(5):
        await call(v1.create_namespaced_config_map, "default", configmap(f"cm-{i}", index=str(i)))

    names: list[str] = []
    pages = 0
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"limit": 2}
        if token:
            kwargs["_continue"] = token
        page = await call(v1.list_namespaced_config_map, "default", **kwargs)
        assert is_a(page, k8s.V1ConfigMapList)
        assert len(page.items) <= 2
        names += [item.metadata.name for item in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
        assert page.metadata.remaining_item_count == 5 - len(names)

    assert pages == 3
    assert names == [f"cm-{i}" for i in range(5)]


# --- CoreV1: Namespaces ----------------------------------------------------------------------------------------------

async def test_namespace_create_read_replace_patch_delete_round_trip(v1: k8s.CoreV1Api) -> None:
    created = await call(v1.create_namespace, k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name="team-a")))
    assert is_a(created, k8s.V1Namespace)
    assert created.metadata.name == "team-a"
    assert created.metadata.namespace is None
    assert created.status.phase == "Active"

    read = await call(v1.read_namespace, "team-a")
    assert read.metadata.uid == created.metadata.uid

    read.metadata.labels = {"tier": "gold"}
    replaced = await call(v1.replace_namespace, "team-a", read)
    assert replaced.metadata.labels == {"tier": "gold"}

    patched = await call(v1.patch_namespace, "team-a", {"metadata": {"annotations": {"owner": "alice"}}})
    assert patched.metadata.labels == {"tier": "gold"}
    assert patched.metadata.annotations == {"owner": "alice"}

    # Graceful deletion: with no namespace controller running, the namespace lingers as Terminating.
    await call(v1.delete_namespace, "team-a")
    after = await call(v1.read_namespace, "team-a")
    assert after.metadata.uid == created.metadata.uid
    assert after.metadata.deletion_timestamp is not None
    assert after.status.phase == "Terminating"


# --- AppsV1: Deployments and the scale subresource -------------------------------------------------------------------

async def test_deployment_create_and_scale_subresource_read_and_patch(apps: k8s.AppsV1Api) -> None:
    created = await call(apps.create_namespaced_deployment, "default", deployment("web", replicas=1))
    assert is_a(created, k8s.V1Deployment)
    assert created.spec.replicas == 1
    assert created.spec.template.spec.containers[0].image == "nginx"

    scale = await call(apps.read_namespaced_deployment_scale, "web", "default")
    assert is_a(scale, k8s.V1Scale)
    assert scale.metadata.name == "web"
    assert scale.spec.replicas == 1

    patched = await call(apps.patch_namespaced_deployment_scale, "web", "default", {"spec": {"replicas": 3}})
    assert is_a(patched, k8s.V1Scale)
    assert patched.spec.replicas == 3

    read = await call(apps.read_namespaced_deployment, "web", "default")
    assert read.spec.replicas == 3


# --- Watch -----------------------------------------------------------------------------------------------------------

async def test_watch_stream_receives_added_modified_deleted_and_resumes_without_repeats(v1: k8s.CoreV1Api) -> None:
    initial = await call(v1.list_namespaced_config_map, "default")
    rv = initial.metadata.resource_version

    ready = threading.Event()
    watching = asyncio.create_task(call(collect_events, v1, rv, 3, ready))
    await call(ready.wait, 5)

    def mutate() -> None:  # from another thread than the watcher
        v1.create_namespaced_config_map("default", configmap("watched", v="1"))
        v1.patch_namespaced_config_map("watched", "default", {"data": {"v": "2"}})
        v1.delete_namespaced_config_map("watched", "default")

    await call(mutate)
    events = await asyncio.wait_for(watching, WATCH_TIMEOUT + 5)
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert all(isinstance(e["object"], k8s.V1ConfigMap) for e in events)
    assert all(e["object"].metadata.name == "watched" for e in events)
    assert [e["object"].data for e in events[:2]] == [{"v": "1"}, {"v": "2"}]
    versions = [int(e["object"].metadata.resource_version) for e in events]
    assert versions == sorted(versions) and len(set(versions)) == 3

    # Resume from the last event seen: only what happened afterwards arrives.
    last_rv = events[-1]["object"].metadata.resource_version
    await call(v1.create_namespaced_config_map, "default", configmap("later"))
    resumed = await call(collect_events, v1, last_rv, 1)
    assert [(e["type"], e["object"].metadata.name) for e in resumed] == [("ADDED", "later")]
    assert int(resumed[0]["object"].metadata.resource_version) > versions[-1]


async def test_watch_from_a_compacted_resource_version_is_gone(v1: k8s.CoreV1Api, apiserver: Any) -> None:
    from apiserver.compaction import Compactor

    created = await call(v1.create_namespaced_config_map, "default", configmap("a"))
    for i in range(3):
        await call(v1.patch_namespaced_config_map, "a", "default", {"data": {"k": str(i)}})
    await apiserver.stop()
    await apiserver.storage.connect()
    await Compactor(apiserver.storage).compact(await apiserver.storage.current_revision())
    await apiserver.start()

    # With timeout_seconds set the client does not retry: the 410 (sent as an ERROR event, as Kubernetes does)
    # surfaces as an ApiException.
    error = await api_error(collect_events, v1, created.metadata.resource_version, 1)
    assert error.status == 410
    assert "Expired" in str(error.reason) or "Gone" in str(error.reason)


# --- Errors ----------------------------------------------------------------------------------------------------------

async def test_duplicate_create_is_409_already_exists_with_a_status_body(v1: k8s.CoreV1Api) -> None:
    await call(v1.create_namespaced_config_map, "default", configmap("dup"))
    error = await api_error(v1.create_namespaced_config_map, "default", configmap("dup"))
    assert error.status == 409
    body = status_body(error)
    assert body["reason"] == "AlreadyExists"
    assert body["details"]["name"] == "dup"
    assert body["details"]["kind"] == "configmaps"


async def test_replace_with_a_stale_resource_version_is_409_conflict(v1: k8s.CoreV1Api) -> None:
    stale = await call(v1.create_namespaced_config_map, "default", configmap("cm", v="1"))
    await call(v1.patch_namespaced_config_map, "cm", "default", {"data": {"v": "2"}})
    stale.data = {"v": "3"}
    error = await api_error(v1.replace_namespaced_config_map, "cm", "default", stale)
    assert error.status == 409
    assert status_body(error)["reason"] == "Conflict"
    current = await call(v1.read_namespaced_config_map, "cm", "default")
    assert current.data == {"v": "2"}


async def test_missing_objects_are_404_not_found(v1: k8s.CoreV1Api, apps: k8s.AppsV1Api) -> None:
    calls: list[tuple[Callable[..., Any], tuple[str, ...]]] = [
        (v1.read_namespaced_config_map, ("nope", "default")),
        (v1.delete_namespaced_config_map, ("nope", "default")),
        (v1.read_namespace, ("nope",)),
        (apps.read_namespaced_deployment_scale, ("nope", "default")),
    ]
    for func, args in calls:
        error = await api_error(func, *args)
        assert error.status == 404, func
        body = status_body(error)
        assert body["reason"] == "NotFound"
        assert body["details"]["name"] == "nope"


async def test_an_invalid_name_is_422_invalid(v1: k8s.CoreV1Api) -> None:
    error = await api_error(v1.create_namespaced_config_map, "default", configmap("Not_A_Valid_Name"))
    assert error.status == 422
    body = status_body(error)
    assert body["reason"] == "Invalid"
    assert body["details"]["name"] == "Not_A_Valid_Name"
    assert any(cause.get("field") == "metadata.name" for cause in body["details"]["causes"])
    absent = await call(v1.list_namespaced_config_map, "default")
    assert absent.items == []
