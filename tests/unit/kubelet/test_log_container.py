"""Which container attempt `kubectl logs [--previous]` reads: the kubelet's validateContainerLogStatus."""

from __future__ import annotations

from typing import Any

import pytest

from kubelet.kubelet import log_container_id
from kubelet.runtime.interface import STATE_EXITED, STATE_RUNNING, RuntimeContainer


def attempt(cid: str, restart: int, state: str = STATE_EXITED) -> RuntimeContainer:
    return RuntimeContainer(id=cid, pod_uid="u", name="c", container_type="app", sandbox_id="s", restart_count=restart,
                            spec_hash="h", image="busybox", image_id="sha256:x", state=state, created_at=float(restart),
                            exit_code=1 if state == STATE_EXITED else None)


def status(state: dict[str, Any], last_id: str | None) -> dict[str, Any]:
    last = {"terminated": {"exitCode": 1, "containerID": f"docker://{last_id}"}} if last_id else {}
    return {"containerStatuses": [{"name": "c", "state": state, "lastState": last}]}


def test_previous_of_a_crash_looping_container_is_its_newest_dead_attempt() -> None:
    attempts = (attempt("c2", 2), attempt("c1", 1))  # c2 exited, the kubelet waits in back-off to start c3
    waiting = status({"waiting": {"reason": "CrashLoopBackOff"}}, "c2")
    assert log_container_id("p", "c", attempts, waiting, previous=True) == "c2"
    assert log_container_id("p", "c", attempts, waiting, previous=False) == "c2"


def test_previous_of_a_restarted_running_container_is_the_attempt_before() -> None:
    attempts = (attempt("c2", 2, STATE_RUNNING), attempt("c1", 1))
    running = status({"running": {}}, "c1")
    assert log_container_id("p", "c", attempts, running, previous=True) == "c1"
    assert log_container_id("p", "c", attempts, running, previous=False) == "c2"


def test_previous_without_a_status_falls_back_to_the_attempt_before_the_newest() -> None:
    attempts = (attempt("c2", 2, STATE_RUNNING), attempt("c1", 1))
    assert log_container_id("p", "c", attempts, {}, previous=True) == "c1"


def test_no_previous_container_and_no_container_yet_are_errors() -> None:
    with pytest.raises(LookupError, match='previous terminated container "c" in pod "p" not found'):
        log_container_id("p", "c", (attempt("c1", 0, STATE_RUNNING),), status({"running": {}}, None), previous=True)
    with pytest.raises(LookupError, match="is waiting to start: ContainerCreating"):
        log_container_id("p", "c", (), {}, previous=False)
