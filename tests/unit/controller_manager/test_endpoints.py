"""The Endpoints controller: given a Service and pods in the caches, reconcile writes these Endpoints."""

from __future__ import annotations

from typing import Any

from controller_manager.endpoints import EndpointsController
from controller_manager.endpoints_compute import repack_subsets
from controller_manager.endpoints_trigger_time import ANNOTATION
from tests.unit.controller_manager.harness import Harness

Object = dict[str, Any]


def service(name: str = "web", *, selector: dict[str, str] | None = None, ports: list[Object] | None = None,
            **spec: Any) -> Object:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default", "labels": {"tier": "front"}},
            "spec": {"selector": {"app": "web"} if selector is None else selector, "clusterIP": "10.96.0.10",
                     "ipFamilies": ["IPv4"], "type": "ClusterIP",
                     "ports": ports if ports is not None else [{"port": 80, "targetPort": 8080, "protocol": "TCP"}],
                     **spec}}


def pod(name: str, ip: str, *, ready: bool = True, labels: dict[str, str] | None = None, node: str = "node-1",
        ports: list[Object] | None = None, deleting: bool = False, phase: str = "Running", **spec: Any) -> Object:
    meta: Object = {"name": name, "namespace": "default", "uid": f"uid-{name}",
                    "labels": {"app": "web"} if labels is None else labels}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:01:00Z"
    container: Object = {"name": "app", "image": "nginx"}
    if ports:
        container["ports"] = ports
    status: Object = {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": "2026-01-01T00:00:30Z"}]}
    if ip:
        status.update(podIP=ip, podIPs=[{"ip": ip}])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"nodeName": node, "containers": [container], **spec}, "status": status}


def address(name: str, ip: str, node: str = "node-1") -> Object:
    return {"ip": ip, "nodeName": node,
            "targetRef": {"kind": "Pod", "namespace": "default", "name": name, "uid": f"uid-{name}"}}


async def endpoints_after(*objects: Object) -> Object | None:
    h = Harness(EndpointsController, objects)
    await h.reconcile("default/web")
    return h.stored("endpoints", "web", "default")


async def test_ready_pods_become_addresses_with_the_target_port():
    ep = await endpoints_after(service(), pod("a", "10.0.0.1"), pod("b", "10.0.0.2"))
    assert ep is not None
    assert ep["subsets"] == [{"addresses": [address("a", "10.0.0.1"), address("b", "10.0.0.2")],
                              "ports": [{"port": 8080, "protocol": "TCP"}]}]
    assert ep["metadata"]["labels"] == {"tier": "front"}


async def test_not_ready_pods_are_listed_as_not_ready_addresses():
    ep = await endpoints_after(service(), pod("a", "10.0.0.1"), pod("b", "10.0.0.2", ready=False))
    assert ep is not None
    assert ep["subsets"] == [{"addresses": [address("a", "10.0.0.1")],
                              "notReadyAddresses": [address("b", "10.0.0.2")],
                              "ports": [{"port": 8080, "protocol": "TCP"}]}]


async def test_publish_not_ready_addresses_lists_every_pod_as_ready_even_terminating_ones():
    svc = service(publishNotReadyAddresses=True)
    ep = await endpoints_after(svc, pod("a", "10.0.0.1", ready=False), pod("b", "10.0.0.2", deleting=True))
    assert ep is not None
    assert [a["ip"] for a in ep["subsets"][0]["addresses"]] == ["10.0.0.1", "10.0.0.2"]
    assert "notReadyAddresses" not in ep["subsets"][0]


async def test_terminating_finished_and_ip_less_pods_are_left_out():
    ep = await endpoints_after(service(), pod("a", "10.0.0.1"), pod("b", "10.0.0.2", deleting=True),
                               pod("c", "10.0.0.3", phase="Succeeded"), pod("d", ""))
    assert ep is not None
    assert [a["ip"] for s in ep["subsets"] for a in s.get("addresses", [])] == ["10.0.0.1"]


async def test_pods_not_matching_the_selector_are_ignored():
    ep = await endpoints_after(service(), pod("a", "10.0.0.1"), pod("other", "10.0.0.9", labels={"app": "db"}))
    assert ep is not None
    assert [a["targetRef"]["name"] for a in ep["subsets"][0]["addresses"]] == ["a"]


async def test_a_named_target_port_resolves_per_pod_into_separate_subsets():
    svc = service(ports=[{"name": "http", "port": 80, "targetPort": "web", "protocol": "TCP"}])
    ep = await endpoints_after(
        svc, pod("a", "10.0.0.1", ports=[{"name": "web", "containerPort": 8080}]),
        pod("b", "10.0.0.2", ports=[{"name": "web", "containerPort": 9090}]),
        pod("c", "10.0.0.3", ports=[{"name": "web", "containerPort": 8080}]),
        pod("d", "10.0.0.4", ports=[{"name": "metrics", "containerPort": 9100}]))
    assert ep is not None
    by_port = {s["ports"][0]["port"]: [a["ip"] for a in s["addresses"]] for s in ep["subsets"]}
    assert by_port == {8080: ["10.0.0.1", "10.0.0.3"], 9090: ["10.0.0.2"]}
    assert ep["subsets"][0]["ports"][0]["name"] == "http"


