"""apiserver benchmarks, each next to its physical limit measured in the same run.

1. Create throughput at 1 and 64 concurrent callers, against raw etcd create-transactions from the
   same etcd client library at the same concurrency (goal: ratio >= 0.5).
2. Watch delivery latency, from the write being issued to the event arriving at each of 100
   watchers, while writing 500 objects/s (goal: p99 <= 50 ms).
3. LIST of 10,000 pods from the watch cache (resourceVersion=0) vs from etcd.

Run with `make bench` (or `python -m bench.apiserver`); it starts its own etcd and apiserver on
free loopback ports, and writes docs/benchmarks.md (the apiserver section).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
from pathlib import Path

import orjson
from aetcd import Client as Etcd

from bench.grpc_echo import echo_ceiling
from bench.report import write_section
from client.client import Client
from tests.fixtures import ApiserverProcess, EtcdServer, free_port


def configmap(name: str, sent: float = 0.0) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"},
            "data": {"sent": repr(sent)}}


def pod(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default",
                                                             "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "c", "image": "kubeling/hello:v1",
                                     "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}


async def run_concurrently(count: int, concurrency: int, op) -> float:
    """Run op(i) for i in range(count) with `concurrency` workers; returns operations per second."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            await op(queue.get_nowait())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


async def raw_etcd_creates(endpoint: str, count: int, concurrency: int, tag: str) -> float:
    host, port = endpoint.split(":")
    async with Etcd(host=host, port=int(port)) as etcd:
        value = orjson.dumps(configmap("x"))

        async def create(i: int) -> None:
            key = f"/bench/raw/{tag}/{i}".encode()
            await etcd.transaction(compare=[etcd.transactions.mod(key) == 0],
                                   success=[etcd.transactions.put(key, value)], failure=[])
        return await run_concurrently(count, concurrency, create)


async def api_creates(clients: list[Client], count: int, concurrency: int, tag: str) -> float:
    """Creates/s through the apiserver, the callers spread over `clients` (one connection each)."""
    async def create(i: int) -> None:
        await clients[i % len(clients)].create(configmap(f"{tag}-{i}"))
    return await run_concurrently(count, concurrency, create)


def watcher_process(target: str, watchers: int, expected: int, out: multiprocessing.Queue) -> None:
    asyncio.run(_watchers(target, watchers, expected, out))


async def _watchers(target: str, watchers: int, expected: int, out: multiprocessing.Queue) -> None:
    async with Client(target) as client:
        start_rv = (await client.list("configmaps", "kube-system", limit=1))["metadata"]["resourceVersion"]
        latencies: list[float] = []

        async def watch() -> None:
            seen = 0
            async for event in client.watch("configmaps", "kube-system", resource_version=start_rv):
                latencies.append(time.time() - float(event.object["data"]["sent"]))
                seen += 1
                if seen == expected:
                    return
        await asyncio.wait_for(asyncio.gather(*(watch() for _ in range(watchers))), 120)
    out.put(latencies)


async def watch_latency(client: Client, target: str, watchers: int, rate: int, seconds: float,
                        processes: int = 1) -> list[float]:
    expected = int(rate * seconds)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=watcher_process, args=(target, watchers // processes, expected, out))
             for _ in range(processes)]
    for p in procs:
        p.start()
    await asyncio.sleep(3.0)  # let the watchers connect
    interval = 1.0 / rate
    pending: set[asyncio.Future] = set()
    started = time.perf_counter()
    for i in range(expected):
        delay = started + i * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        body = configmap(f"lat-{rate}-{watchers}-{i}", time.time())
        body["metadata"]["namespace"] = "kube-system"
        pending.add(asyncio.ensure_future(client.create(body)))
    await asyncio.gather(*pending)
    latencies: list[float] = []
    for _ in procs:
        latencies.extend(await asyncio.get_running_loop().run_in_executor(None, out.get))
    for p in procs:
        p.join()
    return latencies


