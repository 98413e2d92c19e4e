"""scheduler benchmark: pods bound per second, scheduler_perf style.

For each scenario a fresh etcd + apiserver process is started, N Node objects are registered (as
Kubernetes' scheduler_perf does: Node objects without kubelets, so the apiserver's only other load is the
scheduler's own), P pending pods are created, then the scheduler process is started. Throughput is the
number of pods bound between the first and the last Binding divided by that time (the steady state); the
wall time from scheduler start to the last binding (which includes listing everything) is shown too.
"Constraints" pods carry a hostname topology-spread constraint (maxSkew 1, ScheduleAnyway) and a preferred
pod anti-affinity term, so InterPodAffinity and PodTopologySpread do real work.

Goal (the issue): >= 300 pods/s on 1,000 nodes (the Go kube-scheduler's CI floor is 680 pods/s on 5,000).

Run with `python -m bench.scheduler`; writes docs/benchmarks.md (the scheduler section).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.apiserver import run_concurrently
from bench.report import write_section
from client.client import Client
from tests.fixtures import ApiserverProcess, EtcdServer, spawn, terminate

Object = dict[str, Any]


def node(name: str) -> Object:
    capacity = {"cpu": "32", "memory": "128Gi", "pods": "110"}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {
        "kubernetes.io/hostname": name, "topology.kubernetes.io/zone": f"zone-{int(name.rsplit('-', 1)[1]) % 3}"}},
        "status": {"capacity": capacity, "allocatable": capacity,
                   "conditions": [{"type": "Ready", "status": "True"}]}}


def pod(name: str, constraints: bool) -> Object:
    spec: Object = {"containers": [{"name": "c", "image": "kubeling/hello:v1",
                                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}
    if constraints:
        selector = {"matchLabels": {"app": "bench"}}
        spec["topologySpreadConstraints"] = [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                              "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": selector}]
        spec["affinity"] = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 10, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                               "labelSelector": selector}}]}}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "bench"}}, "spec": spec}


async def register_nodes(client: Client, count: int) -> None:
    async def create(i: int) -> None:
        created = await client.create(node(f"node-{i}"))
        await client.update_status({**created, "status": node(f"node-{i}")["status"]})

    await run_concurrently(count, 32, create)


async def bind_times(client: Client, count: int, resource_version: str, timeout: float) -> list[float]:
    """Wall-clock times at which pods were seen bound (spec.nodeName set), until ``count`` are."""
    seen: set[str] = set()
    times: list[float] = []
    async with asyncio.timeout(timeout):
        async for event in client.watch("pods", "default", resource_version=resource_version):
            obj = event.object
            name = obj["metadata"]["name"]
            if obj.get("spec", {}).get("nodeName") and name not in seen:
                seen.add(name)
                times.append(time.perf_counter())
                if len(seen) >= count:
                    return times
    return times


async def scenario(tmp: Path, nodes: int, pods: int, constraints: bool) -> list[str]:
    etcd = EtcdServer(tmp / f"etcd-{nodes}-{constraints}")
    etcd.start()
    server = ApiserverProcess(etcd.endpoint, tmp / "apiserver.log", extra_args=("--log-level", "WARNING"))
    server.start()
    scheduler: subprocess.Popen | None = None
    try:
        async with Client(server.target) as client:
            await register_nodes(client, nodes)
            await run_concurrently(pods, 64, lambda i: client.create(pod(f"p-{i}", constraints)))
            listed = await client.list("pods", "default", limit=1)
            watcher = asyncio.create_task(bind_times(client, pods, listed["metadata"]["resourceVersion"], 600))
            started = time.perf_counter()
            scheduler = spawn([sys.executable, "-m", "scheduler", "--apiserver", server.target,
                               "--leader-elect=false"], tmp / "scheduler.log")
            times = await watcher
    finally:
        terminate(scheduler)
        server.stop()
        etcd.stop()
    steady = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    label = f"{pods:,} pods on {nodes:,} nodes" + (", spread + anti-affinity" if constraints else "")
    goal = " (goal >= 300 on 1,000 nodes)" if nodes >= 1000 and not constraints else ""
    return [label, f"{steady:,.0f} pods/s bound", f"last bound {times[-1] - started:.1f} s after scheduler start",
            f"{'met' if steady >= 300 else 'below 300'}{goal}" if nodes >= 1000 else "-"]


async def main(args: argparse.Namespace) -> None:
    rows = [["scenario", "throughput (first → last binding)", "wall time", "goal"]]
    with tempfile.TemporaryDirectory() as name:
        for nodes in args.nodes:
            for constraints in (False, True):
                rows.append(await scenario(Path(name), nodes, args.pods, constraints))
                print(" | ".join(rows[-1]), flush=True)
    write_section("scheduler", rows, __doc__ or "")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--nodes", type=int, nargs="+", default=[1000, 100])
    asyncio.run(main(parser.parse_args()))
