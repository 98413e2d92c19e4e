"""``python -m dns`` as its own process: flags, /readyz, UDP+TCP answers, SIGTERM."""

from __future__ import annotations

import asyncio
import sys
import urllib.request
from pathlib import Path

import pytest
from dnslib import RCODE

from tests.fixtures import free_port, spawn, terminate
from tests.integration.dns.conftest import addresses, query
from tests.integration.kubelet.conftest import eventually

pytestmark = pytest.mark.integration


async def test_kubeling_dns_process_serves_the_zone(client, apiserver, logs_dir: Path) -> None:
    port, healthz = free_port(), free_port()
    process = spawn([sys.executable, "-m", "dns", "--apiserver", f"127.0.0.1:{apiserver.grpc_port}",
                     "--listen", f"127.0.0.1:{port}", "--upstream", "none", "--healthz-port", str(healthz),
                     "--cluster-domain", "lab.local", "--reconcile-period", "1s"], logs_dir / "dns.log")
    try:
        async def answered() -> list[str]:
            if process.poll() is not None:
                raise AssertionError(f"kubeling-dns exited: {(logs_dir / 'dns.log').read_text()}")
            try:
                return addresses(await query(port, "kube-dns.kube-system.svc.lab.local"))
            except OSError:
                return []

        assert await eventually(answered, timeout=30) == ["10.96.0.10"]
        assert addresses(await query(port, "kube-dns.kube-system.svc.lab.local", tcp=True)) == ["10.96.0.10"]
        assert (await query(port, "example.com")).header.rcode == RCODE.REFUSED

        def readyz() -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{healthz}/readyz", timeout=3) as response:
                return response.read().decode()

        assert await asyncio.to_thread(readyz) == "ok"
        endpoints = await client.get("endpoints", "kube-dns", "kube-system")
        ports = {p["name"]: p["port"] for p in endpoints["subsets"][0]["ports"]}
        assert ports == {"dns": port, "dns-tcp": port, "metrics": healthz}

        # a second server on the same port says why it cannot run, and exits 1
        second = spawn([sys.executable, "-m", "dns", "--apiserver", f"127.0.0.1:{apiserver.grpc_port}",
                        "--listen", f"127.0.0.1:{port}", "--upstream", "none", "--manage-service", "false"],
                       logs_dir / "dns-2.log")
        assert await asyncio.to_thread(second.wait, 30) == 1
        assert "cannot serve DNS on 127.0.0.1" in (logs_dir / "dns-2.log").read_text()
    finally:
        await asyncio.to_thread(terminate, process)
    assert process.returncode == 0, (logs_dir / "dns.log").read_text()
