"""Name → records: the Kubernetes DNS specification as a pure function of the cluster's state.

:meth:`Resolver.resolve` takes a question (name, type) and returns an :class:`Answer`; it reads a
:class:`dns.cluster.ClusterView` and never touches a socket, so unit tests drive it with hand-made objects.
The names of the cluster zone (``cluster.local`` unless ``--cluster-domain`` says otherwise):

=====================================================  ==========================================================
``<svc>.<ns>.svc.<zone>``                              A/AAAA: the ClusterIP(s); headless: every ready endpoint;
                                                       ExternalName: a CNAME to ``spec.externalName``
``<hostname>.<svc>.<ns>.svc.<zone>``                   A/AAAA of the ready endpoint with that hostname (or, for
                                                       an endpoint without one, its dashed IP — CoreDNS's name)
``_<port>._<proto>.<svc>.<ns>.svc.<zone>``             SRV per named port: target the service name, or for a
                                                       headless service each ready endpoint's name; the targets'
                                                       A/AAAA records go in the additional section
``<a-b-c-d>.<ns>.pod.<zone>``                          A: that IP (``pods insecure``, kubeadm's default; with
                                                       ``verified`` only when a pod of that namespace has it)
``dns-version.<zone>``                                 TXT "1.1.0", the version of the specification served
``<zone>`` SOA/NS, ``ns.dns.<zone>`` A                 the zone's SOA, and ``ns.dns`` = the kube-dns ClusterIP
``d.c.b.a.in-addr.arpa`` (and ip6.arpa)                PTR of a ClusterIP or a headless endpoint; other reverse
                                                       names are not ours (forwarded, as CoreDNS's fallthrough)
=====================================================  ==========================================================

Unknown names in the zone get NXDOMAIN, names that exist without records of the asked type get NOERROR with no
answer ("NODATA"); both carry the zone's SOA in the authority section, whose minimum TTL (5 s) bounds how long a
client caches the negative answer. A headless service with no ready endpoint is NXDOMAIN, as in CoreDNS. Names
outside the zone come back with ``forward=True``: the server sends them upstream. Every record has TTL 5 s (CoreDNS's
default ``ttl`` for the kubernetes plugin). Matching is case-insensitive; answers echo the name as asked.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dnslib import AAAA, CNAME, NS, PTR, QTYPE, RCODE, RR, SOA, SRV, TXT, A

from dns.cluster import ClusterView, Endpoint, cluster_ips, ip_family, is_external_name, is_headless

TTL = 5
SPEC_VERSION = "1.1.0"
SOA_TIMES = (7200, 1800, 86400)  # refresh, retry, expire: CoreDNS's values
PODS_MODES = ("disabled", "insecure", "verified")
REVERSE_ZONES = ("in-addr.arpa", "ip6.arpa")
_ADDRESS_TYPES = {QTYPE.A: 4, QTYPE.AAAA: 6}


@dataclass
class Answer:
    """What to reply: a response code and the three record sections; ``forward`` if the name is not ours."""

    rcode: int = RCODE.NOERROR
    answers: list[RR] = field(default_factory=list)
    authority: list[RR] = field(default_factory=list)
    additional: list[RR] = field(default_factory=list)
    forward: bool = False


def _labels(name: str) -> list[str]:
    return [label for label in name.lower().rstrip(".").split(".") if label]


def _fqdn(*parts: str) -> str:
    return ".".join(parts) + "."


def address_record(name: str, ip: str) -> RR:
    """An A or AAAA record for ``ip``."""
    if ip_family(ip) == 6:
        return RR(name, QTYPE.AAAA, ttl=TTL, rdata=AAAA(ip))
    return RR(name, QTYPE.A, ttl=TTL, rdata=A(ip))


def _wants(qtype: int, ip: str) -> bool:
    return qtype == QTYPE.ANY or _ADDRESS_TYPES.get(qtype) == ip_family(ip)


def reverse_to_ip(labels: list[str]) -> str | None:
    """``['5','0','244','10','in-addr','arpa']`` → "10.244.0.5" (nibbles for ip6.arpa); None if not a full address."""
    try:
        if labels[-2:] == ["in-addr", "arpa"] and len(labels) == 6:
            return str(ipaddress.IPv4Address(".".join(reversed(labels[:4]))))
        if labels[-2:] == ["ip6", "arpa"] and len(labels) == 34:
            nibbles = "".join(reversed(labels[:32]))
            return str(ipaddress.IPv6Address(int(nibbles, 16)))
    except ValueError:
        return None
    return None


class Resolver:
    """Answers questions about the cluster zone from a :class:`ClusterView`."""

    def __init__(self, cluster: ClusterView, *, domain: str = "cluster.local", pods: str = "insecure",
                 serial: int = 1) -> None:
        if pods not in PODS_MODES:
            raise ValueError(f"pods mode must be one of {', '.join(PODS_MODES)}, not {pods!r}")
        self.cluster = cluster
        self.zone = _labels(domain)
        self.domain = ".".join(self.zone)
        self.pods_mode = pods
        self.serial = serial  # the SOA serial; the server bumps it when the caches change

    # -- entry point ------------------------------------------------------------------------------------------

    def resolve(self, qname: str, qtype: int) -> Answer:
        labels = _labels(qname)
        if labels[-len(self.zone):] != self.zone or len(labels) < len(self.zone):
            if labels[-2:] in (["in-addr", "arpa"], ["ip6", "arpa"]) and qtype == QTYPE.PTR:
                return self._ptr(qname, labels)
            return Answer(forward=True)
        answer = self._in_zone(qname, labels[:len(labels) - len(self.zone)], qtype)
        if not answer.answers:
            answer.authority.append(self.soa_record())
        return answer

    def soa_record(self) -> RR:
        zone = _fqdn(self.domain)
        return RR(zone, QTYPE.SOA, ttl=TTL, rdata=SOA(_fqdn("ns.dns", self.domain), _fqdn("hostmaster", self.domain),
                                                      (self.serial, *SOA_TIMES, TTL)))

    # -- the zone ---------------------------------------------------------------------------------------------

    def _in_zone(self, qname: str, rel: list[str], qtype: int) -> Answer:
        if not rel:
            return self._apex(qname, qtype)
        if rel == ["dns-version"]:
            rdata = [RR(qname, QTYPE.TXT, ttl=TTL, rdata=TXT(SPEC_VERSION))] if qtype in (QTYPE.TXT, QTYPE.ANY) else []
            return Answer(answers=rdata)
        if rel == ["ns", "dns"]:
            service = self.cluster.service("kube-system", "kube-dns")
            ips = cluster_ips(service) if service is not None else []
            return Answer(answers=[address_record(qname, ip) for ip in ips if _wants(qtype, ip)])
        if rel in (["svc"], ["pod"], ["dns"]):
            return Answer()  # empty non-terminals: the name exists, without records
        if rel[-1] == "svc":
            return self._service_names(qname, rel[:-1], qtype)
        if rel[-1] == "pod" and len(rel) == 3:
            return self._pod(qname, rel[0], rel[1], qtype)
        if rel[-1] == "pod" and len(rel) == 2:
            return Answer()
        return Answer(RCODE.NXDOMAIN)

    def _apex(self, qname: str, qtype: int) -> Answer:
        if qtype == QTYPE.SOA:
            return Answer(answers=[self.soa_record()])
        if qtype == QTYPE.NS:
            ns = _fqdn("ns.dns", self.domain)
            answer = Answer(answers=[RR(qname, QTYPE.NS, ttl=TTL, rdata=NS(ns))])
            answer.additional = self._in_zone(ns, ["ns", "dns"], QTYPE.A).answers
            return answer
        return Answer()

    def _service_names(self, qname: str, parts: list[str], qtype: int) -> Answer:
        if len(parts) == 1:  # <ns>.svc: a namespace with services is an empty non-terminal
            return Answer() if self.cluster.namespace_has_services(parts[0]) else Answer(RCODE.NXDOMAIN)
        if len(parts) == 2:
            return self._service(qname, parts[1], parts[0], qtype)
        if len(parts) == 3 and not parts[0].startswith("_"):
            return self._endpoint(qname, parts[2], parts[1], parts[0], qtype)
        if len(parts) == 4 and parts[0].startswith("_") and parts[1].startswith("_"):
            return self._srv(qname, parts[3], parts[2], parts[0][1:], parts[1][1:], qtype)
        return Answer(RCODE.NXDOMAIN)

    def _service(self, qname: str, namespace: str, name: str, qtype: int) -> Answer:
        service = self.cluster.service(namespace, name)
        if service is None:
            return Answer(RCODE.NXDOMAIN)
        if is_external_name(service):
            return self._external_name(qname, service, qtype)
        if qtype == QTYPE.SRV:
            return self._srv(qname, namespace, name, "", "", qtype)
        if is_headless(service):
            endpoints = self.cluster.endpoints(namespace, name)
            if not endpoints:
                return Answer(RCODE.NXDOMAIN)
            ips = dict.fromkeys(e.ip for e in endpoints if _wants(qtype, e.ip))  # one record per address
            return Answer(answers=[address_record(qname, ip) for ip in ips])
        return Answer(answers=[address_record(qname, ip) for ip in cluster_ips(service) if _wants(qtype, ip)])

    def _external_name(self, qname: str, service: Mapping[str, Any], qtype: int) -> Answer:
        target = str((service.get("spec") or {}).get("externalName") or "").rstrip(".")
        if not target:
            return Answer(RCODE.NXDOMAIN)
        answer = Answer(answers=[RR(qname, QTYPE.CNAME, ttl=TTL, rdata=CNAME(target + "."))])
        target_labels = _labels(target)
        in_zone = target_labels[-len(self.zone):] == self.zone and len(target_labels) > len(self.zone)
        if qtype != QTYPE.CNAME and in_zone:
            chased = self._in_zone(target + ".", target_labels[:-len(self.zone)], qtype)
            answer.answers += chased.answers  # a target inside the zone is answered at once
        return answer

    def _endpoint(self, qname: str, namespace: str, service_name: str, label: str, qtype: int) -> Answer:
        service = self.cluster.service(namespace, service_name)
        if service is None or is_external_name(service):
            return Answer(RCODE.NXDOMAIN)
        matches = [e for e in self.cluster.endpoints(namespace, service_name) if e.dns_name.lower() == label]
        if not matches:
            return Answer(RCODE.NXDOMAIN)
        return Answer(answers=[address_record(qname, e.ip) for e in matches if _wants(qtype, e.ip)])

    def _srv(self, qname: str, namespace: str, name: str, port: str, proto: str, qtype: int) -> Answer:
        """SRV records of ``_port._proto.<svc>`` (or of every named port when ``port`` is "")."""
        service = self.cluster.service(namespace, name)
        if service is None or is_external_name(service):
            return Answer(RCODE.NXDOMAIN)
        service_fqdn = _fqdn(name, namespace, "svc", self.domain)
        # (priority-less) targets: (target name, port number, address or None)
        targets: list[tuple[str, int, str | None]] = []
        if is_headless(service):
            for endpoint in self.cluster.endpoints(namespace, name):
                targets += [(_fqdn(endpoint.dns_name, name, namespace, "svc", self.domain), p.port, endpoint.ip)
                            for p in endpoint.ports if _port_matches(p.name, p.protocol, port, proto)]
        else:
            for p in (service.get("spec") or {}).get("ports") or []:
                if _port_matches(str(p.get("name") or ""), str(p.get("protocol") or "TCP").lower(), port, proto):
                    targets += [(service_fqdn, int(p["port"]), ip) for ip in cluster_ips(service)]
        if not targets:
            return Answer(RCODE.NXDOMAIN) if port else Answer()
        if qtype not in (QTYPE.SRV, QTYPE.ANY):
            return Answer()
        answer = Answer()
        unique = {(t, p) for t, p, _ in targets}
        weight = 100 // len(unique)
        for target, number in sorted(unique):
            answer.answers.append(RR(qname, QTYPE.SRV, ttl=TTL, rdata=SRV(0, weight, number, target)))
        extra = {(t, ip) for t, _, ip in targets if ip}
        answer.additional = [address_record(t, ip) for t, ip in sorted(extra)]
        return answer

    def _pod(self, qname: str, label: str, namespace: str, qtype: int) -> Answer:
        if self.pods_mode == "disabled":
            return Answer(RCODE.NXDOMAIN)
        ip = _undash(label)
        if ip is None or (self.pods_mode == "verified" and not self.cluster.pod_exists(namespace, ip)):
            return Answer(RCODE.NXDOMAIN)
        return Answer(answers=[address_record(qname, ip)] if _wants(qtype, ip) else [])

    # -- reverse names ----------------------------------------------------------------------------------------

    def _ptr(self, qname: str, labels: list[str]) -> Answer:
        ip = reverse_to_ip(labels)
        if ip is None:
            return Answer(forward=True)
        names = [_fqdn(_name(s), _namespace(s), "svc", self.domain) for s in self.cluster.services_with_ip(ip)]
        names += [_fqdn(e.dns_name, _name(s), _namespace(s), "svc", self.domain)
                  for s, e in self.cluster.endpoints_with_ip(ip) if is_headless(s)]
        if not names:
            return Answer(forward=True)  # CoreDNS's "fallthrough in-addr.arpa ip6.arpa"
        return Answer(answers=[RR(qname, QTYPE.PTR, ttl=TTL, rdata=PTR(n)) for n in sorted(set(names))])


def _port_matches(name: str, protocol: str, want_name: str, want_proto: str) -> bool:
    if not name:
        return False  # only named ports have SRV records
    return not want_name or (name.lower() == want_name and protocol == want_proto)


def _undash(label: str) -> str | None:
    for candidate in (label.replace("-", "."), label.replace("-", ":")):
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _namespace(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("namespace", ""))


__all__ = ["Answer", "Endpoint", "Resolver", "address_record", "reverse_to_ip"]
