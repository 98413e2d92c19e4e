"""The iptables ruleset of the proxy, computed from service ports alone: pure functions, no I/O.

This is kube-proxy's ``syncProxyRules`` (pkg/proxy/iptables/proxier.go), with ``KUBELING-`` for ``KUBE-``. For a
service port ``ns/web:http`` (TCP, cluster IP 10.96.0.10:80, two ready endpoints) the nat table gets::

    KUBELING-SERVICES   -d 10.96.0.10/32 -p tcp --dport 80              -> KUBELING-SVC-<hash>
    KUBELING-SVC-<hash> -m statistic --mode random --probability 0.5    -> KUBELING-SEP-<hash of endpoint 1>
                        (no condition: the last endpoint takes the rest) -> KUBELING-SEP-<hash of endpoint 2>
    KUBELING-SEP-<hash> -s <endpoint ip>  -> KUBELING-MARK-MASQ   (hairpin: a pod reaching itself)
                        -p tcp            -> DNAT --to-destination <endpoint ip:port>

Endpoint i of n (from 0) is chosen with probability 1/(n-i): the first with 1/n, the second with 1/(n-1) of what
is left, ..., so every endpoint gets 1/n of new connections. ``sessionAffinity: ClientIP`` adds, before the random
rules, one ``-m recent --rcheck --seconds <timeout>`` rule per endpoint: a client seen recently (by source IP) goes
back to the same endpoint; the DNAT rule records the client with ``-m recent --set``.

NodePorts: ``KUBELING-SERVICES`` ends with a jump to ``KUBELING-NODEPORTS`` for packets addressed to a local
address; ``KUBELING-NODEPORTS`` sends ``--dport <nodePort>`` to ``KUBELING-EXT-<hash>``, which marks the packet for
masquerade (the endpoint must answer through this host) and continues in the service chain. Marked packets are
masqueraded in ``KUBELING-POSTROUTING``. For 127.0.0.1:<nodePort> the kernel must also accept to route a loopback
source out of a bridge: kube-proxy sets ``net.ipv4.conf.all.route_localnet=1``, so does kubeling-proxy.

A service port with no (usable) endpoint gets no nat rule; the filter table rejects its new connections
(``KUBELING-SERVICES`` for the cluster IP, ``KUBELING-EXTERNAL-SERVICES`` for the NodePort), so a client gets
"connection refused" at once instead of a timeout, as in Kubernetes.

Chain names are stable across restarts: ``KUBELING-SVC-`` + the first 15 characters of base32(sha256(port name +
protocol)); kube-proxy keeps 16, but iptables chain names are at most 28 characters and ``KUBELING-SVC-`` is 4
characters longer than ``KUBE-SVC-``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from proxy.model import Endpoint, ServicePort

PREFIX = "KUBELING-"
SERVICES = "KUBELING-SERVICES"
EXTERNAL_SERVICES = "KUBELING-EXTERNAL-SERVICES"
NODEPORTS = "KUBELING-NODEPORTS"
POSTROUTING = "KUBELING-POSTROUTING"
MARK_MASQ = "KUBELING-MARK-MASQ"
FORWARD = "KUBELING-FORWARD"
HASH_LENGTH = 15
PORTALS_COMMENT = "kubeling service portals"

# The chains every sync declares (and so flushes), per table, in this order.
BASE_CHAINS = {"nat": [SERVICES, NODEPORTS, POSTROUTING, MARK_MASQ], "filter": [SERVICES, EXTERNAL_SERVICES, FORWARD]}


@dataclass(frozen=True)
class Jump:
    """A rule in a built-in chain that jumps into ours (the only rules we add outside our chains)."""

    table: str
    chain: str
    spec: str  # as iptables-save prints it, without "-A <chain> "


JUMPS = [
    Jump("nat", "PREROUTING", f'-m comment --comment "{PORTALS_COMMENT}" -j {SERVICES}'),
    Jump("nat", "OUTPUT", f'-m comment --comment "{PORTALS_COMMENT}" -j {SERVICES}'),
    Jump("nat", "POSTROUTING", f'-m comment --comment "kubeling postrouting rules" -j {POSTROUTING}'),
    Jump("filter", "INPUT", '-m conntrack --ctstate NEW -m comment --comment '
                            f'"kubeling externally-visible service portals" -j {EXTERNAL_SERVICES}'),
    Jump("filter", "FORWARD", f'-m conntrack --ctstate NEW -m comment --comment "{PORTALS_COMMENT}" -j {SERVICES}'),
    Jump("filter", "FORWARD", '-m conntrack --ctstate NEW -m comment --comment '
                              f'"kubeling externally-visible service portals" -j {EXTERNAL_SERVICES}'),
    Jump("filter", "FORWARD", f'-m comment --comment "kubeling forwarding rules" -j {FORWARD}'),
    Jump("filter", "OUTPUT", f'-m conntrack --ctstate NEW -m comment --comment "{PORTALS_COMMENT}" -j {SERVICES}'),
]


@dataclass
class ProxyConfig:
    node_name: str = ""
    cluster_cidr: str = ""  # pod traffic from outside it to a cluster IP is masqueraded ("" : none)
    masquerade_bit: int = 14  # kube-proxy's --iptables-masquerade-bit

    @property
    def mark(self) -> str:
        value = 1 << self.masquerade_bit
        return f"{value:#x}/{value:#x}"


@dataclass
class Ruleset:
    """Chains to declare and rules to append, per table: everything kubeling-proxy owns."""

    chains: dict[str, list[str]] = field(default_factory=lambda: {t: list(c) for t, c in BASE_CHAINS.items()})
    rules: dict[str, list[str]] = field(default_factory=lambda: {t: [] for t in BASE_CHAINS})

    def chain(self, table: str, name: str) -> None:
        if name not in self.chains[table]:
            self.chains[table].append(name)

    def add(self, table: str, chain: str, *parts: str) -> None:
        self.rules[table].append(" ".join(["-A", chain, *filter(None, parts)]))


def short_hash(text: str) -> str:
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:HASH_LENGTH]


def service_chain(port: ServicePort, kind: str = "SVC") -> str:
    """KUBELING-SVC-/SVL-/EXT- + hash of ``ns/name:port`` + lower-case protocol, as kube-proxy's portProtoHash."""
    return f"{PREFIX}{kind}-{short_hash(port.port_string + port.protocol.lower())}"


