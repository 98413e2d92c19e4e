"""DefaultTolerationSeconds admission: pods tolerate not-ready/unreachable nodes for 300 s unless they say."""

from __future__ import annotations

from typing import Any

from apimachinery.kinds import default_registry
from apiserver.admission import CREATE, DELETE, AdmissionRequest
from apiserver.admission.default_toleration_seconds import DefaultTolerationSeconds, compute_default_tolerations

KINDS = default_registry()


def request(obj: dict[str, Any], operation: str = CREATE, subresource: str = "") -> AdmissionRequest:
    rt = KINDS.for_object(obj)
    return AdmissionRequest(operation, rt, "default", obj["metadata"]["name"], obj, subresource=subresource)


def pod(tolerations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "i"}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}, "spec": spec}


async def test_a_pod_without_tolerations_gets_both_with_300_seconds() -> None:
    obj = pod()
    await DefaultTolerationSeconds().admit(request(obj))
    assert obj["spec"]["tolerations"] == [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 300}]


async def test_a_pod_stating_its_own_unreachable_toleration_keeps_it_and_gets_only_not_ready() -> None:
    own = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
           "tolerationSeconds": 1}
    obj = pod([own])
    await DefaultTolerationSeconds().admit(request(obj))
    assert obj["spec"]["tolerations"][0] == own
    assert [t["key"] for t in obj["spec"]["tolerations"]] == ["node.kubernetes.io/unreachable",
                                                              "node.kubernetes.io/not-ready"]


async def test_a_toleration_of_every_taint_covers_both() -> None:
    obj = pod([{"operator": "Exists"}])
    await DefaultTolerationSeconds().admit(request(obj))
    assert obj["spec"]["tolerations"] == [{"operator": "Exists"}]


async def test_a_noschedule_toleration_does_not_count() -> None:
    obj = pod([{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoSchedule"}])
    await DefaultTolerationSeconds().admit(request(obj))
    assert len(obj["spec"]["tolerations"]) == 3


async def test_other_kinds_deletes_and_subresources_are_left_alone() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    await DefaultTolerationSeconds().admit(request(cm))
    assert "spec" not in cm
    status_write = pod()
    await DefaultTolerationSeconds().admit(request(status_write, subresource="status"))
    assert "tolerations" not in status_write["spec"]
    await DefaultTolerationSeconds().admit(AdmissionRequest(DELETE, KINDS.for_object(pod()), "default", "p", None))


def test_the_toleration_seconds_come_from_the_apiserver_flags():
    added = compute_default_tolerations([], not_ready_seconds=5, unreachable_seconds=7)
    assert [(t["key"], t["tolerationSeconds"]) for t in added] == [
        ("node.kubernetes.io/not-ready", 5), ("node.kubernetes.io/unreachable", 7)]
