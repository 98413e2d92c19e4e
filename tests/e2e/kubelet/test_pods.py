"""Real pods: a kubelet with the Docker runtime runs them; a real apiserver and kubectl look at them."""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path
from typing import Any

import pytest

from apimachinery import errors
from tests.e2e.kubelet.conftest import DockerNode, kubectl
from tests.integration.kubelet.conftest import eventually, pod_manifest

pytestmark = pytest.mark.e2e
Object = dict[str, Any]
BUSYBOX = "kubeling/busybox:1.35"
HELLO = "kubeling/hello:v1"


def sh(name: str, script: str, image: str = BUSYBOX, **extra: Any) -> Object:
    return {"name": name, "image": image, "command": ["sh", "-c", script], **extra}


async def get_pod(client: Any, name: str) -> Object:
    return await client.get("pods", name, "default")


def container_status(pod: Object, name: str) -> Object:
    statuses = pod.get("status", {}).get("containerStatuses", []) + pod.get("status", {}).get(
        "initContainerStatuses", [])
    return next((s for s in statuses if s["name"] == name), {})


def condition(pod: Object, kind: str) -> str | None:
    return next((c["status"] for c in pod.get("status", {}).get("conditions", []) if c["type"] == kind), None)


async def wait_phase(client: Any, name: str, phase: str, timeout: float = 30.0) -> Object:
    async def check() -> Object | None:
        pod = await get_pod(client, name)
        return pod if pod.get("status", {}).get("phase") == phase else None

    return await eventually(check, timeout, interval=0.2)


async def wait_ready(client: Any, name: str, want: str = "True", timeout: float = 30.0) -> Object:
    async def check() -> Object | None:
        pod = await get_pod(client, name)
        return pod if condition(pod, "Ready") == want else None

    return await eventually(check, timeout, interval=0.2)


async def run_kubectl(kubeconfig: Path, *args: str, input: str | None = None) -> Any:
    return await asyncio.to_thread(kubectl, kubeconfig, *args, input=input)


async def create(client: Any, node: DockerNode, name: str, containers: list[Object], **spec: Any) -> None:
    await client.create(pod_manifest(name, node=node.config.node.node_name, containers=containers, **spec))


async def test_containers_of_one_pod_share_localhost(client, docker_node: DockerNode, kubeconfig: Path):
    await create(client, docker_node, "duo", [
        {"name": "web", "image": HELLO},
        sh("probe", "sleep 3600"),
    ])
    await wait_phase(client, "duo", "Running")
    result = await eventually(lambda: _exec_ok(kubeconfig, "duo", "probe", "wget", "-qO-", "http://127.0.0.1:8080/"))
    assert "[v1] Hello from duo" in result


async def _exec_ok(kubeconfig: Path, pod: str, container: str, *command: str) -> str | None:
    done = await run_kubectl(kubeconfig, "exec", pod, "-c", container, "--", *command)
    return done.stdout if done.returncode == 0 else None


async def test_pods_reach_each_other_by_pod_ip(client, docker_node: DockerNode, kubeconfig: Path):
    await create(client, docker_node, "server", [{"name": "web", "image": HELLO}])
    await create(client, docker_node, "caller", [sh("c", "sleep 3600")])
    server = await wait_phase(client, "server", "Running")
    await wait_phase(client, "caller", "Running")
    caller = await get_pod(client, "caller")
    assert server["status"]["podIP"] != caller["status"]["podIP"]
    url = f"http://{server['status']['podIP']}:8080/"
    answer = await eventually(lambda: _exec_ok(kubeconfig, "caller", "c", "wget", "-qO-", url))
    assert "[v1] Hello from server" in answer


async def test_restart_policy_never_and_on_failure_end_in_failed_and_succeeded(client, docker_node: DockerNode):
    await create(client, docker_node, "never", [sh("c", "exit 3")], restart_policy="Never")
    await create(client, docker_node, "onfailure", [sh("c", "exit 0")], restart_policy="OnFailure")
    failed = await wait_phase(client, "never", "Failed")
    assert container_status(failed, "c")["state"]["terminated"]["exitCode"] == 3
    assert container_status(failed, "c")["restartCount"] == 0
    succeeded = await wait_phase(client, "onfailure", "Succeeded")
    assert container_status(succeeded, "c")["state"]["terminated"]["reason"] == "Completed"


