"""The kubelet's pod lifecycle, end to end against a real apiserver, with the fake runtime (a hollow node)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from apimachinery import errors
from tests.integration.kubelet.conftest import HollowNode, eventually, pod_manifest

pytestmark = pytest.mark.integration
Object = dict[str, Any]


async def _pod(client: Any, name: str) -> Object:
    return await client.get("pods", name, "default")


def _condition(pod: Object, kind: str) -> str | None:
    for condition in pod.get("status", {}).get("conditions", []):
        if condition["type"] == kind:
            return condition["status"]
    return None


def _container_status(pod: Object, name: str = "app") -> Object:
    for status in pod.get("status", {}).get("containerStatuses", []):
        if status["name"] == name:
            return status
    return {}


async def _wait_phase(client: Any, name: str, phase: str, timeout: float = 10.0) -> Object:
    async def check() -> Object | None:
        try:
            pod = await _pod(client, name)
        except errors.NotFound:
            return None
        return pod if pod.get("status", {}).get("phase") == phase else None

    return await eventually(check, timeout)


async def test_the_node_registers_ready_and_renews_its_lease(client, hollow_node: HollowNode):
    async def ready() -> bool:
        node = await client.get("nodes", "node-1")
        return _condition(node, "Ready") == "True"

    await eventually(ready)
    first = (await client.get("leases", "node-1", "kube-node-lease"))["spec"]["renewTime"]

    async def renewed() -> bool:
        lease = await client.get("leases", "node-1", "kube-node-lease")
        return lease["spec"]["renewTime"] != first

    await eventually(renewed, timeout=5)


async def test_a_pod_bound_to_the_node_runs_and_reports_ready_with_an_ip(client, hollow_node: HollowNode):
    await client.create(pod_manifest("web"))
    pod = await _wait_phase(client, "web", "Running")
    assert pod["status"]["podIP"]
    assert pod["status"]["hostIP"] == "127.0.0.1"
    await eventually(lambda: _ready(client, "web"))
    status = _container_status(await _pod(client, "web"))
    assert status["state"]["running"]["startedAt"]
    assert status["restartCount"] == 0
    assert status["containerID"].startswith("fake://")


async def _ready(client: Any, name: str) -> bool:
    return _condition(await _pod(client, name), "Ready") == "True"


async def test_a_pod_bound_to_another_node_is_ignored(client, hollow_node: HollowNode):
    await client.create(pod_manifest("elsewhere", node="node-2"))
    await client.create(pod_manifest("here"))
    await _wait_phase(client, "here", "Running")
    assert "phase" not in (await _pod(client, "elsewhere")).get("status", {}) or \
        (await _pod(client, "elsewhere"))["status"].get("phase") == "Pending"
    assert not hollow_node.runtime.sandboxes or all(
        s.record.name != "elsewhere" for s in hollow_node.runtime.sandboxes.values())


async def test_a_crashing_container_is_restarted_with_back_off(client, hollow_node: HollowNode):
    notes = {"fake.kubeling.io/exit-after.app": "0.1", "fake.kubeling.io/exit-code.app": "1"}
    await client.create(pod_manifest("crash", annotations=notes))

    async def crash_looping() -> Object | None:
        status = _container_status(await _pod(client, "crash"))
        waiting = status.get("state", {}).get("waiting", {})
        return status if waiting.get("reason") == "CrashLoopBackOff" else None

    status = await eventually(crash_looping, timeout=10)
    assert status["restartCount"] >= 1
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert status["lastState"]["terminated"]["reason"] == "Error"
    assert "back-off 10s restarting failed container=app" in status["state"]["waiting"]["message"]


async def test_a_container_in_back_off_is_synced_again_when_the_back_off_ends(client, tmp_path: Path):
    node = HollowNode(client, tmp_path)
    node.config = replace(node.config, sync_frequency=60.0)  # Kubernetes' default: only the back-off wakes it
    await node.start()
    try:
        notes = {"fake.kubeling.io/exit-after.app": "0.1", "fake.kubeling.io/exit-code.app": "1"}
        await client.create(pod_manifest("patient", annotations=notes))

        async def crash_looping() -> bool:
            waiting = _container_status(await _pod(client, "patient")).get("state", {}).get("waiting", {})
            return waiting.get("reason") == "CrashLoopBackOff"

        await eventually(crash_looping, timeout=10)
        await asyncio.sleep(6)  # inside the first 10 s back-off
        events = await client.list("events", "default", field_selector="involvedObject.name=patient,reason=BackOff")
        backoffs = sum(event.get("count", 1) for event in events["items"])
        assert 1 <= backoffs <= 2, f"{backoffs} BackOff events in 6 s of one 10 s back-off"
        restarts = _container_status(await _pod(client, "patient"))["restartCount"]

        async def restarted_when_the_back_off_ended() -> bool:
            return _container_status(await _pod(client, "patient"))["restartCount"] > restarts

        await eventually(restarted_when_the_back_off_ended, timeout=8)
    finally:
        await node.stop()


async def test_restart_policy_never_leaves_a_failed_pod_failed(client, hollow_node: HollowNode):
    notes = {"fake.kubeling.io/exit-after.app": "0.1", "fake.kubeling.io/exit-code.app": "3"}
    await client.create(pod_manifest("once", annotations=notes, restart_policy="Never"))
    pod = await _wait_phase(client, "once", "Failed")
    terminated = _container_status(pod)["state"]["terminated"]
    assert terminated["exitCode"] == 3
    assert _container_status(pod)["restartCount"] == 0


async def test_a_job_style_pod_succeeds(client, hollow_node: HollowNode):
    notes = {"fake.kubeling.io/exit-after.app": "0.1"}
    await client.create(pod_manifest("job", annotations=notes, restart_policy="OnFailure"))
    pod = await _wait_phase(client, "job", "Succeeded")
    assert _container_status(pod)["state"]["terminated"]["reason"] == "Completed"


async def test_init_containers_run_in_order_before_the_app(client, hollow_node: HollowNode):
    notes = {"fake.kubeling.io/exit-after.init-1": "0.2", "fake.kubeling.io/exit-after.init-2": "0.2"}
    inits = [{"name": "init-1", "image": "kubeling/busybox:1.35"}, {"name": "init-2", "image": "kubeling/busybox:1.35"}]
    await client.create(pod_manifest("inits", annotations=notes, initContainers=inits))
    pod = await _wait_phase(client, "inits", "Running")
    statuses = {s["name"]: s for s in pod["status"]["initContainerStatuses"]}
    first = statuses["init-1"]["state"]["terminated"]
    second = statuses["init-2"]["state"]["terminated"]
    assert first["finishedAt"] <= second["startedAt"]
    assert _condition(pod, "Initialized") == "True"


async def test_readiness_follows_the_probe(client, hollow_node: HollowNode):
    probe = {"exec": {"command": ["true"]}, "periodSeconds": 1}
    containers = [{"name": "app", "image": "kubeling/busybox:1.35", "readinessProbe": probe}]
    await client.create(pod_manifest("probed", containers=containers))
    await eventually(lambda: _ready(client, "probed"))
    await client.patch("pods", "probed", {"metadata": {"annotations": {
        "fake.kubeling.io/probe.readiness.app": "failure"}}}, "default")

    async def not_ready() -> bool:
        return _condition(await _pod(client, "probed"), "Ready") == "False"

    await eventually(not_ready, timeout=10)


async def test_a_failing_liveness_probe_restarts_the_container(client, hollow_node: HollowNode):
    probe = {"exec": {"command": ["true"]}, "periodSeconds": 1, "failureThreshold": 1}
    containers = [{"name": "app", "image": "kubeling/busybox:1.35", "livenessProbe": probe}]
    notes = {"fake.kubeling.io/probe.liveness.app": "failure"}
    await client.create(pod_manifest("unhealthy", containers=containers, annotations=notes))

    async def restarted() -> bool:
        return _container_status(await _pod(client, "unhealthy")).get("restartCount", 0) >= 1

    await eventually(restarted, timeout=10)


async def test_an_image_that_cannot_be_pulled_backs_off(client, hollow_node: HollowNode):
    containers = [{"name": "app", "image": "fake.invalid/nothing:1", "imagePullPolicy": "IfNotPresent"}]
    await client.create(pod_manifest("noimage", containers=containers))
    seen: set[str] = set()

    async def both_reasons() -> bool:
        waiting = _container_status(await _pod(client, "noimage")).get("state", {}).get("waiting", {})
        seen.add(waiting.get("reason", ""))
        return {"ErrImagePull", "ImagePullBackOff"} <= seen

    await eventually(both_reasons, timeout=10, interval=0.05)


async def test_deleting_a_pod_stops_its_containers_and_removes_it(client, hollow_node: HollowNode):
    await client.create(pod_manifest("doomed"))
    await _wait_phase(client, "doomed", "Running")
    await client.delete("pods", "doomed", "default")

    async def gone() -> bool:
        try:
            await _pod(client, "doomed")
        except errors.NotFound:
            return True
        return False

    await eventually(gone, timeout=10)
    assert not hollow_node.runtime.containers
    assert not hollow_node.runtime.sandboxes


async def test_a_restarted_kubelet_readopts_running_containers(client, hollow_node: HollowNode):
    await client.create(pod_manifest("survivor"))
    await _wait_phase(client, "survivor", "Running")
    before = _container_status(await _pod(client, "survivor"))
    await hollow_node.stop()
    await hollow_node.start()
    await hollow_node.kubelet.pleg.relisted.wait()  # type: ignore[union-attr]
    await hollow_node.kubelet.pods.wait_for_sync()  # type: ignore[union-attr]
    import asyncio

    await asyncio.sleep(1.0)
    after = _container_status(await _pod(client, "survivor"))
    assert after["containerID"] == before["containerID"]
    assert after["restartCount"] == 0
    assert len(hollow_node.runtime.containers) == 1


async def test_runtime_pods_without_an_api_object_are_cleaned_up(client, hollow_node: HollowNode):
    await client.create(pod_manifest("ghost"))
    await _wait_phase(client, "ghost", "Running")
    await hollow_node.stop()
    await client.delete("pods", "ghost", "default", grace_period_seconds=0)
    await hollow_node.start()

    async def cleaned() -> bool:
        return not hollow_node.runtime.containers and not hollow_node.runtime.sandboxes

    await eventually(cleaned, timeout=10)


async def test_static_pods_run_from_the_manifest_dir_with_a_mirror_pod(client, tmp_path):
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "static.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: static-web}\n"
        "spec: {containers: [{name: web, image: kubeling/hello:v1}]}\n")
    node = HollowNode(client, tmp_path)
    node.config.manifest_dir = manifests
    node.config.static_check_period = 0.2
    await node.start()
    try:
        mirror = await _wait_phase(client, "static-web-node-1", "Running")
        assert mirror["metadata"]["annotations"]["kubernetes.io/config.mirror"]
        assert mirror["metadata"]["ownerReferences"][0]["kind"] == "Node"
        await client.delete("pods", "static-web-node-1", "default")

        async def recreated() -> bool:
            try:
                return (await _pod(client, "static-web-node-1"))["metadata"]["uid"] != mirror["metadata"]["uid"]
            except errors.NotFound:
                return False

        await eventually(recreated)
        assert len([c for c in node.runtime.containers.values() if c.record.state == "running"]) == 1
        (manifests / "static.yaml").unlink()

        async def gone() -> bool:
            try:
                await _pod(client, "static-web-node-1")
            except errors.NotFound:
                return not node.runtime.containers
            return False

        await eventually(gone)
    finally:
        await node.stop()


async def test_one_process_hosts_many_hollow_nodes(client, tmp_path):
    from tests.integration.kubelet.conftest import hollow_config

    nodes = [HollowNode(client, tmp_path, f"hollow-{i}") for i in range(1, 6)]
    for node in nodes[1:]:
        node.runtime = nodes[0].runtime  # one fake runtime shared, as `--hollow-nodes N` does
    for node in nodes:
        node.config = hollow_config(tmp_path, node.config.node.node_name)
        await node.start()
    try:
        async def all_ready() -> bool:
            listed = await client.list("nodes")
            return sum(_condition(n, "Ready") == "True" for n in listed["items"]) == 5

        await eventually(all_ready)
        for i in range(1, 6):
            await client.create(pod_manifest(f"p{i}", node=f"hollow-{i}"))
        for i in range(1, 6):
            pod = await _wait_phase(client, f"p{i}", "Running")
            assert pod["spec"]["nodeName"] == f"hollow-{i}"
    finally:
        for node in nodes:
            await node.stop()


@pytest.mark.parametrize("exit_after", ["0", "0.05", "0.3"])
async def test_a_pod_that_finishes_at_once_keeps_its_pod_ip(client, hollow_node: HollowNode, exit_after: str):
    notes = {"fake.kubeling.io/exit-after.app": exit_after}
    await client.create(pod_manifest("brief", annotations=notes, restart_policy="Never"))

    async def finished() -> Object | None:
        status = (await _pod(client, "brief")).get("status") or {}
        return status if status.get("phase") == "Succeeded" else None

    status = await eventually(finished, timeout=10)
    await asyncio.sleep(1.0)  # the sandbox is gone by now; later writes must keep the IP
    status = (await _pod(client, "brief"))["status"]
    assert status.get("podIP"), status
    assert status["podIPs"] == [{"ip": status["podIP"]}]
