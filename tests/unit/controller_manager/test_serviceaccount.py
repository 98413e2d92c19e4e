"""ServiceAccount controller: every active namespace has a `default` ServiceAccount."""

from __future__ import annotations

from typing import Any

from controller_manager.serviceaccount import ServiceAccountController
from tests.unit.controller_manager.harness import Harness


def namespace(name: str, terminating: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if terminating:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def sa(name: str, ns: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}}


async def test_a_new_namespace_gets_a_default_service_account() -> None:
    h = Harness(ServiceAccountController, [namespace("team")])
    await h.reconcile("team")
    assert h.writes() == [("create", "serviceaccounts", "team", "default")]


async def test_a_namespace_with_its_default_service_account_is_left_alone() -> None:
    h = Harness(ServiceAccountController, [namespace("team"), sa("default", "team")])
    await h.reconcile("team")
    assert h.writes() == []


async def test_a_terminating_namespace_gets_none() -> None:
    h = Harness(ServiceAccountController, [namespace("gone", terminating=True)])
    await h.reconcile("gone")
    assert h.writes() == []


async def test_a_deleted_default_service_account_enqueues_its_namespace() -> None:
    h = Harness(ServiceAccountController, [namespace("team")])
    h.controller._service_account_deleted(sa("default", "team"))  # type: ignore[attr-defined]
    h.controller._service_account_deleted(sa("builder", "other"))  # type: ignore[attr-defined]
    assert await h.controller.queue.get() == "team"
    assert len(h.controller.queue) == 0