def endpoint_chain(port: ServicePort, endpoint: Endpoint) -> str:
    return f"{PREFIX}SEP-{short_hash(port.port_string + port.protocol.lower() + endpoint.address)}"


def probability(n: int) -> str:
    return f"{1.0 / n:0.10f}"


def comment(text: str) -> str:
    return f'-m comment --comment "{text}"'


def match_port(port: ServicePort, number: int) -> str:
    proto = port.protocol.lower()
    return f"-p {proto} -m {proto} --dport {number}"


def base_rules(rules: Ruleset, config: ProxyConfig) -> None:
    """The fixed rules: masquerade marking, postrouting, forwarding of marked traffic."""
    mark = config.mark
    rules.add("nat", MARK_MASQ, f"-j MARK --or-mark {mark.split('/')[0]}")
    rules.add("nat", POSTROUTING, f"-m mark ! --mark {mark} -j RETURN")
    rules.add("nat", POSTROUTING, f"-j MARK --xor-mark {mark.split('/')[0]}")
    rules.add("nat", POSTROUTING, comment("kubeling service traffic requiring SNAT"), "-j MASQUERADE")
    rules.add("filter", FORWARD, comment("kubeling forwarding rules"), f"-m mark --mark {mark} -j ACCEPT")
    rules.add("filter", FORWARD, comment("kubeling forwarding conntrack rule"),
              "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")


