"""`kubeling status` rows, from an observation (pure) — plus the kubeconfig it points kubectl at."""

from __future__ import annotations

import itertools
from pathlib import Path

import yaml

from kubeling import cluster, kubeconfig
from kubeling.cluster import Settings
from kubeling.status import Observation, leader_kind, status_rows


def node(ready: bool) -> dict:
    return {"status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
                       "addresses": [{"type": "InternalIP", "address": "10.244.0.1"}]}}


def make(**kwargs) -> cluster.ClusterState:
    ports = itertools.count(30000)
    state = cluster.new_state(Settings(name="lab", **kwargs), Path("/s"), python="py", etcd_binary="etcd",
                              free_port=lambda: next(ports))
    for i, c in enumerate(state.components.values()):
        c.pid = 100 + i
    return state


def test_rows_show_pid_alive_health_leader_and_node_ready() -> None:
    state = make(nodes=2, ha=True)
    names = list(state.components)
    seen = Observation(alive=dict.fromkeys(names, True), healthy=dict.fromkeys(names, True),
                       leaders={"kube-scheduler": "scheduler-2", "kube-controller-manager": "controller-manager"},
                       nodes={"lab-node-1": node(True), "lab-node-2": node(False)})
    seen.alive["kubelet-lab-node-2"] = False
    seen.healthy.pop("kubelet-lab-node-2")
    rows = {row[0]: row for row in status_rows(state, seen)}
    assert rows["etcd"] == ("etcd", "100", "yes", "ok", "", "")
    assert rows["scheduler"][4] == "standby"
    assert rows["scheduler-2"][4] == "leader"
    assert rows["controller-manager"][4] == "leader"
    assert rows["controller-manager-2"][4] == "standby"
    assert rows["kubelet-lab-node-1"][2:] == ("yes", "ok", "", "Ready")
    assert rows["kubelet-lab-node-2"][2:] == ("no", "-", "", "NotReady")


def test_rows_when_the_apiserver_is_down() -> None:
    state = make(nodes=1)
    seen = Observation(alive={"etcd": True}, paused={"etcd": True})
    rows = {row[0]: row for row in status_rows(state, seen)}
    assert rows["etcd"][2] == "paused"
    assert rows["apiserver"][2] == "no"
    assert rows["kubelet-lab-node-1"][5] == "?"
    assert rows["scheduler"][4] == ""


def test_killed_leader_still_holding_its_lease() -> None:
    state = make(nodes=1)
    seen = Observation(leaders={"kube-scheduler": "scheduler"}, nodes={})
    rows = {row[0]: row for row in status_rows(state, seen)}
    assert rows["scheduler"][4] == "leader (stale lease)"
    assert rows["kubelet-lab-node-1"][5] == "absent"


def test_hollow_row_counts_ready_hollow_nodes() -> None:
    state = make(nodes=0, hollow_nodes=3)
    seen = Observation(alive={"kubelet-hollow": True},
                       nodes={"lab-hollow-1": node(True), "lab-hollow-2": node(True), "lab-hollow-3": node(False)})
    rows = {row[0]: row for row in status_rows(state, seen)}
    assert rows["kubelet-hollow"][5] == "2/3"


def test_leader_kind() -> None:
    assert leader_kind("scheduler") == "scheduler"
    assert leader_kind("scheduler-2") == "scheduler"
    assert leader_kind("controller-manager-2") == "controller-manager"
    assert leader_kind("kubelet-lab-node-1") is None
    assert leader_kind("scheduler-x") is None


def test_kubeconfig_points_kubectl_at_the_apiserver(tmp_path: Path) -> None:
    path = kubeconfig.write(tmp_path, "lab", "http://127.0.0.1:1234")
    config = yaml.safe_load(path.read_text())
    assert config["current-context"] == "kubeling-lab"
    assert config["clusters"][0]["cluster"]["server"] == "http://127.0.0.1:1234"
    assert config["contexts"][0]["context"]["cluster"] == "kubeling-lab"
