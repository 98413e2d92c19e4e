"""Strategic merge patch applies the way k8s.io/apimachinery/pkg/util/strategicpatch applies it.

The `MergeItem` tables are ported from upstream's patch_test.go (TestCustomStrategicMergePatch and the
two-way results of TestStrategicMergePatch), against a schema that mirrors its `MergeItem` struct tags.
The Kubernetes tables use the real OpenAPI definitions (Pod, Deployment, ObjectMeta).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from apimachinery import strategic_merge
from apimachinery.schema import openapi_definitions
from apimachinery.strategic_merge import StrategicMergeError, apply_strategic_merge_patch

_ITEM = {"$ref": "#/$defs/test.MergeItem"}
_STRING = {"type": "string"}
FAKE_DEFINITIONS: dict[str, Any] = {
    "test.MergeItem": {"type": "object", "properties": {
        "name": _STRING, "value": _STRING, "other": _STRING,
        "mergingList": {"type": "array", "items": _ITEM, "x-kubernetes-patch-strategy": "merge",
                        "x-kubernetes-patch-merge-key": "name"},
        "nonMergingList": {"type": "array", "items": _ITEM},
        "mergingIntList": {"type": "array", "items": {"type": "integer"}, "x-kubernetes-patch-strategy": "merge"},
        "nonMergingIntList": {"type": "array", "items": {"type": "integer"}},
        "simpleMap": {"type": "object", "additionalProperties": _STRING},
        "replacingItem": {"type": "object", "x-kubernetes-patch-strategy": "replace"},
        "retainKeysMap": {"$ref": "#/$defs/test.RetainKeysMergeItem", "x-kubernetes-patch-strategy": "retainKeys"},
        "retainKeysMergingList": {"type": "array", "items": _ITEM, "x-kubernetes-patch-strategy": "merge,retainKeys",
                                  "x-kubernetes-patch-merge-key": "name"},
    }},
    "test.RetainKeysMergeItem": {"type": "object", "properties": {
        "name": _STRING, "value": _STRING, "other": _STRING,
        "simpleMap": {"type": "object", "additionalProperties": _STRING},
        "mergingIntList": {"type": "array", "items": {"type": "integer"}, "x-kubernetes-patch-strategy": "merge"},
        "mergingList": {"type": "array", "items": _ITEM, "x-kubernetes-patch-strategy": "merge",
                        "x-kubernetes-patch-merge-key": "name"},
    }},
}


@pytest.fixture
def merge_item_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    definitions = {**openapi_definitions(), **FAKE_DEFINITIONS}
    monkeypatch.setattr(strategic_merge, "openapi_definitions", lambda: definitions)


# (description, original, patch, expected) — YAML, as upstream writes them.
MERGE_ITEM_CASES = [
    ("unique scalars when merging lists", "mergingIntList: [1, 2]", "mergingIntList: [2, 3]",
     "mergingIntList: [1, 2, 3]"),
    ("delete map from nested map", "simpleMap: {key1: '1', key2: '1'}", "simpleMap: {$patch: delete}",
     "simpleMap: {}"),
    ("delete all items from merging list", "mergingList: [{name: '1'}, {name: '2'}]",
     "mergingList: [{$patch: replace}]", "mergingList: []"),
    ("merge empty merging lists", "mergingList: []", "mergingList: []", "mergingList: []"),
    ("delete all keys from map", "{name: '1', value: '1'}", "{$patch: replace}", "{}"),
    ("add key and delete all keys from map", "{name: '1', value: '1'}", "{other: a, $patch: replace}",
     "{other: a}"),
    ("delete all duplicate entries in a merging list",
     "mergingList: [{name: '1'}, {name: '1'}, {name: '2', value: a}, {name: '3'}, {name: '3'}]",
     "mergingList: [{name: '1', $patch: delete}, {name: '3', $patch: delete}]",
     "mergingList: [{name: '2', value: a}]"),
    ("retainKeys map can add a field when no retainKeys directive present", "retainKeysMap: {name: foo}",
     "retainKeysMap: {value: bar}", "retainKeysMap: {name: foo, value: bar}"),
    ("retainKeys map can delete a field when no retainKeys directive present",
     "retainKeysMap: {name: foo, value: a}", "retainKeysMap: {value: null}", "retainKeysMap: {name: foo}"),
    ("retainKeys list can change a field when no retainKeys directive present",
     "retainKeysMergingList: [{name: bar}, {name: foo, value: a}]", "retainKeysMergingList: [{name: foo, value: b}]",
     "retainKeysMergingList: [{name: bar}, {name: foo, value: b}]"),
    ("preserve the order from the patch in a merging list",
     "mergingList: [{name: '1'}, {name: '2', value: b}, {name: '3'}]",
     "mergingList: [{name: '3', value: c}, {name: '1', value: a}, {name: '2', other: x}]",
     "mergingList: [{name: '3', value: c}, {name: '1', value: a}, {name: '2', value: b, other: x}]"),
    ("preserve the order from the patch in a merging list 2",
     "mergingList: [{name: '1'}, {name: '2', value: b}, {name: '3'}]",
     "mergingList: [{name: '3', value: c}, {name: '1', value: a}]",
     "mergingList: [{name: '2', value: b}, {name: '3', value: c}, {name: '1', value: a}]"),
    ("preserve the order from the patch in a merging int list", "mergingIntList: [1, 2, 3]",
     "mergingIntList: [3, 1]", "mergingIntList: [2, 3, 1]"),
    ("setElementOrder contains an item that is not in the list to be merged", "mergingList: [{name: '1'}, {name: '3'}]",
     "{$setElementOrder/mergingList: [{name: '3'}, {name: '2'}, {name: '1'}],"
     " mergingList: [{name: '3', value: '3'}, {name: '1', value: '1'}]}",
     "mergingList: [{name: '3', value: '3'}, {name: '1', value: '1'}]"),
    ("setElementOrder alone reorders an int list", "mergingIntList: [1, 3]",
     "$setElementOrder/mergingIntList: [3, 2, 1]", "mergingIntList: [3, 1]"),
    ("deleteFromPrimitiveList of a nonexistent item does not add it", "mergingIntList: [1, 2]",
     "$deleteFromPrimitiveList/mergingIntList: [3]", "mergingIntList: [1, 2]"),
    ("deleteFromPrimitiveList on a nonexistent list does not add the list", "foo: [bar]",
     "$deleteFromPrimitiveList/mergingIntList: [3]", "foo: [bar]"),
    ("deleteFromPrimitiveList deletes from a list without the merge strategy", "nonMergingIntList: [1, 2, 3]",
     "$deleteFromPrimitiveList/nonMergingIntList: [2]", "nonMergingIntList: [1, 3]"),
    ("delete items in lists of scalars", "mergingIntList: [1, 2, 3, 3, 4]",
     "{$setElementOrder/mergingIntList: [1, 2], $deleteFromPrimitiveList/mergingIntList: [3]}",
     "mergingIntList: [1, 2, 4]"),
    ("merge lists of maps with setElementOrder",
     "mergingList: [{name: '1', other: a}, {name: '2', value: '2', other: b}]",
     "{$setElementOrder/mergingList: [{name: '4'}, {name: '1'}, {name: '2'}, {name: '3'}],"
     " mergingList: [{name: '4', value: '4'}, {name: '3', value: '3'}]}",
     "mergingList: [{name: '4', value: '4'}, {name: '1', other: a}, {name: '2', value: '2', other: b},"
     " {name: '3', value: '3'}]"),
    ("nested patch merge with empty list", "name: hi",
     "mergingList: [{name: hello}, {$patch: delete, name: doesntexist}]", "{name: hi, mergingList: [{name: hello}]}"),
    ("defined null values remove fields and never propagate", "{name: '2', other: a}",
     "{name: '1', value: '1', other: null, missing: null}", "{name: '1', value: '1'}"),
    ("replace list of scalars", "nonMergingIntList: [1, 2]", "nonMergingIntList: [2, 3]", "nonMergingIntList: [2, 3]"),
    ("non-merging list of maps is replaced", "nonMergingList: [{name: '1', value: a}]",
     "nonMergingList: [{name: '1'}]", "nonMergingList: [{name: '1'}]"),
    ("replace strategy replaces a map", "replacingItem: {a: 1, b: 2}", "replacingItem: {b: 3}",
     "replacingItem: {b: 3}"),
    ("retainKeys directive drops the unlisted keys", "retainKeysMap: {name: foo, value: a, other: b}",
     "retainKeysMap: {$retainKeys: [name, other], other: c}", "retainKeysMap: {name: foo, other: c}"),
    ("merge,retainKeys list element keeps only the listed keys",
     "retainKeysMergingList: [{name: foo, value: a, other: b}, {name: bar}]",
     "retainKeysMergingList: [{name: foo, $retainKeys: [name, value]}]",
     "retainKeysMergingList: [{name: foo, value: a}, {name: bar}]"),
]


@pytest.mark.parametrize(("original", "patch", "expected"), [c[1:] for c in MERGE_ITEM_CASES],
                         ids=[c[0] for c in MERGE_ITEM_CASES])
def test_merge_item_patches_apply_as_upstream(merge_item_schema: None, original: str, patch: str,
                                              expected: str) -> None:
    assert _apply(yaml.safe_load(original), yaml.safe_load(patch), "test.MergeItem") == yaml.safe_load(expected)


MALFORMED_MERGE_ITEM_CASES = [
    ("setElementOrder and patch list disagree", "mergingList: [{name: '1'}, {name: '3'}, {name: '2'}]",
     "{$setElementOrder/mergingList: [{name: '1'}, {name: '2'}, {name: '3'}],"
     " mergingList: [{name: '3', value: '3'}, {name: '1', value: '1'}]}", "doesn't match"),
    ("setElementOrder and int patch list disagree", "mergingIntList: [1, 3, 2]",
     "{$setElementOrder/mergingIntList: [1, 2, 3], mergingIntList: [3, 1]}", "doesn't match"),
    ("missing merge key", "mergingList: [{name: '1', value: a}]", "mergingList: [{value: b}]",
     "does not contain declared merge key: name"),
    ("delete directive without merge key", "mergingList: [{name: '1'}]", "mergingList: [{$patch: delete}]",
     "does not contain declared merge key"),
    ("unknown $patch in a map", "simpleMap: {a: b}", "simpleMap: {$patch: squash}", "unknown patch type: squash"),
    ("unknown $patch in a list", "mergingList: [{name: '1'}]", "mergingList: [{name: '1', $patch: squash}]",
     "unknown patch type: squash"),
    ("merge directive in a list", "mergingList: [{name: '1'}]", "mergingList: [{$patch: merge}]",
     "merging lists cannot yet be specified"),
    ("retainKeys is not a list", "retainKeysMap: {name: a}", "retainKeysMap: {$retainKeys: name}",
     "invalid patch format of retainKeys"),
    ("patch key missing from retainKeys", "retainKeysMap: {name: a}",
     "retainKeysMap: {$retainKeys: [name], value: b}", "invalid patch format of retainKeys"),
    ("deleteFromPrimitiveList is not a list", "mergingIntList: [1]", "$deleteFromPrimitiveList/mergingIntList: 1",
     "invalid patch format of primitive list"),
    ("setElementOrder is not a list", "mergingIntList: [1]", "$setElementOrder/mergingIntList: 1",
     "invalid patch format of setElementOrder list"),
    ("lists of lists", "mergingIntList: [[1]]", "mergingIntList: [[2]]", "lists of lists are not supported"),
    ("mixed element types", "mergingIntList: [1]", "mergingIntList: [a]", "list element types are not identical"),
]


@pytest.mark.parametrize(("original", "patch", "message"), [c[1:] for c in MALFORMED_MERGE_ITEM_CASES],
                         ids=[c[0] for c in MALFORMED_MERGE_ITEM_CASES])
def test_malformed_patches_raise_a_clear_error(merge_item_schema: None, original: str, patch: str,
                                               message: str) -> None:
    with pytest.raises(StrategicMergeError, match=message.replace("$", r"\$")):
        apply_strategic_merge_patch(yaml.safe_load(original), yaml.safe_load(patch), "test.MergeItem")


POD = """
metadata:
  name: web
  labels: {app: web, tier: front}
  finalizers: [a.example.com/x, b.example.com/y]
