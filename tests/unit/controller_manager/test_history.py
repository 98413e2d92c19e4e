"""ControllerRevision history: naming, hashing, equality, truncation and claiming."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.labels import selector_from_set
from controller_manager import history

Object = dict[str, Any]


def owner(image: str = "nginx:1", name: str = "web") -> Object:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}}}


def revision(name: str, number: int, image: str = "nginx:1") -> Object:
    rev = history.new_controller_revision(owner(image), history.template_patch(owner(image)), number)
    rev["metadata"]["name"] = name
    return rev


def test_revision_data_is_the_template_as_a_replace_patch() -> None:
    data = history.template_patch(owner())
    assert data["spec"]["template"]["$patch"] == "replace"
    assert data["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1"
    assert history.template_of({"data": data}) == owner()["spec"]["template"]


def test_new_revision_is_named_owner_dash_hash_and_labelled_like_the_template() -> None:
    rev = history.new_controller_revision(owner(), history.template_patch(owner()), 3)
    hash_ = rev["metadata"]["labels"][history.CONTROLLER_REVISION_HASH_LABEL]
    assert rev["metadata"]["name"] == f"web-{hash_}"
    assert rev["metadata"]["labels"]["app"] == "web"
    assert rev["revision"] == 3
    assert rev["metadata"]["ownerReferences"][0] | {} == {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "uid-web", "controller": True,
        "blockOwnerDeletion": True}


def test_hash_is_stable_vowel_free_and_changes_with_the_template_and_collision_count() -> None:
    a = history.hash_object(history.template_patch(owner()), 0)
    assert a == history.hash_object(history.template_patch(owner()), 0)
    assert set(a) <= set(history.SAFE_ALPHABET)
    assert a != history.hash_object(history.template_patch(owner("nginx:2")), 0)
    assert a != history.hash_object(history.template_patch(owner()), 1)


def test_fnv32_matches_go_hash_fnv_new32() -> None:
    assert history.fnv32(b"") == 0x811C9DC5
    assert history.fnv32(b"a") == 0x050C5D7E  # FNV-1 (not 1a) of "a"


@pytest.mark.parametrize(("lhs", "rhs", "equal"), [
    (revision("a", 1), revision("b", 2), True),  # same template, different names and numbers
    (revision("a", 1), revision("b", 2, "nginx:2"), False),
])
def test_equal_revision_compares_the_data(lhs: Object, rhs: Object, equal: bool) -> None:
    assert history.equal_revision(lhs, rhs) is equal


def test_next_revision_number_is_one_past_the_highest() -> None:
    assert history.next_revision_number([]) == 1
    assert history.next_revision_number([revision("a", 4), revision("b", 2)]) == 5


@pytest.mark.parametrize(("live", "limit", "truncated"), [
    (set(), 2, ["r1", "r2"]),  # oldest first
    ({"r1"}, 2, ["r2"]),  # a live revision is never truncated and does not count
    (set(), 10, []),
    ({"r1", "r2", "r3", "r4"}, 0, []),
])
def test_truncation_deletes_the_oldest_non_live_revisions_beyond_the_limit(live: set[str], limit: int,
                                                                           truncated: list[str]) -> None:
    revisions = [revision(f"r{i}", i) for i in (4, 2, 1, 3)]
    assert [r["metadata"]["name"] for r in history.compute_revisions_to_truncate(revisions, live, limit)] == truncated


def test_claims_own_adopt_orphans_and_release_non_matching() -> None:
    def pod(name: str, labels: dict[str, str], ref_uid: str | None) -> Object:
        refs = [{"kind": "StatefulSet", "name": "x", "uid": ref_uid, "controller": True}] if ref_uid else []
        return {"metadata": {"name": name, "labels": labels, "ownerReferences": refs, "uid": f"p-{name}"}}

    pods = [pod("mine", {"app": "web"}, "uid-web"), pod("orphan", {"app": "web"}, None),
            pod("strayed", {"app": "db"}, "uid-web"), pod("theirs", {"app": "web"}, "uid-other"),
            pod("unrelated", {"app": "db"}, None)]
    owned, adopt, release = history.compute_claims(owner(), selector_from_set({"app": "web"}), pods)
    assert [p["metadata"]["name"] for p in owned] == ["mine"]
    assert [p["metadata"]["name"] for p in adopt] == ["orphan"]
    assert [p["metadata"]["name"] for p in release] == ["strayed"]


def test_adoption_patch_adds_the_owner_as_controller() -> None:
    orphan = {"metadata": {"name": "p", "uid": "p-uid", "ownerReferences": []}}
    patch = history.adoption_patch(owner(), orphan)
    assert patch["metadata"]["uid"] == "p-uid"
    assert patch["metadata"]["ownerReferences"][0]["uid"] == "uid-web"
    assert patch["metadata"]["ownerReferences"][0]["controller"] is True


def test_apply_revision_restores_the_old_template() -> None:
    restored = history.apply_revision(owner("nginx:2"), revision("r", 1, "nginx:1"))
    assert restored["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1"
