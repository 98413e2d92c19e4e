"""Table tests for the kubelet's pure pod-status function (Kubernetes' generateAPIPodStatus and getPhase)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import pytest

from kubelet.pod_conditions import pod_qos_class
from kubelet.pod_status import compute_pod_status, format_time, get_phase, is_terminal, pod_status_changed
from kubelet.runtime.interface import RuntimeContainer, RuntimePod, RuntimeSandbox

T0 = 1_767_323_045.0  # 2026-01-02T03:04:05Z
NOW = "2026-01-02T03:10:00Z"
EARLIER = "2026-01-01T00:00:00Z"
WEB = {"name": "web", "image": "nginx"}
SIDE = {"name": "side", "image": "busybox"}
INIT1 = {"name": "init1", "image": "busybox"}
INIT2 = {"name": "init2", "image": "busybox"}


def pod(
    containers: list[dict[str, Any]] | None = None,
    inits: list[dict[str, Any]] | None = None,
    policy: str = "Always",
    status: dict[str, Any] | None = None,
    **spec_extra: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": containers or [WEB], "restartPolicy": policy, "nodeName": "n1"}
    if inits:
        spec["initContainers"] = inits
    spec.update(spec_extra)
    result: dict[str, Any] = {"metadata": {"name": "p", "namespace": "default", "uid": "u-1"}, "spec": spec}
    if status is not None:
        result["status"] = status
    return result


def attempt(
    name: str,
    state: str = "running",
    code: int | None = None,
    restarts: int = 0,
    kind: str = "app",
    oom: bool = False,
    error: str = "",
) -> RuntimeContainer:
    created = T0 + restarts * 10
    exited = state == "exited"
    return RuntimeContainer(
        id=f"{name}-{restarts}",
        pod_uid="u-1",
        name=name,
        container_type=kind,
        sandbox_id="sb-1",
        restart_count=restarts,
        spec_hash="h",
        image="img",
        image_id="sha256:abc",
        state=state,
        created_at=created,
        started_at=created + 1 if state != "created" else None,
        finished_at=created + 5 if exited else None,
        exit_code=(code if code is not None else 0) if exited else None,
        oom_killed=oom,
        error=error,
    )


def init(name: str, state: str = "exited", code: int = 0, restarts: int = 0) -> RuntimeContainer:
    return attempt(name, state, code if state == "exited" else None, restarts, kind="init")


def rpod(*containers: RuntimeContainer, ip: str | None = "10.0.0.5", ready: bool = True) -> RuntimePod:
    sandbox = RuntimeSandbox("sb-1", "u-1", "default", "p", ready, ip, T0)
    newest_first = tuple(sorted(containers, key=lambda c: c.created_at, reverse=True))
    return RuntimePod("u-1", "default", "p", (sandbox,), newest_first)


def pick(status: dict[str, Any], path: str) -> Any:
    """Walk a dotted path; list items (statuses, conditions) are found by their name or type."""
    value: Any = status
    for part in path.split("."):
        if isinstance(value, list):
            value = next(v for v in value if part in (v.get("name"), v.get("type")))
        else:
            value = value[part]
    return value


@dataclass
class Case:
    id: str
    pod: dict[str, Any]
    runtime: RuntimePod | None
    expect: dict[str, Any]
    waiting: dict[str, tuple[str, str]] = field(default_factory=dict)
    ready: dict[str, bool] = field(default_factory=dict)
    started: dict[str, bool] = field(default_factory=dict)


CRASH_MSG = "back-off 10s restarting failed container=web pod=p_default(u-1)"
PULL_MSG = "pull access denied for nope, repository does not exist"
GUARANTEED = {"requests": {"cpu": "500m", "memory": "64Mi"}, "limits": {"cpu": "0.5", "memory": "64Mi"}}

CASES = [
    Case(
        "pending pod with no sandbox: app containers wait in ContainerCreating",
        pod(),
        None,
        {
            "phase": "Pending",
            "containerStatuses.web.state": {"waiting": {"reason": "ContainerCreating"}},
            "containerStatuses.web.ready": False,
            "containerStatuses.web.started": False,
            "containerStatuses.web.restartCount": 0,
            "containerStatuses.web.image": "nginx",
            "conditions.PodReadyToStartContainers.status": "False",
            "conditions.Initialized.status": "True",
            "conditions.Ready.message": "containers with unready status: [web]",
        },
    ),
    Case(
        "init container running: apps wait in PodInitializing, Initialized False lists incomplete inits",
        pod(inits=[INIT1, INIT2]),
        rpod(init("init1", "running")),
        {
            "phase": "Pending",
            "initContainerStatuses.init1.state.running.startedAt": "2026-01-02T03:04:06Z",
            "initContainerStatuses.init1.started": True,
            "initContainerStatuses.init2.state": {"waiting": {"reason": "PodInitializing"}},
            "containerStatuses.web.state": {"waiting": {"reason": "PodInitializing"}},
            "conditions.Initialized.status": "False",
            "conditions.Initialized.reason": "ContainersNotInitialized",
            "conditions.Initialized.message": "containers with incomplete status: [init1 init2]",
            "conditions.PodReadyToStartContainers.status": "True",
        },
    ),
    Case(
        "init containers done, apps running: Initialized True, succeeded inits ready",
        pod(inits=[INIT1]),
        rpod(init("init1"), attempt("web")),
        {
            "phase": "Running",
            "initContainerStatuses.init1.ready": True,
            "initContainerStatuses.init1.started": False,
            "initContainerStatuses.init1.state.terminated.reason": "Completed",
            "conditions.Initialized.status": "True",
            "conditions.Ready.status": "True",
        },
        ready={"web": True},
    ),
    Case(
        "init container failed under restartPolicy Never: the pod Failed",
        pod(inits=[INIT1], policy="Never"),
        rpod(init("init1", code=2)),
        {
            "phase": "Failed",
            "initContainerStatuses.init1.state.terminated.exitCode": 2,
            "initContainerStatuses.init1.state.terminated.reason": "Error",
            "conditions.Initialized.message": "containers with incomplete status: [init1]",
            "conditions.Ready.reason": "PodFailed",
            "conditions.ContainersReady.reason": "PodFailed",
        },
    ),
    Case(
        "init container in CrashLoopBackOff under Always: Pending, lastState keeps the failure",
        pod(inits=[INIT1]),
        rpod(init("init1", code=1, restarts=1)),
        {
            "phase": "Pending",
            "initContainerStatuses.init1.state.waiting.reason": "CrashLoopBackOff",
            "initContainerStatuses.init1.lastState.terminated.exitCode": 1,
            "initContainerStatuses.init1.restartCount": 1,
        },
        waiting={"init1": ("CrashLoopBackOff", "back-off")},
    ),
    Case(
        "all containers running and ready: Running, Ready True without reason",
        pod([WEB, SIDE]),
        rpod(attempt("web"), attempt("side")),
        {
            "phase": "Running",
            "conditions.Ready": {"type": "Ready", "status": "True", "lastProbeTime": None, "lastTransitionTime": NOW},
            "conditions.ContainersReady.status": "True",
            "containerStatuses.web.ready": True,
            "containerStatuses.web.containerID": "docker://web-0",
            "containerStatuses.web.imageID": "docker://sha256:abc",
        },
        ready={"web": True, "side": True},
    ),
    Case(
        "one container not ready: Ready and ContainersReady False naming it",
        pod([WEB, SIDE]),
        rpod(attempt("web"), attempt("side")),
        {
            "phase": "Running",
            "conditions.Ready.status": "False",
            "conditions.Ready.reason": "ContainersNotReady",
            "conditions.Ready.message": "containers with unready status: [side]",
            "conditions.ContainersReady.message": "containers with unready status: [side]",
            "containerStatuses.side.ready": False,
            "containerStatuses.side.started": True,
        },
        ready={"web": True, "side": False},
    ),
    Case(
        "startup probe not yet passed: not started, hence not ready even if readiness says so",
        pod(),
        rpod(attempt("web")),
        {"containerStatuses.web.started": False, "containerStatuses.web.ready": False},
        ready={"web": True},
        started={"web": False},
    ),
    Case(
        "CrashLoopBackOff: Waiting with the back-off message, lastState the last termination, phase Running",
        pod(),
        rpod(attempt("web", "exited", 1, restarts=2)),
        {
            "phase": "Running",
            "containerStatuses.web.state": {"waiting": {"reason": "CrashLoopBackOff", "message": CRASH_MSG}},
            "containerStatuses.web.lastState.terminated.exitCode": 1,
            "containerStatuses.web.lastState.terminated.reason": "Error",
            "containerStatuses.web.lastState.terminated.startedAt": "2026-01-02T03:04:26Z",
            "containerStatuses.web.lastState.terminated.finishedAt": "2026-01-02T03:04:30Z",
            "containerStatuses.web.lastState.terminated.containerID": "docker://web-2",
            "containerStatuses.web.restartCount": 2,
        },
        waiting={"web": ("CrashLoopBackOff", CRASH_MSG)},
    ),
    Case(
        "running again after a crash: lastState is the previous attempt",
        pod(),
        rpod(attempt("web", "exited", 137, restarts=0, oom=True), attempt("web", restarts=1)),
        {
            "phase": "Running",
            "containerStatuses.web.state.running.startedAt": "2026-01-02T03:04:16Z",
            "containerStatuses.web.lastState.terminated.reason": "OOMKilled",
            "containerStatuses.web.lastState.terminated.exitCode": 137,
            "containerStatuses.web.restartCount": 1,
        },
    ),
    Case(
        "OOMKilled under Never: terminated reason OOMKilled, pod Failed",
        pod(policy="Never"),
        rpod(attempt("web", "exited", 137, oom=True)),
        {"phase": "Failed", "containerStatuses.web.state.terminated.reason": "OOMKilled"},
    ),
    Case(
        "runtime error starting the container: terminated reason ContainerCannotRun with its message",
        pod(policy="Never"),
        rpod(attempt("web", "exited", 127, error="exec: nope: not found")),
        {
            "containerStatuses.web.state.terminated.reason": "ContainerCannotRun",
            "containerStatuses.web.state.terminated.message": "exec: nope: not found",
        },
    ),
    Case(
        "restartPolicy Never, all exited 0: Succeeded, conditions say PodCompleted",
        pod([WEB, SIDE], policy="Never"),
        rpod(attempt("web", "exited", 0), attempt("side", "exited", 0)),
        {
            "phase": "Succeeded",
            "containerStatuses.web.state.terminated.reason": "Completed",
            "conditions.Initialized.reason": "PodCompleted",
            "conditions.Ready.reason": "PodCompleted",
            "conditions.ContainersReady.status": "False",
        },
    ),
    Case(
        "restartPolicy Never, one exited non-zero: Failed",
        pod([WEB, SIDE], policy="Never"),
        rpod(attempt("web", "exited", 0), attempt("side", "exited", 3)),
        {"phase": "Failed", "containerStatuses.side.state.terminated.reason": "Error"},
    ),
    Case(
        "restartPolicy Never, one still running: Running",
        pod([WEB, SIDE], policy="Never"),
        rpod(attempt("web", "exited", 0), attempt("side")),
        {"phase": "Running"},
    ),
    Case(
        "restartPolicy Always, all exited (about to restart): Running",
        pod([WEB, SIDE]),
        rpod(attempt("web", "exited", 0), attempt("side", "exited", 1)),
        {"phase": "Running"},
    ),
    Case(
        "restartPolicy OnFailure, all exited 0: Succeeded",
        pod(policy="OnFailure"),
        rpod(attempt("web", "exited", 0)),
        {"phase": "Succeeded"},
    ),
    Case(
        "restartPolicy OnFailure, a failure being restarted: Running",
        pod(policy="OnFailure"),
        rpod(attempt("web", "exited", 1)),
        {"phase": "Running"},
    ),
    Case(
        "restartPolicy OnFailure: a waiting reason does not hide a container that succeeded",
        pod(policy="OnFailure"),
        rpod(attempt("web", "exited", 0)),
        {"phase": "Succeeded", "containerStatuses.web.state.terminated.exitCode": 0},
        waiting={"web": ("CrashLoopBackOff", CRASH_MSG)},
    ),
    Case(
        "ErrImagePull: Waiting with the pull message, phase Pending",
        pod(),
        rpod(),
        {
            "phase": "Pending",
            "containerStatuses.web.state": {"waiting": {"reason": "ErrImagePull", "message": PULL_MSG}},
            "containerStatuses.web.lastState": {},
        },
        waiting={"web": ("ErrImagePull", PULL_MSG)},
    ),
    Case(
        "created but not started: Waiting without reason",
        pod(),
        rpod(attempt("web", "created")),
        {"phase": "Pending", "containerStatuses.web.state": {"waiting": {}}},
    ),
    Case(
        "pod IP from the ready sandbox, host IP from the node",
        pod(),
        rpod(attempt("web"), ip="10.0.0.9"),
        {
            "podIP": "10.0.0.9",
            "podIPs": [{"ip": "10.0.0.9"}],
            "hostIP": "192.168.1.2",
            "hostIPs": [{"ip": "192.168.1.2"}],
        },
    ),
    Case(
        "sandbox not ready: no pod IP, PodReadyToStartContainers False",
        pod(),
        rpod(attempt("web", "exited", 1), ready=False),
        {"conditions.PodReadyToStartContainers.status": "False"},
    ),
    Case(
        "hostNetwork pod: the pod IP is the node's",
        pod(hostNetwork=True),
        rpod(attempt("web"), ip=None),
        {"podIP": "192.168.1.2", "conditions.PodReadyToStartContainers.status": "True"},
    ),
    Case(
        "terminal pod whose sandbox is gone keeps its previous pod IP",
        pod(policy="Never", status={"phase": "Succeeded", "podIP": "10.0.0.7", "podIPs": [{"ip": "10.0.0.7"}]}),
        RuntimePod("u-1", "default", "p", (), (attempt("web", "exited", 0),)),
        {"phase": "Succeeded", "podIP": "10.0.0.7", "podIPs": [{"ip": "10.0.0.7"}]},
    ),
    Case(
        "startTime is kept from the previous status; PodScheduled kept as the scheduler set it",
        pod(
            status={
                "startTime": EARLIER,
                "conditions": [
                    {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": EARLIER}
                ],
            }
        ),
        rpod(attempt("web")),
        {"startTime": EARLIER, "conditions.PodScheduled.lastTransitionTime": EARLIER},
    ),
    Case(
        "startTime and PodScheduled (nodeName set) default to now",
        pod(),
        rpod(attempt("web")),
        {"startTime": NOW, "conditions.PodScheduled.status": "True", "conditions.PodScheduled.lastTransitionTime": NOW},
    ),
    Case(
        "lastTransitionTime is kept when the status did not change and moves when it did",
        pod(
            status={
                "conditions": [
                    {"type": "Ready", "status": "False", "lastProbeTime": None, "lastTransitionTime": EARLIER},
                    {"type": "ContainersReady", "status": "True", "lastProbeTime": None, "lastTransitionTime": EARLIER},
                ]
            }
        ),
        rpod(attempt("web")),
        {"conditions.Ready.lastTransitionTime": EARLIER, "conditions.ContainersReady.lastTransitionTime": NOW},
        ready={"web": False},
    ),
    Case(
        "conditions the kubelet does not own are kept, and readiness gates read them",
        pod(
            readinessGates=[{"conditionType": "TargetHealthy"}],
            status={"conditions": [{"type": "TargetHealthy", "status": "False", "lastTransitionTime": EARLIER}]},
        ),
        rpod(attempt("web")),
        {
            "conditions.TargetHealthy.status": "False",
            "conditions.ContainersReady.status": "True",
            "conditions.Ready.reason": "ReadinessGatesNotReady",
            "conditions.Ready.message": 'the status of pod readiness gate "TargetHealthy" is not "True", but False',
        },
        ready={"web": True},
    ),
    Case(
        "a terminal phase is final even if the runtime view changes",
        pod(policy="Never", status={"phase": "Failed", "reason": "Evicted", "message": "low on memory"}),
        None,
        {"phase": "Failed", "reason": "Evicted", "message": "low on memory"},
    ),
    Case(
        "a terminated status survives the removal of the container",
        pod(
            policy="Never",
            status={
                "phase": "Succeeded",
                "containerStatuses": [
                    {"name": "web", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}, "restartCount": 0}
                ],
            },
        ),
        None,
        {"phase": "Succeeded", "containerStatuses.web.state.terminated.reason": "Completed"},
    ),
    Case(
        "a running container that vanished is recorded as ContainerStatusUnknown in lastState",
        pod(
            status={
                "phase": "Running",
                "containerStatuses": [{"name": "web", "state": {"running": {"startedAt": EARLIER}}, "restartCount": 3}],
            }
        ),
        rpod(),
        {
            "phase": "Running",
            "containerStatuses.web.lastState.terminated.reason": "ContainerStatusUnknown",
            "containerStatuses.web.lastState.terminated.exitCode": 137,
            "containerStatuses.web.restartCount": 4,
        },
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_compute_pod_status(case: Case) -> None:
    status = compute_pod_status(
        case.pod,
        case.runtime,
        waiting=case.waiting,
        ready=case.ready,
        started=case.started,
        host_ip="192.168.1.2",
        now=NOW,
    )
    for path, expected in case.expect.items():
        assert pick(status, path) == expected, path


def test_condition_order_and_shape() -> None:
    status = compute_pod_status(
        pod(), rpod(attempt("web")), waiting={}, ready={"web": True}, started={}, host_ip="h", now=NOW
    )
    assert [c["type"] for c in status["conditions"]] == [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ]
    assert all(c["lastProbeTime"] is None and c["lastTransitionTime"] == NOW for c in status["conditions"])
    assert "initContainerStatuses" not in status


def test_app_statuses_sorted_by_name_init_statuses_in_spec_order() -> None:
    runtime = rpod(init("init2"), init("init1"), attempt("web"), attempt("side"))
    status = compute_pod_status(
        pod([WEB, SIDE], inits=[INIT2, INIT1]), runtime, waiting={}, ready={}, started={}, host_ip="h", now=NOW
    )
    assert [s["name"] for s in status["containerStatuses"]] == ["side", "web"]
    assert [s["name"] for s in status["initContainerStatuses"]] == ["init2", "init1"]


def test_fake_runtime_ids() -> None:
    runtime = rpod(
        RuntimeContainer(
            "c1", "u-1", "web", "app", "sb-1", 0, "h", "nginx", "fake://nginx", "running", T0, started_at=T0
        )
    )
    status = compute_pod_status(
        pod(), runtime, waiting={}, ready={}, started={}, host_ip="h", now=NOW, runtime_name="fake"
    )
    web = status["containerStatuses"][0]
    assert (web["containerID"], web["imageID"]) == ("fake://c1", "fake://nginx")


def test_docker_pullable_image_id() -> None:
    runtime = rpod(
        RuntimeContainer(
            "c1", "u-1", "web", "app", "sb-1", 0, "h", "nginx", "nginx@sha256:1", "running", T0, started_at=T0
        )
    )
    status = compute_pod_status(pod(), runtime, waiting={}, ready={}, started={}, host_ip="h", now=NOW)
    assert status["containerStatuses"][0]["imageID"] == "docker-pullable://nginx@sha256:1"


def test_pod_is_terminal_makes_always_pods_final() -> None:
    def exited(code: int) -> dict[str, Any]:
        return {"web": {"name": "web", "state": {"terminated": {"exitCode": code}}, "lastState": {}}}

    assert get_phase(pod(), exited(0)) == "Running"
    assert get_phase(pod(), exited(0), pod_is_terminal=True) == "Succeeded"
    assert get_phase(pod(), exited(1), pod_is_terminal=True) == "Failed"


def test_input_pod_is_not_mutated() -> None:
    old = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": EARLIER}],
        "containerStatuses": [{"name": "web", "state": {"running": {"startedAt": EARLIER}}, "restartCount": 1}],
    }
    the_pod = pod(status=old)
    before = copy.deepcopy(the_pod)
    compute_pod_status(the_pod, rpod(), waiting={}, ready={}, started={}, host_ip="h", now=NOW)
    assert the_pod == before


QOS_CASES = [
    ("no requests or limits anywhere: BestEffort", [{}], [], "BestEffort"),
    (
        "requests equal limits for cpu and memory in every container: Guaranteed",
        [GUARANTEED, GUARANTEED],
        [],
        "Guaranteed",
    ),
    (
        "limits only (requests default to limits): Guaranteed",
        [{"limits": {"cpu": "1", "memory": "1Gi"}}],
        [],
        "Guaranteed",
    ),
    ("an init container without limits spoils Guaranteed: Burstable", [GUARANTEED], [{}], "Burstable"),
    ("init container with equal requests and limits keeps Guaranteed", [GUARANTEED], [GUARANTEED], "Guaranteed"),
    (
        "requests below limits: Burstable",
        [{"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}}],
        [],
        "Burstable",
    ),
    ("cpu limit only: Burstable", [{"limits": {"cpu": "1"}}], [], "Burstable"),
    ("one container with requests, one without: Burstable", [GUARANTEED, {}], [], "Burstable"),
    ("only extended resources: BestEffort", [{"limits": {"nvidia.com/gpu": "1"}}], [], "BestEffort"),
    ("zero requests count as none: BestEffort", [{"requests": {"cpu": "0", "memory": "0"}}], [], "BestEffort"),
]


@pytest.mark.parametrize(("name", "containers", "inits", "expected"), QOS_CASES, ids=[c[0] for c in QOS_CASES])
def test_qos_class(name: str, containers: list[dict[str, Any]], inits: list[dict[str, Any]], expected: str) -> None:
    spec_containers = [{"name": f"c{i}", "image": "x", "resources": r} for i, r in enumerate(containers)]
    spec_inits = [{"name": f"i{i}", "image": "x", "resources": r} for i, r in enumerate(inits)]
    the_pod = pod(spec_containers, spec_inits or None)
    assert pod_qos_class(the_pod) == expected
    status = compute_pod_status(the_pod, None, waiting={}, ready={}, started={}, host_ip="h", now=NOW)
    assert status["qosClass"] == expected


def test_qos_class_kept_from_previous_status() -> None:
    status = compute_pod_status(
        pod(status={"qosClass": "Burstable"}), None, waiting={}, ready={}, started={}, host_ip="h", now=NOW
    )
    assert status["qosClass"] == "Burstable"


def _status(the_pod: dict[str, Any], now: str = NOW, **kw: Any) -> dict[str, Any]:
    return compute_pod_status(
        the_pod, rpod(attempt("web")), waiting={}, ready={"web": True}, started={}, host_ip="h", now=now, **kw
    )


def test_pod_status_changed_ignores_identical_content() -> None:
    first = _status(pod())
    second = _status(pod(status=first), now="2026-01-02T04:00:00Z")
    assert second == first  # same content: transition times and startTime kept
    assert not pod_status_changed(first, second)


def test_pod_status_changed_ignores_condition_times_and_empty_fields() -> None:
    first = _status(pod())
    other = {
        **first,
        "conditions": [{**c, "lastTransitionTime": EARLIER} for c in first["conditions"]],
        "nominatedNodeName": "",
    }
    assert not pod_status_changed(first, other)


def test_pod_status_changed_sees_readiness_and_restarts() -> None:
    first = _status(pod())
    unready = compute_pod_status(
        pod(status=first), rpod(attempt("web")), waiting={}, ready={"web": False}, started={}, host_ip="h", now=NOW
    )
    assert pod_status_changed(first, unready)
    restarted = compute_pod_status(
        pod(status=first),
        rpod(attempt("web", restarts=1)),
        waiting={},
        ready={"web": True},
        started={},
        host_ip="h",
        now=NOW,
    )
    assert pod_status_changed(first, restarted)


def test_helpers() -> None:
    assert format_time(T0) == "2026-01-02T03:04:05Z"
    assert format_time(T0 + 0.9) == "2026-01-02T03:04:05Z"
    assert format_time(None) is None
    assert is_terminal("Succeeded") and is_terminal("Failed")
    assert not is_terminal("Running") and not is_terminal(None)
