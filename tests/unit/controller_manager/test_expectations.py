"""ControllerExpectations: a controller waits for the informer to observe its own creates and deletes."""

from __future__ import annotations

from controller_manager.expectations import ControllerExpectations


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_controller_without_expectations_may_act() -> None:
    assert ControllerExpectations().satisfied("default/web")


def test_creations_must_all_be_observed_before_acting_again() -> None:
    e = ControllerExpectations()
    e.expect_creations("default/web", 2)
    e.creation_observed("default/web")
    assert not e.satisfied("default/web")
    e.creation_observed("default/web")
    assert e.satisfied("default/web")


def test_a_deletion_counts_once_per_expected_pod_key() -> None:
    e = ControllerExpectations()
    e.expect_deletions("default/web", ["default/a", "default/b"])
    e.deletion_observed("default/web", "default/a")
    e.deletion_observed("default/web", "default/a")  # deletionTimestamp first, then the delete itself
    e.deletion_observed("default/web", "default/other")
    assert not e.satisfied("default/web")
    e.deletion_observed("default/web", "default/b")
    assert e.satisfied("default/web")


def test_expectations_expire_after_the_timeout() -> None:
    clock = Clock()
    e = ControllerExpectations(timeout=300, clock=clock)
    e.expect_creations("default/web", 1)
    clock.now = 300
    assert not e.satisfied("default/web")
    clock.now = 300.1
    assert e.satisfied("default/web")


def test_deleting_expectations_forgets_them() -> None:
    e = ControllerExpectations()
    e.expect_creations("default/web", 1)
    e.delete_expectations("default/web")
    assert e.satisfied("default/web")
