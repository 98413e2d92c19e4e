"""The resolver over hand-made Services, EndpointSlices and Pods: every name form of the Kubernetes DNS spec."""

from __future__ import annotations

from typing import Any

import pytest
from dnslib import QTYPE, RCODE

from client.store import Store
from dns.cluster import ClusterView
from dns.resolver import Answer, Resolver, reverse_to_ip

Object = dict[str, Any]
ZONE = "cluster.local"


def service(name: str, ns: str = "default", *, cluster_ip: str = "10.96.0.20", ports: list[Object] | None = None,
            **spec: Any) -> Object:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"clusterIP": cluster_ip, "ports": ports or [], **spec}}


def endpoint_slice(service_name: str, endpoints: list[Object], ports: list[Object], ns: str = "default",
                   name: str = "", address_type: str = "IPv4") -> Object:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name or f"{service_name}-abc", "namespace": ns,
                         "labels": {"kubernetes.io/service-name": service_name}},
            "addressType": address_type, "endpoints": endpoints, "ports": ports}


def ep(ip: str, *, ready: bool | None = True, hostname: str = "") -> Object:
    endpoint: Object = {"addresses": [ip], "conditions": {} if ready is None else {"ready": ready}}
    if hostname:
        endpoint["hostname"] = hostname
    return endpoint


def pod(name: str, ip: str, ns: str = "default") -> Object:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
            "status": {"podIP": ip, "podIPs": [{"ip": ip}]}}


HTTP = {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}
DB_PORT = {"name": "db", "port": 5432, "protocol": "TCP"}


def make_resolver(objects: list[Object], pods_mode: str = "insecure") -> Resolver:
    services, slices, pods = Store(), Store(), Store()
    cluster = ClusterView(services, slices, pods)
    for obj in objects:
        {"Service": services, "EndpointSlice": slices, "Pod": pods}[obj["kind"]].upsert(obj)
    return Resolver(cluster, domain=ZONE, pods=pods_mode, serial=42)


def rdata(answer: Answer, qtype: int | None = None) -> list[str]:
    return sorted(str(rr.rdata) for rr in answer.answers if qtype is None or rr.rtype == qtype)


def assert_negative(answer: Answer, rcode: int) -> None:
    assert answer.rcode == rcode
    assert answer.answers == []
    assert [rr.rtype for rr in answer.authority] == [QTYPE.SOA]
    assert str(answer.authority[0].rname) == "cluster.local."
    assert answer.authority[0].rdata.times[-1] == 5  # minimum TTL: the negative-caching time


@pytest.fixture
def cluster() -> Resolver:
    return make_resolver([
        service("web", ports=[HTTP, {"port": 9000}]),
        endpoint_slice("web", [ep("10.244.0.5"), ep("10.244.0.6", ready=False)], [{"name": "http", "port": 8080}]),
        service("db", cluster_ip="None", ports=[DB_PORT]),
        endpoint_slice("db", [ep("10.244.0.7", hostname="db-0"), ep("10.244.0.8", hostname="db-1"),
                              ep("10.244.0.9", ready=False, hostname="db-2"), ep("10.244.0.10", ready=None)],
                       [{"name": "db", "port": 5432, "protocol": "TCP"}]),
        service("empty", cluster_ip="None"),
        service("search", cluster_ip="", type="ExternalName", externalName="search.example.com"),
        service("alias", cluster_ip="", type="ExternalName", externalName="web.default.svc.cluster.local"),
        service("kube-dns", "kube-system", cluster_ip="10.96.0.10"),
        pod("web-1", "10.244.0.5"),
    ])


def test_cluster_ip_service_answers_its_cluster_ip_with_ttl_5(cluster: Resolver) -> None:
    answer = cluster.resolve("web.default.svc.cluster.local.", QTYPE.A)
    assert answer.rcode == RCODE.NOERROR
    assert rdata(answer) == ["10.96.0.20"]
    assert [rr.ttl for rr in answer.answers] == [5]
    assert str(answer.answers[0].rname) == "web.default.svc.cluster.local."


def test_names_match_case_insensitively_and_echo_the_question(cluster: Resolver) -> None:
    answer = cluster.resolve("Web.Default.SVC.cluster.LOCAL", QTYPE.A)
    assert rdata(answer) == ["10.96.0.20"]
    assert str(answer.answers[0].rname) == "Web.Default.SVC.cluster.LOCAL."


def test_aaaa_of_an_ipv4_service_is_nodata_with_soa(cluster: Resolver) -> None:
    assert_negative(cluster.resolve("web.default.svc.cluster.local", QTYPE.AAAA), RCODE.NOERROR)
    assert_negative(cluster.resolve("web.default.svc.cluster.local", QTYPE.TXT), RCODE.NOERROR)


