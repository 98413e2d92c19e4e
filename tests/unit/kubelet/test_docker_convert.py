"""Pure conversions of Docker's JSON: timestamps, states, names, inspect documents, stats."""

from __future__ import annotations

import re

import pytest

from kubelet.runtime.docker_convert import (
    docker_name,
    group_pods,
    map_state,
    parse_docker_time,
    resolv_conf,
    to_stats,
)
from kubelet.runtime.interface import (
    LABEL_CONTAINER_NAME,
    LABEL_CONTAINER_TYPE,
    LABEL_POD_NAME,
    LABEL_POD_NAMESPACE,
    LABEL_POD_UID,
    LABEL_RESTART_COUNT,
    LABEL_SANDBOX_ID,
    LABEL_SPEC_HASH,
    STATE_CREATED,
    STATE_EXITED,
    STATE_RUNNING,
    STATE_UNKNOWN,
    SandboxConfig,
)

ZERO = "0001-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-22T05:49:46Z", 1795326586.0),
        ("2026-11-22T05:49:46.123456789Z", 1795326586.123456789),
        ("2026-11-22T05:49:46.5Z", 1795326586.5),
        ("2026-11-22T06:49:46.25+01:00", 1795326586.25),
        ("2026-11-22T04:49:46-01:00", 1795326586.0),
        (ZERO, None),
        ("", None),
        (None, None),
        ("yesterday", None),
    ],
)
def test_parse_docker_time(value: str | None, expected: float | None) -> None:
    result = parse_docker_time(value)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    ("docker_state", "expected"),
    [
        ("created", STATE_CREATED),
        ("running", STATE_RUNNING),
        ("paused", STATE_RUNNING),
        ("restarting", STATE_RUNNING),
        ("exited", STATE_EXITED),
        ("dead", STATE_EXITED),
        ("removing", STATE_UNKNOWN),
        ("", STATE_UNKNOWN),
        (None, STATE_UNKNOWN),
        ("Running", STATE_RUNNING),
    ],
)
def test_map_state(docker_state: str | None, expected: str) -> None:
    assert map_state(docker_state) == expected


def test_docker_name_is_valid_and_unique() -> None:
    a = docker_name("web", "my.pod", "default", "0123abcd-ffff", 2)
    b = docker_name("web", "my.pod", "default", "0123abcd-ffff", 2)
    assert a != b
    assert re.fullmatch(r"k8s_web_my\.pod_default_0123abcd_2_[0-9a-f]{6}", a)
    assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+", docker_name("we b", "p/d", "ns", "u", 0))


def _doc(cid: str, name: str, kind: str, status: str, created: str, restart: int = 0, **state: object) -> dict:
    labels = {LABEL_POD_UID: "uid-1", LABEL_POD_NAMESPACE: "ns", LABEL_POD_NAME: "pod",
              LABEL_CONTAINER_NAME: name, LABEL_CONTAINER_TYPE: kind, LABEL_RESTART_COUNT: str(restart),
              LABEL_SPEC_HASH: "h", LABEL_SANDBOX_ID: "sb1"}
    return {
        "Id": cid, "Created": created, "Image": "sha256:img",
        "Config": {"Labels": labels, "Image": "kubeling/busybox:1.35"},
        "State": {"Status": status, "StartedAt": ZERO, "FinishedAt": ZERO, "ExitCode": 0, "OOMKilled": False,
                  "Error": "", **state},
        "NetworkSettings": {"Networks": {"kubeling": {"IPAddress": "10.244.0.5"}}},
    }


