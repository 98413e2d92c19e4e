"""Every bad input gets a clear error naming the field, and changes nothing.

Each row sends one bad request through the gRPC API and checks the error class, that the message
names the offending field or value, and that etcd's revision did not move (nothing was written).
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from apimachinery import errors
from proto import kubeling_pb2 as pb

pytestmark = pytest.mark.integration


def deployment(**spec_changes: Any) -> dict:
    body: dict[str, Any] = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "kubeling/hello:v1"}]}}}}
    body["spec"].update(spec_changes)
    return body


def pod_with_resources(requests: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "busybox", "resources": {"requests": requests}}]}}


def configmap(name: str = "cfg", **meta: Any) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default", **meta},
            "data": {"k": "v"}}


def with_meta(body: dict, **meta: Any) -> dict:
    body = copy.deepcopy(body)
    body["metadata"].update(meta)
    return body


async def raw_create(client: Any, body: bytes, group: str = "", resource: str = "configmaps") -> Any:
    request = pb.CreateRequest(ref=pb.ResourceRef(group=group, resource=resource, namespace="default"),
                               object=body)
    return await client._call(client._stub.Create, request)


@dataclass
class Case:
    id: str
    send: Callable[[Any], Awaitable[Any]]
    error: type[errors.ApiError]
    names: str  # a substring the message must contain: the field, value or kind at fault


CASES = [
    Case("malformed JSON body", lambda c: raw_create(c, b'{"apiVersion": "v1", "kind": '),
         errors.BadRequest, "not valid JSON"),
    Case("body is not an object", lambda c: raw_create(c, b"[1, 2]"), errors.BadRequest, "JSON object"),
    Case("unknown resource", lambda c: raw_create(c, b"{}", resource="widgets"), errors.NotFound, "widgets"),
    Case("unknown kind", lambda c: c.create({"apiVersion": "v1", "kind": "Pood", "metadata": {"name": "x"}}),
         errors.BadRequest, '"Pood"'),
    Case("unknown apiVersion", lambda c: c.create({"apiVersion": "apps/v9", "kind": "Deployment",
                                                   "metadata": {"name": "x"}}), errors.BadRequest, "apps/v9"),
    Case("kind does not match the resource",
         lambda c: raw_create(c, b'{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}'),
         errors.BadRequest, "Secret"),
    Case("unknown field", lambda c: c.create(deployment(replicaz=3)), errors.BadRequest, "spec.replicaz"),
    Case("unknown nested field", lambda c: c.create(deployment(template={
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "x", "imagePullPolicyy": "Always"}]}})),
         errors.BadRequest, "spec.template.spec.containers[0].imagePullPolicyy"),
    Case("wrong type", lambda c: c.create(deployment(replicas="3")), errors.BadRequest, "spec.replicas"),
    Case("name with uppercase and underscore", lambda c: c.create(configmap("Web_1")), errors.Invalid,
         "metadata.name"),
    Case("name longer than 253", lambda c: c.create(configmap("a" * 254)), errors.Invalid, "metadata.name"),
    Case("namespace name longer than 63", lambda c: c.create(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n" * 64}}), errors.Invalid, "metadata.name"),
    Case("missing name", lambda c: c.create({"apiVersion": "v1", "kind": "ConfigMap",
                                             "metadata": {"namespace": "default"}}), errors.Invalid, "metadata.name"),
    Case("bad label key", lambda c: c.create(configmap(labels={"-bad/key": "x"})), errors.Invalid,
         "metadata.labels"),
    Case("bad label value", lambda c: c.create(configmap(labels={"app": "x" * 64})), errors.Invalid,
         "metadata.labels"),
    Case("quantity 1GB", lambda c: c.create(pod_with_resources({"memory": "1GB"})), errors.Invalid,
         "spec.containers[0].resources.requests"),
    Case("quantity 1gi", lambda c: c.create(pod_with_resources({"memory": "1gi"})), errors.Invalid,
         "spec.containers[0].resources.requests"),
    Case("quantity 1.2.3", lambda c: c.create(pod_with_resources({"cpu": "1.2.3"})), errors.Invalid,
         "spec.containers[0].resources.requests"),
    Case("negative replicas", lambda c: c.create(deployment(replicas=-1)), errors.Invalid, "spec.replicas"),
    Case("maxSurge and maxUnavailable both 0", lambda c: c.create(deployment(
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}})),
         errors.Invalid, "spec.strategy.rollingUpdate.maxUnavailable"),
    Case("selector does not match template", lambda c: c.create(deployment(selector={"matchLabels": {"app": "x"}})),
         errors.Invalid, "spec.template.metadata.labels"),
    Case("object over 1.5 MiB", lambda c: c.create(
        {**configmap(), "data": {"big": "x" * (1536 * 1024 + 1)}}), errors.TooLarge, "too large"),
    Case("resourceVersion on create", lambda c: c.create(with_meta(configmap(), resourceVersion="5")),
         errors.BadRequest, "resourceVersion"),
    Case("bad fieldValidation value", lambda c: c.create(configmap(), field_validation="Loose"),
         errors.BadRequest, "fieldValidation"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_bad_input_gets_a_clear_error_and_changes_nothing(client, apiserver, case: Case):
    before = await apiserver.storage.current_revision()
    with pytest.raises(case.error) as raised:
        await case.send(client)
    assert case.names in str(raised.value), str(raised.value)
    assert await apiserver.storage.current_revision() == before


PATCH_CASES = [
    ("patch is not JSON", b"{not json", "merge", errors.BadRequest, "error decoding patch"),
    ("merge patch is not an object", b"[1]", "merge", errors.BadRequest, "merge patch"),
    ("json patch path does not exist", b'[{"op": "remove", "path": "/data/missing"}]', "json",
     errors.Invalid, "could not be applied"),
    ("json patch is not a list", b'{"op": "add"}', "json", errors.BadRequest, "array"),
    ("patch makes the object invalid", b'{"metadata": {"labels": {"bad key": "x"}}}', "merge",
     errors.Invalid, "metadata.labels"),
    ("patch adds an unknown field", b'{"dataa": {"x": "y"}}', "merge", errors.BadRequest, "dataa"),
    ("unsupported patch type", b"{}", "yaml", errors.ApiError, "unsupported patch type"),
]


@pytest.mark.parametrize(("body", "patch_type", "error", "names"), [c[1:] for c in PATCH_CASES],
                         ids=[c[0] for c in PATCH_CASES])
async def test_bad_patch_gets_a_clear_error_and_changes_nothing(client, apiserver, body, patch_type, error, names):
    await client.create(configmap())
    before = await apiserver.storage.current_revision()
    with pytest.raises(error) as raised:
        await client.patch("configmaps", "cfg", body, "default", patch_type=patch_type)
    assert names in str(raised.value), str(raised.value)
    assert await apiserver.storage.current_revision() == before


async def test_stale_and_malformed_resource_versions_change_nothing(client, apiserver):
    created = await client.create(configmap())
    await client.patch("configmaps", "cfg", {"data": {"k": "2"}}, "default")
    before = await apiserver.storage.current_revision()
    with pytest.raises(errors.Conflict):
        await client.update(created)
    with pytest.raises(errors.BadRequest, match="resourceVersion"):
        await client.update(with_meta(created, resourceVersion="abc"))
    assert await apiserver.storage.current_revision() == before


async def test_warn_mode_drops_unknown_fields_with_a_warning(client):
    warnings: list[str] = []
    created = await client.create(deployment(replicaz=3), field_validation="Warn", warnings=warnings)
    assert "replicaz" not in created["spec"]
    assert any("spec.replicaz" in w for w in warnings), warnings


async def test_ignore_mode_drops_unknown_fields_silently(client):
    warnings: list[str] = []
    created = await client.create(deployment(replicaz=3), field_validation="Ignore", warnings=warnings)
    assert "replicaz" not in created["spec"]
    assert warnings == []
