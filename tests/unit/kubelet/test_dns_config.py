"""Pod DNS per dnsPolicy, dnsConfig merging and Kubernetes' limits (pkg/kubelet/network/dns/dns_test.go cases)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubelet.container_config import compute_sandbox_config
from kubelet.dns_config import (
    PodDNSConfigurer,
    ResolvConf,
    compute_pod_dns,
    dns_type,
    host_resolv_for_pods,
    parse_resolv_conf,
)

Object = dict[str, Any]
HOST = ResolvConf(("10.0.0.2", "10.0.0.3"), ("corp.example", "example"), ("ndots:1", "timeout:2"))
CLUSTER_SEARCH = ("web.svc.cluster.local", "svc.cluster.local", "cluster.local")


def pod(policy: str | None = None, *, ns: str = "web", host_network: bool = False,
        dns_config: Object | None = None) -> Object:
    spec: Object = {"containers": [{"name": "app", "image": "busybox"}]}
    if policy:
        spec["dnsPolicy"] = policy
    if host_network:
        spec["hostNetwork"] = True
    if dns_config is not None:
        spec["dnsConfig"] = dns_config
    return {"metadata": {"name": "p", "namespace": ns}, "spec": spec}


def dns(p: Object, cluster_dns: tuple[str, ...] = ("10.96.0.10",), warnings: list[tuple[str, str]] | None = None,
        host: ResolvConf = HOST, domain: str = "cluster.local") -> tuple[tuple[str, ...], ...]:
    return compute_pod_dns(p, cluster_dns=cluster_dns, cluster_domain=domain, host_resolv=host, warnings=warnings)


def test_cluster_first_is_the_default() -> None:
    assert dns(pod()) == (("10.96.0.10",), (*CLUSTER_SEARCH, "corp.example", "example"), ("ndots:5",))
    assert dns(pod("ClusterFirst")) == dns(pod())


def test_cluster_first_search_list_uses_the_pod_namespace_and_domain_and_drops_duplicates() -> None:
    host = ResolvConf(("10.0.0.2",), ("lab.local", "corp.example"))
    assert dns(pod(ns="shop"), host=host, domain="lab.local")[1] == (
        "shop.svc.lab.local", "svc.lab.local", "lab.local", "corp.example")


def test_cluster_first_without_cluster_dns_falls_back_to_default_with_a_warning() -> None:
    warnings: list[tuple[str, str]] = []
    assert dns(pod(), cluster_dns=(), warnings=warnings) == (HOST.nameservers, HOST.searches, HOST.options)
    assert [reason for reason, _ in warnings] == ["MissingClusterDNS"]


def test_host_network_pods_use_the_host_unless_cluster_first_with_host_net() -> None:
    assert dns(pod(host_network=True)) == (HOST.nameservers, HOST.searches, HOST.options)
    assert dns(pod("ClusterFirstWithHostNet", host_network=True))[0] == ("10.96.0.10",)
    assert dns(pod("ClusterFirstWithHostNet"))[0] == ("10.96.0.10",)  # also without hostNetwork


def test_default_is_the_node_resolver() -> None:
    assert dns(pod("Default")) == (HOST.nameservers, HOST.searches, HOST.options)


def test_none_is_only_dns_config() -> None:
    assert dns(pod("None")) == ((), (), ())
    config = {"nameservers": ["1.2.3.4"], "searches": ["a.example"], "options": [{"name": "ndots", "value": "2"},
                                                                                 {"name": "edns0"}]}
    assert dns(pod("None", dns_config=config)) == (("1.2.3.4",), ("a.example",), ("ndots:2", "edns0"))


def test_dns_config_is_appended_and_options_merge_by_name() -> None:
    config = {"nameservers": ["10.96.0.10", "1.1.1.1"], "searches": ["svc.cluster.local", "extra.example"],
              "options": [{"name": "ndots", "value": "3"}, {"name": "single-request-reopen"}]}
    servers, searches, options = dns(pod(dns_config=config))
    assert servers == ("10.96.0.10", "1.1.1.1")  # duplicates dropped
    assert searches == (*CLUSTER_SEARCH, "corp.example", "example", "extra.example")
    assert options == ("ndots:3", "single-request-reopen")  # the pod's ndots wins


def test_dns_config_merges_into_default_too() -> None:
    config = {"options": [{"name": "timeout", "value": "5"}, {"name": "rotate"}]}
    assert dns(pod("Default", dns_config=config))[2] == ("ndots:1", "timeout:5", "rotate")


def test_at_most_three_nameservers() -> None:
    warnings: list[tuple[str, str]] = []
    config = {"nameservers": ["1.1.1.1", "2.2.2.2", "3.3.3.3"]}
    assert dns(pod(dns_config=config), warnings=warnings)[0] == ("10.96.0.10", "1.1.1.1", "2.2.2.2")
    assert warnings == [("DNSConfigForming", "Nameserver limits were exceeded, some nameservers have been omitted, "
                                             "the applied nameserver line is: 10.96.0.10 1.1.1.1 2.2.2.2")]


def test_at_most_32_search_paths() -> None:
    warnings: list[tuple[str, str]] = []
    config = {"searches": [f"d{i}.example" for i in range(40)]}
    searches = dns(pod("None", dns_config=config), warnings=warnings)[1]
    assert searches == tuple(f"d{i}.example" for i in range(32))
    assert [reason for reason, _ in warnings] == ["DNSConfigForming"]


def test_search_domains_over_253_characters_are_dropped() -> None:
    long = ("a" * 62 + ".") * 4 + "example"  # 259 characters
    assert len(long) > 253
    warnings: list[tuple[str, str]] = []
    assert dns(pod("None", dns_config={"searches": ["ok.example", long]}), warnings=warnings)[1] == ("ok.example",)
    assert warnings and warnings[0][0] == "DNSConfigForming"


def test_search_line_over_2048_characters_loses_domains_from_the_end() -> None:
    domains = [f"{i:02d}" + "x" * 98 + ".example" for i in range(25)]  # 108 chars each, 2724 joined
    searches = dns(pod("None", dns_config={"searches": domains}))[1]
    assert len(" ".join(searches)) <= 2048
    assert searches == tuple(domains[:len(searches)]) and len(searches) == 18


def test_within_limits_no_warning() -> None:
    warnings: list[tuple[str, str]] = []
    dns(pod(), warnings=warnings)
    assert warnings == []


def test_dns_type_of_each_policy() -> None:
    assert [dns_type(pod(p)) for p in (None, "ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")] == [
        "cluster", "cluster", "cluster", "host", "none"]
    assert dns_type(pod("ClusterFirst", host_network=True)) == "host"


def test_parse_resolv_conf_like_the_kubelet() -> None:
    text = ("# generated\nnameserver 10.0.0.2\nsearch old.example\nnameserver 10.0.0.3 ; x\n"
            "search a.example. . b.example\noptions ndots:2 timeout:1\noptions ndots:3 rotate\n")
    assert parse_resolv_conf(text) == ResolvConf(("10.0.0.2", "10.0.0.3"), ("a.example", "b.example"),
                                                 ("ndots:3", "timeout:1", "rotate"))


def test_host_resolver_for_pods_drops_loopback_nameservers(tmp_path: Path) -> None:
    path = tmp_path / "resolv.conf"
    path.write_text("nameserver 127.0.0.53\nsearch corp.example\noptions edns0 trust-ad\n")
    assert host_resolv_for_pods(path) == ResolvConf(("127.0.0.11",), ("corp.example",), ("edns0", "trust-ad"))
    path.write_text("nameserver 127.0.0.1\nnameserver 10.0.0.2\n")
    assert host_resolv_for_pods(path).nameservers == ("10.0.0.2",)
    assert host_resolv_for_pods(tmp_path / "missing").nameservers == ("127.0.0.11",)


def test_configurer_and_sandbox_config() -> None:
    configurer = PodDNSConfigurer(("10.96.0.10",), "cluster.local", HOST)
    config = compute_sandbox_config(pod(), "node-1", dns=configurer.pod_dns(pod()))
    assert config.dns_servers == ("10.96.0.10",)
    assert config.dns_searches[:3] == CLUSTER_SEARCH
    assert config.dns_options == ("ndots:5",)
    # without dns: the previous behaviour (spec.dnsConfig only)
    legacy = compute_sandbox_config(pod(dns_config={"nameservers": ["1.2.3.4"], "options": [{"name": "ndots",
                                                                                              "value": "1"}]}), "n")
    assert (legacy.dns_servers, legacy.dns_searches, legacy.dns_options) == (("1.2.3.4",), (), ("ndots:1",))