def test_group_pods_orders_attempts_and_maps_fields() -> None:
    docs = [
        _doc("sb0", "POD", "sandbox", "exited", "2026-11-22T05:00:00Z"),
        _doc("sb1", "POD", "sandbox", "running", "2026-11-22T05:00:01Z"),
        _doc("c0", "app", "app", "exited", "2026-11-22T05:00:02Z", 0, ExitCode=137, OOMKilled=True,
             StartedAt="2026-11-22T05:00:02.5Z", FinishedAt="2026-11-22T05:00:03Z"),
        _doc("c1", "app", "app", "running", "2026-11-22T05:00:04Z", 1, StartedAt="2026-11-22T05:00:04.5Z",
             FinishedAt="2026-11-22T05:00:03Z", ExitCode=0),
        # exited at once: Docker may stamp StartedAt after FinishedAt
        _doc("i0", "init", "init", "exited", "2026-11-22T05:00:01Z", 0, ExitCode=0,
             StartedAt="2026-11-22T05:00:01.9Z", FinishedAt="2026-11-22T05:00:01.8Z"),
        _doc("n0", "new", "app", "created", "2026-11-22T05:00:05Z"),
    ]
    (pod,) = group_pods(docs, "kubeling")
    assert (pod.uid, pod.namespace, pod.name) == ("uid-1", "ns", "pod")
    assert [s.id for s in pod.sandboxes] == ["sb1", "sb0"]
    assert pod.sandbox is not None and pod.sandbox.ready and pod.sandbox.ip == "10.244.0.5"
    assert not pod.sandboxes[1].ready and pod.sandboxes[1].ip is None
    c1, c0 = pod.attempts("app")
    assert (c1.id, c1.state, c1.restart_count, c1.exit_code, c1.finished_at) == ("c1", STATE_RUNNING, 1, None, None)
    assert c1.started_at == pytest.approx(parse_docker_time("2026-11-22T05:00:04.5Z"))
    assert (c0.state, c0.exit_code, c0.oom_killed) == (STATE_EXITED, 137, True)
    assert c0.finished_at == pytest.approx(parse_docker_time("2026-11-22T05:00:03Z"))
    assert c0.image == "kubeling/busybox:1.35" and c0.image_id == "sha256:img" and c0.sandbox_id == "sb1"
    (init,) = pod.attempts("init")
    assert init.container_type == "init" and init.started_at == init.finished_at
    (new,) = pod.attempts("new")
    assert new.state == STATE_CREATED and new.started_at is None and new.exit_code is None


def test_to_stats_cgroup_v1_and_v2() -> None:
    sample = {
        "read": "2026-11-22T05:00:00Z",
        "cpu_stats": {"cpu_usage": {"total_usage": 3_000_000_000}, "system_cpu_usage": 20_000_000_000,
                      "online_cpus": 2},
        "precpu_stats": {"cpu_usage": {"total_usage": 2_000_000_000}, "system_cpu_usage": 18_000_000_000},
        "memory_stats": {"usage": 10_000, "stats": {"total_inactive_file": 4_000}},
    }
    stats = to_stats("c", sample, now=0.0)
    # 1 s of CPU over 2 s of (2-CPU) system time = 1 core
    assert stats.cpu_usage_nanocores == 1_000_000_000
    assert stats.cpu_usage_core_nanoseconds == 3_000_000_000
    assert (stats.memory_usage_bytes, stats.memory_working_set_bytes) == (10_000, 6_000)
    assert stats.timestamp == parse_docker_time("2026-11-22T05:00:00Z")
    sample["memory_stats"] = {"usage": 10_000, "stats": {"inactive_file": 12_000}}
    sample["precpu_stats"] = {}
    stats = to_stats("c", sample, now=5.0)
    assert stats.memory_working_set_bytes == 0 and stats.cpu_usage_nanocores == 0


def test_resolv_conf() -> None:
    assert resolv_conf(SandboxConfig("u", "ns", "p", "n", "p")) == ""
    config = SandboxConfig("u", "ns", "p", "n", "p", dns_servers=("10.96.0.10",),
                           dns_searches=("ns.svc.cluster.local", "cluster.local"), dns_options=("ndots:5",))
    assert resolv_conf(config) == (
        "nameserver 10.96.0.10\nsearch ns.svc.cluster.local cluster.local\noptions ndots:5"
    )
