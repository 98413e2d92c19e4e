"""The service proxy on real Docker: a kubelet runs the pods, the EndpointSlice controller publishes them, and
kubeling-proxy (in this event loop, both modes) programs this host's iptables.

Services get an explicit cluster IP in 10.96.0.0/16 and explicit NodePorts (random, per test). Some tests use an
endpoint on the host itself (a selector-less Service with a hand-written EndpointSlice pointing at the test
network's gateway): busybox has no UDP client or server, and those tests do not need pods.
Every KUBELING- chain and jump is removed at the end of each test, even a failed one.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import subprocess
import urllib.request
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from controller_manager.endpointslice import EndpointSliceController
from proxy import iptables
from proxy.iptables_rules import JUMPS, ProxyConfig
from proxy.proxier import Mode, Proxier
from proxy.userspace import UserspaceProxier
from tests.e2e.kubelet.conftest import DockerNode, gateway, kubectl
from tests.integration.controller_manager.conftest import run_controllers
from tests.integration.kubelet.conftest import eventually, pod_manifest

pytestmark = pytest.mark.e2e
Object = dict[str, Any]
HELLO = "kubeling/hello:v1"
BUSYBOX = "kubeling/busybox:1.35"


class RunningProxy:
    """kubeling-proxy in this event loop; ``kill()`` stops it like SIGKILL would (rules stay)."""

    def __init__(self, client: Any, make_mode: Callable[[], Mode]) -> None:
        self.client = client
        self.make_mode = make_mode
        self.proxier: Proxier | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> Proxier:
        self.proxier = Proxier(self.client, self.make_mode(), min_sync_period=0.1)
        self.task = asyncio.create_task(self.proxier.run(clean_on_exit=False))
        await asyncio.wait_for(self.proxier.synced.wait(), 15)
        return self.proxier

    async def kill(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None


@pytest.fixture(params=["iptables", "userspace"])
async def proxy(request: pytest.FixtureRequest, client: Any, docker_node: DockerNode) -> AsyncIterator[RunningProxy]:
    """The EndpointSlice controller plus a running proxy for the docker node; all rules removed at the end."""
    config = ProxyConfig(node_name=docker_node.config.node.node_name)

    def make_mode() -> Mode:
        return iptables.IptablesProxier(config) if request.param == "iptables" else UserspaceProxier(config)

    running = RunningProxy(client, make_mode)
    async with run_controllers(client, [EndpointSliceController]):
        try:
            await running.start()
            yield running
        finally:
            await running.kill()
            if running.proxier is not None:
                await running.proxier.mode.stop(clean=False)  # close userspace listeners
            await asyncio.to_thread(iptables.cleanup)


def random_ip() -> str:
    return f"10.96.{random.randint(1, 254)}.{random.randint(1, 254)}"


def service(name: str, port: int = 80, target: int = 8080, protocol: str = "TCP", selector: bool = True,
            node_port: int = 0, **spec: Any) -> Object:
    ports: Object = {"name": "p", "port": port, "targetPort": target, "protocol": protocol}
    if node_port:
        ports["nodePort"] = node_port
        spec["type"] = "NodePort"
    if selector:
        spec["selector"] = {"app": name}
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"clusterIP": random_ip(), "ports": [ports], **spec}}


def host_slice(name: str, ip: str, port: int, protocol: str = "TCP") -> Object:
    """A hand-written EndpointSlice: the Service's one endpoint is a server on this host."""
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{name}-host", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4", "ports": [{"name": "p", "port": port, "protocol": protocol}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}}]}


