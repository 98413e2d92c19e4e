"""The files of configMap, secret, downwardAPI and projected volumes (Kubernetes' MakePayload / CollectData)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from kubelet.volume_sources import FileProjection, VolumeError, compute_volume_payload

CM = {"metadata": {"name": "cfg"}, "data": {"app.conf": "port=80", "mode": "dev"},
      "binaryData": {"logo.png": base64.b64encode(b"\x89PNG").decode()}}
SECRET = {"metadata": {"name": "sec"}, "data": {"password": base64.b64encode(b"s3cret").decode()},
          "stringData": {"ignored": "x"}}
POD: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "team", "uid": "u-1", "labels": {"b": "2", "a": "1"},
                 "annotations": {"note": "hi"}},
    "spec": {"containers": [{"name": "app", "resources": {"limits": {"memory": "64Mi"},
                                                          "requests": {"cpu": "250m"}}}]},
}


def payload(volume: dict[str, Any], **kwargs: Any) -> dict[str, FileProjection]:
    args: dict[str, Any] = {"config_maps": {"cfg": CM}, "secrets": {"sec": SECRET}, "pod_ip": "10.0.0.5",
                            "host_ip": "192.168.1.10", "node_name": "node-1"}
    args.update(kwargs)
    return compute_volume_payload({"name": "v", **volume}, POD, **args)


def test_config_map_all_keys_data_and_binary_data_default_mode_0644() -> None:
    assert payload({"configMap": {"name": "cfg"}}) == {
        "app.conf": FileProjection(b"port=80", 0o644), "mode": FileProjection(b"dev", 0o644),
        "logo.png": FileProjection(b"\x89PNG", 0o644)}


def test_config_map_items_pick_keys_paths_and_modes() -> None:
    volume = {"configMap": {"name": "cfg", "defaultMode": 0o600, "items": [
        {"key": "app.conf", "path": "etc/app.conf"}, {"key": "mode", "path": "mode.txt", "mode": 0o400}]}}
    assert payload(volume) == {"etc/app.conf": FileProjection(b"port=80", 0o600),
                               "mode.txt": FileProjection(b"dev", 0o400)}


def test_config_map_missing_item_key_fails_unless_optional() -> None:
    with pytest.raises(VolumeError) as info:
        payload({"configMap": {"name": "cfg", "items": [{"key": "nope", "path": "p"}]}})
    assert str(info.value) == ('MountVolume.SetUp failed for volume "v" : '
                               "configmap references non-existent config key: nope")
    assert payload({"configMap": {"name": "cfg", "optional": True, "items": [{"key": "nope", "path": "p"}]}}) == {}


def test_missing_config_map_fails_with_failed_mount_message() -> None:
    with pytest.raises(VolumeError) as info:
        payload({"configMap": {"name": "x"}})
    assert str(info.value) == 'MountVolume.SetUp failed for volume "v" : configmap "x" not found'
    assert info.value.reason == 'configmap "x" not found'
    assert info.value.volume == "v"


def test_missing_optional_config_map_gives_an_empty_volume() -> None:
    assert payload({"configMap": {"name": "x", "optional": True}}) == {}


def test_secret_data_is_decoded_string_data_ignored_default_mode_0644() -> None:
    assert payload({"secret": {"secretName": "sec"}}) == {"password": FileProjection(b"s3cret", 0o644)}


def test_secret_items_and_missing_key() -> None:
    volume = {"secret": {"secretName": "sec", "defaultMode": 0o440, "items": [{"key": "password", "path": "pw"}]}}
    assert payload(volume) == {"pw": FileProjection(b"s3cret", 0o440)}
    with pytest.raises(VolumeError, match="references non-existent secret key: nope"):
        payload({"secret": {"secretName": "sec", "items": [{"key": "nope", "path": "p"}]}})


def test_missing_secret_fails_unless_optional() -> None:
    with pytest.raises(VolumeError) as info:
        payload({"secret": {"secretName": "gone"}})
    assert str(info.value) == 'MountVolume.SetUp failed for volume "v" : secret "gone" not found'
    assert payload({"secret": {"secretName": "gone", "optional": True}}) == {}


def test_downward_api_fields_labels_sorted_and_resources() -> None:
    volume = {"downwardAPI": {"items": [
        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
        {"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}},
        {"path": "uid", "fieldRef": {"fieldPath": "metadata.uid"}, "mode": 0o400},
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}},
        {"path": "mem", "resourceFieldRef": {"containerName": "app", "resource": "limits.memory", "divisor": "1Mi"}},
        {"path": "cpu", "resourceFieldRef": {"containerName": "app", "resource": "requests.cpu", "divisor": "1m"}},
    ]}}
    files = payload(volume)
    assert {path: f.data for path, f in files.items()} == {
        "name": b"web", "ns": b"team", "uid": b"u-1", "labels": b'a="1"\nb="2"', "annotations": b'note="hi"',
        "mem": b"64", "cpu": b"250"}
    assert files["uid"].mode == 0o400
    assert files["name"].mode == 0o644


def test_downward_api_cpu_limit_falls_back_to_node_allocatable() -> None:
    volume = {"downwardAPI": {"items": [{"path": "cpu", "resourceFieldRef": {"containerName": "app",
                                                                           "resource": "limits.cpu"}}]}}
    assert payload(volume, node_allocatable={"cpu": "3"})["cpu"].data == b"3"


def test_downward_api_errors_are_aggregated() -> None:
    volume = {"downwardAPI": {"items": [{"path": "a", "fieldRef": {"fieldPath": "spec.nodeName"}},
                                        {"path": "b", "fieldRef": {"fieldPath": "status.bogus"}}]}}
    with pytest.raises(VolumeError) as info:
        payload(volume)
    assert info.value.reason == "[unsupported fieldPath: spec.nodeName, unsupported fieldPath: status.bogus]"


def test_projected_combines_sources_and_skips_tokens_with_a_note() -> None:
    notes: list[str] = []
    volume = {"projected": {"defaultMode": 0o640, "sources": [
        {"configMap": {"name": "cfg", "items": [{"key": "mode", "path": "conf/mode"}]}},
        {"secret": {"name": "sec"}},
        {"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
        {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
    ]}}
    assert payload(volume, warnings=notes) == {
        "conf/mode": FileProjection(b"dev", 0o640), "password": FileProjection(b"s3cret", 0o640),
        "labels": FileProjection(b'a="1"\nb="2"', 0o640)}
    assert len(notes) == 1
    assert "token" in notes[0]
    assert "no token issuer" in notes[0]


def test_projected_missing_sources_are_all_reported_unless_optional() -> None:
    volume = {"projected": {"sources": [{"configMap": {"name": "x"}}, {"secret": {"name": "y"}},
                                        {"secret": {"name": "z", "optional": True}}]}}
    with pytest.raises(VolumeError) as info:
        payload(volume)
    assert str(info.value) == ('MountVolume.SetUp failed for volume "v" : '
                               '[configmap "x" not found, secret "y" not found]')


@pytest.mark.parametrize(("path", "message"), [
    ("../escape", "invalid path: must not contain '..': ../escape"),
    ("a/../../b", "invalid path: must not contain '..': a/../../b"),
    ("/etc/passwd", "invalid path: must be relative path: /etc/passwd"),
    ("..hidden", "invalid path: must not start with '..': ..hidden"),
])
def test_paths_are_validated(path: str, message: str) -> None:
    with pytest.raises(VolumeError) as info:
        payload({"configMap": {"name": "cfg", "items": [{"key": "mode", "path": path}]}})
    assert info.value.reason == message


def test_paths_are_cleaned() -> None:
    assert list(payload({"configMap": {"name": "cfg", "items": [{"key": "mode", "path": "a//./b"}]}})) == ["a/b"]


def test_other_volume_kinds_are_rejected() -> None:
    with pytest.raises(VolumeError, match="not a configMap"):
        payload({"emptyDir": {}})
