"""PodDisruptionBudgets through the real kubectl: `kubectl get pdb`, and `kubectl drain` refused, then allowed.

The apiserver runs in-process with the disruption controller (no kubelets): the test makes its pods Running and
Ready by writing their status, as a kubelet would.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from controller_manager.disruption import DisruptionController
from tests.integration.controller_manager.conftest import run_controllers
from tests.integration.http_api.conftest import kubectl

pytestmark = pytest.mark.integration

PDB = json.dumps({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
                  "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}})
REFUSED = ('error when evicting pods/"a" -n "default" (will retry after 5s): '
           "Cannot evict pod as it would violate the pod's disruption budget.")


@pytest.fixture
async def http(apiserver: Any) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(f"http://127.0.0.1:{apiserver.http_port}") as session:
        yield session


async def run(kubeconfig: Path, *args: str, input: str | None = None) -> Any:
    return await asyncio.to_thread(kubectl, kubeconfig, *args, input=input)


async def ok(kubeconfig: Path, *args: str, input: str | None = None) -> str:
    result = await run(kubeconfig, *args, input=input)
    assert result.returncode == 0, f"kubectl {' '.join(args)} failed: {result.stderr}"
    return str(result.stdout)


async def ready_pods_on_node(client: Any, *names: str) -> None:
    await client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}})
    for name in names:
        await client.create({"apiVersion": "v1", "kind": "Pod",
                             "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
                             "spec": {"containers": [{"name": "c", "image": "kubeling/hello:v1"}]}})
        await client.bind("default", name, "node-1")
        pod = await client.get("pods", name, "default")
        pod["status"] = {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
        await client.update_status(pod)


async def budget_when(client: Any, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    for _ in range(100):
        pdb = await client.get("poddisruptionbudgets.policy", "web", "default")
        if wanted(pdb):
            return dict(pdb)
        await asyncio.sleep(0.05)
    raise AssertionError(f"budget never got there: {pdb.get('status')}")


def observed(allowed: int) -> Callable[[dict[str, Any]], bool]:
    return lambda pdb: (pdb.get("status", {}).get("observedGeneration") == pdb["metadata"]["generation"]
                        and pdb["status"].get("disruptionsAllowed") == allowed)


async def test_get_pdb_prints_kubernetes_columns(kubeconfig: Path, client: Any) -> None:
    await ready_pods_on_node(client, "a", "b", "c")
    await ok(kubeconfig, "create", "-f", "-", input=PDB)
    async with run_controllers(client, [DisruptionController]):
        await budget_when(client, observed(1))
    lines = (await ok(kubeconfig, "get", "pdb")).splitlines()
    assert lines[0].split() == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED", "DISRUPTIONS", "AGE"]
    assert lines[1].split()[:4] == ["web", "2", "N/A", "1"]


async def test_a_bad_budget_is_refused_naming_the_field(kubeconfig: Path) -> None:
    bad = json.loads(PDB)
    bad["spec"]["maxUnavailable"] = "x"
    result = await run(kubeconfig, "create", "-f", "-", input=json.dumps(bad))
    assert result.returncode != 0
    assert "spec.maxUnavailable: Invalid value" in result.stderr
    assert "minAvailable and maxUnavailable cannot be both set" in result.stderr


async def test_drain_is_refused_while_the_budget_allows_nothing_then_proceeds(kubeconfig: Path, client: Any) -> None:
    await ready_pods_on_node(client, "a", "b")
    await ok(kubeconfig, "create", "-f", "-", input=PDB)
    async with run_controllers(client, [DisruptionController]):
        await budget_when(client, observed(0))
        refused = await run(kubeconfig, "drain", "node-1", "--ignore-daemonsets", "--force", "--timeout=5s")
        assert refused.returncode != 0
        assert REFUSED in refused.stderr
        assert len((await client.list("pods", "default"))["items"]) == 2

        await ok(kubeconfig, "patch", "pdb", "web", "--type=merge", "-p", '{"spec": {"minAvailable": 0}}')
        before = await budget_when(client, observed(2))
        await ok(kubeconfig, "drain", "node-1", "--ignore-daemonsets", "--force", "--dry-run=server")
        after_dry_run = await client.get("poddisruptionbudgets.policy", "web", "default")
        assert after_dry_run["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
        assert len((await client.list("pods", "default"))["items"]) == 2

        drained = await ok(kubeconfig, "drain", "node-1", "--ignore-daemonsets", "--force", "--grace-period=0",
                           "--timeout=20s")
        assert "pod/a evicted" in drained and "pod/b evicted" in drained
        assert (await client.list("pods", "default"))["items"] == []


async def budget_with_status(client: Any, name: str, status: dict[str, Any], **spec: Any) -> None:
    await client.create({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                         "metadata": {"name": name, "namespace": "default"},
                         "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec}})
    pdb = await client.get("poddisruptionbudgets.policy", name, "default")
    zeros = {"currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}
    await client.update_status({**pdb, "status": {**zeros, "observedGeneration": 1, **status}})


async def evict(http: aiohttp.ClientSession, name: str, query: str = "") -> tuple[int, dict[str, Any], str]:
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": "default"}}
    async with http.post(f"/api/v1/namespaces/default/pods/{name}/eviction{query}", json=eviction) as response:
        return response.status, await response.json(), response.headers.get("Retry-After", "")


async def test_an_allowed_eviction_spends_the_budget_and_records_the_pod(http: aiohttp.ClientSession,
                                                                         client: Any) -> None:
    await ready_pods_on_node(client, "a", "b")
    await budget_with_status(client, "web", {"disruptionsAllowed": 1, "currentHealthy": 2, "desiredHealthy": 1,
                                             "expectedPods": 2}, minAvailable=1)
    assert (await evict(http, "a", "?dryRun=All"))[0] == 201
    assert (await client.get("poddisruptionbudgets.policy", "web", "default"))["status"]["disruptionsAllowed"] == 1
    assert (await evict(http, "a"))[0] == 201
    status = (await client.get("poddisruptionbudgets.policy", "web", "default"))["status"]
    assert (status["disruptionsAllowed"], list(status["disruptedPods"])) == (0, ["a"])
    code, body, retry_after = await evict(http, "b")
    assert (code, body["reason"], retry_after) == (429, "TooManyRequests", "")
    assert body["details"]["causes"] == [{"reason": "DisruptionBudget", "message":
                                          "The disruption budget web needs 1 healthy pods and has 2 currently"}]


async def test_a_budget_not_yet_observed_answers_429_with_retry_after(http: aiohttp.ClientSession,
                                                                      client: Any) -> None:
    await ready_pods_on_node(client, "a")
    await budget_with_status(client, "web", {"disruptionsAllowed": 1}, minAvailable=0)
    await ok_patch(client)
    code, body, retry_after = await evict(http, "a")
    assert (code, retry_after) == (429, "10")
    assert body["details"]["causes"][0]["message"] == (
        "The disruption budget web is still being processed by the server.")


async def ok_patch(client: Any) -> None:
    pdb = await client.get("poddisruptionbudgets.policy", "web", "default")
    pdb["spec"]["minAvailable"] = 1
    await client.update(pdb)  # generation 2, observed 1


async def test_two_budgets_for_a_pod_answer_500_and_keep_the_pod(http: aiohttp.ClientSession, client: Any) -> None:
    await ready_pods_on_node(client, "a")
    for name in ("one", "two"):
        await budget_with_status(client, name, {"disruptionsAllowed": 1}, minAvailable=0)
    code, body, _ = await evict(http, "a")
    assert (code, body["message"]) == (
        500, "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")
    assert await client.get("pods", "a", "default")


async def test_an_unready_pod_goes_under_always_allow_without_spending_the_budget(http: aiohttp.ClientSession,
                                                                                   client: Any) -> None:
    await ready_pods_on_node(client, "a")
    pod = await client.get("pods", "a", "default")
    pod["status"]["conditions"][0]["status"] = "False"
    await client.update_status(pod)
    await budget_with_status(client, "web", {"disruptionsAllowed": 0}, minAvailable=1,
                             unhealthyPodEvictionPolicy="AlwaysAllow")
    assert (await evict(http, "a"))[0] == 201
    assert "disruptedPods" not in (await client.get("poddisruptionbudgets.policy", "web", "default"))["status"]
