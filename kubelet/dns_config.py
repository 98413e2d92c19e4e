"""A pod's resolv.conf: nameservers, search list and options from its dnsPolicy (pkg/kubelet/network/dns/dns.go).

Pure functions; the runtime writes the result into the sandbox (see ``SandboxConfig.dns_*``).

``spec.dnsPolicy`` picks the base, then ``spec.dnsConfig`` is merged in:

* ``ClusterFirst`` (the default): the cluster DNS (``--cluster-dns``) is the only nameserver, the search list is
  ``<ns>.svc.<domain> svc.<domain> <domain>`` followed by the node's own search domains, options ``ndots:5``.
  A hostNetwork pod with ClusterFirst gets ``Default`` instead; a kubelet without ``--cluster-dns`` falls back to
  ``Default`` too (and says so: the ``MissingClusterDNS`` warning).
* ``ClusterFirstWithHostNet``: ClusterFirst, for hostNetwork pods as well.
* ``Default``: the node's resolver configuration (``host_resolv``).
* ``None``: nothing but ``spec.dnsConfig``.

Merging ``dnsConfig``: nameservers and searches are appended (duplicates dropped), options are merged by name (the
pod's value wins). Then Kubernetes' limits apply: at most 3 nameservers, at most 32 search domains, none longer
than 253 characters, and a search line of at most 2048 characters (domains dropped from the end). Every cut is
reported as a ``DNSConfigForming`` warning, as the kubelet's event says.

**The node's resolver, for a container.** The kubelet reads the host's /etc/resolv.conf. A loopback nameserver
there (systemd-resolved's 127.0.0.53, a local dnsmasq) means nothing inside a pod's network namespace, so
:func:`host_resolv_for_pods` drops those; if none is left, pods on a user-defined Docker network use Docker's
embedded resolver 127.0.0.11, which forwards to the host's resolvers — what a plain container there gets.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_NAMESERVERS = 3  # validation.MaxDNSNameservers
MAX_SEARCH_PATHS = 32  # validation.MaxDNSSearchPathsExpanded
MAX_SEARCH_LINE_CHARS = 2048  # validation.MaxDNSSearchListCharsExpanded
MAX_DOMAIN_LENGTH = 253  # DNS1123SubdomainMaxLength
DEFAULT_OPTIONS = ("ndots:5",)
DOCKER_EMBEDDED_DNS = "127.0.0.11"

DNSSettings = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]  # (servers, searches, options)


@dataclass(frozen=True)
class ResolvConf:
    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()


def parse_resolv_conf(text: str) -> ResolvConf:
    """As the kubelet's parseResolvConf: the last ``search`` line wins ("." entries dropped, trailing dots
    trimmed); ``options`` accumulate, a later option replacing an earlier one of the same name."""
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split(";", 1)[0].split()
        if not fields:
            continue
        if fields[0] == "nameserver" and len(fields) > 1:
            servers.append(fields[1])
        elif fields[0] == "search":
            searches = [s.rstrip(".") for s in fields[1:] if s != "."]
        elif fields[0] == "options":
            options = _merge_options(options, [_split_option(o) for o in fields[1:]])
    return ResolvConf(tuple(servers), tuple(searches), tuple(options))


def host_resolv_for_pods(path: Path = Path("/etc/resolv.conf"), *, fallback: str = DOCKER_EMBEDDED_DNS) -> ResolvConf:
    """The host's resolv.conf as a pod should inherit it (loopback nameservers replaced, see the module doc)."""
    try:
        host = parse_resolv_conf(path.read_text())
    except OSError:
        host = ResolvConf()
    servers = tuple(s for s in host.nameservers if not _is_loopback(s))
    if not servers and fallback:
        servers = (fallback,)
    return ResolvConf(servers, host.searches, host.options)


