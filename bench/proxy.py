"""Service proxy benchmarks, each next to its physical limit measured in the same run.

1. Requests/s through a cluster IP, per proxy mode, against the same requests sent straight to the pod IP. One
   ``kubeling/hello:v1`` container (busybox httpd) runs on the ``kubeling`` network; the proxy modes are driven
   directly with one synthetic service port (no apiserver: this measures the data path only). The load generator
   is an asyncio HTTP/1.0 client on the host (16 concurrent connections, a new connection per request, at most
   3,000 requests or 5 s per row); host → cluster IP goes through the nat OUTPUT chain.
2. Rule sync time after one endpoint change with 1,000 services of 2 endpoints each: the pure ruleset computation
   (:func:`proxy.iptables_rules.iptables_ruleset`) and a full ``iptables-save`` + ``iptables-restore --noflush``
   of the KUBELING- chains, as every sync does.

Run with `python -m bench.proxy` as root (iptables); it removes its rules and its container at the end, and writes
docs/benchmarks.md (the proxy section).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import docker

from bench.report import write_section
from kubelet.runtime.docker import API_VERSION
from proxy import iptables
from proxy.iptables_rules import ProxyConfig, iptables_ruleset
from proxy.model import Endpoint, ServicePort
from proxy.userspace import UserspaceProxier

NETWORK = "kubeling"
APP_IMAGE = "kubeling/hello:v1"
CLUSTER_IP = "10.96.250.250"
CONCURRENCY = 16
MAX_REQUESTS = 3000
MAX_SECONDS = 5.0


async def one_request(ip: str, port: int) -> bool:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), 5)
    try:
        writer.write(b"GET / HTTP/1.0\r\nHost: bench\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 5)
        return b" 200 " in answer.split(b"\r\n", 1)[0]
    finally:
        writer.close()


async def load(ip: str, port: int) -> tuple[float, int]:
    """Requests/s and error count for at most MAX_REQUESTS requests or MAX_SECONDS."""
    done, errors = 0, 0
    deadline = time.perf_counter() + MAX_SECONDS

    async def worker() -> None:
        nonlocal done, errors
        while done + errors < MAX_REQUESTS and time.perf_counter() < deadline:
            try:
                ok = await one_request(ip, port)
            except (OSError, TimeoutError):
                ok = False
            done, errors = (done + 1, errors) if ok else (done, errors + 1)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return done / (time.perf_counter() - started), errors


def start_pod() -> tuple[docker.models.containers.Container, str]:
    client = docker.DockerClient.from_env(version=API_VERSION)
    container = client.containers.run(APP_IMAGE, detach=True, network=NETWORK, name="bench-proxy-hello",
                                      labels={"io.kubeling.bench": "proxy"}, hostname="bench-proxy-hello")
    container.reload()
    ip = container.attrs["NetworkSettings"]["Networks"][NETWORK]["IPAddress"]
    return container, ip


async def wait_serving(ip: str, port: int) -> None:
    for _ in range(100):
        with contextlib.suppress(OSError, TimeoutError):
            if await one_request(ip, port):
                return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{ip}:{port} does not answer")


async def throughput_rows() -> list[list[str]]:
    container, pod_ip = start_pod()
    port = ServicePort("bench", "hello", "http", "TCP", CLUSTER_IP, 80, endpoints=[Endpoint(pod_ip, 8080)])
    rows = []
    try:
        await wait_serving(pod_ip, 8080)
        rate, errors = await load(pod_ip, 8080)
        rows.append(["HTTP req/s, host → pod IP (limit)", f"{rate:,.0f}", f"{errors} errors"])
        for mode in (iptables.IptablesProxier(ProxyConfig()), UserspaceProxier(ProxyConfig())):
            await mode.start()
            await mode.sync([port])
            try:
                await wait_serving(CLUSTER_IP, 80)
                rate, errors = await load(CLUSTER_IP, 80)
                rows.append([f"HTTP req/s, host → cluster IP ({mode.mode})", f"{rate:,.0f}", f"{errors} errors"])
            finally:
                await mode.stop(clean=True)
    finally:
        container.remove(force=True)
    return rows


def many_services(count: int, changed: bool = False) -> list[ServicePort]:
    ports = []
    for i in range(count):
        ips = [f"10.200.{i // 250}.{i % 250 + 1}", f"10.201.{i // 250}.{i % 250 + 1}"]
        if changed and i == count // 2:
            ips[1] = "10.202.0.1"
        ports.append(ServicePort("bench", f"svc-{i}", "http", "TCP", f"10.97.{i // 250}.{i % 250 + 1}", 80,
                                 endpoints=[Endpoint(ip, 8080) for ip in ips]))
    return ports


def sync_rows(count: int = 1000) -> list[list[str]]:
    config = ProxyConfig()
    iptables.apply(iptables_ruleset(many_services(count), config))
    try:
        started = time.perf_counter()
        rules = iptables_ruleset(many_services(count, changed=True), config)
        compute = time.perf_counter() - started
        lines = sum(len(r) for r in rules.rules.values())
        write = iptables.apply(rules)
    finally:
        iptables.cleanup()
    return [[f"ruleset computation, {count} services ({lines:,} rules)", f"{compute * 1000:.0f} ms", ""],
            [f"iptables-save + iptables-restore, {count} services", f"{write * 1000:.0f} ms",
             "the floor of a sync"],
            [f"sync after one endpoint change, {count} services", f"{(compute + write) * 1000:.0f} ms", ""]]


def main() -> None:
    rows = [["measurement", "value", "note"]]
    rows += asyncio.run(throughput_rows())
    rows += sync_rows()
    for row in rows:
        print(" | ".join(row))
    write_section("proxy", rows, __doc__ or "")


if __name__ == "__main__":
    main()
