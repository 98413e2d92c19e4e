"""`kubectl logs` and `kubectl exec` end to end: real kubectl → the HTTP API → the kubelet's gRPC API (a KubeletAPI
on loopback with the scripted stub runtime of tests/unit/kubelet/test_kubelet_api.py; no Docker).

The Node `node-1` advertises the kubelet as InternalIP 127.0.0.1 + daemonEndpoints.kubeletEndpoint.Port, and pod
`p` (containers c1, c2) is bound to it through spec.nodeName."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from kubelet.api import KubeletAPI
from tests.fixtures import free_port
from tests.integration.http_api.conftest import kubectl
from tests.unit.kubelet.test_kubelet_api import StubRuntime, stub_resolve

pytestmark = pytest.mark.integration

POD: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
       "spec": {"nodeName": "node-1", "containers": [{"name": "c1", "image": "busybox"},
                                                     {"name": "c2", "image": "busybox"}]}}


def node(name: str, port: int | None) -> dict:
    status: dict = {"addresses": [{"type": "Hostname", "address": name}, {"type": "InternalIP",
                                                                          "address": "127.0.0.1"}]}
    if port is not None:
        status["daemonEndpoints"] = {"kubeletEndpoint": {"Port": port}}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "status": status}


async def create_node(client, name: str, port: int | None) -> None:
    created = await client.create(node(name, port))
    if port is not None and not (created.get("status") or {}).get("daemonEndpoints"):
        await client.update_status({**created, "status": node(name, port)["status"]})


@pytest.fixture
async def kubelet(client) -> AsyncIterator[StubRuntime]:
    runtime = StubRuntime()
    api = KubeletAPI(runtime, stub_resolve)  # type: ignore[arg-type]
    port = await api.start("127.0.0.1", 0)
    await create_node(client, "node-1", port)
    await client.create(POD)
    yield runtime
    await api.stop()


async def run(kubeconfig: Path, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = await asyncio.to_thread(kubectl, kubeconfig, *args, input=input)
    return result.returncode, result.stdout, result.stderr


async def ok(kubeconfig: Path, *args: str, input: str | None = None) -> str:
    code, out, err = await run(kubeconfig, *args, input=input)
    assert code == 0, f"kubectl {' '.join(args)} failed ({code}): {err}"
    return out


async def test_kubectl_logs_defaults_to_the_first_container(kubeconfig: Path, kubelet: StubRuntime) -> None:
    assert await ok(kubeconfig, "logs", "p") == "one\ntwo\nthree\n"
    assert await ok(kubeconfig, "logs", "p", "-c", "c2") == "from c2\n"


async def test_kubectl_logs_tail_timestamps_and_since(kubeconfig: Path, kubelet: StubRuntime) -> None:
    assert await ok(kubeconfig, "logs", "p", "-c", "c1", "--tail", "2") == "two\nthree\n"
    assert await ok(kubeconfig, "logs", "p", "-c", "c1", "--timestamps", "--since", "1m") == (
        "2026-01-01T00:00:00.000000000Z one\n2026-01-01T00:00:00.000000000Z two\n"
        "2026-01-01T00:00:00.000000000Z three\n")
    assert kubelet.log_calls[-1]["since_seconds"] == 60
    since = (datetime.now(UTC) - timedelta(seconds=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
    await ok(kubeconfig, "logs", "p", "-c", "c1", "--since-time", since)
    assert 119 <= kubelet.log_calls[-1]["since_seconds"] <= 125


async def test_kubectl_logs_previous(kubeconfig: Path, kubelet: StubRuntime) -> None:
    assert await ok(kubeconfig, "logs", "p", "-c", "c1", "--previous") == "crashed before\n"
    code, _, err = await run(kubeconfig, "logs", "p", "-c", "c2", "--previous")
    assert code == 1
    assert 'previous terminated container "c2" in pod "p" not found' in err


async def test_kubectl_logs_follow_streams_until_the_container_ends(kubeconfig: Path, kubelet: StubRuntime) -> None:
    assert await ok(kubeconfig, "logs", "-f", "p", "-c", "c2") == "from c2\nfollowed 0\nfollowed 1\nfollowed 2\n"
    assert kubelet.log_calls[-1]["follow"] is True


async def test_kubectl_logs_of_a_missing_container_is_a_clear_error(kubeconfig: Path, kubelet: StubRuntime) -> None:
    code, _, err = await run(kubeconfig, "logs", "p", "-c", "nope")
    assert code == 1
    assert "container nope is not valid for pod p" in err


async def test_kubectl_exec_echo(kubeconfig: Path, kubelet: StubRuntime) -> None:
    assert await ok(kubeconfig, "exec", "p", "-c", "c1", "--", "echo", "hi") == "hi\n"


async def test_kubectl_exec_exits_with_the_command_exit_code(kubeconfig: Path, kubelet: StubRuntime) -> None:
    code, out, err = await run(kubeconfig, "exec", "p", "-c", "c1", "--", "sh", "-c", "exit 3")
    assert (code, out) == (3, ""), err
    assert "command terminated with exit code 3" in err


async def test_kubectl_exec_relays_stderr(kubeconfig: Path, kubelet: StubRuntime) -> None:
    code, out, err = await run(kubeconfig, "exec", "p", "-c", "c1", "--", "sh", "-c", "echo oops >&2")
    assert (code, out, err) == (0, "", "oops\n")


async def test_kubectl_exec_stdin_is_relayed_and_eof_closes_it(kubeconfig: Path, kubelet: StubRuntime) -> None:
    assert await ok(kubeconfig, "exec", "-i", "p", "-c", "c1", "--", "cat", input="data\nmore\n") == "data\nmore\n"


async def test_kubectl_exec_in_a_missing_container_fails(kubeconfig: Path, kubelet: StubRuntime) -> None:
    code, _, err = await run(kubeconfig, "exec", "p", "-c", "nope", "--", "echo", "hi")
    assert code == 1
    assert "nope" in err and "not" in err


async def test_exec_without_a_websocket_upgrade_is_a_400(apiserver, kubelet: StubRuntime) -> None:
    url = f"http://127.0.0.1:{apiserver.http_port}/api/v1/namespaces/default/pods/p/exec"
    async with aiohttp.ClientSession() as http, \
            http.post(url, params={"command": "ls", "stdout": "true", "container": "c1"}) as response:
        assert response.status == 400
        assert "websocket" in (await response.json())["message"]


async def test_kubectl_exec_when_the_kubelet_is_unreachable_names_the_node(kubeconfig: Path, client) -> None:
    await create_node(client, "node-2", free_port())
    await client.create({**POD, "metadata": {"name": "lost", "namespace": "default"},
                         "spec": {**POD["spec"], "nodeName": "node-2"}})
    code, _, err = await run(kubeconfig, "logs", "lost", "-c", "c1")
    assert code == 1 and 'node "node-2"' in err and "unreachable" in err
    code, _, err = await run(kubeconfig, "exec", "lost", "-c", "c1", "--", "echo", "hi")
    assert code == 1 and 'node "node-2"' in err and "unreachable" in err


async def test_logs_of_a_pod_on_a_node_without_a_kubelet_endpoint(kubeconfig: Path, client) -> None:
    await create_node(client, "node-3", None)
    await client.create({**POD, "metadata": {"name": "q", "namespace": "default"},
                         "spec": {**POD["spec"], "nodeName": "node-3"}})
    code, _, err = await run(kubeconfig, "logs", "q", "-c", "c1")
    assert code == 1 and 'node "node-3" has no kubelet endpoint' in err


async def test_logs_of_an_unscheduled_pod_and_without_a_container_name(apiserver, client) -> None:
    await client.create({**POD, "metadata": {"name": "pending", "namespace": "default"},
                         "spec": {"containers": POD["spec"]["containers"]}})
    base = f"http://127.0.0.1:{apiserver.http_port}/api/v1/namespaces/default/pods"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/pending/log", params={"container": "c1"}) as response:
            assert response.status == 400
            assert (await response.json())["message"] == "pod pending does not have a host assigned"
        async with http.get(f"{base}/pending/log") as response:
            assert response.status == 400
            assert (await response.json())["message"] == (
                "a container name must be specified for pod pending, choose one of: [c1 c2]")


async def test_python_client_reads_pod_logs(kubeconfig: Path, kubelet: StubRuntime) -> None:
    configuration = k8s.Configuration()
    k8s_config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    with k8s.ApiClient(configuration) as api:
        v1 = k8s.CoreV1Api(api)
        text = await asyncio.to_thread(v1.read_namespaced_pod_log, "p", "default", container="c1", tail_lines=1)
        assert text == "three\n"
        limited = await asyncio.to_thread(v1.read_namespaced_pod_log, "p", "default", container="c2",
                                          limit_bytes=4)
        assert limited == "from"


async def test_discovery_lists_pods_log_exec_attach_and_portforward(kubeconfig: Path, apiserver) -> None:
    resources = json.loads(await ok(kubeconfig, "get", "--raw", "/api/v1"))["resources"]
    names = {r["name"]: r["verbs"] for r in resources}
    assert names["pods/log"] == ["get"] and set(names["pods/exec"]) == {"create", "get"}
    assert set(names["pods/attach"]) == set(names["pods/portforward"]) == {"create", "get"}


async def ws_exec(apiserver, protocol: str, command: list[str], sends: list[bytes],
                  stdin: bool = True) -> tuple[str, dict[int, bytes]]:
    """Speak the channel protocol by hand: the negotiated subprotocol and what arrived on each channel."""
    url = f"http://127.0.0.1:{apiserver.http_port}/api/v1/namespaces/default/pods/p/exec"
    params = [("container", "c1"), ("stdout", "true"), ("stderr", "true"), ("stdin", str(stdin).lower()),
              *[("command", c) for c in command]]
    received: dict[int, bytes] = {}
    async with aiohttp.ClientSession() as http, http.ws_connect(url, params=params, protocols=(protocol,)) as ws:
        for message in sends:
            await ws.send_bytes(message)
        async for msg in ws:
            assert msg.type == aiohttp.WSMsgType.BINARY
            received[msg.data[0]] = received.get(msg.data[0], b"") + msg.data[1:]
        return ws.protocol or "", received


async def test_websocket_v5_relays_stdin_resize_and_close(apiserver, kubelet: StubRuntime) -> None:
    resize = b"\x04" + json.dumps({"Width": 100, "Height": 40}).encode()
    protocol, received = await ws_exec(apiserver, "v5.channel.k8s.io", ["cat"],
                                       [b"\x00hello ", resize, b"\x00world", b"\xff\x00"])
    assert protocol == "v5.channel.k8s.io"
    assert received[1] == b"hello world"
    assert json.loads(received[3])["status"] == "Success"
    assert kubelet.sessions[-1].resizes == [(100, 40)]


async def test_websocket_v4_reports_a_non_zero_exit_code_as_kubectl_expects(apiserver, kubelet: StubRuntime) -> None:
    protocol, received = await ws_exec(apiserver, "v4.channel.k8s.io", ["sh", "-c", "exit 7"], [], stdin=False)
    status = json.loads(received[3])
    assert protocol == "v4.channel.k8s.io"
    assert (status["status"], status["reason"]) == ("Failure", "NonZeroExitCode")
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "7"}]


async def test_a_client_leaving_mid_exec_does_not_wedge_the_apiserver(apiserver, kubelet: StubRuntime) -> None:
    url = f"http://127.0.0.1:{apiserver.http_port}/api/v1/namespaces/default/pods/p/exec"
    params = [("container", "c1"), ("stdin", "true"), ("stdout", "true"), ("command", "cat")]
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url, params=params, protocols=("v5.channel.k8s.io",)) as ws:
            await ws.send_bytes(b"\x00ping")
            assert (await ws.receive_bytes(timeout=5)) == b"\x01ping"
        _, received = await ws_exec(apiserver, "v5.channel.k8s.io", ["echo", "after"], [], stdin=False)
    assert received[1] == b"after\n"
