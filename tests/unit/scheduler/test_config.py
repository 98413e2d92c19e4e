from pathlib import Path

import pytest

from scheduler.config import ConfigError, default_configuration, load, parse
from scheduler.diagnosis import FitError
from scheduler.interface import CycleState
from scheduler.pod_info import PodInfo
from tests.unit.scheduler.fakes import cache_with, framework, node, pod

CUSTOM = "tests.unit.scheduler.custom_plugin:OnlyEvenNodes"


def test_default_profile_matches_kubernetes_defaults() -> None:
    config = default_configuration()
    assert [p.scheduler_name for p in config.profiles] == ["default-scheduler"]
    points = config.profiles[0].points
    assert [n for n, _ in points["filter"]] == ["NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity",
                                                "NodePorts", "NodeResourcesFit", "PodTopologySpread",
                                                "InterPodAffinity"]
    assert points["score"] == [("TaintToleration", 3), ("NodeAffinity", 2), ("NodeResourcesFit", 1),
                               ("PodTopologySpread", 2), ("InterPodAffinity", 2),
                               ("NodeResourcesBalancedAllocation", 1)]
    assert [n for n, _ in points["postFilter"]] == ["DefaultPreemption"]
    assert [n for n, _ in points["bind"]] == ["DefaultBinder"]


def test_a_plugin_disabled_at_one_point_still_runs_at_the_others() -> None:
    config = parse({"profiles": [{"plugins": {"score": {"disabled": [{"name": "NodeResourcesFit"}],
                                                        "enabled": [{"name": "NodeAffinity", "weight": 7}]}}}]})
    points = config.profiles[0].points
    assert "NodeResourcesFit" not in [n for n, _ in points["score"]]
    assert "NodeResourcesFit" in [n for n, _ in points["filter"]]
    assert ("NodeAffinity", 7) in points["score"]


def test_star_disables_every_default_at_a_point() -> None:
    config = parse({"profiles": [{"plugins": {"score": {"disabled": [{"name": "*"}]}}}]})
    assert config.profiles[0].points["score"] == []


def test_multi_point_disabled_removes_a_plugin_everywhere() -> None:
    config = parse({"profiles": [{"plugins": {"multiPoint": {"disabled": [{"name": "TaintToleration"}]}}}]})
    assert all("TaintToleration" not in [n for n, _ in p] for p in config.profiles[0].points.values())


def test_several_profiles_and_percentage_of_nodes_to_score() -> None:
    config = parse({"percentageOfNodesToScore": 30,
                    "profiles": [{"schedulerName": "default-scheduler"},
                                 {"schedulerName": "packer", "percentageOfNodesToScore": 60}]})
    assert config.percentage_of_nodes_to_score == 30
    assert config.profile("packer").percentage_of_nodes_to_score == 60  # type: ignore[union-attr]


def test_a_custom_plugin_loads_from_its_import_path_with_args(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"""
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
  plugins:
    filter:
      enabled: [{{name: "{CUSTOM}"}}]
  pluginConfig:
  - name: "{CUSTOM}"
    args: {{suffixes: ["2"]}}
""")
    config = load(path)
    cache = cache_with([node("n1"), node("n2"), node("n3")])
    fw = framework(cache, config)
    assert fw.schedule_pod(CycleState(), PodInfo.of(pod("p"))).node_name == "n2"
    cache = cache_with([node("n1"), node("n3")])
    with pytest.raises(FitError, match="2 node\\(s\\) are odd"):
        framework(cache, config).schedule_pod(CycleState(), PodInfo.of(pod("p")))


@pytest.mark.parametrize(("raw", "fields"), [
    ({"apiVersion": "kubescheduler.config.k8s.io/v1beta1"}, ["apiVersion"]),
    ({"kind": "Deployment"}, ["kind"]),
    ({"percentageOfNodesToScore": 101}, ["percentageOfNodesToScore"]),
    ({"profile": []}, ["profile"]),
    ({"profiles": [{"schedulerName": "a"}, {"schedulerName": "a"}]}, ["profiles[1].schedulerName"]),
    ({"profiles": [{"schedulerName": ""}]}, ["profiles[0].schedulerName"]),
    ({"profiles": [{"plugins": {"filter": {"enabled": [{"name": "NoSuchPlugin"}]}}}]},
     ["profiles[0].plugins.filter.enabled[0].name"]),
    ({"profiles": [{"plugins": {"filter": {"enabled": [{"name": "nosuch.module:Plugin"}]}}}]},
     ["profiles[0].plugins.filter.enabled[0].name"]),
    ({"profiles": [{"plugins": {"score": {"enabled": [
        {"name": "tests.unit.scheduler.custom_plugin:NotAPlugin"}]}}}]},
     ["profiles[0].plugins.score.enabled[0].name"]),
    ({"profiles": [{"plugins": {"score": {"enabled": [{"name": "NodeAffinity", "weight": 0}]}}}]},
     ["profiles[0].plugins.score.enabled[0].weight"]),
    ({"profiles": [{"plugins": {"filter": {"enabled": [{"name": "NodeAffinity", "weight": 2}]}}}]},
     ["profiles[0].plugins.filter.enabled[0].weight"]),
    ({"profiles": [{"plugins": {"fliter": {}}}]}, ["profiles[0].plugins.fliter"]),
    ({"profiles": [{"pluginConfig": [{"name": "NodeResourcesFit", "args": {"scoringStrategy": {"type": "X"}}}]}]},
     ["profiles[0].pluginConfig[0].args.scoringStrategy.type"]),
])
def test_config_errors_name_the_field(raw: dict, fields: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(raw)
    assert [e.field for e in caught.value.errors] == fields
    assert fields[0] in str(caught.value)


def test_bad_yaml_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("profiles: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load(path)