spec:
  containers:
  - name: app
    image: app:1
    ports: [{containerPort: 80, protocol: TCP}, {containerPort: 443, protocol: TCP}]
    env: [{name: A, value: '1'}, {name: B, value: '2'}]
  - name: sidecar
    image: sidecar:1
  tolerations: [{key: a, operator: Exists}]
  volumes:
  - name: data
    emptyDir: {}
"""

POD_CASES = [
    ("changing one container's image keeps the other",
     "spec: {containers: [{name: app, image: app:2}]}",
     lambda p: p["spec"]["containers"][0].update(image="app:2")),
    ("a new container comes before the ones it cannot be ordered against",
     "spec: {containers: [{name: debug, image: busybox}]}",
     lambda p: p["spec"]["containers"].insert(0, {"name": "debug", "image": "busybox"})),
    ("setElementOrder appends a new container",
     "spec: {$setElementOrder/containers: [{name: app}, {name: sidecar}, {name: debug}],"
     " containers: [{name: debug, image: busybox}]}",
     lambda p: p["spec"]["containers"].append({"name": "debug", "image": "busybox"})),
    ("$patch: delete removes a container by name",
     "spec: {containers: [{name: sidecar, $patch: delete}]}",
     lambda p: p["spec"]["containers"].pop(1)),
    ("$patch: replace replaces the container list",
     "spec: {containers: [{$patch: replace}, {name: only, image: only:1}]}",
     lambda p: p["spec"].update(containers=[{"name": "only", "image": "only:1"}])),
    ("env vars merge by name",
     "spec: {containers: [{name: app, env: [{name: B, value: '3'}, {name: C, value: '4'}]}]}",
     lambda p: p["spec"]["containers"][0].update(
         env=[{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}])),
    ("ports merge by containerPort",
     "spec: {containers: [{name: app, ports: [{containerPort: 443, name: https}]}]}",
     lambda p: p["spec"]["containers"][0]["ports"][1].update(name="https")),
    ("labels merge and null deletes one",
     "metadata: {labels: {tier: null, version: v2}}",
     lambda p: p["metadata"].update(labels={"app": "web", "version": "v2"})),
    ("tolerations have no merge strategy and are replaced",
     "spec: {tolerations: [{key: b, operator: Exists}]}",
     lambda p: p["spec"].update(tolerations=[{"key": "b", "operator": "Exists"}])),
    ("finalizers merge as a set",
     "metadata: {finalizers: [b.example.com/y, c.example.com/z]}",
     lambda p: p["metadata"]["finalizers"].append("c.example.com/z")),
    ("$deleteFromPrimitiveList removes a finalizer",
     "metadata: {$deleteFromPrimitiveList/finalizers: [a.example.com/x]}",
     lambda p: p["metadata"].update(finalizers=["b.example.com/y"])),
    ("volumes retainKeys switches the volume source",
     "spec: {volumes: [{name: data, $retainKeys: [name, configMap], configMap: {name: cfg}}]}",
     lambda p: p["spec"].update(volumes=[{"name": "data", "configMap": {"name": "cfg"}}])),
    ("$setElementOrder reorders containers",
     "spec: {$setElementOrder/containers: [{name: sidecar}, {name: app}]}",
     lambda p: p["spec"]["containers"].reverse()),
]


@pytest.mark.parametrize(("patch", "change"), [c[1:] for c in POD_CASES], ids=[c[0] for c in POD_CASES])
def test_pod_patches_follow_the_pod_patch_metadata(patch: str, change: Any) -> None:
    original = yaml.safe_load(POD)
    expected = copy.deepcopy(original)
    change(expected)
    assert _apply(original, yaml.safe_load(patch), "io.k8s.api.core.v1.Pod") == expected


DEPLOYMENT = """
spec:
  replicas: 1
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    spec:
      containers: [{name: app, image: app:1}, {name: sidecar, image: sidecar:1}]