def test_dual_stack_service_answers_each_family() -> None:
    resolver = make_resolver([service("v6", cluster_ip="10.96.0.30", clusterIPs=["10.96.0.30", "fd00::30"])])
    assert rdata(resolver.resolve("v6.default.svc.cluster.local", QTYPE.A)) == ["10.96.0.30"]
    assert rdata(resolver.resolve("v6.default.svc.cluster.local", QTYPE.AAAA)) == ["fd00::30"]


def test_headless_service_answers_every_ready_endpoint(cluster: Resolver) -> None:
    answer = cluster.resolve("db.default.svc.cluster.local", QTYPE.A)
    assert rdata(answer) == ["10.244.0.10", "10.244.0.7", "10.244.0.8"]  # 10.244.0.9 is not ready


def test_headless_service_without_ready_endpoints_is_nxdomain(cluster: Resolver) -> None:
    assert_negative(cluster.resolve("empty.default.svc.cluster.local", QTYPE.A), RCODE.NXDOMAIN)


def test_endpoint_hostnames_resolve_under_their_service(cluster: Resolver) -> None:
    assert rdata(cluster.resolve("db-0.db.default.svc.cluster.local", QTYPE.A)) == ["10.244.0.7"]
    assert rdata(cluster.resolve("db-1.db.default.svc.cluster.local", QTYPE.A)) == ["10.244.0.8"]
    # an endpoint without a hostname is named by its dashed IP (CoreDNS)
    assert rdata(cluster.resolve("10-244-0-10.db.default.svc.cluster.local", QTYPE.A)) == ["10.244.0.10"]
    assert_negative(cluster.resolve("db-2.db.default.svc.cluster.local", QTYPE.A), RCODE.NXDOMAIN)  # not ready
    assert_negative(cluster.resolve("db-9.db.default.svc.cluster.local", QTYPE.A), RCODE.NXDOMAIN)


def test_srv_of_a_cluster_ip_service_targets_the_service_name(cluster: Resolver) -> None:
    answer = cluster.resolve("_http._tcp.web.default.svc.cluster.local", QTYPE.SRV)
    assert rdata(answer) == ["0 100 80 web.default.svc.cluster.local."]
    assert [(str(rr.rname), str(rr.rdata)) for rr in answer.additional] == [
        ("web.default.svc.cluster.local.", "10.96.0.20")]


def test_srv_of_a_headless_service_targets_each_ready_endpoint(cluster: Resolver) -> None:
    answer = cluster.resolve("_db._tcp.db.default.svc.cluster.local", QTYPE.SRV)
    assert rdata(answer) == ["0 33 5432 10-244-0-10.db.default.svc.cluster.local.",
                             "0 33 5432 db-0.db.default.svc.cluster.local.",
                             "0 33 5432 db-1.db.default.svc.cluster.local."]
    assert sorted(str(rr.rdata) for rr in answer.additional) == ["10.244.0.10", "10.244.0.7", "10.244.0.8"]


def test_srv_needs_a_named_port_with_that_protocol(cluster: Resolver) -> None:
    assert_negative(cluster.resolve("_http._udp.web.default.svc.cluster.local", QTYPE.SRV), RCODE.NXDOMAIN)
    assert_negative(cluster.resolve("_nope._tcp.web.default.svc.cluster.local", QTYPE.SRV), RCODE.NXDOMAIN)
    # the name exists, but has no A record
    assert_negative(cluster.resolve("_http._tcp.web.default.svc.cluster.local", QTYPE.A), RCODE.NOERROR)


def test_srv_on_the_service_name_lists_every_named_port(cluster: Resolver) -> None:
    assert rdata(cluster.resolve("web.default.svc.cluster.local", QTYPE.SRV)) == [
        "0 100 80 web.default.svc.cluster.local."]


def test_pod_names_answer_the_dashed_ip(cluster: Resolver) -> None:
    assert rdata(cluster.resolve("10-244-0-5.default.pod.cluster.local", QTYPE.A)) == ["10.244.0.5"]
    # "pods insecure" (kubeadm's Corefile) answers any well-formed address
    assert rdata(cluster.resolve("10-244-3-3.other.pod.cluster.local", QTYPE.A)) == ["10.244.3.3"]
    assert_negative(cluster.resolve("not-an-ip.default.pod.cluster.local", QTYPE.A), RCODE.NXDOMAIN)
    assert_negative(cluster.resolve("10-244-0-5.default.pod.cluster.local", QTYPE.AAAA), RCODE.NOERROR)


def test_pods_verified_needs_a_pod_with_that_ip_in_that_namespace() -> None:
    resolver = make_resolver([pod("p", "10.244.0.5")], pods_mode="verified")
    assert rdata(resolver.resolve("10-244-0-5.default.pod.cluster.local", QTYPE.A)) == ["10.244.0.5"]
    assert_negative(resolver.resolve("10-244-0-5.other.pod.cluster.local", QTYPE.A), RCODE.NXDOMAIN)
    disabled = make_resolver([pod("p", "10.244.0.5")], pods_mode="disabled")
    assert_negative(disabled.resolve("10-244-0-5.default.pod.cluster.local", QTYPE.A), RCODE.NXDOMAIN)