def endpoint_rules(rules: Ruleset, port: ServicePort, chain: str, endpoints: list[Endpoint]) -> None:
    """The service chain (affinity checks, then the random choice) and one SEP chain per endpoint."""
    rules.chain("nat", chain)
    if port.affinity_timeout:
        for endpoint in endpoints:
            sep = endpoint_chain(port, endpoint)
            rules.add("nat", chain, comment(f"{port.port_string} -> {endpoint.address}"),
                      f"-m recent --name {sep} --rcheck --seconds {port.affinity_timeout} --reap -j {sep}")
    for i, endpoint in enumerate(endpoints):
        sep = endpoint_chain(port, endpoint)
        pick = f"-m statistic --mode random --probability {probability(len(endpoints) - i)}" \
            if i < len(endpoints) - 1 else ""
        rules.add("nat", chain, comment(f"{port.port_string} -> {endpoint.address}"), pick, f"-j {sep}")


def sep_rules(rules: Ruleset, port: ServicePort, endpoint: Endpoint) -> None:
    sep = endpoint_chain(port, endpoint)
    if sep in rules.chains["nat"]:
        return
    rules.chain("nat", sep)
    rules.add("nat", sep, comment(port.port_string), f"-s {endpoint.ip}/32 -j {MARK_MASQ}")
    recent = f"-m recent --name {sep} --set" if port.affinity_timeout else ""
    proto = port.protocol.lower()
    rules.add("nat", sep, comment(port.port_string), f"-p {proto}", recent,
              f"-m {proto} -j DNAT --to-destination {endpoint.address}")


def cluster_ip_rules(rules: Ruleset, port: ServicePort, config: ProxyConfig) -> None:
    endpoints = port.cluster_endpoints(config.node_name)
    dest = f"-d {port.cluster_ip}/32 {match_port(port, port.port)}"
    if not endpoints:
        why = "has no local endpoints" if port.internal_local and port.endpoints else "has no endpoints"
        verdict = "DROP" if why == "has no local endpoints" else "REJECT"
        rules.add("filter", SERVICES, comment(f"{port.port_string} {why}"), dest, f"-j {verdict}")
        return
    kind = "SVL" if port.internal_local else "SVC"
    chain = service_chain(port, kind)
    rules.add("nat", SERVICES, comment(f"{port.port_string} cluster IP"), dest, f"-j {chain}")
    if config.cluster_cidr:
        rules.add("nat", chain, comment(f"{port.port_string} cluster IP"),
                  f"! -s {config.cluster_cidr}", dest, f"-j {MARK_MASQ}")
    endpoint_rules(rules, port, chain, endpoints)
    for endpoint in endpoints:
        sep_rules(rules, port, endpoint)


def node_port_rules(rules: Ruleset, port: ServicePort, config: ProxyConfig) -> None:
    """NodePort: everything goes through KUBELING-EXT-<hash>; Local policy keeps external clients on this node."""
    if not port.node_port:
        return
    local = port.local_endpoints(config.node_name)
    dest = match_port(port, port.node_port)
    if not port.endpoints:
        rules.add("filter", EXTERNAL_SERVICES, comment(f"{port.port_string} has no endpoints"),
                  f"-m addrtype --dst-type LOCAL {dest} -j REJECT")
        return
    ext, svc = service_chain(port, "EXT"), service_chain(port, "SVC")
    rules.chain("nat", ext)
    rules.add("nat", NODEPORTS, comment(port.port_string), dest, f"-j {ext}")
    if svc not in rules.chains["nat"]:
        endpoint_rules(rules, port, svc, port.endpoints)
        for endpoint in port.endpoints:
            sep_rules(rules, port, endpoint)
    if not port.external_local:
        rules.add("nat", ext, comment(f"masquerade traffic for {port.port_string} external destinations"),
                  f"-j {MARK_MASQ}")
        rules.add("nat", ext, f"-j {svc}")
        return
    # externalTrafficPolicy Local: the host's own traffic may go anywhere; external clients keep their source IP
    # and only reach endpoints on this node (none: dropped).
    rules.add("nat", ext, comment("masquerade LOCAL traffic"), f"-m addrtype --src-type LOCAL -j {MARK_MASQ}")
    rules.add("nat", ext, comment("route LOCAL traffic to all endpoints"), f"-m addrtype --src-type LOCAL -j {svc}")
    if config.cluster_cidr:
        rules.add("nat", ext, comment("pod traffic to all endpoints"), f"-s {config.cluster_cidr} -j {svc}")
    if not local:
        rules.add("filter", EXTERNAL_SERVICES, comment(f"{port.port_string} has no local endpoints"),
                  f"-m addrtype ! --src-type LOCAL --dst-type LOCAL {dest} -j DROP")
        return
    svl = service_chain(port, "SVL")
    if svl not in rules.chains["nat"]:
        endpoint_rules(rules, port, svl, local)
        for endpoint in local:
            sep_rules(rules, port, endpoint)
    rules.add("nat", ext, f"-j {svl}")


