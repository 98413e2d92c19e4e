"""The component command lines `kubeling up` computes, per flag, and the state file."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from kubeling import cluster
from kubeling.cluster import ClusterState, Settings

STATE = Path("/state/lab")


def make(**kwargs) -> ClusterState:
    ports = itertools.count(30000)
    return cluster.new_state(Settings(**kwargs), STATE, python="/venv/bin/python", etcd_binary="/usr/bin/etcd",
                             free_port=lambda: next(ports))


def flag(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_default_cluster_has_every_component_in_start_order() -> None:
    state = make(name="lab", nodes=3)
    assert list(state.components) == ["etcd", "apiserver", "controller-manager", "scheduler",
                                      "kubelet-lab-node-1", "kubelet-lab-node-2", "kubelet-lab-node-3"]
    assert state.nodes == ["lab-node-1", "lab-node-2", "lab-node-3"]


def test_ports_are_distinct_and_wired_together() -> None:
    state = make(nodes=1)
    p = state.ports
    assert len({p.etcd_client, p.etcd_peer, p.apiserver_http, p.apiserver_grpc}) == 4
    etcd, apiserver = state.components["etcd"].command, state.components["apiserver"].command
    assert flag(etcd, "--listen-client-urls") == f"http://127.0.0.1:{p.etcd_client}"
    assert flag(etcd, "--data-dir") == str(STATE / "etcd")
    assert flag(apiserver, "--etcd-servers") == f"127.0.0.1:{p.etcd_client}"
    assert flag(apiserver, "--grpc-port") == str(p.apiserver_grpc)
    assert flag(apiserver, "--port") == str(p.apiserver_http)
    for name in ("controller-manager", "scheduler", "kubelet-lab-node-1"):
        assert flag(state.components[name].command, "--apiserver") == f"127.0.0.1:{p.apiserver_grpc}"
    assert state.components["apiserver"].healthz == f"http://127.0.0.1:{p.apiserver_http}/healthz"


def test_kubelet_command() -> None:
    kubelet = make(name="x", nodes=1).components["kubelet-x-node-1"]
    assert kubelet.command[:3] == ["/venv/bin/python", "-m", "kubelet"]
    assert flag(kubelet.command, "--node-name") == "x-node-1"
    assert flag(kubelet.command, "--root-dir") == str(STATE / "kubelet")
    assert flag(kubelet.command, "--port") == "0"
    assert "{node_ip}" in kubelet.healthz
    assert "--node-status-update-frequency" not in kubelet.command


def test_default_timings_are_kubernetes_defaults() -> None:
    state = make(nodes=1)
    for component in state.components.values():
        for fast in ("--node-monitor-grace-period", "--leader-elect-lease-duration",
                     "--default-unreachable-toleration-seconds", "--node-lease-renew-interval"):
            assert fast not in component.command


def test_fast_failover_shortens_heartbeat_grace_eviction_and_leases() -> None:
    state = make(nodes=2, fast_failover=True)
    kubelet = state.components["kubelet-lab-node-2"].command
    assert flag(kubelet, "--node-status-update-frequency") == "1s"
    assert flag(kubelet, "--node-lease-renew-interval") == "1s"
    cm = state.components["controller-manager"].command
    assert flag(cm, "--node-monitor-grace-period") == "8s"
    assert flag(cm, "--node-monitor-period") == "1s"
    apiserver = state.components["apiserver"].command
    assert flag(apiserver, "--default-not-ready-toleration-seconds") == "10"
    assert flag(apiserver, "--default-unreachable-toleration-seconds") == "10"
    for name in ("controller-manager", "scheduler"):
        command = state.components[name].command
        assert flag(command, "--leader-elect-lease-duration") == "4s"
        assert flag(command, "--leader-elect-renew-deadline") == "3s"
        assert flag(command, "--leader-elect-retry-period") == "1s"
    assert "--node-monitor-grace-period" not in state.components["scheduler"].command


def test_ha_runs_two_named_replicas_of_scheduler_and_controller_manager() -> None:
    state = make(nodes=1, ha=True)
    for kind, module in (("scheduler", "scheduler"), ("controller-manager", "controller_manager")):
        first, second = state.components[kind], state.components[f"{kind}-2"]
        assert first.env == {"KUBELING_IDENTITY": kind}
        assert second.env == {"KUBELING_IDENTITY": f"{kind}-2"}
        assert first.command[1:3] == second.command[1:3] == ["-m", module]
        assert flag(first.command, "--healthz-port") != flag(second.command, "--healthz-port")
    assert "scheduler-2" not in make(nodes=1).components


def test_hollow_nodes_are_one_fake_runtime_process() -> None:
    state = make(name="big", nodes=1, hollow_nodes=50)
    hollow = state.components["kubelet-hollow"].command
    assert flag(hollow, "--runtime") == "fake"
    assert flag(hollow, "--hollow-nodes") == "50"
    assert flag(hollow, "--node-name-prefix") == "big-hollow-"
    assert state.nodes == ["big-node-1"]
    assert state.hollow_node_names()[:2] == ["big-hollow-1", "big-hollow-2"]
    assert len(state.all_node_names()) == 51
    assert "kubelet-hollow" not in make(nodes=1).components


def test_proxy_and_dns_only_when_their_packages_exist() -> None:
    assert not {"proxy", "dns"} & set(make(nodes=1).components)
    state = make(nodes=1, with_dns=True, with_proxy=True)
    assert list(state.components)[-2:] == ["dns", "proxy"]
    assert flag(state.components["kubelet-lab-node-1"].command, "--cluster-dns") == "10.96.0.10"
    assert "--cluster-dns" not in make(nodes=1, with_dns=True).components["kubelet-lab-node-1"].command


def test_state_file_round_trip(tmp_path: Path) -> None:
    state = make(nodes=2, hollow_nodes=3, ha=True, fast_failover=True)
    state.components["etcd"].pid = 1234
    state.components["etcd"].started_at = 17.5
    cluster.save(state, tmp_path / "lab")
    loaded = cluster.load(tmp_path / "lab")
    assert loaded == state
    assert list(loaded.components) == list(state.components)
    assert cluster.load(tmp_path / "missing") is None


def test_state_dir_honours_kubeling_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KUBELING_HOME", str(tmp_path))
    assert cluster.state_dir("lab") == tmp_path / "lab"
    monkeypatch.delenv("KUBELING_HOME")
    assert cluster.state_dir("lab") == Path.home() / ".kubeling" / "lab"


@pytest.mark.parametrize("bad", ["", "Lab", "a_b", "-x", "x" * 40, "../etc"])
def test_invalid_cluster_names(bad: str) -> None:
    with pytest.raises(ValueError):
        cluster.check_name(bad)


def test_node_names_and_resolution() -> None:
    state = make(name="lab", nodes=2)
    assert cluster.resolve_component(state, "lab-node-2") == "kubelet-lab-node-2"
    assert cluster.resolve_component(state, "scheduler") == "scheduler"
    with pytest.raises(KeyError, match="no component or node"):
        cluster.resolve_component(state, "lab-node-9")
    assert cluster.next_node_name("lab", ["lab-node-1", "lab-node-3"]) == "lab-node-4"
    assert cluster.next_node_name("lab", []) == "lab-node-1"
    assert cluster.node_index("lab", "other-node-1") is None


@pytest.mark.parametrize(("patterns", "expected"), [
    ("*", ["etcd", "apiserver", "scheduler", "scheduler-2", "kubelet-lab-node-1", "kubelet-lab-node-2"]),
    ("scheduler,kubelet-*", ["scheduler", "kubelet-lab-node-1", "kubelet-lab-node-2"]),
    ("scheduler*", ["scheduler", "scheduler-2"]),
    ("*,-etcd,-kubelet-*", ["apiserver", "scheduler", "scheduler-2"]),
    ("kubelet-*-2", ["kubelet-lab-node-2"]),
    ("nothing", []),
    ("", []),
])
def test_target_patterns(patterns: str, expected: list[str]) -> None:
    names = ["etcd", "apiserver", "scheduler", "scheduler-2", "kubelet-lab-node-1", "kubelet-lab-node-2"]
    assert cluster.match_targets(patterns, names) == expected
