"""Table tests for the kubelet's pure decision function (Kubernetes' computePodActions)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from kubelet.pod_actions import (
    KILL_SPEC_CHANGED,
    ContainerStatus,
    PodActions,
    RuntimePodStatus,
    backoff_delay,
    compute_pod_actions,
    container_spec_hash,
    format_duration,
    restart_backoff,
)

NOW = 1_000_000.0
WEB = {"name": "web", "image": "nginx"}
SIDE = {"name": "side", "image": "busybox"}
INIT1 = {"name": "init1", "image": "busybox", "command": ["true"]}
INIT2 = {"name": "init2", "image": "busybox", "command": ["true"]}


def pod(
    containers: list[dict[str, Any]] | None = None,
    inits: list[dict[str, Any]] | None = None,
    policy: str = "Always",
    deleting: bool = False,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "web", "namespace": "default", "uid": "u-1"}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    spec: dict[str, Any] = {"containers": containers or [WEB], "restartPolicy": policy}
    if inits:
        spec["initContainers"] = inits
    return {"metadata": meta, "spec": spec}


def running(c: dict[str, Any], restarts: int = 0, spec_hash: str | None = None) -> ContainerStatus:
    h = container_spec_hash(c) if spec_hash is None else spec_hash
    return ContainerStatus(c["name"], "running", f"id-{c['name']}", restarts, started_at=NOW - 5, spec_hash=h)


def exited(c: dict[str, Any], code: int = 1, restarts: int = 0, ago: float = 1.0, ran: float = 1.0) -> ContainerStatus:
    return ContainerStatus(
        c["name"],
        "exited",
        f"id-{c['name']}",
        restarts,
        exit_code=code,
        started_at=NOW - ago - ran,
        finished_at=NOW - ago,
        spec_hash=container_spec_hash(c),
    )


def ready(*containers: ContainerStatus) -> RuntimePodStatus:
    return RuntimePodStatus("sb-1", True, tuple(containers))


@dataclass
class Case:
    id: str
    pod: dict[str, Any]
    status: RuntimePodStatus
    expected: PodActions
    waiting_prefix: dict[str, str] = field(default_factory=dict)


CASES = [
    Case(
        "new pod -> create sandbox and start all containers",
        pod([WEB, SIDE]),
        RuntimePodStatus(),
        PodActions(kill_pod=True, create_sandbox=True, containers_to_start=("web", "side")),
    ),
    Case(
        "new pod with 2 init containers -> start only the first",
        pod(inits=[INIT1, INIT2]),
        RuntimePodStatus(),
        PodActions(kill_pod=True, create_sandbox=True, next_init_container="init1"),
    ),
    Case(
        "first init container done -> start the second",
        pod(inits=[INIT1, INIT2]),
        ready(exited(INIT1, code=0)),
        PodActions(next_init_container="init2"),
    ),
    Case(
        "init container still running -> wait",
        pod(inits=[INIT1, INIT2]),
        ready(running(INIT1)),
        PodActions(),
    ),
    Case(
        "all init containers done -> start app containers",
        pod([WEB, SIDE], inits=[INIT1, INIT2]),
        ready(exited(INIT1, code=0), exited(INIT2, code=0)),
        PodActions(containers_to_start=("web", "side")),
    ),
    Case(
        "failed init container with Always -> restart it",
        pod(inits=[INIT1, INIT2]),
        ready(exited(INIT1, code=0), exited(INIT2, code=1, ago=60)),
        PodActions(next_init_container="init2"),
    ),
    Case(
        "failed init container in back-off -> waiting",
        pod(inits=[INIT1, INIT2]),
        ready(exited(INIT1, code=0), exited(INIT2, code=1, restarts=2, ago=5)),
        PodActions(),
        {"init2": "back-off 20s restarting failed container=init2 pod=web_default(u-1)"},
    ),
    Case(
        "failed init container with Never -> kill pod",
        pod(inits=[INIT1, INIT2], policy="Never"),
        ready(exited(INIT1, code=0), exited(INIT2, code=1)),
        PodActions(kill_pod=True),
    ),
    Case(
        "restartPolicy Always restarts an exited container after back-off",
        pod(),
        ready(exited(WEB, code=0, restarts=2, ago=21)),
        PodActions(containers_to_start=("web",)),
    ),
    Case(
        "restartPolicy Always does not restart an exited container before back-off",
        pod(),
        ready(exited(WEB, code=0, restarts=2, ago=19)),
        PodActions(),
        {"web": "back-off 20s restarting failed container=web pod=web_default(u-1)"},
    ),
    Case(
        "first crash restarts at once (no back-off entry yet)",
        pod(),
        ready(exited(WEB, restarts=0, ago=0)),
        PodActions(containers_to_start=("web",)),
    ),
    Case(
        "back-off is reset after 10 minutes running",
        pod(),
        ready(exited(WEB, restarts=9, ago=1, ran=600)),
        PodActions(containers_to_start=("web",)),
    ),
    Case(
        "OnFailure does not restart exit 0",
        pod([WEB, SIDE], policy="OnFailure"),
        ready(exited(WEB, code=0), running(SIDE)),
        PodActions(),
    ),
    Case(
        "OnFailure restarts a non-zero exit",
        pod([WEB, SIDE], policy="OnFailure"),
        ready(exited(WEB, code=2, ago=30), running(SIDE)),
        PodActions(containers_to_start=("web",)),
    ),
    Case(
        "Never does not restart a failed container",
        pod([WEB, SIDE], policy="Never"),
        ready(exited(WEB, code=1), running(SIDE)),
        PodActions(),
    ),
    Case(
        "terminal pod under Never starts nothing and stops the sandbox",
        pod([WEB, SIDE], policy="Never"),
        ready(exited(WEB, code=1), exited(SIDE, code=0)),
        PodActions(kill_pod=True),
    ),
    Case(
        "terminal pod under OnFailure whose sandbox is gone is not recreated",
        pod(policy="OnFailure"),
        RuntimePodStatus("sb-1", False, (exited(WEB, code=0),)),
        PodActions(kill_pod=True),
    ),
    Case(
        "dead sandbox under Never after containers ran -> kill pod, no new sandbox",
        pod(policy="Never"),
        RuntimePodStatus("sb-1", False, (running(WEB),)),
        PodActions(kill_pod=True),
    ),
    Case(
        "spec hash change kills and restarts the container",
        pod([WEB, SIDE], policy="Never"),
        ready(running(WEB, spec_hash="stale"), running(SIDE)),
        PodActions(containers_to_start=("web",), containers_to_kill=(("web", KILL_SPEC_CHANGED),)),
    ),
    Case(
        "deleting pod -> kill pod and start nothing",
        pod(deleting=True),
        RuntimePodStatus(),
        PodActions(kill_pod=True),
    ),
    Case(
        "running healthy pod -> no actions",
        pod([WEB, SIDE], inits=[INIT1]),
        ready(exited(INIT1, code=0), running(WEB), running(SIDE)),
        PodActions(),
    ),
    Case(
        "unknown-state container is killed before restart",
        pod(),
        ready(ContainerStatus("web", "unknown", "id-web", spec_hash=container_spec_hash(WEB))),
        PodActions(
            containers_to_start=("web",),
            containers_to_kill=(("web", "Container is in unknown state, try killing it before restart"),),
        ),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_compute_pod_actions(case: Case) -> None:
    first = compute_pod_actions(case.pod, case.status, NOW)
    second = compute_pod_actions(case.pod, case.status, NOW)
    assert first == second  # idempotent
    got_waiting = {name: msg for name, (reason, msg) in first.waiting.items()}
    assert got_waiting == case.waiting_prefix
    assert all(reason == "CrashLoopBackOff" for reason, _ in first.waiting.values())
    assert replace(first, waiting={}) == case.expected


@pytest.mark.parametrize(
    ("restarts", "delay"),
    [(0, 0), (1, 10), (2, 20), (3, 40), (4, 80), (5, 160), (6, 300), (7, 300), (100, 300)],
    ids=lambda v: str(v),
)
def test_backoff_doubles_with_restart_count_and_caps_at_5_minutes(restarts: int, delay: float) -> None:
    assert backoff_delay(restarts) == delay
    assert restart_backoff(restarts, last_finished=NOW, last_started=NOW - 1, now=NOW) == delay
    assert restart_backoff(restarts, last_finished=NOW, last_started=NOW - 1, now=NOW + delay) == 0


def test_backoff_counts_down_from_last_finish() -> None:
    assert restart_backoff(3, last_finished=NOW, last_started=NOW - 1, now=NOW + 15) == 25


def test_backoff_resets_after_10_minutes_running() -> None:
    assert restart_backoff(8, last_finished=NOW, last_started=NOW - 600, now=NOW) == 0
    assert restart_backoff(8, last_finished=NOW, last_started=NOW - 599, now=NOW) == 300


def test_capped_backoff_message_uses_go_duration_format() -> None:
    actions = compute_pod_actions(pod(), ready(exited(WEB, restarts=6, ago=1)), NOW)
    assert actions.waiting["web"] == (
        "CrashLoopBackOff",
        "back-off 5m0s restarting failed container=web pod=web_default(u-1)",
    )
    assert format_duration(160) == "2m40s"
    assert format_duration(3600) == "1h0m0s"


def test_spec_change_skips_backoff_because_the_key_includes_the_hash() -> None:
    stale = ContainerStatus("web", "exited", "id", 5, 1, NOW - 10, NOW - 1, spec_hash="stale")
    assert compute_pod_actions(pod(), ready(stale), NOW).containers_to_start == ("web",)


def test_spec_hash_is_stable_and_order_independent() -> None:
    assert container_spec_hash({"a": 1, "b": [1, 2]}) == container_spec_hash({"b": [1, 2], "a": 1})
    assert container_spec_hash({"a": 1}) != container_spec_hash({"a": 2})


def test_inputs_are_not_mutated() -> None:
    p = pod([WEB, SIDE], inits=[INIT1])
    before = repr(p)
    compute_pod_actions(p, RuntimePodStatus(), NOW)
    assert repr(p) == before


def test_the_plan_says_when_the_first_back_off_ends_so_the_worker_syncs_then() -> None:
    actions = compute_pod_actions(pod([WEB, SIDE]), ready(exited(WEB, restarts=2, ago=5.0),
                                                          exited(SIDE, restarts=1, ago=3.0)), NOW)
    assert set(actions.waiting) == {"web", "side"}
    assert actions.backoff_remaining == 7.0  # side: 10 s back-off, 3 s ago; web: 20 s, 5 s ago


def test_no_back_off_no_resync_time() -> None:
    assert compute_pod_actions(pod(), ready(running(WEB)), NOW).backoff_remaining is None