def iptables_ruleset(ports: Iterable[ServicePort], config: ProxyConfig) -> Ruleset:
    """Every rule of the iptables mode for these service ports."""
    rules = Ruleset()
    base_rules(rules, config)
    for port in ports:
        cluster_ip_rules(rules, port, config)
        node_port_rules(rules, port, config)
    rules.add("nat", SERVICES, comment("kubeling service nodeports; NOTE: this must be the last rule in this chain"),
              f"-m addrtype --dst-type LOCAL -j {NODEPORTS}")
    return rules


def userspace_ruleset(portals: Iterable[tuple[ServicePort, int]], config: ProxyConfig, bind_address: str) -> Ruleset:
    """The userspace mode's rules: redirect each cluster IP:port and NodePort to its local proxy port.

    Listening on 0.0.0.0, ``REDIRECT`` sends a pod's packet to the bridge gateway (the address of the interface it
    came in on) and a host's packet to 127.0.0.1; with a specific ``--bind-address`` it is ``DNAT`` to that address.
    """
    rules = Ruleset()
    base_rules(rules, config)
    for port, proxy_port in portals:
        target = (f"-j REDIRECT --to-ports {proxy_port}" if bind_address in ("", "0.0.0.0")
                  else f"-j DNAT --to-destination {bind_address}:{proxy_port}")
        rules.add("nat", SERVICES, comment(f"{port.port_string} portal"),
                  f"-d {port.cluster_ip}/32 {match_port(port, port.port)}", target)
        if port.node_port:
            rules.add("nat", NODEPORTS, comment(f"{port.port_string} nodePort portal"),
                      match_port(port, port.node_port), target)
    rules.add("nat", SERVICES, comment("kubeling service nodeports; NOTE: this must be the last rule in this chain"),
              f"-m addrtype --dst-type LOCAL -j {NODEPORTS}")
    return rules


def restore_text(rules: Ruleset, existing: Mapping[str, Iterable[str]],
                 extra: Mapping[str, list[str]] | None = None) -> str:
    """iptables-restore input that rewrites our chains and deletes our chains that are no longer used.

    Declaring a chain (``:NAME - [0:0]``) under ``--noflush`` creates or flushes it: only our chains are touched.
    ``existing`` maps a table to the chain names it has now (from iptables-save); ``extra`` adds lines per table
    (the jump rules to insert or delete).
    """
    out: list[str] = []
    for table in ("nat", "filter"):
        stale = sorted(c for c in existing.get(table, ()) if c.startswith(PREFIX) and c not in rules.chains[table])
        out.append(f"*{table}")
        out += [f":{chain} - [0:0]" for chain in rules.chains[table] + stale]
        out += rules.rules[table]
        out += (extra or {}).get(table, [])
        out += [f"-X {chain}" for chain in stale]
        out.append("COMMIT")
    return "\n".join(out) + "\n"
