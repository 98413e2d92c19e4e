"""Strategic merge patch through the API: merge lists merge by key, malformed patches get 422."""

from __future__ import annotations

import pytest

from apimachinery import errors

pytestmark = pytest.mark.integration


def deployment() -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "kubeling/hello:v1"},
                                                          {"name": "sidecar", "image": "kubeling/sidecar:v1"}]}}}}


async def test_strategic_patch_changes_one_container_image_and_keeps_the_other(client):
    created = await client.create(deployment())
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "kubeling/hello:v2"}]}}}}
    patched = await client.patch("deployments", "web", patch, "default", patch_type="strategic")
    containers = patched["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("web", "kubeling/hello:v2"),
                                                              ("sidecar", "kubeling/sidecar:v1")]
    assert patched["metadata"]["generation"] == created["metadata"]["generation"] + 1


async def test_malformed_strategic_patch_is_invalid_and_changes_nothing(client, apiserver):
    await client.create(deployment())
    before = await apiserver.storage.current_revision()
    patch = {"spec": {"template": {"spec": {"containers": [{"image": "no-name"}]}}}}
    with pytest.raises(errors.Invalid, match="does not contain declared merge key: name"):
        await client.patch("deployments", "web", patch, "default", patch_type="strategic")
    assert await apiserver.storage.current_revision() == before