async def test_a_named_port_must_match_the_service_port_protocol():
    svc = service(ports=[{"name": "dns", "port": 53, "targetPort": "dns", "protocol": "UDP"}])
    ep = await endpoints_after(svc, pod("a", "10.0.0.1", ports=[{"name": "dns", "containerPort": 53}]))
    assert ep is not None
    assert ep["subsets"] == []


async def test_hostname_is_set_when_the_pod_subdomain_is_the_service_name():
    ep = await endpoints_after(service(clusterIP="None", ports=[]),
                               pod("a", "10.0.0.1", hostname="a-host", subdomain="web"),
                               pod("b", "10.0.0.2", hostname="b-host", subdomain="other"))
    assert ep is not None
    addresses = ep["subsets"][0]["addresses"]
    assert [a.get("hostname") for a in addresses] == ["a-host", None]
    assert "ports" not in ep["subsets"][0]
    assert ep["metadata"]["labels"]["service.kubernetes.io/headless"] == ""


async def test_the_endpoints_carry_the_last_change_trigger_time():
    ep = await endpoints_after(service() | {"metadata": {"name": "web", "namespace": "default",
                                                         "creationTimestamp": "2026-01-01T00:00:10Z"}},
                               pod("a", "10.0.0.1"))
    assert ep is not None
    assert ep["metadata"]["annotations"][ANNOTATION] == "2026-01-01T00:00:10Z"


async def test_a_second_reconcile_with_nothing_changed_writes_nothing():
    h = Harness(EndpointsController, [service(), pod("a", "10.0.0.1")])
    await h.reconcile("default/web")
    h.sync_caches()
    h.api.calls.clear()
    await h.reconcile("default/web")
    assert h.writes() == []


async def test_a_pod_turning_not_ready_updates_the_endpoints():
    h = Harness(EndpointsController, [service(), pod("a", "10.0.0.1")])
    await h.reconcile("default/web")
    h.put(pod("a", "10.0.0.1", ready=False))
    h.sync_caches()
    h.api.calls.clear()
    await h.reconcile("default/web")
    assert h.writes() == [("update", "endpoints", "default", "web")]
    stored = h.stored("endpoints", "web", "default")
    assert stored is not None and "addresses" not in stored["subsets"][0]


async def test_services_without_a_selector_are_left_alone():
    manual = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web", "namespace": "default"},
              "subsets": [{"addresses": [{"ip": "192.0.2.1"}], "ports": [{"port": 80, "protocol": "TCP"}]}]}
    h = Harness(EndpointsController, [service(selector={}), pod("a", "10.0.0.1"), manual])
    await h.reconcile("default/web")
    assert h.writes() == []


async def test_external_name_services_get_no_endpoints():
    h = Harness(EndpointsController, [service(type="ExternalName", externalName="example.com"), pod("a", "10.0.0.1")])
    await h.reconcile("default/web")
    assert h.writes() == []


async def test_the_endpoints_are_deleted_when_the_service_is_gone():
    leftover = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web", "namespace": "default"}}
    h = Harness(EndpointsController, [leftover])
    await h.reconcile("default/web")
    assert h.writes() == [("delete", "endpoints", "default", "web")]


async def test_a_pod_event_enqueues_the_services_that_select_it():
    h = Harness(EndpointsController, [service(), service("db", selector={"app": "db"})])
    controller = h.controller
    assert isinstance(controller, EndpointsController)
    controller._pod_changed(pod("a", "10.0.0.1"))
    assert h.controller.queue.len() == 1
    assert await h.controller.queue.get() == "default/web"


def test_repack_merges_addresses_serving_the_same_ports_and_keeps_not_ready_apart():
    port = {"port": 80, "protocol": "TCP"}
    singles = [{"addresses": [address("a", "10.0.0.1")], "ports": [port]},
               {"addresses": [address("b", "10.0.0.2")], "ports": [port]},
               {"notReadyAddresses": [address("c", "10.0.0.3")], "ports": [port]}]
    assert repack_subsets(singles) == [{"addresses": [address("a", "10.0.0.1"), address("b", "10.0.0.2")],
                                        "notReadyAddresses": [address("c", "10.0.0.3")], "ports": [port]}]


def test_repack_puts_an_address_ready_on_one_port_only_in_its_own_subset():
    p80, p443 = {"port": 80, "protocol": "TCP"}, {"port": 443, "protocol": "TCP"}
    singles = [{"addresses": [address("a", "10.0.0.1")], "ports": [p80]},
               {"addresses": [address("a", "10.0.0.1")], "ports": [p443]},
               {"addresses": [address("b", "10.0.0.2")], "ports": [p80]}]
    packed = repack_subsets(singles)
    assert {(tuple(a["ip"] for a in s["addresses"]), tuple(p["port"] for p in s["ports"])) for s in packed} == {
        (("10.0.0.1",), (443,)), (("10.0.0.1", "10.0.0.2"), (80,))}
