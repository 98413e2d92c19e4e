"""Namespace controller: a terminating namespace is emptied, its conditions say why it waits, then finalized."""

from __future__ import annotations

from typing import Any

from apimachinery import errors
from controller_manager.namespace import ContentReport, NamespaceController, compute_conditions
from tests.unit.controller_manager.harness import Harness


def namespace(name: str, deleting: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta, "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Terminating" if deleting else "Active"}}


def cm(name: str, ns: str = "doomed") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}}


def conditions_of(h: Harness, name: str) -> dict[str, tuple[str, str]]:
    stored = h.stored("namespaces", name) or {}
    return {c["type"]: (c["status"], c["reason"]) for c in stored.get("status", {}).get("conditions", [])}


async def test_a_terminating_namespace_is_emptied_and_finalized() -> None:
    h = Harness(NamespaceController, [namespace("doomed"), cm("a"), cm("b"), cm("keep", ns="other"),
                                      {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s",
                                                                                          "namespace": "doomed"}}])
    await h.reconcile("doomed")
    assert h.all("configmaps", "doomed") == [] and h.all("secrets", "doomed") == []
    assert h.stored("configmaps", "keep", "other") is not None
    assert (h.stored("namespaces", "doomed") or {})["spec"]["finalizers"] == []
    assert conditions_of(h, "doomed")["NamespaceContentRemaining"] == ("False", "ContentRemoved")


async def test_an_active_namespace_is_left_alone() -> None:
    h = Harness(NamespaceController, [namespace("live", deleting=False), cm("a", ns="live")])
    await h.reconcile("live")
    assert h.writes() == []


async def test_a_failed_deletion_is_reported_and_the_namespace_is_not_finalized() -> None:
    async def refuse(verb: str, resource: str, namespace: str, name: str) -> None:
        if verb == "delete" and resource == "configmaps":
            raise errors.internal("etcd is sad")

    h = Harness(NamespaceController, [namespace("doomed"), cm("a")])
    h.api.hook = refuse
    await h.reconcile("doomed")
    assert (h.stored("namespaces", "doomed") or {})["spec"]["finalizers"] == ["kubernetes"]
    assert conditions_of(h, "doomed")["NamespaceDeletionContentFailure"] == ("True", "ContentDeletionFailed")
    assert h.controller.queue.num_waiting() == 1


def test_remaining_content_and_finalizers_are_named_in_the_conditions() -> None:
    report = ContentReport(remaining={"pods": 2}, finalizers={"example.com/x": 1})
    conditions = {c["type"]: c for c in compute_conditions(report, [], 0.0)}
    assert conditions["NamespaceContentRemaining"]["message"] == \
        "Some resources are remaining: pods has 2 resource instances"
    assert conditions["NamespaceFinalizersRemaining"]["message"] == \
        "Some content in the namespace has finalizers remaining: example.com/x in 1 resource instances"
    assert conditions["NamespaceDeletionDiscoveryFailure"]["status"] == "False"