async def test_a_finished_pod_keeps_the_ip_it_ran_with(client, docker_node: DockerNode):
    await create(client, docker_node, "brief", [sh("c", "exit 0")], restart_policy="Never")
    await wait_phase(client, "brief", "Succeeded")
    await asyncio.sleep(2.0)  # the sandbox is removed by now; the status written after that keeps the IP
    status = (await get_pod(client, "brief"))["status"]
    assert status.get("podIP"), status
    assert status["podIPs"] == [{"ip": status["podIP"]}]


async def test_a_crashing_container_goes_into_crash_loop_back_off(client, docker_node: DockerNode):
    await create(client, docker_node, "crasher", [sh("c", "echo boom; exit 1")])

    async def looping() -> Object | None:
        status = container_status(await get_pod(client, "crasher"), "c")
        return status if status.get("state", {}).get("waiting", {}).get("reason") == "CrashLoopBackOff" else None

    status = await eventually(looping, timeout=30, interval=0.2)
    assert status["restartCount"] >= 1
    assert status["lastState"]["terminated"]["exitCode"] == 1
    events = await client.list("events", "default", field_selector="involvedObject.name=crasher")
    assert "BackOff" in {e["reason"] for e in events["items"]}


async def test_a_failing_liveness_probe_restarts_the_container(client, docker_node: DockerNode):
    probe = {"exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 1, "failureThreshold": 1,
             "terminationGracePeriodSeconds": 1}  # sh as PID 1 ignores SIGTERM: SIGKILL after 1 s
    await create(client, docker_node, "sick", [
        sh("c", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 3600", livenessProbe=probe)])

    async def restarted() -> bool:
        return container_status(await get_pod(client, "sick"), "c").get("restartCount", 0) >= 1

    await eventually(restarted, timeout=30, interval=0.3)
    events = await client.list("events", "default", field_selector="involvedObject.name=sick")
    reasons = {e["reason"] for e in events["items"]}
    assert {"Unhealthy", "Killing"} <= reasons


async def test_readiness_follows_the_probe(client, docker_node: DockerNode, kubeconfig: Path):
    probe = {"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1}
    await create(client, docker_node, "gated", [sh("c", "sleep 3600", readinessProbe=probe)])
    pod = await wait_phase(client, "gated", "Running")
    assert condition(pod, "Ready") == "False"
    assert (await run_kubectl(kubeconfig, "exec", "gated", "--", "touch", "/tmp/ready")).returncode == 0
    await wait_ready(client, "gated", "True")
    assert (await run_kubectl(kubeconfig, "exec", "gated", "--", "rm", "/tmp/ready")).returncode == 0
    await wait_ready(client, "gated", "False")


async def test_init_containers_run_in_order_and_share_an_empty_dir(client, docker_node: DockerNode,
                                                                   kubeconfig: Path):
    mount = [{"name": "work", "mountPath": "/work"}]
    await create(client, docker_node, "ordered",
                 [sh("app", "cat /work/log; sleep 3600", volumeMounts=mount)],
                 initContainers=[sh("one", "echo one >> /work/log", volumeMounts=mount),
                                 sh("two", "echo two >> /work/log", volumeMounts=mount)],
                 volumes=[{"name": "work", "emptyDir": {}}])
    await wait_phase(client, "ordered", "Running")
    logs = await eventually(lambda: _logs(kubeconfig, "ordered"))
    assert logs.split() == ["one", "two"]


async def _logs(kubeconfig: Path, pod: str, *args: str) -> str | None:
    done = await run_kubectl(kubeconfig, "logs", pod, *args)
    return done.stdout if done.returncode == 0 and done.stdout else None


async def test_config_map_volume_shows_content_and_follows_updates(client, docker_node: DockerNode,
                                                                  kubeconfig: Path):
    await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings",
                         "namespace": "default"}, "data": {"greeting": "hello"}})
    await create(client, docker_node, "configured", [sh("c", "sleep 3600", volumeMounts=[
        {"name": "cfg", "mountPath": "/cfg"}])], volumes=[{"name": "cfg", "configMap": {"name": "settings"}}])
    await wait_phase(client, "configured", "Running")
    # exec right after Running can race the container's start: wait for the first answer
    assert await eventually(lambda: _exec_ok(kubeconfig, "configured", "c", "cat", "/cfg/greeting")) == "hello"
    await client.patch("configmaps", "settings", {"data": {"greeting": "bonjour"}}, "default")

    async def updated() -> bool:
        return await _exec_ok(kubeconfig, "configured", "c", "cat", "/cfg/greeting") == "bonjour"

    await eventually(updated, timeout=30, interval=0.5)


async def test_secret_volume_files_have_the_default_mode(client, docker_node: DockerNode, kubeconfig: Path):
    await client.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "default"},
                         "data": {"token": base64.b64encode(b"s3cret").decode()}})
    await create(client, docker_node, "secretive", [sh("c", "sleep 3600", volumeMounts=[
        {"name": "sec", "mountPath": "/sec"}])],
        volumes=[{"name": "sec", "secret": {"secretName": "creds", "defaultMode": 0o400}}])
    await wait_phase(client, "secretive", "Running")
    assert await eventually(lambda: _exec_ok(kubeconfig, "secretive", "c", "cat", "/sec/token")) == "s3cret"
    mode = await _exec_ok(kubeconfig, "secretive", "c", "stat", "-L", "-c", "%a", "/sec/token")
    assert mode is not None and mode.strip() == "400"


