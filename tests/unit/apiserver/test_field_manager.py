"""managedFields on ordinary writes: who gets which fields, and when nothing changes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apimachinery import errors
from apimachinery.kinds import ResourceType, default_registry
from apimachinery.managed_fields import ManagedEntry, decode_managed_fields, path_string
from apiserver.registry.apply import compute_apply
from apiserver.registry.field_manager import (
    cap_update_managers,
    compute_update_managed_fields,
    manager_from_user_agent,
    require_apply_manager,
    validate_field_manager,
)

KINDS = default_registry()


def kind(group: str, plural: str) -> ResourceType:
    found = KINDS.get(group, plural)
    assert found is not None
    return found


CM, POD = kind("", "configmaps"), kind("", "pods")
T1, T2 = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"


def configmap(**data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "default", "uid": "u", "labels": {"app": "x"}}, "data": data}


def write(old: dict[str, Any] | None, new: dict[str, Any], manager: str, now: str = T2,
          subresource: str = "") -> dict[str, Any]:
    new = copy.deepcopy(new)
    new["metadata"]["managedFields"] = compute_update_managed_fields(CM, old, new, manager, subresource, now)
    return new


def owners(obj: dict[str, Any]) -> dict[str, set[str]]:
    return {e.manager: {path_string(p) for p in e.fields}
            for e in decode_managed_fields(obj["metadata"].get("managedFields"))}


def test_a_create_records_an_update_entry_with_every_field_and_a_new_map_as_a_member():
    created = write(None, configmap(a="1"), "kubectl-create", T1)
    [entry] = created["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"], entry["apiVersion"], entry["time"]) == \
        ("kubectl-create", "Update", "v1", T1)
    assert entry["fieldsV1"] == {"f:data": {".": {}, "f:a": {}}, "f:metadata": {"f:labels": {".": {}, "f:app": {}}}}


def test_an_update_takes_the_fields_it_changes_from_other_managers_without_conflict():
    created = write(None, configmap(a="1", b="2"), "creator", T1)
    changed = copy.deepcopy(created)
    changed["data"]["a"] = "9"
    updated = write(created, changed, "editor")
    assert owners(updated)["editor"] == {".data.a"}
    assert ".data.a" not in owners(updated)["creator"] and ".data.b" in owners(updated)["creator"]


def test_removed_fields_leave_every_manager():
    created = write(None, configmap(a="1", b="2"), "creator", T1)
    changed = copy.deepcopy(created)
    del changed["data"]["b"]
    assert ".data.b" not in owners(write(created, changed, "editor"))["creator"]


def test_a_no_op_update_keeps_the_entries_and_their_time():
    created = write(None, configmap(a="1"), "creator", T1)
    again = write(created, copy.deepcopy(created), "creator", T2)
    assert again["metadata"]["managedFields"] == created["metadata"]["managedFields"]


def test_an_empty_managed_fields_list_clears_them_and_the_object_stays_untracked():
    created = write(None, configmap(a="1"), "creator", T1)
    cleared = copy.deepcopy(created)
    cleared["metadata"]["managedFields"] = []
    cleared["data"]["a"] = "2"
    assert write(created, cleared, "editor")["metadata"]["managedFields"] == []
    untracked = configmap(a="2")
    changed = configmap(a="3")
    assert write(untracked, changed, "editor")["metadata"]["managedFields"] == []


def test_managed_fields_sent_in_a_request_replace_the_stored_ones_if_valid():
    created = write(None, configmap(a="1"), "creator", T1)
    sent = copy.deepcopy(created)
    sent["metadata"]["managedFields"][0]["manager"] = "renamed"
    assert set(owners(write(created, sent, "editor"))) == {"renamed"}
    broken = copy.deepcopy(created)
    broken["metadata"]["managedFields"] = [{"manager": "x", "operation": "Delete"}]
    broken["data"]["a"] = "2"
    assert set(owners(write(created, broken, "editor"))) == {"creator", "editor"}


def test_a_status_write_tracks_only_status_and_keeps_the_stored_entries():
    pod: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "uid": "u"},
           "spec": {"containers": [{"name": "c", "image": "i"}]}}
    pod["metadata"]["managedFields"] = compute_update_managed_fields(POD, None, pod, "creator", "", T1)
    running = copy.deepcopy(pod)
    running["status"] = {"phase": "Running"}
    entries = compute_update_managed_fields(POD, pod, running, "kubelet", "status", T2)
    assert [(e["manager"], e.get("subresource")) for e in entries] == [("creator", None), ("kubelet", "status")]
    assert entries[1]["fieldsV1"] == {"f:status": {"f:phase": {}}}


def test_an_update_after_an_apply_moves_the_field_out_of_the_applier():
    applied = compute_apply(CM, None, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                                       "data": {"a": "1"}}, "applier", False, T1)
    changed = copy.deepcopy(applied)
    changed["data"]["a"] = "2"
    after = write(applied, changed, "kubectl-edit")
    assert "applier" not in owners(after) and owners(after)["kubectl-edit"] == {".data.a"}


def test_the_default_manager_is_the_user_agents_product():
    assert manager_from_user_agent("kubectl/v1.32.4 (linux/amd64) kubernetes/4cb5f07") == "kubectl"
    assert manager_from_user_agent("x" * 200 + "/1") == "x" * 128


def test_a_field_manager_is_at_most_128_bytes_and_required_for_apply():
    with pytest.raises(errors.Invalid, match=r'UpdateOptions.meta.k8s.io "" is invalid: fieldManager: Too long'):
        validate_field_manager("m" * 129, "UpdateOptions")
    with pytest.raises(errors.Invalid) as raised:
        require_apply_manager("")
    assert raised.value.message == ('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                                    "is required for apply patch")


def test_past_ten_updaters_the_two_oldest_merge_into_ancient_changes():
    entries = [ManagedEntry(f"m{i:02}", "Update", "v1", frozenset({("f:data", f"f:k{i}")}), f"2026-01-01T00:00:{i:02}Z")
               for i in range(11)]
    capped = cap_update_managers(entries)
    assert len(capped) == 10
    [bucket] = [e for e in capped if e.manager == "ancient-changes"]
    assert bucket.fields == {("f:data", "f:k0"), ("f:data", "f:k1")} and bucket.time == "2026-01-01T00:00:01Z"
    assert cap_update_managers(entries[:10]) == entries[:10]