def _is_loopback(server: str) -> bool:
    try:
        return ipaddress.ip_address(server.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _split_option(option: str) -> tuple[str, str]:
    name, _, value = option.partition(":")
    return name, value


def _merge_options(existing: list[str], extra: list[tuple[str, str]]) -> list[str]:
    """mergeDNSOptions: by name, later values win; "name" or "name:value" out (insertion order kept)."""
    merged: dict[str, str] = dict(_split_option(o) for o in existing)
    for name, value in extra:
        merged[name] = value
    return [f"{name}:{value}" if value else name for name, value in merged.items()]


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def dns_type(pod: Mapping[str, Any]) -> str:
    """getPodDNSType: "none", "cluster" or "host"."""
    spec = pod.get("spec") or {}
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "None":
        return "none"
    if policy == "ClusterFirstWithHostNet":
        return "cluster"
    if policy == "ClusterFirst":
        return "host" if spec.get("hostNetwork") else "cluster"
    if policy == "Default":
        return "host"
    return "cluster"  # the apiserver rejects other values; Kubernetes errs towards cluster DNS too


def compute_pod_dns(pod: Mapping[str, Any], *, cluster_dns: list[str] | tuple[str, ...], cluster_domain: str,
                    host_resolv: ResolvConf, warnings: list[tuple[str, str]] | None = None) -> DNSSettings:
    """(nameservers, searches, options) for the pod's resolv.conf; ``warnings`` collects (reason, message)."""
    notes = warnings if warnings is not None else []
    kind = dns_type(pod)
    servers, searches, options = list(host_resolv.nameservers), list(host_resolv.searches), list(host_resolv.options)
    if kind == "none":
        servers, searches, options = [], [], []
    elif kind == "cluster" and cluster_dns:
        servers = list(cluster_dns)
        if cluster_domain:
            namespace = str((pod.get("metadata") or {}).get("namespace") or "default")
            searches = _unique([f"{namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain,
                                *searches])
        options = list(DEFAULT_OPTIONS)
    elif kind == "cluster":
        notes.append(("MissingClusterDNS", "kubelet does not have ClusterDNS IP configured and cannot create Pod "
                                           "using \"ClusterFirst\" policy. Falling back to \"Default\" policy."))
    dns_config = (pod.get("spec") or {}).get("dnsConfig")
    if dns_config:
        servers = _unique(servers + [str(s) for s in dns_config.get("nameservers") or []])
        searches = _unique(searches + [str(s) for s in dns_config.get("searches") or []])
        options = _merge_options(options, [(str(o.get("name", "")), "" if o.get("value") is None else str(o["value"]))
                                           for o in dns_config.get("options") or [] if o.get("name")])
    return tuple(_fit_nameservers(servers, notes)), tuple(_fit_searches(searches, notes)), tuple(options)


def _fit_nameservers(servers: list[str], notes: list[tuple[str, str]]) -> list[str]:
    if len(servers) <= MAX_NAMESERVERS:
        return servers
    kept = servers[:MAX_NAMESERVERS]
    notes.append(("DNSConfigForming", "Nameserver limits were exceeded, some nameservers have been omitted, the "
                                      f"applied nameserver line is: {' '.join(kept)}"))
    return kept


def _fit_searches(searches: list[str], notes: list[tuple[str, str]]) -> list[str]:
    """formDNSSearchFitsLimits: at most 32 paths, none over 253 chars, the joined line at most 2048 chars."""
    exceeded = len(searches) > MAX_SEARCH_PATHS
    kept = [s for s in searches[:MAX_SEARCH_PATHS] if len(s) <= MAX_DOMAIN_LENGTH]
    exceeded = exceeded or len(kept) < min(len(searches), MAX_SEARCH_PATHS)
    line_length = len(" ".join(kept))
    if line_length > MAX_SEARCH_LINE_CHARS:
        cut = 0
        for domain in reversed(kept):
            line_length -= len(domain) + 1
            cut += 1
            if line_length <= MAX_SEARCH_LINE_CHARS:
                break
        kept = kept[:len(kept) - cut]
        exceeded = True
    if exceeded:
        notes.append(("DNSConfigForming", "Search Line limits were exceeded, some search paths have been omitted, "
                                          f"the applied search line is: {' '.join(kept)}"))
    return kept


@dataclass(frozen=True)
class PodDNSConfigurer:
    """The kubelet's DNS settings (``--cluster-dns``, ``--cluster-domain``, the host resolver), applied per pod."""

    cluster_dns: tuple[str, ...] = ()
    cluster_domain: str = "cluster.local"
    host_resolv: ResolvConf = field(default_factory=ResolvConf)

    @classmethod
    def from_host(cls, cluster_dns: tuple[str, ...] | list[str], cluster_domain: str,
                  resolv_conf: Path = Path("/etc/resolv.conf")) -> PodDNSConfigurer:
        return cls(tuple(cluster_dns), cluster_domain, host_resolv_for_pods(resolv_conf))

    def pod_dns(self, pod: Mapping[str, Any], warnings: list[tuple[str, str]] | None = None) -> DNSSettings:
        return compute_pod_dns(pod, cluster_dns=self.cluster_dns, cluster_domain=self.cluster_domain,
                               host_resolv=self.host_resolv, warnings=warnings)
