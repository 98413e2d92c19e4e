"""The iptables side effects: read the tables, write our chains atomically, clean up.

Every sync rewrites all ``KUBELING-`` chains in one ``iptables-restore --noflush`` transaction per call (both the
nat and the filter table), exactly as kube-proxy does: rules of other programs (Docker's included) are never read
back into the input, so they are never flushed. The only rules we place outside our chains are the jumps listed in
:data:`proxy.iptables_rules.JUMPS`; a sync inserts those that are missing and deletes duplicates, so a proxy that
was killed and restarted finds its jumps and does not add them twice.

Works with both iptables back ends (``iptables -V`` says ``legacy`` or ``nf_tables``): only the iptables tools
are used.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from proxy import conntrack
from proxy.iptables_rules import JUMPS, PREFIX, ProxyConfig, Ruleset, iptables_ruleset, restore_text
from proxy.model import ServicePort

log = logging.getLogger("proxy.iptables")
TABLES = ("nat", "filter")
ROUTE_LOCALNET = Path("/proc/sys/net/ipv4/conf/all/route_localnet")


class IptablesError(Exception):
    pass


def run(args: list[str], stdin: str | None = None) -> str:
    done = subprocess.run(args, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise IptablesError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def save_tables() -> dict[str, str]:
    return {table: run(["iptables-save", "-t", table]) for table in TABLES}


def restore(text: str) -> None:
    run(["iptables-restore", "--noflush"], stdin=text)


def chains_of(saved: str) -> list[str]:
    """The chain names declared in one table's iptables-save output."""
    return [line[1:].split()[0] for line in saved.splitlines() if line.startswith(":")]


def rules_of(saved: str) -> list[str]:
    return [line for line in saved.splitlines() if line.startswith("-A ")]


def jump_fixes(saved: dict[str, str]) -> dict[str, list[str]]:
    """Per table, ``-I`` for each missing jump and ``-D`` for each extra copy (pure)."""
    fixes: dict[str, list[str]] = {table: [] for table in TABLES}
    for jump in reversed(JUMPS):  # inserted at the top in reverse: they end up in JUMPS order
        wanted = f"-A {jump.chain} {jump.spec}"
        count = rules_of(saved.get(jump.table, "")).count(wanted)
        if count == 0:
            fixes[jump.table].append(f"-I {jump.chain} 1 {jump.spec}")
        fixes[jump.table] += [f"-D {jump.chain} {jump.spec}"] * max(0, count - 1)
    return fixes


def cleanup_text(saved: dict[str, str]) -> str:
    """iptables-restore input removing every jump into a KUBELING- chain, then every KUBELING- chain (pure)."""
    out: list[str] = []
    for table in TABLES:
        ours = [c for c in chains_of(saved.get(table, "")) if c.startswith(PREFIX)]
        jumps = [rule for rule in rules_of(saved.get(table, ""))
                 if not rule.split()[1].startswith(PREFIX) and f"-j {PREFIX}" in rule]
        out.append(f"*{table}")
        out += [f":{chain} - [0:0]" for chain in ours]
        out += ["-D" + rule[2:] for rule in jumps]
        out += [f"-X {chain}" for chain in ours]
        out.append("COMMIT")
    return "\n".join(out) + "\n"


def cleanup() -> bool:
    """Remove all our jumps and chains (both modes); True when there was something to remove."""
    saved = save_tables()
    if not any(c.startswith(PREFIX) for table in TABLES for c in chains_of(saved[table])):
        return False
    restore(cleanup_text(saved))
    return True


def enable_route_localnet() -> None:
    """Let 127.0.0.1:<nodePort> be DNATed to a pod, as kube-proxy does (net.ipv4.conf.all.route_localnet=1)."""
    try:
        if ROUTE_LOCALNET.read_text().strip() != "1":
            ROUTE_LOCALNET.write_text("1\n")
            log.info("set net.ipv4.conf.all.route_localnet=1 (NodePorts on 127.0.0.1)")
    except OSError as err:
        log.warning("cannot set route_localnet (%s): NodePorts will not answer on 127.0.0.1", err)


def apply(rules: Ruleset) -> float:
    """Write a ruleset: save, compute the restore input (stale chains, jump fixes), restore. Returns seconds."""
    started = time.perf_counter()
    saved = save_tables()
    existing = {table: chains_of(saved[table]) for table in TABLES}
    restore(restore_text(rules, existing, jump_fixes(saved)))
    return time.perf_counter() - started


class IptablesProxier:
    """The iptables mode: each sync computes the whole ruleset and writes it."""

    mode = "iptables"

    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self.previous: list[ServicePort] = []
        self.last_sync_seconds = 0.0

    async def start(self) -> None:
        await asyncio.to_thread(enable_route_localnet)

    async def sync(self, ports: Iterable[ServicePort]) -> None:
        current = list(ports)
        rules = iptables_ruleset(current, self.config)
        self.last_sync_seconds = await asyncio.to_thread(apply, rules)
        stale = conntrack.stale_udp_flows(self.previous, current)
        if stale:
            await asyncio.to_thread(conntrack.delete_flows, stale)
        self.previous = current
        log.debug("synced %d service ports in %.3fs", len(current), self.last_sync_seconds)

    async def stop(self, *, clean: bool = True) -> None:
        if clean:
            await asyncio.to_thread(cleanup)
