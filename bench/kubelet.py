"""kubelet benchmarks, each next to its physical limit measured in the same run.

1. Pod startup latency: pod created → ``Running`` observed through a watch, one pod at a time, p50/p99 over 50
   pods, against raw Docker: the same pause + app pair started through the Docker SDK (sandbox on the pod network,
   app joined to its network namespace). Goal: p50 <= raw + 0.3 s, p99 <= 2 s.
2. Hollow nodes: resident memory of one ``kubeling-kubelet --runtime fake --hollow-nodes N`` process for growing N
   at the default 10 s lease renewal, and whether every Lease stays fresh (renewed within 15 s).

Run with `make bench-kubelet` (or `python -m bench.kubelet`); it starts its own etcd, apiserver and kubelet
processes on free loopback ports (pods on the default `kubeling` network), and writes docs/benchmarks.md
(the kubelet section).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import docker

from bench.report import write_section
from client.client import Client
from kubelet.runtime.docker import API_VERSION, DockerRuntime
from tests.fixtures import ApiserverProcess, EtcdServer

NETWORK = "kubeling"  # the default pod network, as `kubeling-kubelet` uses it
APP_IMAGE = "kubeling/hello:v1"
PAUSE_IMAGE = "kubeling/pause:3"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def raw_docker_pairs(count: int) -> list[float]:
    """Seconds to start a pause container and an app container joined to it, as the kubelet does."""
    client = docker.DockerClient.from_env(version=API_VERSION)
    times = []
    for i in range(count):
        started = time.perf_counter()
        pause = client.containers.run(PAUSE_IMAGE, detach=True, network=NETWORK, name=f"bench-raw-pause-{i}",
                                      labels={"io.kubeling.bench": "raw"})
        app = client.containers.run(APP_IMAGE, detach=True, network_mode=f"container:{pause.id}",
                                    name=f"bench-raw-app-{i}", labels={"io.kubeling.bench": "raw"})
        times.append(time.perf_counter() - started)
        app.remove(force=True)
        pause.remove(force=True)
    client.close()
    return times


def start_kubelet(server: ApiserverProcess, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "kubelet", "--apiserver", server.target, *extra]
    return subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


async def wait_nodes_ready(client: Client, count: int, timeout: float, prefix: str = "") -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        nodes = [n for n in (await client.list("nodes"))["items"] if n["metadata"]["name"].startswith(prefix)]
        ready = sum(any(c["type"] == "Ready" and c["status"] == "True" for c in n.get("status", {}).get(
            "conditions", [])) for n in nodes)
        if ready >= count:
            return time.monotonic() - started
        await asyncio.sleep(0.5)
    raise TimeoutError(f"fewer than {count} nodes Ready after {timeout}s")


def pod(name: str, node: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "app", "image": APP_IMAGE}]}}


async def pod_startup_latencies(client: Client, node: str, count: int) -> list[float]:
    """Create pods one at a time; the latency is create sent → Running seen on a watch."""
    latencies = []
    listed = await client.list("pods", "default")
    rv = listed["metadata"]["resourceVersion"]
    events = client.watch("pods", "default", resource_version=rv)
    for i in range(count):
        name = f"startup-{i}"
        sent = time.perf_counter()
        await client.create(pod(name, node))
        async for event in events:
            obj = event.object
            if obj["metadata"]["name"] == name and obj.get("status", {}).get("phase") == "Running":
                latencies.append(time.perf_counter() - sent)
                break
    await events.aclose()  # type: ignore[attr-defined]
    for i in range(count):
        await client.delete("pods", f"startup-{i}", "default")
    return latencies


async def pods_gone(client: Client, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while (await client.list("pods", "default"))["items"] and time.monotonic() < deadline:
        await asyncio.sleep(0.5)


def remove_containers(node: str) -> None:
    """Whatever the bench node's kubelet left behind (it should be nothing)."""
    client = docker.DockerClient.from_env(version=API_VERSION)
    for container in client.containers.list(all=True, filters={"label": f"io.kubeling.node={node}"}):
        container.remove(force=True)
    client.close()


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def stale_leases(client: Client, max_age: float, prefix: str) -> int:
    now = datetime.now(UTC).timestamp()
    stale = 0
    for lease in (await client.list("leases", "kube-node-lease"))["items"]:
        if not lease["metadata"]["name"].startswith(prefix):
            continue
        renewed = datetime.strptime(lease["spec"]["renewTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        stale += now - renewed.timestamp() > max_age
    return stale


async def hollow_memory(client: Client, server: ApiserverProcess, tmp: Path, count: int,
                        settle: float) -> tuple[int, float, int]:
    """(RSS bytes, seconds until all Ready, stale leases after ``settle`` seconds) for one process of N nodes."""
    process = start_kubelet(server, tmp / f"hollow-{count}.log", "--runtime", "fake", "--hollow-nodes", str(count),
                            "--node-name-prefix", f"h{count}-", "--root-dir", str(tmp / "hollow"),
                            "--node-name", f"h{count}-1")  # the name when N is 1
    try:
        took = await wait_nodes_ready(client, count, timeout=120 + count, prefix=f"h{count}-")
        await asyncio.sleep(settle)
        stale = await stale_leases(client, 15.0, f"h{count}-")
        return rss_bytes(process.pid), took, stale
    finally:
        stop(process)
        for node in (await client.list("nodes"))["items"]:
            await client.delete("nodes", node["metadata"]["name"])


async def measure(server: ApiserverProcess, tmp: Path, args: argparse.Namespace) -> list[list[str]]:
    rows = [["measure", "kubeling", "physical limit (same run)", "ratio / goal"]]
    runtime = DockerRuntime(network=NETWORK)
    await runtime.ensure_network()
    raw = await asyncio.to_thread(raw_docker_pairs, args.pods)
    async with Client(server.target) as client:
        kubelet = start_kubelet(server, tmp / "kubelet.log", "--node-name", "bench-node", "--network", NETWORK,
                                "--root-dir", str(tmp / "kubelet"))
        try:
            await wait_nodes_ready(client, 1, timeout=60, prefix="bench-node")
            latencies = await pod_startup_latencies(client, "bench-node", args.pods)
        finally:
            await pods_gone(client)  # the kubelet removes the deleted pods' containers before it stops
            stop(kubelet)
            remove_containers("bench-node")
        await runtime.close()
        p50, p99, raw50 = percentile(latencies, 0.5), percentile(latencies, 0.99), percentile(raw, 0.5)
        rows.append([f"pod startup, create → Running on a watch ({args.pods} pods, one at a time)",
                     f"p50 {p50:.2f} s, p99 {p99:.2f} s", f"raw docker pause+app p50 {raw50:.2f} s, "
                     f"p99 {percentile(raw, 0.99):.2f} s",
                     f"p50 - raw = {p50 - raw50:+.2f} s (goal <= +0.3 s); p99 goal <= 2 s "
                     f"({'met' if p50 - raw50 <= 0.3 and p99 <= 2 else 'missed'})"])
        print(" | ".join(rows[-1]), flush=True)
        base = None
        for count in args.hollow:
            rss, took, stale = await hollow_memory(client, server, tmp, count, args.settle)
            base = base or (rss, count)
            growth = (f"{(rss - base[0]) / (count - base[1]) / 2**10:.0f} KiB per added node" if count > base[1]
                      else "the process and its first node")
            rows.append([f"{count} hollow nodes in one process, 10 s lease renewal",
                         f"RSS {rss / 2**20:.0f} MiB ({growth}); all Ready in {took:.1f} s",
                         f"{stale} of {count} leases older than 15 s",
                         "holds" if stale == 0 else "falls behind"])
            print(" | ".join(rows[-1]), flush=True)
    return rows


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        etcd = EtcdServer(tmp / "etcd")
        etcd.start()
        server = ApiserverProcess(etcd.endpoint, tmp / "apiserver.log", extra_args=("--log-level", "WARNING"))
        server.start()
        try:
            rows = await measure(server, tmp, args)
        finally:
            server.stop()
            etcd.stop()
    write_section("kubelet", rows, __doc__ or "")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, default=50)
    parser.add_argument("--hollow", type=int, nargs="+", default=[1, 50, 200, 500])
    parser.add_argument("--settle", type=float, default=25.0)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main(parser.parse_args()))
