"""The EndpointSlice controller: given a Service, pods and nodes in the caches, reconcile writes these slices."""

from __future__ import annotations

from typing import Any

from apimachinery.names import generate_name
from controller_manager.endpoints_trigger_time import ANNOTATION
from controller_manager.endpointslice import EndpointSliceController
from controller_manager.endpointslice_compute import desired_endpoints
from controller_manager.endpointslice_reconciler import compute_slice_changes
from tests.unit.controller_manager.harness import Harness
from tests.unit.controller_manager.test_endpoints import pod, service

Object = dict[str, Any]
SLICES = "endpointslices.discovery.k8s.io"
NODE = {"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "node-1", "labels": {"topology.kubernetes.io/zone": "zone-a"}}}


def harness(*objects: Object, **options: Any) -> Harness:
    """A Harness whose fake API names objects from metadata.generateName, as the apiserver does."""
    h = Harness(EndpointSliceController, [NODE, *objects], options)
    create = h.api.create

    async def create_generating_names(obj: Object, **kwargs: Any) -> Object:
        meta = obj.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            obj = {**obj, "metadata": {**meta, "name": generate_name(meta["generateName"])}}
        return await create(obj, **kwargs)

    h.api.create = create_generating_names  # type: ignore[method-assign]
    return h


async def slices_after(h: Harness, key: str = "default/web") -> list[Object]:
    await h.reconcile(key)
    h.sync_caches()
    return h.all(SLICES)


def ips(slice_: Object) -> list[str]:
    return [a for e in slice_["endpoints"] for a in e["addresses"]]


async def test_a_service_gets_a_slice_named_after_it_labelled_and_owned():
    (slice_,) = await slices_after(harness(service(), pod("a", "10.0.0.1"), pod("b", "10.0.0.2")))
    meta = slice_["metadata"]
    assert meta["name"].startswith("web-") and len(meta["name"]) == len("web-") + 5
    assert meta["labels"] == {"tier": "front", "kubernetes.io/service-name": "web",
                              "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
    assert meta["ownerReferences"] == [{"apiVersion": "v1", "kind": "Service", "name": "web", "uid": "uid-web",
                                        "controller": True, "blockOwnerDeletion": True}]
    assert slice_["addressType"] == "IPv4"
    assert slice_["ports"] == [{"name": "", "port": 8080, "protocol": "TCP"}]
    assert ips(slice_) == ["10.0.0.1", "10.0.0.2"]


async def test_an_endpoint_names_its_pod_node_and_zone():
    (slice_,) = await slices_after(harness(service(), pod("a", "10.0.0.1")))
    assert slice_["endpoints"] == [{
        "addresses": ["10.0.0.1"], "conditions": {"ready": True, "serving": True, "terminating": False},
        "targetRef": {"kind": "Pod", "namespace": "default", "name": "a", "uid": "uid-a"},
        "nodeName": "node-1", "zone": "zone-a"}]


async def test_conditions_follow_readiness_and_termination():
    (slice_,) = await slices_after(harness(service(), pod("a", "10.0.0.1", ready=False),
                                           pod("b", "10.0.0.2", deleting=True)))
    conditions = {e["targetRef"]["name"]: e["conditions"] for e in slice_["endpoints"]}
    assert conditions == {"a": {"ready": False, "serving": False, "terminating": False},
                          "b": {"ready": False, "serving": True, "terminating": True}}


async def test_publish_not_ready_addresses_makes_every_endpoint_ready():
    (slice_,) = await slices_after(harness(service(publishNotReadyAddresses=True), pod("a", "10.0.0.1", ready=False)))
    assert slice_["endpoints"][0]["conditions"] == {"ready": True, "serving": False, "terminating": False}


async def test_pods_whose_named_port_resolves_differently_land_in_different_slices():
    svc = service(ports=[{"name": "http", "port": 80, "targetPort": "web", "protocol": "TCP"}])
    slices = await slices_after(harness(svc, pod("a", "10.0.0.1", ports=[{"name": "web", "containerPort": 8080}]),
                                        pod("b", "10.0.0.2", ports=[{"name": "web", "containerPort": 9090}])))
    assert sorted((s["ports"][0]["port"], tuple(ips(s))) for s in slices) == [
        (8080, ("10.0.0.1",)), (9090, ("10.0.0.2",))]
    assert {s["ports"][0]["name"] for s in slices} == {"http"}


async def test_slices_hold_at_most_max_endpoints_per_slice():
    pods = [pod(f"p{i}", f"10.0.0.{i + 1}") for i in range(5)]
    slices = await slices_after(harness(service(), *pods, max_endpoints_per_slice=2))
    assert sorted(len(s["endpoints"]) for s in slices) == [1, 2, 2]


async def test_a_service_without_pods_gets_one_empty_placeholder_slice_and_keeps_it():
    h = harness(service())
    (slice_,) = await slices_after(h)
    assert slice_["endpoints"] == [] and slice_["ports"] == []
    h.api.calls.clear()
    assert await slices_after(h) == [slice_]
    assert h.writes() == []


async def test_nothing_changed_means_no_writes():
    h = harness(service(), pod("a", "10.0.0.1"))
    await slices_after(h)
    h.api.calls.clear()
    await slices_after(h)
    assert h.writes() == []


async def test_a_pod_turning_not_ready_updates_its_slice_in_place():
    h = harness(service(), pod("a", "10.0.0.1"), pod("b", "10.0.0.2"))
    (before,) = await slices_after(h)
    h.put(pod("a", "10.0.0.1", ready=False))
    h.sync_caches()
    h.api.calls.clear()
    (after,) = await slices_after(h)
    assert h.writes() == [("update", SLICES, "default", before["metadata"]["name"])]
    assert {e["targetRef"]["name"]: e["conditions"]["ready"] for e in after["endpoints"]} == {"a": False, "b": True}


async def test_a_deleted_pod_is_removed_and_the_last_one_leaves_the_placeholder():
    h = harness(service(), pod("a", "10.0.0.1"))
    (before,) = await slices_after(h)
    del h.api.objects[("pods", "default", "a")]
    h.sync_caches()
    h.api.calls.clear()
    (after,) = await slices_after(h)
    assert h.writes() == [("update", SLICES, "default", before["metadata"]["name"])]
    assert after["endpoints"] == [] and after["ports"] == []


async def test_slices_carry_the_last_change_trigger_time_of_the_service_then_of_the_pod():
    h = harness(service(), pod("a", "10.0.0.1", ready=False))
    (first,) = await slices_after(h)
    assert first["metadata"]["annotations"][ANNOTATION] == "2026-01-01T00:00:00Z"  # the Service's creation
    became_ready = pod("a", "10.0.0.1")
    became_ready["status"]["conditions"][0]["lastTransitionTime"] = "2026-01-01T00:05:00Z"
    h.put(became_ready)
    h.sync_caches()
    (second,) = await slices_after(h)
    assert second["metadata"]["annotations"][ANNOTATION] == "2026-01-01T00:05:00Z"


async def test_a_slice_of_an_earlier_service_with_the_same_name_is_replaced():
    h = harness(service(), pod("a", "10.0.0.1"))
    (old,) = await slices_after(h)
    h.put(service() | {"metadata": {"name": "web", "namespace": "default", "uid": "uid-web-2"}})
    h.sync_caches()
    h.api.calls.clear()
    (new,) = await slices_after(h)
    assert new["metadata"]["name"] != old["metadata"]["name"]
    assert new["metadata"]["ownerReferences"][0]["uid"] == "uid-web-2"


async def test_a_pod_on_an_unknown_node_is_skipped_and_the_service_retried():
    h = harness(service(), pod("a", "10.0.0.1"), pod("b", "10.0.0.2", node="node-gone"))
    try:
        await h.reconcile("default/web")
    except Exception as e:  # the controller's worker requeues the key with back-off
        assert "node-gone" in str(e) or "b" in str(e)
    else:
        raise AssertionError("expected the reconcile to fail so the Service is retried")
    h.sync_caches()
    (slice_,) = h.all(SLICES)
    assert ips(slice_) == ["10.0.0.1"]


async def test_a_stale_slice_cache_defers_the_reconcile_instead_of_duplicating_slices():
    h = harness(service(), pod("a", "10.0.0.1"))
    await h.reconcile("default/web")  # the slice is created but the cache has not seen it
    try:
        await h.reconcile("default/web")
    except Exception as e:
        assert "out of date" in str(e)
    else:
        raise AssertionError("expected a stale-cache error")
    assert len(h.all(SLICES)) == 1


async def test_services_without_a_selector_get_no_slices():
    h = harness(service(selector={}), pod("a", "10.0.0.1"))
    assert await slices_after(h) == []


def test_the_planner_fills_slices_being_updated_before_creating_new_ones():
    svc = service()
    svc["metadata"]["uid"] = "uid-web"
    pods = [pod(f"p{i}", f"10.0.0.{i + 1}") for i in range(3)]
    first = compute_slice_changes(svc, [], desired_endpoints(svc, pods[:2], {"node-1": NODE}), 3)
    (created,) = first.create
    created["metadata"]["name"] = "web-abcde"
    later = desired_endpoints(svc, [pods[0], pods[2]], {"node-1": NODE})  # p1 gone, p2 new
    changes = compute_slice_changes(svc, [created], later, 3)
    assert (changes.create, changes.delete) == ([], [])
    assert [ips(s) for s in changes.update] == [["10.0.0.1", "10.0.0.3"]]
