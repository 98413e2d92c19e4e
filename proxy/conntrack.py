"""Clearing stale UDP conntrack entries, as kube-proxy does after endpoint changes.

A UDP "connection" has no end: the kernel keeps the NAT decision of the first packet in its conntrack table for as
long as packets keep flowing. When an endpoint goes away, a client still sending to the cluster IP would keep
being DNATed to the dead endpoint. So after a sync, for every UDP service port, kube-proxy deletes:

- the entries NATed to an endpoint that was removed (``conntrack -D -p udp --orig-dst <clusterIP> --dst-nat <ip>``,
  and ``--orig-port-dst <nodePort>`` for the NodePort);
- the entries of a service that is new or had no endpoint and now has one (those packets were not NATed, and
  conntrack remembers that): ``conntrack -D -p udp --orig-dst <clusterIP>``.

This needs the ``conntrack`` tool (Debian package ``conntrack``). Without it, a warning is logged once and stale
UDP flows expire on their own (30 s idle for unreplied UDP, 120 s for replied "streams").
TCP needs nothing: a connection to a removed endpoint is reset or times out, and the next one is NATed anew.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterable

from proxy.model import ServicePort

log = logging.getLogger("proxy.conntrack")
_warned = False


def stale_udp_flows(previous: Iterable[ServicePort], current: Iterable[ServicePort]) -> list[list[str]]:
    """The ``conntrack -D`` argument lists for the UDP flows made stale by going from ``previous`` to ``current``."""
    now = {p.key: p for p in current if p.protocol == "UDP"}
    before = {p.key: p for p in previous if p.protocol == "UDP"}
    flows: list[list[str]] = []
    for old in before.values():
        new = now.get(old.key)
        kept = {e.ip for e in new.endpoints} if new else set()
        for ip in sorted({e.ip for e in old.endpoints} - kept):
            flows.append(["-p", "udp", "--orig-dst", old.cluster_ip, "--dst-nat", ip])
            if old.node_port:
                flows.append(["-p", "udp", "--orig-port-dst", str(old.node_port), "--dst-nat", ip])
    for new in now.values():
        old_endpoints = before[new.key].endpoints if new.key in before else []
        if new.endpoints and not old_endpoints:  # new, or had none: its packets were not NATed
            flows.append(["-p", "udp", "--orig-dst", new.cluster_ip])
            if new.node_port:
                flows.append(["-p", "udp", "--orig-port-dst", str(new.node_port)])
    return flows


def delete_flows(flows: list[list[str]]) -> None:
    """Run ``conntrack -D`` for each flow (exit code 1 just means "no such entry")."""
    global _warned
    tool = shutil.which("conntrack")
    if tool is None:
        if not _warned:
            log.warning("conntrack tool not found: stale UDP flows are not cleared (install the conntrack package)")
            _warned = True
        return
    for args in flows:
        done = subprocess.run([tool, "-D", *args], capture_output=True, text=True, check=False)
        if done.returncode not in (0, 1):
            log.warning("conntrack -D %s failed: %s", " ".join(args), done.stderr.strip())