async def list_times(client: Client, pods: int) -> tuple[float, float]:
    await run_concurrently(pods, 64, lambda i: client.create(pod(f"pod-{i:05d}")))
    rounds = 5
    started = time.perf_counter()
    for _ in range(rounds):
        cached = await client.list("pods", "default", resource_version="0")
    from_cache = (time.perf_counter() - started) / rounds
    started = time.perf_counter()
    for _ in range(rounds):
        fresh = await client.list("pods", "default")
    from_etcd = (time.perf_counter() - started) / rounds
    assert len(cached["items"]) == len(fresh["items"]) == pods
    return from_cache, from_etcd


async def creates_row(etcd: EtcdServer, clients: list[Client], count: int, concurrency: int, tag: str,
                      label: str = "") -> list[str]:
    raw = await raw_etcd_creates(etcd.endpoint, count, concurrency, tag)
    echo = await echo_ceiling(free_port(), count, concurrency)
    api = await api_creates(clients, count, concurrency, tag)
    return [f"creates/s, {concurrency} concurrent{label}", f"{api:,.0f}",
            f"{raw:,.0f} raw etcd txn/s; {echo:,.0f} calls/s of a no-op Python gRPC server",
            f"{api / raw:.2f} of etcd (goal >= 0.5); {api / echo:.2f} of the no-op server"]


async def two_apiservers(etcd: EtcdServer, first: ApiserverProcess, tmp: Path, args: argparse.Namespace) -> list[str]:
    """64 callers on 4 connections to two apiserver processes sharing one port (--reuse-port)."""
    second = ApiserverProcess(etcd.endpoint, tmp / "apiserver-2.log", grpc_port=first.grpc_port,
                              http_port=first.http_port, extra_args=("--log-level", "WARNING", "--reuse-port"))
    second.start()
    try:
        clients = [Client(first.target) for _ in range(4)]
        try:
            row = await creates_row(etcd, clients, args.creates, 64, "two", ", 2 apiservers on one port")
        finally:
            for client in clients:
                await client.close()
    finally:
        second.stop()
    print(" | ".join(row), flush=True)
    return row


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        etcd = EtcdServer(Path(tmp) / "etcd")
        etcd.start()
        server = ApiserverProcess(etcd.endpoint, Path(tmp) / "apiserver.log",
                                  extra_args=("--log-level", "WARNING", "--reuse-port"))
        server.start()
        try:
            rows = await measure(etcd, server, args)
            rows.insert(3, await two_apiservers(etcd, server, Path(tmp), args))
        finally:
            server.stop()
            etcd.stop()
    write_section("apiserver", rows, __doc__ or "")
    print(" | ".join(rows[-1]))


async def measure(etcd: EtcdServer, server: ApiserverProcess, args: argparse.Namespace) -> list[list[str]]:
    rows = [["measure", "kubeling", "physical limit (same run)", "ratio / goal"]]
    async with Client(server.target) as client:
        for concurrency in (1, 64):
            rows.append(await creates_row(etcd, [client], args.creates, concurrency, f"c{concurrency}"))
            print(" | ".join(rows[-1]), flush=True)
        # Lightest first: the overloaded case leaves a backlog that would skew whatever follows it.
        for watchers, rate in ((10, args.rate), (args.watchers, args.rate // 5), (args.watchers, args.rate)):
            latencies = await watch_latency(client, server.target, watchers, rate, args.seconds,
                                            args.watcher_processes)
            p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
            rows.append([f"watch delivery, write issued → event at {watchers} watchers, {rate} writes/s",
                         f"p50 {p50:.1f} ms, p99 {p99:.1f} ms", f"{len(latencies):,} deliveries",
                         f"p99 goal <= 50 ms ({'met' if p99 <= 50 else 'missed'})"])
            print(" | ".join(rows[-1]), flush=True)
        cache, fresh = await list_times(client, args.pods)
        rows.append([f"LIST {args.pods:,} pods", f"{cache * 1000:.0f} ms from watch cache",
                     f"{fresh * 1000:.0f} ms from etcd", f"{fresh / cache:.1f}x faster from cache"])
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creates", type=int, default=3000)
    parser.add_argument("--watchers", type=int, default=100)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--watcher-processes", type=int, default=1, help="processes the watchers are spread over")
    asyncio.run(main(parser.parse_args()))
