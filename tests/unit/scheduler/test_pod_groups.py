"""NodeInfo counts alike pods per group, so affinity and spread plugins match once per group, not per pod."""

from __future__ import annotations

from scheduler.node_info import NodeInfo
from scheduler.pod_info import PodInfo


def pod(name: str, labels: dict[str, str], namespace: str = "default", **spec: object) -> PodInfo:
    return PodInfo.of({"metadata": {"name": name, "namespace": namespace, "labels": labels},
                       "spec": {"containers": [{"name": "c"}], **spec}})


def test_alike_pods_share_a_group_and_the_count_follows_adds_and_removes():
    node = NodeInfo(name="n")
    for i in range(3):
        node.add_pod(pod(f"web-{i}", {"app": "web"}))
    node.add_pod(pod("db-0", {"app": "db"}))
    counts = sorted((rep.labels["app"], n) for rep, n in node.pod_groups())
    assert counts == [("db", 1), ("web", 3)]
    node.remove_pod("default/web-0")
    node.remove_pod("default/db-0")
    assert [(rep.labels["app"], n) for rep, n in node.pod_groups()] == [("web", 2)]


def test_namespace_labels_and_affinity_all_separate_groups():
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "web"}}}]}}
    groups = {pod("a", {"app": "web"}).group, pod("b", {"app": "web"}, namespace="other").group,
              pod("c", {"app": "web", "tier": "1"}).group, pod("d", {"app": "web"}, affinity=anti).group}
    assert len(groups) == 4


def test_a_clone_keeps_its_own_counts():
    node = NodeInfo(name="n")
    node.add_pod(pod("web-0", {"app": "web"}))
    copy = node.clone()
    copy.add_pod(pod("web-1", {"app": "web"}))
    assert [n for _, n in node.pod_groups()] == [1]
    assert [n for _, n in copy.pod_groups()] == [2]