def test_external_name_is_a_cname(cluster: Resolver) -> None:
    answer = cluster.resolve("search.default.svc.cluster.local", QTYPE.A)
    assert [(rr.rtype, str(rr.rdata)) for rr in answer.answers] == [(QTYPE.CNAME, "search.example.com.")]


def test_external_name_inside_the_zone_is_followed(cluster: Resolver) -> None:
    answer = cluster.resolve("alias.default.svc.cluster.local", QTYPE.A)
    assert [(rr.rtype, str(rr.rdata)) for rr in answer.answers] == [
        (QTYPE.CNAME, "web.default.svc.cluster.local."), (QTYPE.A, "10.96.0.20")]


@pytest.mark.parametrize("name", ["nope.default.svc.cluster.local", "web.nope.svc.cluster.local",
                                  "a.b.c.d.e.svc.cluster.local", "x.cluster.local", "nope.svc.cluster.local",
                                  "web.default.svc.pod.cluster.local"])
def test_unknown_names_in_the_zone_are_nxdomain_with_soa(cluster: Resolver, name: str) -> None:
    assert_negative(cluster.resolve(name, QTYPE.A), RCODE.NXDOMAIN)


@pytest.mark.parametrize("name", ["cluster.local", "svc.cluster.local", "default.svc.cluster.local",
                                  "pod.cluster.local", "default.pod.cluster.local"])
def test_names_that_only_have_children_are_nodata(cluster: Resolver, name: str) -> None:
    assert_negative(cluster.resolve(name, QTYPE.A), RCODE.NOERROR)


def test_zone_apex_soa_ns_and_schema_version(cluster: Resolver) -> None:
    soa = cluster.resolve("cluster.local", QTYPE.SOA)
    assert rdata(soa) == ["ns.dns.cluster.local. hostmaster.cluster.local. 42 7200 1800 86400 5"]
    ns = cluster.resolve("cluster.local", QTYPE.NS)
    assert rdata(ns) == ["ns.dns.cluster.local."]
    assert [str(rr.rdata) for rr in ns.additional] == ["10.96.0.10"]
    assert rdata(cluster.resolve("dns-version.cluster.local", QTYPE.TXT)) == ['"1.1.0"']


def test_names_outside_the_zone_are_forwarded(cluster: Resolver) -> None:
    assert cluster.resolve("example.com", QTYPE.A).forward
    assert cluster.resolve("cluster.local.example.com", QTYPE.A).forward
    assert cluster.resolve("local", QTYPE.A).forward


def test_ptr_of_service_and_headless_endpoint_ips(cluster: Resolver) -> None:
    assert rdata(cluster.resolve("20.0.96.10.in-addr.arpa", QTYPE.PTR)) == ["web.default.svc.cluster.local."]
    assert rdata(cluster.resolve("7.0.244.10.in-addr.arpa", QTYPE.PTR)) == ["db-0.db.default.svc.cluster.local."]
    assert cluster.resolve("1.1.168.192.in-addr.arpa", QTYPE.PTR).forward  # not ours: fall through


def test_reverse_names_parse_both_families() -> None:
    assert reverse_to_ip(["4", "3", "2", "1", "in-addr", "arpa"]) == "1.2.3.4"
    v6 = [*reversed("fd000000000000000000000000000030"), "ip6", "arpa"]
    assert reverse_to_ip(v6) == "fd00::30"
    assert reverse_to_ip(["3", "2", "1", "in-addr", "arpa"]) is None


def test_slices_of_one_service_are_merged_and_fqdn_slices_ignored() -> None:
    resolver = make_resolver([
        service("h", cluster_ip="None"),
        endpoint_slice("h", [ep("10.244.1.1")], [], name="h-1"),
        endpoint_slice("h", [ep("10.244.1.2"), ep("10.244.1.1")], [], name="h-2"),
        endpoint_slice("h", [ep("example.com")], [], name="h-3", address_type="FQDN"),
        endpoint_slice("other", [ep("10.244.9.9")], [], name="o-1"),
    ])
    assert rdata(resolver.resolve("h.default.svc.cluster.local", QTYPE.A)) == ["10.244.1.1", "10.244.1.2"]


def test_another_cluster_domain() -> None:
    services, slices = Store(), Store()
    services.upsert(service("web"))
    resolver = Resolver(ClusterView(services, slices), domain="lab.example")
    assert rdata(resolver.resolve("web.default.svc.lab.example", QTYPE.A)) == ["10.96.0.20"]
    assert resolver.resolve("web.default.svc.cluster.local", QTYPE.A).forward
