"""The published OpenAPI documents: shapes kubectl relies on, and every `$ref` resolving."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from apimachinery.kinds import default_registry
from apiserver.http_api.openapi import add_openapi_routes, build_openapi_v2, build_openapi_v3

POD = "io.k8s.api.core.v1.Pod"
POD_PATH = "/api/v1/namespaces/{namespace}/pods"


@cache
def v3() -> dict[str, dict[str, Any]]:
    return build_openapi_v3(default_registry())


@cache
def v2() -> dict[str, Any]:
    return build_openapi_v2(default_registry())


def walk(node: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """Every (keyword, value) pair anywhere in a document (property names are not keywords)."""
    if isinstance(node, dict) and key == "properties":
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, dict):
        for k, v in node.items():
            yield k, v
            yield from walk(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v, key)


def test_group_versions_are_served() -> None:
    assert {"api/v1", "apis/apps/v1", "apis/batch/v1"} <= set(v3())


def test_pod_schema_has_gvk_and_container_merge_key() -> None:
    pod = v3()["api/v1"]["components"]["schemas"][POD]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Pod", "version": "v1"}]
    spec = v3()["api/v1"]["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"]
    containers = spec["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["items"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}


def test_every_ref_resolves_inside_its_document() -> None:
    for key, doc in v3().items():
        schemas = doc["components"]["schemas"]
        for k, value in walk(doc):
            if k == "$ref":
                assert value.startswith("#/components/schemas/"), (key, value)
                assert value.removeprefix("#/components/schemas/") in schemas, (key, value)
    for k, value in walk(v2()):
        if k == "$ref":
            assert value.removeprefix("#/definitions/") in v2()["definitions"], value


def test_no_type_is_a_list_and_no_strict_only_keywords() -> None:
    for doc in [*v3().values(), v2()]:
        for k, value in walk(doc):
            if k == "type":
                assert isinstance(value, str), value
            assert not (k == "additionalProperties" and value is False)


def test_a_ref_with_a_description_is_wrapped_in_all_of() -> None:
    spec_field = v3()["api/v1"]["components"]["schemas"][POD]["properties"]["spec"]
    assert spec_field["allOf"] == [{"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}]
    assert "$ref" not in spec_field and spec_field["description"]


def test_int_or_string_and_quantity_are_published_as_upstream() -> None:
    schemas = v3()["apis/apps/v1"]["components"]["schemas"]
    int_or_string = schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    assert int_or_string["format"] == "int-or-string"
    assert int_or_string["oneOf"] == [{"type": "integer"}, {"type": "string"}]
    assert schemas["io.k8s.apimachinery.pkg.api.resource.Quantity"]["oneOf"] == [{"type": "string"},
                                                                                  {"type": "number"}]
    assert v2()["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["type"] == "string"


def test_only_reachable_definitions_plus_meta() -> None:
    schemas = v3()["api/v1"]["components"]["schemas"]
    assert "io.k8s.api.apps.v1.Deployment" not in schemas
    assert {"io.k8s.apimachinery.pkg.apis.meta.v1.Status", "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
            "io.k8s.api.core.v1.PodList"} <= set(schemas)
    assert "io.k8s.api.core.v1.PodSpec" in v3()["apis/apps/v1"]["components"]["schemas"]


def test_create_and_patch_pod_take_field_validation() -> None:
    paths = v3()["api/v1"]["paths"]
    create = paths[POD_PATH]["post"]
    assert create["operationId"] == "createCoreV1NamespacedPod"
    assert create["x-kubernetes-action"] == "post"
    assert {"dryRun", "fieldManager", "fieldValidation"} <= {p["name"] for p in create["parameters"]}
    patch = paths[POD_PATH + "/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "", "kind": "Pod", "version": "v1"}
    assert any(p["name"] == "fieldValidation" and p["in"] == "query" for p in patch["parameters"])
    assert set(patch["requestBody"]["content"]) == {
        "application/json-patch+json", "application/merge-patch+json",
        "application/strategic-merge-patch+json", "application/apply-patch+yaml"}


def test_operation_ids_follow_upstream_naming() -> None:
    ids = {op["operationId"] for doc in v3().values() for item in doc["paths"].values()
           for method, op in item.items() if method != "parameters"}
    assert {"readCoreV1NamespacedPod", "listCoreV1PodForAllNamespaces", "watchCoreV1NamespacedPodList",
            "deletecollectionCoreV1NamespacedPod", "replaceCoreV1NamespacedPodStatus", "listCoreV1Namespace",
            "readAppsV1NamespacedDeployment", "patchAppsV1NamespacedDeploymentStatus",
            "createCoordinationV1NamespacedLease"} <= ids
    assert "listCoreV1NamespaceForAllNamespaces" not in ids


def test_item_path_declares_its_path_parameters() -> None:
    params = v3()["api/v1"]["paths"][POD_PATH + "/{name}"]["parameters"]
    assert {(p["name"], p["in"]) for p in params} >= {("name", "path"), ("namespace", "path")}


@pytest.fixture
async def http() -> Any:
    app = web.Application()
    add_openapi_routes(app, default_registry())
    async with TestClient(TestServer(app)) as client:
        yield client


async def test_index_and_document_with_hash(http: TestClient) -> None:
    response = await http.get("/openapi/v3")
    assert response.status == 200
    index = orjson.loads(await response.read())
    url = index["paths"]["api/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/api/v1?hash=")
    assert index["paths"]["apis/apps/v1"]["serverRelativeURL"].startswith("/openapi/v3/apis/apps/v1?hash=")
    response = await http.get(url)
    assert response.status == 200
    assert response.headers["Cache-Control"] == "public, immutable"
    assert response.headers["ETag"] == f'"{url.split("hash=")[1]}"'
    assert POD in orjson.loads(await response.read())["components"]["schemas"]
    again = await http.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status == 304


async def test_stale_hash_redirects_and_unknown_is_a_status(http: TestClient) -> None:
    response = await http.get("/openapi/v3/api/v1?hash=ABC", allow_redirects=False)
    assert response.status == 301
    assert response.headers["Location"].startswith("/openapi/v3/api/v1?hash=")
    missing = await http.get("/openapi/v3/apis/nope/v1")
    assert missing.status == 404
    status = orjson.loads(await missing.read())
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "NotFound", 404)


async def test_v2_is_json_only(http: TestClient) -> None:
    response = await http.get("/openapi/v2", headers={"Accept": "application/json"})
    assert response.status == 200
    assert orjson.loads(await response.read())["swagger"] == "2.0"
    protobuf = await http.get("/openapi/v2", headers={
        "Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
    assert protobuf.status == 406