async def hello_pod(client: Any, node: DockerNode, name: str, app: str, ready: bool = True) -> None:
    probe = ({"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1} if ready
             else {"exec": {"command": ["cat", "/nonexistent"]}, "periodSeconds": 1})
    pod = pod_manifest(name, node=node.config.node.node_name,
                       containers=[{"name": "web", "image": HELLO, "readinessProbe": probe}])
    pod["metadata"]["labels"] = {"app": app}
    await client.create(pod)


async def client_pod(client: Any, node: DockerNode, name: str = "caller") -> None:
    await client.create(pod_manifest(name, node=node.config.node.node_name, containers=[
        {"name": "c", "image": BUSYBOX, "command": ["sh", "-c", "sleep 3600"]}]))


async def wait_ready(client: Any, *names: str) -> None:
    async def ready() -> bool:
        for name in names:
            pod = await client.get("pods", name, "default")
            conditions = pod.get("status", {}).get("conditions", [])
            if not any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
                return False
        return True

    await eventually(ready, timeout=60, interval=0.3)


async def wget(kubeconfig: Path, pod: str, url: str) -> str | None:
    # busybox 1.35's wget crashes (SIGSEGV) with -T here: bound it with timeout(1) instead
    done = await asyncio.to_thread(kubectl, kubeconfig, "exec", pod, "-c", "c", "--", "timeout", "5", "wget", "-qO-",
                                   url)
    return done.stdout.strip() if done.returncode == 0 else None


def http_get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.read().decode().strip()
    except OSError:
        return None


def saved_rules() -> str:
    return subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout


async def hostnames_behind(kubeconfig: Path, url: str, count: int) -> list[str]:
    """Ask ``count`` times from the caller pod; the hostnames that answered."""
    await eventually(lambda: wget(kubeconfig, "caller", url), timeout=20, interval=0.3)
    answers = [await wget(kubeconfig, "caller", url) for _ in range(count)]
    return [a.rsplit(" ", 1)[-1] for a in answers if a]


async def test_cluster_ip_spreads_over_ready_replicas_only(client, docker_node: DockerNode, proxy: RunningProxy,
                                                           kubeconfig: Path):
    svc = await client.create(service("web"))
    for name in ("web-a", "web-b"):
        await hello_pod(client, docker_node, name, "web")
    await hello_pod(client, docker_node, "web-unready", "web", ready=False)
    await client_pod(client, docker_node)
    await wait_ready(client, "web-a", "web-b", "caller")
    url = f"http://{svc['spec']['clusterIP']}:80/"
    assert "[v1] Hello from" in (await eventually(lambda: wget(kubeconfig, "caller", url), timeout=20) or "")
    hostnames = await hostnames_behind(kubeconfig, url, 16)
    assert len(hostnames) == 16
    assert set(hostnames) == {"web-a", "web-b"}


async def test_client_ip_affinity_pins_the_caller(client, docker_node: DockerNode, proxy: RunningProxy,
                                                  kubeconfig: Path):
    svc = await client.create(service("sticky", sessionAffinity="ClientIP"))
    for name in ("sticky-a", "sticky-b"):
        await hello_pod(client, docker_node, name, "sticky")
    await client_pod(client, docker_node)
    await wait_ready(client, "sticky-a", "sticky-b", "caller")
    await eventually(lambda: all_endpoints_published(client, "sticky", 2), timeout=20)
    hostnames = await hostnames_behind(kubeconfig, f"http://{svc['spec']['clusterIP']}:80/", 8)
    assert len(hostnames) == 8 and len(set(hostnames)) == 1


async def all_endpoints_published(client: Any, name: str, count: int) -> bool:
    slices = await client.list("endpointslices.discovery.k8s.io", "default",
                               label_selector=f"kubernetes.io/service-name={name}")
    ready = [e for s in slices["items"] for e in s.get("endpoints") or [] if e["conditions"].get("ready")]
    return len(ready) == count


async def test_node_port_answers_on_loopback_from_the_host(client, docker_node: DockerNode, proxy: RunningProxy,
                                                           e2e_network: tuple[str, str]):
    node_port = random.randint(30000, 32767)
    await client.create(service("np", node_port=node_port))
    await hello_pod(client, docker_node, "np-a", "np")
    await wait_ready(client, "np-a")
    for host in ("127.0.0.1", gateway(e2e_network[1])):
        url = f"http://{host}:{node_port}/"

        async def get(url: str = url) -> str | None:
            return await asyncio.to_thread(http_get, url)

        assert await eventually(get, timeout=20, interval=0.3) == "[v1] Hello from np-a"


class UdpEcho(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(b"echo:" + data, addr)


async def udp_ask(ip: str, port: int, message: bytes) -> bytes | None:
    loop = asyncio.get_running_loop()
    answers: asyncio.Queue[bytes] = asyncio.Queue()

    class Receiver(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            answers.put_nowait(data)

    transport, _ = await loop.create_datagram_endpoint(Receiver, remote_addr=(ip, port))
    try:
        transport.sendto(message)
        return await asyncio.wait_for(answers.get(), 1.0)
    except (TimeoutError, OSError):
        return None
    finally:
        transport.close()


async def test_a_udp_service_answers(client, proxy: RunningProxy, e2e_network: tuple[str, str]):
    host_ip = gateway(e2e_network[1])
    loop = asyncio.get_running_loop()
    server, _ = await loop.create_datagram_endpoint(UdpEcho, local_addr=(host_ip, 0))
    try:
        port = server.get_extra_info("sockname")[1]
        svc = await client.create(service("udp", port=53, target=port, protocol="UDP", selector=False))
        await client.create(host_slice("udp", host_ip, port, "UDP"))
        answer = await eventually(lambda: udp_ask(svc["spec"]["clusterIP"], 53, b"ping"), timeout=15, interval=0.2)
        assert answer == b"echo:ping"
    finally:
        server.close()


@contextlib.asynccontextmanager
async def host_http_server(ip: str) -> AsyncIterator[int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\nhost")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, ip, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def test_deleting_the_service_removes_its_rules(client, proxy: RunningProxy, e2e_network: tuple[str, str]):
    host_ip = gateway(e2e_network[1])
    async with host_http_server(host_ip) as port:
        svc = await client.create(service("gone", target=port, selector=False))
        await client.create(host_slice("gone", host_ip, port))
        url = f"http://{svc['spec']['clusterIP']}/"
        assert await eventually(lambda: asyncio.to_thread(http_get, url), timeout=15, interval=0.2) == "host"
        assert "default/gone" in saved_rules()
        await client.delete("services", "gone", "default")
        await eventually(lambda: asyncio.to_thread(lambda: "default/gone" not in saved_rules()), timeout=5)
        assert await asyncio.to_thread(http_get, url) is None


async def test_a_restarted_proxy_restores_rules_without_duplicates(client, proxy: RunningProxy,
                                                                   e2e_network: tuple[str, str]):
    host_ip = gateway(e2e_network[1])
    async with host_http_server(host_ip) as port:
        svc = await client.create(service("again", target=port, selector=False))
        await client.create(host_slice("again", host_ip, port))
        url = f"http://{svc['spec']['clusterIP']}/"
        assert await eventually(lambda: asyncio.to_thread(http_get, url), timeout=15, interval=0.2) == "host"
        await proxy.kill()  # no cleanup: the rules stay
        if proxy.proxier is not None:
            await proxy.proxier.mode.stop(clean=False)
        assert "default/again" in saved_rules()
        await proxy.start()
        assert await eventually(lambda: asyncio.to_thread(http_get, url), timeout=15, interval=0.2) == "host"
        rules = saved_rules().splitlines()
        for jump in JUMPS:
            assert rules.count(f"-A {jump.chain} {jump.spec}") == 1, jump
        assert sum(1 for line in rules if line.startswith("-A KUBELING-SERVICES") and "default/again" in line) == 1


class TaggedUdp(asyncio.DatagramProtocol):
    def __init__(self, tag: bytes) -> None:
        self.tag = tag

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(self.tag, addr)


async def test_udp_flows_to_a_removed_endpoint_are_cleared(client, proxy: RunningProxy,
                                                           e2e_network: tuple[str, str]):
    """One client socket keeps sending; once its endpoint leaves the slice, conntrack must forget the old NAT."""
    if proxy.proxier is None or (proxy.proxier.mode.mode == "iptables" and shutil.which("conntrack") is None):
        pytest.skip("the iptables mode clears stale UDP flows with the conntrack tool (package conntrack)")
    ips = [gateway(e2e_network[1]), gateway("10.244.0.0/16")]  # two addresses of this host
    loop = asyncio.get_running_loop()
    servers = []
    for ip, tag in zip(ips, (b"first", b"second"), strict=True):
        server, _ = await loop.create_datagram_endpoint(partial(TaggedUdp, tag), local_addr=(ip, 0))
        servers.append(server)
    try:
        ports = [s.get_extra_info("sockname")[1] for s in servers]
        svc = await client.create(service("flows", port=53, target=ports[0], protocol="UDP", selector=False))
        slice_ = await client.create(host_slice("flows", ips[0], ports[0], "UDP"))
        answers: asyncio.Queue[bytes] = asyncio.Queue()

        class Receiver(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                answers.put_nowait(data)

        sender, _ = await loop.create_datagram_endpoint(Receiver, remote_addr=(svc["spec"]["clusterIP"], 53))

        async def ask() -> bytes | None:
            sender.sendto(b"?")
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(answers.get(), 0.5)
            return None

        assert await eventually(ask, timeout=15, interval=0.1) == b"first"
        slice_["ports"][0]["port"] = ports[1]
        slice_["endpoints"][0]["addresses"] = [ips[1]]
        await client.update(slice_)
        assert await eventually(lambda: _is(ask, b"second"), timeout=10, interval=0.2)
        sender.close()
    finally:
        for server in servers:
            server.close()


async def _is(ask: Callable[[], Any], want: bytes) -> bool:
    return await ask() == want
