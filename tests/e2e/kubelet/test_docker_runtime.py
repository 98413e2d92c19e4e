"""The Docker runtime against a real dockerd: pods (sandbox + app containers), listing, OOM, stop grace, exec,
logs, images and stats. Each test uses its own node name, so it only sees its own containers."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from kubelet.runtime.docker import DockerRuntime
from kubelet.runtime.interface import (
    STATE_CREATED,
    STATE_EXITED,
    STATE_RUNNING,
    ContainerConfig,
    ContainerCreateError,
    ImagePullError,
    InvalidImageNameError,
    NotFoundError,
    RuntimeContainer,
    RuntimePod,
    SandboxConfig,
)

pytestmark = pytest.mark.e2e

BUSYBOX = "kubeling/busybox:1.35"


def sandbox_config(node: str, name: str = "web", **kw: Any) -> SandboxConfig:
    uid = kw.pop("uid", str(uuid.uuid4()))
    return SandboxConfig(pod_uid=uid, namespace="default", name=name, node_name=node, hostname=kw.pop("hostname", name),
                         **kw)


def container_config(sandbox: SandboxConfig, name: str, command: tuple[str, ...] | None = None, **kw: Any
                     ) -> ContainerConfig:
    return ContainerConfig(pod_uid=sandbox.pod_uid, namespace=sandbox.namespace, pod_name=sandbox.name,
                           node_name=sandbox.node_name, name=name, container_type=kw.pop("container_type", "app"),
                           restart_count=kw.pop("restart_count", 0), spec_hash=kw.pop("spec_hash", "h1"),
                           image=kw.pop("image", BUSYBOX), command=command, **kw)


async def run(runtime: DockerRuntime, sandbox_id: str, config: ContainerConfig) -> str:
    cid = await runtime.create_container(sandbox_id, config)
    await runtime.start_container(cid)
    return cid


async def wait_for(check: Callable[[], Awaitable[Any]], timeout: float = 15.0, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)


async def pod_of(runtime: DockerRuntime, node: str, uid: str) -> RuntimePod | None:
    return next((p for p in await runtime.list_pods(node) if p.uid == uid), None)


async def container_in_state(runtime: DockerRuntime, node: str, uid: str, name: str, state: str
                             ) -> RuntimeContainer | None:
    pod = await pod_of(runtime, node, uid)
    attempts = pod.attempts(name) if pod else ()
    return attempts[0] if attempts and attempts[0].state == state else None


async def test_sandbox_and_app_containers_share_localhost(docker_runtime: DockerRuntime, node_name: str) -> None:
    sb = sandbox_config(node_name)
    sandbox = await docker_runtime.run_sandbox(sb)
    assert sandbox.ready and sandbox.ip
    await run(docker_runtime, sandbox.id, container_config(
        sb, "server", ("sh", "-c", "mkdir /srv; echo hello-over-localhost > /srv/index.html; "
                                   "exec httpd -f -p 8081 -h /srv")))
    await run(docker_runtime, sandbox.id, container_config(
        sb, "client", ("sh", "-c", "for i in $(seq 50); do wget -qO- http://127.0.0.1:8081/ && exit 0; "
                                   "sleep 0.1; done; exit 1")))
    client = await wait_for(lambda: container_in_state(docker_runtime, node_name, sb.pod_uid, "client", STATE_EXITED))
    assert client.exit_code == 0
    output = b"".join([chunk async for chunk in docker_runtime.logs(client.id)])
    assert b"hello-over-localhost" in output


async def test_two_sandboxes_reach_each_other_and_hello_answers(
    docker_runtime: DockerRuntime, node_name: str, e2e_network: tuple[str, str]
) -> None:
    subnet = ipaddress.ip_network(e2e_network[1])
    fixed_ip = str(subnet.network_address + 200)
    server_sb = sandbox_config(node_name, "hello", hostname="hello-pod", ip=fixed_ip)
    server = await docker_runtime.run_sandbox(server_sb)
    assert server.ip == fixed_ip
    await run(docker_runtime, server.id, container_config(server_sb, "hello", image="kubeling/hello:v1"))
    client_sb = sandbox_config(node_name, "client")
    client = await docker_runtime.run_sandbox(client_sb)
    assert client.ip and client.ip != server.ip
    cid = await run(docker_runtime, client.id, container_config(client_sb, "shell", ("sleep", "300")))

    async def fetch() -> bytes:
        result = await docker_runtime.exec_sync(cid, ["wget", "-qO-", f"http://{server.ip}:8080/"], timeout=5)
        return result.output if result.exit_code == 0 else b""

    assert (await wait_for(fetch)).strip() == b"[v1] Hello from hello-pod"
    # the fixed IP is taken: a clear error, and no half-made sandbox left behind
    with pytest.raises(ContainerCreateError, match="failed to start pod sandbox"):
        await docker_runtime.run_sandbox(sandbox_config(node_name, "dup", ip=fixed_ip))
    assert all(p.name != "dup" for p in await docker_runtime.list_pods(node_name))
    # and from this host, over the bridge
    body = await asyncio.to_thread(lambda: urllib.request.urlopen(f"http://{fixed_ip}:8080/", timeout=5).read())
    assert body.strip() == b"[v1] Hello from hello-pod"
    # hello and pause exit on SIGTERM: stopping the pod does not wait for the grace period
    pod = await pod_of(docker_runtime, node_name, server_sb.pod_uid)
    assert pod is not None
    start = time.monotonic()
    await docker_runtime.stop_container(pod.attempts("hello")[0].id, 20)
    await docker_runtime.stop_sandbox(server.id)
    assert time.monotonic() - start < 3


async def test_sandbox_dns_options_and_host_ports(docker_runtime: DockerRuntime, node_name: str) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        host_port = s.getsockname()[1]
    sb = sandbox_config(node_name, "dns", dns_servers=("10.96.0.10",), dns_searches=("default.svc.cluster.local",
                        "svc.cluster.local"), dns_options=("ndots:5",), port_mappings=((host_port, 8080, "TCP"),))
    sandbox = await docker_runtime.run_sandbox(sb)
    cid = await run(docker_runtime, sandbox.id, container_config(sb, "hello", image="kubeling/hello:v2"))
    resolv = (await docker_runtime.exec_sync(cid, ["cat", "/etc/resolv.conf"], timeout=5)).output.decode()
    assert "nameserver 10.96.0.10" in resolv
    assert "search default.svc.cluster.local svc.cluster.local" in resolv
    assert "options ndots:5" in resolv

    async def fetch() -> bytes:
        try:
            return await asyncio.to_thread(
                lambda: urllib.request.urlopen(f"http://127.0.0.1:{host_port}/", timeout=2).read())
        except OSError:
            return b""

    assert (await wait_for(fetch)).strip() == b"[v2] Hello from dns"


async def test_failed_start_reports_the_error(docker_runtime: DockerRuntime, node_name: str) -> None:
    sb = sandbox_config(node_name)
    sandbox = await docker_runtime.run_sandbox(sb)
    cid = await docker_runtime.create_container(sandbox.id, container_config(sb, "broken", ("/no/such/binary",)))
    with pytest.raises(ContainerCreateError, match="no such file or directory"):
        await docker_runtime.start_container(cid)
    pod = await pod_of(docker_runtime, node_name, sb.pod_uid)
    assert pod is not None
    (broken,) = pod.attempts("broken")
    assert "no such file or directory" in broken.error
    with pytest.raises(ContainerCreateError, match="No such image"):
        await docker_runtime.create_container(sandbox.id, container_config(sb, "x", image="kubeling/nope:1"))


async def test_list_pods_reports_states_attempts_and_times(docker_runtime: DockerRuntime, node_name: str) -> None:
    sb = sandbox_config(node_name)
    before = time.time()
    sandbox = await docker_runtime.run_sandbox(sb)
    first = await run(docker_runtime, sandbox.id, container_config(sb, "app", ("sh", "-c", "exit 3")))
    await wait_for(lambda: container_in_state(docker_runtime, node_name, sb.pod_uid, "app", STATE_EXITED))
    second = await run(docker_runtime, sandbox.id, container_config(sb, "app", ("sleep", "300"), restart_count=1,
                                                                    spec_hash="h2"))
    created = await docker_runtime.create_container(sandbox.id, container_config(sb, "later", ("true",)))
    pod = await pod_of(docker_runtime, node_name, sb.pod_uid)
    assert pod is not None and pod.name == "web" and pod.namespace == "default"
    assert pod.sandbox is not None and pod.sandbox.id == sandbox.id and pod.sandbox.ready
    assert pod.sandbox.ip == sandbox.ip
    attempts = pod.attempts("app")
    assert [a.id for a in attempts] == [second, first]
    running, exited = attempts
    assert running.state == STATE_RUNNING and running.restart_count == 1 and running.spec_hash == "h2"
    assert running.started_at is not None and running.finished_at is None and running.exit_code is None
    assert exited.state == STATE_EXITED and exited.exit_code == 3 and exited.restart_count == 0
    assert exited.started_at is not None and exited.finished_at is not None
    assert before - 1 <= exited.started_at <= exited.finished_at <= time.time() + 1
    assert exited.sandbox_id == sandbox.id and exited.image == BUSYBOX and exited.image_id.startswith("sha256:")
    assert not exited.oom_killed and exited.container_type == "app"
    (later,) = pod.attempts("later")
    assert later.id == created and later.state == STATE_CREATED and later.started_at is None
    # another node's listing does not see this pod; a stopped sandbox is not ready and has no IP
    assert await docker_runtime.list_pods(node_name + "-other") == []
    await docker_runtime.stop_sandbox(sandbox.id)
    pod = await pod_of(docker_runtime, node_name, sb.pod_uid)
    assert pod is not None and pod.sandbox is not None and not pod.sandbox.ready and pod.sandbox.ip is None
    for cid in (first, second, created, sandbox.id):
        await docker_runtime.remove_container(cid)
    assert await pod_of(docker_runtime, node_name, sb.pod_uid) is None
    await docker_runtime.remove_container(first)  # already gone: not an error


async def test_memory_limit_oom_kills(docker_runtime: DockerRuntime, node_name: str) -> None:
    sb = sandbox_config(node_name)
    sandbox = await docker_runtime.run_sandbox(sb)
    await run(docker_runtime, sandbox.id, container_config(
        sb, "hog", ("sh", "-c", "x=0123456789abcdef; while :; do x=$x$x; done"), memory_limit_bytes=20 * 2**20))
    hog = await wait_for(lambda: container_in_state(docker_runtime, node_name, sb.pod_uid, "hog", STATE_EXITED), 30)
    assert hog.oom_killed and hog.exit_code == 137


async def test_stop_honours_the_grace_period(docker_runtime: DockerRuntime, node_name: str) -> None:
    sb = sandbox_config(node_name)
    sandbox = await docker_runtime.run_sandbox(sb)
    polite = await run(docker_runtime, sandbox.id, container_config(
        sb, "polite", ("sh", "-c", "trap 'exit 0' TERM; echo ready; while :; do sleep 0.1; done")))
    stubborn = await run(docker_runtime, sandbox.id, container_config(sb, "stubborn", ("sleep", "300")))
    await wait_for(lambda: _logs_contain(docker_runtime, polite, b"ready"))
    start = time.monotonic()
    await docker_runtime.stop_container(polite, 20)
    assert time.monotonic() - start < 5
    start = time.monotonic()
    await docker_runtime.stop_container(stubborn, 2)  # PID 1 without a handler ignores SIGTERM: killed at 2 s
    elapsed = time.monotonic() - start
    assert 1.8 <= elapsed < 8
    pod = await pod_of(docker_runtime, node_name, sb.pod_uid)
    assert pod is not None
    assert pod.attempts("polite")[0].exit_code == 0
    assert pod.attempts("stubborn")[0].exit_code == 137
    await docker_runtime.stop_container(stubborn, 2)  # stopping a stopped container is fine
    await docker_runtime.stop_container("0" * 64, 2)  # and a missing one


async def _logs_contain(runtime: DockerRuntime, cid: str, needle: bytes) -> bool:
    return needle in b"".join([chunk async for chunk in runtime.logs(cid)])


async def test_exec_sync_output_exit_code_and_timeout(docker_runtime: DockerRuntime, node_name: str) -> None:
    sb = sandbox_config(node_name)
    sandbox = await docker_runtime.run_sandbox(sb)
    cid = await run(docker_runtime, sandbox.id, container_config(sb, "app", ("sleep", "300")))
    result = await docker_runtime.exec_sync(cid, ["sh", "-c", "echo out; echo err >&2; exit 7"], timeout=10)
    assert result.exit_code == 7
    assert b"out\n" in result.output and b"err\n" in result.output
    ok = await docker_runtime.exec_sync(cid, ["cat", "/etc/hostname"], timeout=10)
    assert (ok.exit_code, ok.output) == (0, b"web\n")
    start = time.monotonic()
    slow = await docker_runtime.exec_sync(cid, ["sleep", "10"], timeout=0.5)
    assert slow.exit_code == 124 and b"timed out" in slow.output
    assert time.monotonic() - start < 3
    big = await docker_runtime.exec_sync(cid, ["sh", "-c", "head -c 3000000 /dev/zero"], timeout=10)
    assert (big.exit_code, len(big.output)) == (0, 3_000_000)
    with pytest.raises(NotFoundError):
        await docker_runtime.exec_sync("0" * 64, ["true"], timeout=5)


async def test_exec_session_with_stdin(docker_runtime: DockerRuntime, node_name: str) -> None:
    sb = sandbox_config(node_name)
    sandbox = await docker_runtime.run_sandbox(sb)
    cid = await run(docker_runtime, sandbox.id, container_config(sb, "app", ("sleep", "300")))
    session = await docker_runtime.exec_session(cid, ["sh", "-c", "tr a-z A-Z; echo oops >&2; exit 5"],
                                                stdin=True, tty=False)
    await session.write(b"hello ")
    await session.write(b"stdin\n")
    await session.close_stdin()
    chunks = [chunk async for chunk in session.output()]
    stdout = b"".join(data for stream, data in chunks if stream == 1)
    stderr = b"".join(data for stream, data in chunks if stream == 2)
    assert stdout == b"HELLO STDIN\n" and stderr == b"oops\n"
    assert await asyncio.wait_for(session.wait(), 10) == 5
    # nobody reads the output: wait() drains it
    quiet = await docker_runtime.exec_session(cid, ["sh", "-c", "seq 100000; exit 3"], stdin=False, tty=False)
    assert await asyncio.wait_for(quiet.wait(), 10) == 3
    # with a tty: one stream, resizable
    tty = await docker_runtime.exec_session(cid, ["sh", "-c", "sleep 0.3; stty size"], stdin=True, tty=True)
    await tty.resize(100, 40)
    out = b"".join([data async for _, data in tty.output()])
    assert b"40 100" in out
    assert await tty.wait() == 0


async def test_logs_tail_timestamps_follow(docker_runtime: DockerRuntime, node_name: str) -> None:
    sb = sandbox_config(node_name)
    sandbox = await docker_runtime.run_sandbox(sb)
    cid = await run(docker_runtime, sandbox.id, container_config(
        sb, "app", ("sh", "-c", "echo err >&2; sleep 0.2; for i in 1 2 3 4 5; do echo line$i; done; "
                                "i=0; while :; do i=$((i+1)); echo tick$i; sleep 0.2; done")))
    await wait_for(lambda: _logs_contain(docker_runtime, cid, b"tick3"))
    everything = b"".join([c async for c in docker_runtime.logs(cid)])
    assert everything.startswith(b"err\nline1\nline2\nline3\nline4\nline5\ntick1\n")
    tail = b"".join([c async for c in docker_runtime.logs(cid, tail_lines=2)])
    assert tail.count(b"\n") == 2 and tail.startswith(b"tick")
    stamped = b"".join([c async for c in docker_runtime.logs(cid, tail_lines=1, timestamps=True)])
    assert re.match(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z tick\d+\n$", stamped)
    # follow: new lines keep coming; stopping the consumer ends the stream promptly
    seen = b""
    start = time.monotonic()
    stream = docker_runtime.logs(cid, follow=True, tail_lines=0)
    async for chunk in stream:
        seen += chunk
        if seen.count(b"\n") >= 3:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    assert seen.count(b"tick") >= 3 and time.monotonic() - start < 5


async def test_images_pull_and_reference_errors(docker_runtime: DockerRuntime, kubeling_images: list[str]) -> None:
    assert await docker_runtime.image_present(BUSYBOX)
    assert not await docker_runtime.image_present("kubeling/does-not-exist:1")
    start = time.monotonic()
    with pytest.raises(ImagePullError) as err:
        await docker_runtime.pull_image("kubeling/does-not-exist:1")
    assert str(err.value)
    assert time.monotonic() - start < 60
    for bad in ("UPPER/case", "bad image", "a:b:c", ""):
        with pytest.raises(InvalidImageNameError, match="couldn't parse image reference"):
            await docker_runtime.pull_image(bad)
        with pytest.raises(InvalidImageNameError):
            await docker_runtime.image_present(bad)


async def test_stats_and_version(docker_runtime: DockerRuntime, node_name: str) -> None:
    assert (await docker_runtime.version()).startswith("docker://")
    assert await docker_runtime.ping()
    sb = sandbox_config(node_name)
    sandbox = await docker_runtime.run_sandbox(sb)
    cid = await run(docker_runtime, sandbox.id, container_config(
        sb, "busy", ("sh", "-c", "x=0123456789; x=$x$x$x$x$x$x$x$x; while :; do :; done")))
    stats = await docker_runtime.container_stats(cid)
    assert stats.container_id == cid
    assert stats.memory_usage_bytes > 0 and stats.memory_working_set_bytes > 0
    assert stats.cpu_usage_core_nanoseconds > 0 and stats.cpu_usage_nanocores > 0


async def test_ensure_network_is_idempotent_and_race_safe(docker_client: Any) -> None:
    name = f"kubeling-test-race-{uuid.uuid4().hex[:8]}"
    runtimes = [DockerRuntime(network=name, subnet=None) for _ in range(3)]
    try:
        ids = await asyncio.gather(*(r.ensure_network() for r in runtimes))
        ids.append(await runtimes[0].ensure_network())
        assert len(set(ids)) == 1
        networks = docker_client.networks.list(names=[name])
        assert [n.id for n in networks if n.name == name] == [ids[0]]
        assert networks[0].attrs["Labels"]["io.kubeling.managed"] == "true"
    finally:
        await runtimes[0].remove_network()
        for r in runtimes:
            await r.close()


async def test_image_builds_are_cached_by_content_hash(docker_client: Any, tmp_path: Any) -> None:
    from kubeling.images import LABEL_HASH, build_images

    ref = f"kubeling-test/img-{uuid.uuid4().hex[:8]}:1"
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "image.toml").write_text(
        f'[[image]]\nref = "{ref}"\ncmd = ["/greet"]\nfiles = {{ "/greet" = "greet.sh" }}\n')
    (tmp_path / "x" / "greet.sh").write_text("#!/bin/sh\necho one; id -un; ls /bin | wc -l\n")
    try:
        assert build_images(docker_client, images_dir=tmp_path) == [ref]
        assert build_images(docker_client, images_dir=tmp_path) == []
        assert build_images(docker_client, images_dir=tmp_path, force=True) == [ref]
        first_hash = docker_client.images.get(ref).labels[LABEL_HASH]
        out = docker_client.containers.run(ref, remove=True).decode().split()
        assert out[:2] == ["one", "root"] and int(out[2]) > 200  # every applet has its symlink
        (tmp_path / "x" / "greet.sh").write_text("#!/bin/sh\necho two\n")
        assert build_images(docker_client, images_dir=tmp_path) == [ref]
        assert docker_client.images.get(ref).labels[LABEL_HASH] != first_hash
        assert docker_client.containers.run(ref, remove=True) == b"two\n"
    finally:
        docker_client.images.remove(ref, force=True)
