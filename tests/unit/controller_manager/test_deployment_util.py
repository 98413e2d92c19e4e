"""The Deployment controller's pure arithmetic, checked against Kubernetes' own tables."""

from __future__ import annotations

from typing import Any

import pytest

from controller_manager import deployment_util as util
from controller_manager.deployment_rolling import (
    compute_max_scaled_down,
    compute_new_rs_replicas,
    compute_old_scale_down,
    compute_unhealthy_cleanup,
)

Object = dict[str, Any]


def dep(replicas: int, surge: int | str = "25%", unavailable: int | str = "25%", kind: str = "RollingUpdate",
        status_replicas: int = 0) -> Object:
    strategy: Object = {"type": kind}
    if kind == "RollingUpdate":
        strategy["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return {"metadata": {"name": "web"}, "spec": {"replicas": replicas, "strategy": strategy},
            "status": {"replicas": status_replicas}}


def rs(name: str, replicas: int, available: int = 0, created: str = "2026-01-01T00:00:00Z",
       max_replicas: int | None = None, status_replicas: int | None = None) -> Object:
    annotations = {util.MAX_REPLICAS: str(max_replicas)} if max_replicas is not None else {}
    return {"metadata": {"name": name, "uid": name, "creationTimestamp": created, "annotations": annotations},
            "spec": {"replicas": replicas},
            "status": {"availableReplicas": available,
                       "replicas": replicas if status_replicas is None else status_replicas}}


@pytest.mark.parametrize(("surge", "unavailable", "desired", "expected"), [
    ("25%", "25%", 10, (3, 2)),      # surge rounds up, unavailable down
    ("25%", "25%", 1, (1, 0)),
    (0, "25%", 1, (0, 1)),           # both zero after rounding: one unavailable allowed
    ("0%", "0%", 0, (0, 1)),
    (2, 3, 10, (2, 3)),
    ("100%", "50%", 3, (3, 1)),
])
def test_resolve_fenceposts(surge: Any, unavailable: Any, desired: int, expected: tuple[int, int]) -> None:
    assert util.resolve_fenceposts(surge, unavailable, desired) == expected


def test_max_unavailable_is_capped_by_replicas_and_zero_for_recreate() -> None:
    assert util.max_unavailable(dep(2, surge=0, unavailable=5)) == 2
    assert util.max_unavailable(dep(3, kind="Recreate")) == 0
    assert util.max_surge(dep(3, kind="Recreate")) == 0


def test_safe_encode_string_uses_kubernetes_alphabet() -> None:
    assert util.safe_encode_string("0123456789") == "456789bcdf"  # like "web-5d9c8b7f6"


def test_fnv32a_matches_the_reference_vectors() -> None:
    assert util.fnv32a(b"") == 0x811C9DC5
    assert util.fnv32a(b"a") == 0xE40C292C
    assert util.fnv32a(b"foobar") == 0xBF9CF968


def test_compute_hash_is_stable_and_changes_with_template_and_collision_count() -> None:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "a"}]}}
    other = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "b"}]}}
    first = util.compute_hash(template)
    assert first == util.compute_hash(dict(reversed(list(template.items()))))
    assert first != util.compute_hash(other)
    assert first != util.compute_hash(template, 1)
    assert set(first) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_equal_ignore_hash_ignores_the_hash_label_and_empty_fields() -> None:
    a = {"metadata": {"labels": {"app": "web", util.HASH_LABEL: "abc"}}, "spec": {"containers": [], "x": 1}}
    b = {"metadata": {"labels": {"app": "web"}}, "spec": {"x": 1}}
    assert util.equal_ignore_hash(a, b)
    assert not util.equal_ignore_hash(a, {"metadata": {"labels": {"app": "db"}}, "spec": {"x": 1}})


@pytest.mark.parametrize(("d", "old", "new", "expected"), [
    (dep(10, 3, 2), 10, 0, 3),     # surge 3: 13 pods allowed
    (dep(10, 3, 2), 8, 3, 5),
    (dep(10, 3, 2), 10, 3, 3),     # at 13 already
    (dep(10, 30, 2), 0, 5, 10),    # never above replicas
    (dep(1, 0, 1), 1, 0, 0),
])
def test_new_rs_new_replicas(d: Object, old: int, new: int, expected: int) -> None:
    new_rs = rs("new", new)
    assert util.new_rs_new_replicas(d, [rs("old", old), new_rs], new_rs) == expected


def test_a_replicaset_not_yet_scaled_down_counts_its_existing_pods_against_the_surge() -> None:
    old, new = rs("old", 3, status_replicas=4), rs("new", 1)
    assert compute_new_rs_replicas(dep(4, 1, 1), [old, new], new) == 1


def test_max_scaled_down_counts_new_unavailable_pods_as_missing() -> None:
    # Kubernetes' example: 10 replicas, maxUnavailable 2, maxSurge 3, new RS at 5 crashlooping
    d = dep(10, 3, 2)
    assert compute_max_scaled_down(d, [rs("old", 8, 8), rs("new", 5, 0)], rs("new", 5, 0)) == 0


def test_unhealthy_replicas_are_cleaned_up_first_oldest_first() -> None:
    older = rs("older", 3, available=1, created="2025-01-01T00:00:00Z")
    newer = rs("newer", 3, available=0, created="2025-06-01T00:00:00Z")
    plan = compute_unhealthy_cleanup([newer, older], 3)
    assert [(r["metadata"]["name"], size) for r, size in plan] == [("older", 1), ("newer", 2)]


def test_old_replicasets_scale_down_only_above_min_available() -> None:
    d = dep(4, 1, 1)
    old, new = rs("old", 4, available=4), rs("new", 1, available=1)
    assert [(r["metadata"]["name"], s) for r, s in compute_old_scale_down(d, [old, new], [old])] == [("old", 2)]
    assert compute_old_scale_down(d, [rs("old", 4, 3), rs("new", 1, 0)], [rs("old", 4, 3)]) == []


def test_old_scale_down_counts_at_most_spec_replicas_as_available() -> None:
    d = dep(4, 1, 1)
    old, new = rs("old", 3, available=4), rs("new", 1, available=1)  # old not yet scaled down by its controller
    assert [(r["metadata"]["name"], s) for r, s in compute_old_scale_down(d, [old, new], [old])] == [("old", 2)]


def test_proportional_scaling_shares_new_replicas_by_size() -> None:
    # 10 -> 15 replicas mid-rollout (maxSurge 3): 13 -> 18 allowed; old 8 and new 5 grow in proportion
    d = dep(15, 3, 2)
    sizes = util.compute_proportional_sizes(d, [rs("old", 8, max_replicas=13, created="2025-01-01T00:00:00Z"),
                                                rs("new", 5, max_replicas=13)])
    assert [(r["metadata"]["name"], s) for r, s in sizes] == [("old", 11), ("new", 7)]


def test_proportional_scaling_down_to_zero_empties_everything() -> None:
    sizes = util.compute_proportional_sizes(dep(0, 3, 2), [rs("old", 8, max_replicas=13), rs("new", 5)])
    assert [s for _, s in sizes] == [0, 0]


def test_find_active_or_latest() -> None:
    old, new = rs("old", 0, created="2025-01-01T00:00:00Z"), rs("new", 0)
    assert util.find_active_or_latest(new, [old]) is new
    assert (util.find_active_or_latest(None, [old, rs("newer-old", 0)]) or {})["metadata"]["name"] == "newer-old"
    assert (util.find_active_or_latest(new, [rs("old", 2)]) or {})["metadata"]["name"] == "old"
    assert util.find_active_or_latest(rs("new", 1), [rs("old", 2)]) is None
