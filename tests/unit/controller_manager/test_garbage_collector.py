"""Garbage collector: Background, Foreground and Orphan deletion over ownerReferences."""

from __future__ import annotations

from typing import Any

from controller_manager.garbage_collector import GarbageCollector
from controller_manager.gc_graph import ATTEMPT_DELETE, ORPHAN, WorkItem
from tests.unit.controller_manager.harness import Harness


def cm(name: str, owners: list[dict[str, Any]] | None = None, uid: str = "", **meta: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "default", "uid": uid or f"uid-{name}", **meta}
    if owners:
        metadata["ownerReferences"] = owners
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}


def ref(name: str, uid: str = "", block: bool = False) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "name": name, "uid": uid or f"uid-{name}",
            "blockOwnerDeletion": block}


def key(action: str, name: str, uid: str = "") -> str:
    return WorkItem(action, "configmaps", "default", name, uid or f"uid-{name}").key


DELETING: dict[str, Any] = {"deletionTimestamp": "2026-01-01T00:00:00Z"}


async def test_a_dependent_whose_owner_is_gone_is_deleted_in_the_background() -> None:
    h = Harness(GarbageCollector, [cm("child", [ref("parent")])])
    await h.reconcile(key(ATTEMPT_DELETE, "child"))
    assert h.stored("configmaps", "child", "default") is None
    assert h.api.delete_options == [{"propagation_policy": "Background", "preconditions": {"uid": "uid-child"}}]


async def test_a_dependent_with_a_live_owner_stays() -> None:
    h = Harness(GarbageCollector, [cm("parent"), cm("child", [ref("parent")])])
    await h.reconcile(key(ATTEMPT_DELETE, "child"))
    assert h.writes() == []


async def test_an_owner_replaced_by_a_new_object_of_the_same_name_counts_as_gone() -> None:
    h = Harness(GarbageCollector, [cm("parent", uid="new-uid"), cm("child", [ref("parent", uid="old-uid")])])
    await h.reconcile(key(ATTEMPT_DELETE, "child"))
    assert ("get", "configmaps", "default", "parent") in h.api.calls  # verified with a live GET
    assert h.stored("configmaps", "child", "default") is None


async def test_an_owner_missing_from_the_cache_but_live_keeps_its_dependent() -> None:
    h = Harness(GarbageCollector, [cm("child", [ref("parent")])])
    h.put(cm("parent"))  # in the API, not yet in the cache
    await h.reconcile(key(ATTEMPT_DELETE, "child"))
    assert h.stored("configmaps", "child", "default") is not None


async def test_a_dependent_with_one_live_owner_only_loses_its_reference_to_the_gone_one() -> None:
    h = Harness(GarbageCollector, [cm("alive"), cm("child", [ref("alive"), ref("gone")])])
    await h.reconcile(key(ATTEMPT_DELETE, "child"))
    child = h.stored("configmaps", "child", "default")
    assert child is not None
    assert [r["name"] for r in child["metadata"]["ownerReferences"]] == ["alive"]


async def test_foreground_deletes_dependents_then_removes_the_finalizer() -> None:
    owner = cm("parent", finalizers=["foregroundDeletion"], **DELETING)
    h = Harness(GarbageCollector, [owner, cm("child", [ref("parent", block=True)])])
    await h.reconcile(key(ATTEMPT_DELETE, "parent"))
    assert (h.stored("configmaps", "parent", "default") or {})["metadata"]["finalizers"] == ["foregroundDeletion"]
    await h.reconcile(key(ATTEMPT_DELETE, "child"))
    assert h.stored("configmaps", "child", "default") is None
    h.sync_caches()
    await h.reconcile(key(ATTEMPT_DELETE, "parent"))
    assert "finalizers" not in (h.stored("configmaps", "parent", "default") or {})["metadata"]


async def test_foreground_does_not_wait_for_non_blocking_dependents() -> None:
    owner = cm("parent", finalizers=["foregroundDeletion"], **DELETING)
    h = Harness(GarbageCollector, [owner, cm("child", [ref("parent", block=False)])])
    await h.reconcile(key(ATTEMPT_DELETE, "parent"))
    assert "finalizers" not in (h.stored("configmaps", "parent", "default") or {})["metadata"]


async def test_a_dependent_with_its_own_dependents_is_deleted_in_foreground_too() -> None:
    owner = cm("parent", finalizers=["foregroundDeletion"], **DELETING)
    h = Harness(GarbageCollector, [owner, cm("child", [ref("parent", block=True)]),
                                   cm("grandchild", [ref("child", block=True)])])
    await h.reconcile(key(ATTEMPT_DELETE, "child"))
    assert h.api.delete_options[-1]["propagation_policy"] == "Foreground"


async def test_orphan_removes_the_references_then_the_finalizer() -> None:
    owner = cm("parent", finalizers=["orphan"], **DELETING)
    h = Harness(GarbageCollector, [owner, cm("a", [ref("parent"), ref("other")]), cm("b", [ref("parent")]),
                                   cm("other")])
    await h.reconcile(key(ORPHAN, "parent"))
    assert [r["name"] for r in h.stored("configmaps", "a", "default")["metadata"]["ownerReferences"]] == ["other"]  # type: ignore[index]
    assert "ownerReferences" not in h.stored("configmaps", "b", "default")["metadata"]  # type: ignore[index]
    assert "finalizers" not in (h.stored("configmaps", "parent", "default") or {})["metadata"]


async def test_an_item_whose_uid_changed_is_ignored() -> None:
    h = Harness(GarbageCollector, [cm("child", [ref("parent")], uid="new")])
    await h.reconcile(key(ATTEMPT_DELETE, "child", uid="old"))
    assert h.writes() == []


async def test_a_deleted_owner_enqueues_its_dependents() -> None:
    h = Harness(GarbageCollector, [cm("parent"), cm("child", [ref("parent")])])
    h.controller._deleted(cm("parent"))  # type: ignore[attr-defined]
    assert len(h.controller.queue) >= 1
