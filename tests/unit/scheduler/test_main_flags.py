from pathlib import Path

import pytest

from scheduler.__main__ import parse_args, read_config


def test_flags_default_as_kube_scheduler() -> None:
    args = parse_args([])
    assert (args.apiserver, args.leader_elect, args.lock_object_name, args.lock_object_namespace) == (
        "127.0.0.1:6444", True, "kube-scheduler", "kube-system")
    assert (args.leader_elect_lease_duration, args.leader_elect_renew_deadline,
            args.leader_elect_retry_period) == (15.0, 10.0, 2.0)


def test_leader_election_can_be_turned_off_and_timed() -> None:
    args = parse_args(["--leader-elect=false", "--leader-elect-lease-duration", "3s",
                       "--leader-elect-retry-period", "500ms"])
    assert args.leader_elect is False
    assert (args.leader_elect_lease_duration, args.leader_elect_retry_period) == (3.0, 0.5)


def test_no_config_file_means_the_default_profile(tmp_path: Path) -> None:
    assert read_config("").profiles[0].scheduler_name == "default-scheduler"
    path = tmp_path / "c.yaml"
    path.write_text("profiles: [{schedulerName: packer}]\n")
    assert read_config(str(path)).profiles[0].scheduler_name == "packer"


def test_a_bad_config_exits_with_status_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from scheduler.__main__ import main

    path = tmp_path / "c.yaml"
    path.write_text("percentageOfNodesToScore: 300\n")
    with pytest.raises(SystemExit) as caught:
        main(["--config", str(path)])
    assert caught.value.code == 1
    assert "percentageOfNodesToScore" in capsys.readouterr().err
