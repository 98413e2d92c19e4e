"""Server-side apply as pure decisions: merge, prune, shared ownership, conflicts and force."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from apimachinery import errors
from apimachinery.kinds import ResourceType, default_registry
from apimachinery.managed_fields import decode_managed_fields
from apiserver.registry.apply import compute_apply, decode_apply_body
from apiserver.registry.field_manager import compute_update_managed_fields

KINDS = default_registry()


def kind(group: str, plural: str) -> ResourceType:
    found = KINDS.get(group, plural)
    assert found is not None
    return found


DEPLOY, CM = kind("apps", "deployments"), kind("", "configmaps")
T1, T2 = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"


def config(replicas: int | None = 2, **container: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": "web"}},
                            "template": {"metadata": {"labels": {"app": "web"}},
                                         "spec": {"containers": [{"name": "web", "image": "nginx", **container}]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": spec}


def stored(obj: dict[str, Any]) -> dict[str, Any]:
    """What the registry would hand back: server metadata around the applied result."""
    obj = copy.deepcopy(obj)
    obj["metadata"].update(namespace="default", uid="u1", resourceVersion="7")
    return obj


def apply(live: dict[str, Any] | None, applied: dict[str, Any], manager: str = "mgr", force: bool = False,
          now: str = T1) -> dict[str, Any]:
    return compute_apply(DEPLOY, live, copy.deepcopy(applied), manager, force, now)


def managers(obj: dict[str, Any]) -> dict[str, set[str]]:
    from apimachinery.managed_fields import path_string
    return {e.manager: {path_string(p) for p in e.fields}
            for e in decode_managed_fields(obj["metadata"]["managedFields"])}


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return obj["spec"]["template"]["spec"]["containers"]


def test_apply_to_nothing_builds_the_object_and_one_apply_entry():
    obj = apply(None, config())
    assert obj["spec"]["replicas"] == 2
    [entry] = obj["metadata"]["managedFields"]
    assert entry["manager"] == "mgr" and entry["operation"] == "Apply" and entry["time"] == T1
    assert entry["apiVersion"] == "apps/v1" and entry["fieldsType"] == "FieldsV1"
    assert ".spec.replicas" in managers(obj)["mgr"]


def test_reapplying_the_same_configuration_changes_nothing_not_even_the_time():
    live = stored(apply(None, config()))
    again = apply(live, config(), now=T2)
    assert again == live


def test_a_field_no_longer_applied_is_removed():
    live = stored(apply(None, config(env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])))
    obj = apply(live, config(env=[{"name": "B", "value": "2"}]), now=T2)
    assert containers(obj)[0]["env"] == [{"name": "B", "value": "2"}]
    assert '.spec.template.spec.containers[name="web"].env[name="A"]' not in managers(obj)["mgr"]


def test_a_field_no_longer_applied_stays_when_another_manager_owns_it_too():
    live = stored(apply(stored(apply(None, config(), "other")), config()))
    obj = apply(live, config(replicas=None), now=T2)
    assert obj["spec"]["replicas"] == 2
    assert ".spec.replicas" in managers(obj)["other"]
    assert ".spec.replicas" not in managers(obj)["mgr"]


def test_applying_the_same_value_another_manager_set_shares_ownership():
    live = stored(apply(None, config(), "other"))
    obj = apply(live, config())
    owners = managers(obj)
    assert ".spec.replicas" in owners["other"] and ".spec.replicas" in owners["mgr"]


def test_changing_a_field_another_manager_owns_is_a_conflict_worded_as_kubernetes_does():
    live = stored(apply(None, config(), "other"))
    with pytest.raises(errors.Conflict) as raised:
        apply(live, config(replicas=3))
    status = raised.value.to_status()
    assert status["code"] == 409 and status["reason"] == "Conflict"
    assert status["message"] == 'Apply failed with 1 conflict: conflict with "other": .spec.replicas'
    assert status["details"]["causes"] == [{"type": "FieldManagerConflict", "message": 'conflict with "other"',
                                            "field": ".spec.replicas"}]


def test_every_conflict_is_listed_by_manager():
    live = stored(apply(None, config(), "other"))
    with pytest.raises(errors.Conflict) as raised:
        apply(live, config(replicas=3, image="nginx:2"))
    assert raised.value.message == ('Apply failed with 2 conflicts: conflicts with "other":\n- .spec.replicas\n'
                                    '- .spec.template.spec.containers[name="web"].image')


def test_an_updater_is_named_with_its_api_version_and_subresource():
    live = stored(apply(None, config()))
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 5
    scaled["metadata"]["managedFields"] = compute_update_managed_fields(DEPLOY, live, scaled, "kubectl", "scale", T2)
    with pytest.raises(errors.Conflict) as raised:
        apply(scaled, config(replicas=3))
    assert raised.value.message == ('Apply failed with 1 conflict: conflict with "kubectl" with subresource '
                                    '"scale" using apps/v1: .spec.replicas')


def test_force_takes_the_conflicting_fields():
    live = stored(apply(None, config(), "other"))
    obj = apply(live, config(replicas=3), force=True)
    owners = managers(obj)
    assert obj["spec"]["replicas"] == 3
    assert ".spec.replicas" in owners["mgr"] and ".spec.replicas" not in owners["other"]


def test_containers_merge_by_name_keeping_another_managers_container():
    live = stored(apply(None, config()))
    live["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    obj = apply(live, config(image="nginx:2"), now=T2)
    assert [(c["name"], c["image"]) for c in containers(obj)] == [("web", "nginx:2"), ("sidecar", "busybox")]


def test_ports_merge_by_port_and_an_atomic_list_is_replaced():
    live = stored(apply(None, config(ports=[{"containerPort": 80}], args=["a", "b"])))
    live["spec"]["template"]["spec"]["containers"][0]["ports"][0].update(protocol="TCP", name="http")  # defaulted
    obj = apply(live, config(ports=[{"containerPort": 80}, {"containerPort": 443}], args=["c"]), now=T2)
    assert containers(obj)[0]["ports"] == [{"containerPort": 80, "protocol": "TCP", "name": "http"},
                                           {"containerPort": 443}]
    assert containers(obj)[0]["args"] == ["c"]


def test_the_first_apply_to_an_untracked_object_keeps_its_fields_with_before_first_apply():
    live = stored(config())
    live["spec"]["paused"] = True
    obj = apply(live, config())
    assert obj["spec"]["paused"] is True
    assert ".spec.paused" in managers(obj)["before-first-apply"]


def test_the_applied_kind_must_be_the_addressed_kind():
    with pytest.raises(errors.BadRequest, match=r"invalid object type: /v1, Kind=ConfigMap"):
        apply(None, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"}})


def test_managed_fields_may_not_be_applied():
    body = config()
    body["metadata"]["managedFields"] = []
    with pytest.raises(errors.BadRequest, match=r"metadata\.managedFields must be nil"):
        apply(None, body)


def test_kubectl_migrates_from_client_side_apply_without_conflicts():
    last: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    live: dict[str, Any] = {**copy.deepcopy(last), "metadata": {
        "name": "c", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": orjson.dumps(last).decode()}}}
    live["metadata"]["managedFields"] = compute_update_managed_fields(
        CM, None, live, "kubectl-client-side-apply", "", T1)
    applied = {**last, "data": {"a": "2"}}
    obj = compute_apply(CM, stored(live), applied, "kubectl", False, T2)
    assert obj["data"] == {"a": "2"}
    assert orjson.loads(obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]) == applied
    with pytest.raises(errors.Conflict):
        compute_apply(CM, stored(live), applied, "someone-else", False, T2)


def test_an_apply_body_may_be_yaml_and_keeps_dates_as_strings():
    assert decode_apply_body(b"metadata:\n  annotations:\n    when: 2024-01-01\n") == {
        "metadata": {"annotations": {"when": "2024-01-01"}}}
    with pytest.raises(errors.BadRequest, match="error decoding YAML"):
        decode_apply_body(b"- a list")