async def test_env_from_field_refs(client, docker_node: DockerNode, kubeconfig: Path):
    env = [{"name": "MY_POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
           {"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
           {"name": "MY_NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]
    await create(client, docker_node, "aware", [sh("c", "echo $MY_POD $MY_IP $MY_NODE; sleep 3600", env=env)])
    pod = await wait_phase(client, "aware", "Running")
    logs = await eventually(lambda: _logs(kubeconfig, "aware"))
    assert logs.split() == ["aware", pod["status"]["podIP"], docker_node.config.node.node_name]


async def test_logs_and_exec_through_kubectl(client, docker_node: DockerNode, kubeconfig: Path):
    await create(client, docker_node, "chatty", [sh("c", "for i in 1 2 3 4 5; do echo line $i; done; sleep 3600")])
    await wait_phase(client, "chatty", "Running")
    tail = await eventually(lambda: _logs(kubeconfig, "chatty", "--tail", "2"))
    assert tail.splitlines() == ["line 4", "line 5"]
    assert (await run_kubectl(kubeconfig, "exec", "chatty", "--", "sh", "-c", "exit 7")).returncode == 7
    echoed = await run_kubectl(kubeconfig, "exec", "-i", "chatty", "--", "cat", input="through stdin\n")
    assert echoed.stdout == "through stdin\n"


async def test_a_container_over_its_memory_limit_is_oom_killed(client, docker_node: DockerNode):
    hog = sh("hog", "x=0123456789abcdef; while :; do x=$x$x; done",
             resources={"limits": {"memory": "20Mi"}})
    await create(client, docker_node, "hog", [hog], restart_policy="Never")
    pod = await wait_phase(client, "hog", "Failed", timeout=60)
    terminated = container_status(pod, "hog")["state"]["terminated"]
    assert terminated["reason"] == "OOMKilled"
    assert terminated["exitCode"] == 137


async def test_an_image_that_does_not_exist_goes_from_err_image_pull_to_back_off(client, docker_node: DockerNode):
    await create(client, docker_node, "missing", [{"name": "c", "image": "kubeling/does-not-exist:1"}])
    seen: set[str] = set()

    async def both() -> bool:
        waiting = container_status(await get_pod(client, "missing"), "c").get("state", {}).get("waiting", {})
        seen.add(waiting.get("reason", ""))
        return {"ErrImagePull", "ImagePullBackOff"} <= seen

    await eventually(both, timeout=60, interval=0.1)


async def test_graceful_deletion_waits_for_the_container_within_the_grace_period(client, docker_node: DockerNode):
    await create(client, docker_node, "stubborn", [sh("c", "trap '' TERM; while :; do sleep 1; done")],
                 terminationGracePeriodSeconds=3)
    await wait_phase(client, "stubborn", "Running")
    started = time.monotonic()
    await client.delete("pods", "stubborn", "default")

    async def gone() -> bool:
        try:
            await get_pod(client, "stubborn")
        except errors.NotFound:
            return True
        return False

    await eventually(gone, timeout=30, interval=0.1)
    took = time.monotonic() - started
    assert 2.5 <= took <= 10, took
    assert not await docker_node.runtime.list_pods(docker_node.config.node.node_name)