"""


def test_deployment_patch_reaches_into_the_pod_template() -> None:
    patched = _apply(yaml.safe_load(DEPLOYMENT), {"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "image": "sidecar:2"}]}}}}, "io.k8s.api.apps.v1.Deployment")
    assert patched["spec"]["template"]["spec"]["containers"] == [
        {"name": "app", "image": "app:1"}, {"name": "sidecar", "image": "sidecar:2"}]


def test_deployment_strategy_retain_keys_drops_rolling_update_when_switching_to_recreate() -> None:
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    patched = _apply(yaml.safe_load(DEPLOYMENT), patch, "io.k8s.api.apps.v1.Deployment")
    assert patched["spec"]["strategy"] == {"type": "Recreate"}
    assert patched["spec"]["replicas"] == 1


def test_without_a_schema_maps_merge_and_lists_are_replaced() -> None:
    original = {"spec": {"containers": [{"name": "a"}, {"name": "b"}], "x": {"y": 1, "z": 2}}}
    patch = {"spec": {"containers": [{"name": "b", "image": "i"}], "x": {"z": None}}}
    assert _apply(original, patch, None) == {"spec": {"containers": [{"name": "b", "image": "i"}], "x": {"y": 1}}}


def test_a_non_object_patch_is_rejected() -> None:
    with pytest.raises(StrategicMergeError, match="JSON object"):
        apply_strategic_merge_patch({}, [], None)  # type: ignore[arg-type]


def _apply(original: dict[str, Any], patch: dict[str, Any], schema_ref: str | None) -> dict[str, Any]:
    """Apply, and check that neither input was touched."""
    before = copy.deepcopy((original, patch))
    result = apply_strategic_merge_patch(original, patch, schema_ref)
    assert (original, patch) == before
    return result
