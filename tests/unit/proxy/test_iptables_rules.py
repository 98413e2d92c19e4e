"""The pure side of the proxy: service ports from Services + EndpointSlices, and the iptables ruleset."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from proxy import conntrack
from proxy.iptables import cleanup_text, jump_fixes
from proxy.iptables_rules import (
    JUMPS,
    ProxyConfig,
    endpoint_chain,
    iptables_ruleset,
    restore_text,
    service_chain,
    userspace_ruleset,
)
from proxy.model import Endpoint, ServicePort, build_service_ports

NODE = "node-1"


def service(name: str = "web", cluster_ip: str = "10.96.0.10", ports: list[dict[str, Any]] | None = None,
            **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {"clusterIP": cluster_ip, "ports": ports or [{"name": "http", "port": 80, "protocol": "TCP"}],
                     **spec}}


def endpoint_slice(service_name: str, endpoints: list[tuple[str, bool]], port: int = 8080, port_name: str = "http",
                   protocol: str = "TCP", node: str = NODE) -> dict[str, Any]:
    return {"metadata": {"name": f"{service_name}-abc", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": service_name}},
            "addressType": "IPv4", "ports": [{"name": port_name, "port": port, "protocol": protocol}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": ready}, "nodeName": node}
                          for ip, ready in endpoints]}


def web(*ips: str, **extra: Any) -> ServicePort:
    return ServicePort("default", "web", "http", extra.pop("protocol", "TCP"), "10.96.0.10", 80,
                       endpoints=[Endpoint(ip, 8080, NODE) for ip in ips], **extra)


def rules_of(port: ServicePort, config: ProxyConfig | None = None) -> dict[str, list[str]]:
    return iptables_ruleset([port], config or ProxyConfig(NODE)).rules


def chain_rules(lines: list[str], chain: str) -> list[str]:
    return [line for line in lines if line.startswith(f"-A {chain} ")]


# --- model -----------------------------------------------------------------------------------------------------


def test_only_ready_endpoints_and_matching_ports_are_kept():
    slices = [endpoint_slice("web", [("10.0.0.1", True), ("10.0.0.2", False), ("10.0.0.3", True)]),
              endpoint_slice("web", [("10.0.0.9", True)], port_name="other")]
    [port] = build_service_ports([service()], slices)
    assert [e.address for e in port.endpoints] == ["10.0.0.1:8080", "10.0.0.3:8080"]
    assert port.port_string == "default/web:http"


def test_headless_and_external_name_services_get_nothing():
    assert build_service_ports([service(cluster_ip="None"), service("x", type="ExternalName")], []) == []


def test_node_ports_affinity_and_policies_are_read_from_the_spec():
    svc = service(type="NodePort", ports=[{"name": "http", "port": 80, "nodePort": 30080}], sessionAffinity="ClientIP",
                  externalTrafficPolicy="Local", internalTrafficPolicy="Local")
    [port] = build_service_ports([svc], [])
    assert (port.node_port, port.affinity_timeout, port.external_local, port.internal_local) == (30080, 10800,
                                                                                                 True, True)


# --- chains and probabilities --------------------------------------------------------------------------------


def test_chain_names_are_kube_proxys_hash_cut_to_fit():
    expected = base64.b32encode(hashlib.sha256(b"default/web:httptcp").digest()).decode()[:15]
    assert service_chain(web()) == f"KUBELING-SVC-{expected}"
    assert len(endpoint_chain(web(), Endpoint("10.0.0.1", 8080))) <= 28
    assert service_chain(web()) == service_chain(web("10.0.0.1"))  # stable: endpoints do not change the name


def test_two_endpoints_half_then_the_rest():
    rules = rules_of(web("10.0.0.1", "10.0.0.2"))
    svc = service_chain(web())
    jumps = chain_rules(rules["nat"], svc)
    assert "--probability 0.5000000000" in jumps[0] and endpoint_chain(web(), Endpoint("10.0.0.1", 8080)) in jumps[0]
    assert "statistic" not in jumps[1] and jumps[1].endswith(endpoint_chain(web(), Endpoint("10.0.0.2", 8080)))
    sep = chain_rules(rules["nat"], endpoint_chain(web(), Endpoint("10.0.0.1", 8080)))
    assert sep[0].endswith("-s 10.0.0.1/32 -j KUBELING-MARK-MASQ")
    assert sep[1].endswith("-p tcp -m tcp -j DNAT --to-destination 10.0.0.1:8080")
    [entry] = [r for r in chain_rules(rules["nat"], "KUBELING-SERVICES") if svc in r]
    assert "-d 10.96.0.10/32 -p tcp -m tcp --dport 80" in entry


def test_four_endpoints_get_a_quarter_a_third_a_half_then_the_rest():
    rules = rules_of(web("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"))
    probabilities = [r.split("--probability ")[1].split()[0] if "probability" in r else None
                     for r in chain_rules(rules["nat"], service_chain(web()))]
    assert probabilities == ["0.2500000000", "0.3333333333", "0.5000000000", None]


def test_no_ready_endpoint_rejects_in_the_filter_table():
    rules = rules_of(web())
    assert not any(service_chain(web()) in r for r in rules["nat"])
    [reject] = chain_rules(rules["filter"], "KUBELING-SERVICES")
    assert "has no endpoints" in reject and "-d 10.96.0.10/32" in reject and reject.endswith("-j REJECT")


def test_node_port_goes_through_the_ext_chain_and_is_masqueraded():
    port = web("10.0.0.1", node_port=30080)
    rules = rules_of(port)
    ext = service_chain(port, "EXT")
    [entry] = chain_rules(rules["nat"], "KUBELING-NODEPORTS")
    assert "-p tcp -m tcp --dport 30080" in entry and entry.endswith(f"-j {ext}")
    assert [r.split(" -j ")[-1] for r in chain_rules(rules["nat"], ext)] == ["KUBELING-MARK-MASQ",
                                                                             service_chain(port)]
    assert chain_rules(rules["nat"], "KUBELING-SERVICES")[-1].endswith(
        "-m addrtype --dst-type LOCAL -j KUBELING-NODEPORTS")
    assert any("--or-mark 0x4000" in r for r in rules["nat"])
    assert any("MASQUERADE" in r for r in chain_rules(rules["nat"], "KUBELING-POSTROUTING"))


def test_node_port_without_endpoints_is_rejected_for_external_clients():
    rules = rules_of(web(node_port=30080))
    [reject] = chain_rules(rules["filter"], "KUBELING-EXTERNAL-SERVICES")
    assert "--dport 30080" in reject and reject.endswith("-j REJECT")


def test_external_traffic_policy_local_uses_only_this_nodes_endpoints():
    port = web("10.0.0.1", node_port=30080, external_local=True)
    port.endpoints.append(Endpoint("10.0.0.2", 8080, "node-2"))
    rules = rules_of(port)
    svl = chain_rules(rules["nat"], service_chain(port, "SVL"))
    assert len(svl) == 1 and "10.0.0.1" in svl[0]
    assert chain_rules(rules["nat"], service_chain(port, "EXT"))[-1].endswith(f"-j {service_chain(port, 'SVL')}")
    other_node = rules_of(port, ProxyConfig("node-3"))
    assert any("has no local endpoints" in r and r.endswith("-j DROP") for r in other_node["filter"])


def test_internal_traffic_policy_local_drops_when_no_local_endpoint():
    port = web("10.0.0.1", internal_local=True)
    assert any(service_chain(port, "SVL") in r for r in chain_rules(rules_of(port)["nat"], "KUBELING-SERVICES"))
    [drop] = chain_rules(rules_of(port, ProxyConfig("node-2"))["filter"], "KUBELING-SERVICES")
    assert drop.endswith("-j DROP")


def test_client_ip_affinity_checks_recent_clients_first():
    port = web("10.0.0.1", "10.0.0.2", affinity_timeout=60)
    rules = rules_of(port)
    svc_rules = chain_rules(rules["nat"], service_chain(port))
    sep1 = endpoint_chain(port, port.endpoints[0])
    assert f"-m recent --name {sep1} --rcheck --seconds 60 --reap -j {sep1}" in svc_rules[0]
    assert "recent" in svc_rules[1] and "statistic" in svc_rules[2] and "recent" not in svc_rules[3]
    assert f"-m recent --name {sep1} --set" in chain_rules(rules["nat"], sep1)[1]


def test_udp_ports_match_udp():
    port = web("10.0.0.1", protocol="UDP")
    rules = rules_of(port)
    assert "-p udp -m udp --dport 80" in next(r for r in rules["nat"] if service_chain(port) in r)
    assert service_chain(port) != service_chain(web("10.0.0.1"))


def test_cluster_cidr_masquerades_traffic_from_outside_the_pod_network():
    rules = rules_of(web("10.0.0.1"), ProxyConfig(NODE, cluster_cidr="10.244.0.0/16"))
    assert chain_rules(rules["nat"], service_chain(web()))[0].endswith(
        "! -s 10.244.0.0/16 -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j KUBELING-MARK-MASQ")


# --- restore input, jumps, cleanup ---------------------------------------------------------------------------


def test_restore_text_rewrites_our_chains_and_deletes_stale_ones():
    text = restore_text(iptables_ruleset([web("10.0.0.1")], ProxyConfig(NODE)),
                        {"nat": ["PREROUTING", "DOCKER", "KUBELING-SVC-OLD"], "filter": []})
    nat = text.split("*filter")[0]
    assert ":KUBELING-SVC-OLD - [0:0]" in nat and "-X KUBELING-SVC-OLD" in nat
    assert "DOCKER" not in text and "PREROUTING" not in text and text.count("COMMIT") == 2


def test_missing_jumps_are_inserted_and_duplicates_removed():
    saved = {"nat": f"*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING {JUMPS[0].spec}\n-A PREROUTING {JUMPS[0].spec}\n",
             "filter": ""}
    fixes = jump_fixes(saved)
    assert fixes["nat"].count(f"-D PREROUTING {JUMPS[0].spec}") == 1
    assert not any(f.startswith("-I PREROUTING") for f in fixes["nat"])
    assert f"-I OUTPUT 1 {JUMPS[1].spec}" in fixes["nat"]
    assert len(fixes["filter"]) == len([j for j in JUMPS if j.table == "filter"])


def test_cleanup_removes_only_our_jumps_and_chains():
    saved = {"nat": ("*nat\n:PREROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n:KUBELING-SERVICES - [0:0]\n"
                     "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n"
                     f"-A PREROUTING {JUMPS[0].spec}\n-A KUBELING-SERVICES -j ACCEPT\nCOMMIT\n"),
             "filter": "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"}
    text = cleanup_text(saved)
    assert f"-D PREROUTING {JUMPS[0].spec}" in text and "-X KUBELING-SERVICES" in text
    assert "DOCKER" not in text


def test_userspace_rules_redirect_to_the_local_proxy_port():
    port = web("10.0.0.1", node_port=30080)
    rules = userspace_ruleset([(port, 40000)], ProxyConfig(NODE), "0.0.0.0").rules["nat"]
    assert any("-d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 40000" in r for r in rules)
    assert any("--dport 30080 -j REDIRECT --to-ports 40000" in r for r in rules)
    bound = userspace_ruleset([(port, 40000)], ProxyConfig(NODE), "10.244.0.1").rules["nat"]
    assert any(r.endswith("-j DNAT --to-destination 10.244.0.1:40000") for r in bound)


def test_stale_udp_flows_after_an_endpoint_goes_away():
    before = [web("10.0.0.1", "10.0.0.2", protocol="UDP", node_port=30053)]
    after = [web("10.0.0.2", protocol="UDP", node_port=30053)]
    assert conntrack.stale_udp_flows(before, after) == [
        ["-p", "udp", "--orig-dst", "10.96.0.10", "--dst-nat", "10.0.0.1"],
        ["-p", "udp", "--orig-port-dst", "30053", "--dst-nat", "10.0.0.1"]]
    assert conntrack.stale_udp_flows([web(protocol="UDP")], after) == [
        ["-p", "udp", "--orig-dst", "10.96.0.10"], ["-p", "udp", "--orig-port-dst", "30053"]]
    assert conntrack.stale_udp_flows([], after)[0] == ["-p", "udp", "--orig-dst", "10.96.0.10"]  # a new service
    assert conntrack.stale_udp_flows([web("10.0.0.1")], []) == []  # TCP needs nothing
