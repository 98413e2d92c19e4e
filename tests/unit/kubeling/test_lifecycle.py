"""Prerequisite checks and the CLI's answers that need no running cluster."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from click.testing import CliRunner

from kubeling import cli, cluster, lifecycle
from kubeling.cluster import Settings


def test_missing_etcd_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifecycle.shutil, "which", lambda name: None)
    with pytest.raises(lifecycle.SetupError, match="apt-get install etcd-server"):
        lifecycle.find_etcd()


def test_missing_docker_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import docker

    def unreachable() -> None:
        raise docker.errors.DockerException("no socket")

    monkeypatch.setattr(docker, "from_env", unreachable)
    monkeypatch.setattr(lifecycle.shutil, "which", lambda name: None)
    with pytest.raises(lifecycle.SetupError, match=r"apt-get install docker\.io"):
        lifecycle.docker_client()
    monkeypatch.setattr(lifecycle.shutil, "which", lambda name: "/usr/sbin/dockerd")
    with pytest.raises(lifecycle.SetupError, match="start it"):
        lifecycle.docker_client()


def test_optional_components_are_found_without_importing_them() -> None:
    assert lifecycle.has_module("kubeling")
    assert not lifecycle.has_module("no_such_component_xyz")


def test_label_names_match_the_kubelets() -> None:
    source = (Path(__file__).resolve().parents[3] / "kubelet" / "runtime" / "interface.py").read_text()
    assert f'LABEL_MANAGED = "{lifecycle.LABEL_MANAGED}"' in source
    assert f'LABEL_NODE = "{lifecycle.LABEL_NODE}"' in source


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("KUBELING_HOME", str(tmp_path))
    return tmp_path


def test_verbs_on_a_missing_cluster(home: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli.main, ["status", "--name", "ghost"])
    assert result.exit_code == 1
    assert "no cluster named ghost" in result.output
    result = runner.invoke(cli.main, ["down", "--name", "ghost"])
    assert result.exit_code == 0 and "nothing to stop" in result.output
    result = runner.invoke(cli.main, ["up", "--name", "Bad_Name"])
    assert result.exit_code == 2 and "invalid cluster name" in result.output


def test_verbs_on_a_stopped_cluster(home: Path) -> None:
    ports = itertools.count(40000)
    state = cluster.new_state(Settings(name="lab", nodes=2), home / "lab", python="/bin/python",
                              etcd_binary="/bin/etcd", free_port=lambda: next(ports))
    cluster.save(state, home / "lab")
    runner = CliRunner()
    assert runner.invoke(cli.main, ["kubeconfig"]).output.strip() == str(home / "lab" / "kubeconfig")
    result = runner.invoke(cli.main, ["kill", "lab-node-2"])
    assert result.exit_code == 1 and "kubelet-lab-node-2 is not running" in result.output
    result = runner.invoke(cli.main, ["kill", "nope"])
    assert result.exit_code == 2 and "no component or node 'nope'" in result.output
    result = runner.invoke(cli.main, ["chaos", "--targets", "nothing*"])
    assert result.exit_code == 2 and "matches no component" in result.output
    result = runner.invoke(cli.main, ["status"])
    assert result.exit_code == 0
    assert "kubelet-lab-node-1" in result.output and "apiserver does not answer" in result.output
