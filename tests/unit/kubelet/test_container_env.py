"""Table tests for a container's environment (Kubernetes' makeEnvironmentVariables and $(VAR) expansion)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from kubelet.container_env import (
    ContainerConfigError,
    compute_container_env,
    expand,
    expand_command,
    expand_subpath,
    format_map,
    go_quote,
    referenced_objects,
    resource_field_value,
    service_env_vars,
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


CONFIG = {"metadata": {"name": "cfg", "namespace": "default"}, "data": {"A": "a-cm", "B": "b-cm", "1BAD": "x"}}
SECRET = {"metadata": {"name": "sec", "namespace": "default"}, "data": {"PASS": b64("s3cret"), "USER": b64("root")}}
POD: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "default", "uid": "u-1",
                 "labels": {"app": "web", "tier": "front"}, "annotations": {"note": 'say "hi"'}},
    "spec": {"nodeName": "node-1", "serviceAccountName": "robot", "containers": [
        {"name": "app", "image": "nginx",
         "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}, "requests": {"cpu": "250m", "memory": "100M"}}},
        {"name": "side", "image": "busybox"},
    ]},
}


def env_of(container: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    return dict(env_pairs(container, **kwargs))


def env_pairs(container: dict[str, Any], **kwargs: Any) -> tuple[tuple[str, str], ...]:
    args: dict[str, Any] = {
        "config_maps": {"cfg": CONFIG, "gone": None}, "secrets": {"sec": SECRET}, "pod_ip": "10.0.0.5",
        "pod_ips": ["10.0.0.5", "fd00::5"], "host_ip": "192.168.1.10", "node_name": "node-1",
    }
    args.update(kwargs)
    return compute_container_env({"name": "app", **container}, POD, **args)


# -- expansion --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("$(A)", "1"),
    ("x-$(A)-$(B)-y", "x-1-two-y"),
    ("$(MISSING)", "$(MISSING)"),
    ("$$(A)", "$(A)"),
    ("$$$(A)", "$1"),
    ("$$", "$"),
    ("$", "$"),
    ("a$", "a$"),
    ("$(A", "$(A"),
    ("$A", "$A"),
    ("$()", "$()"),
    ("$(A)$(A)", "11"),
    ("no refs", "no refs"),
])
def test_expand_follows_kubernetes_expansion(text: str, expected: str) -> None:
    assert expand(text, {"A": "1", "B": "two"}) == expected


def test_expand_command_expands_every_argument() -> None:
    assert expand_command(["echo", "$(GREETING)", "$$(GREETING)", "$(NOPE)"], (("GREETING", "hi"),)) == [
        "echo", "hi", "$(GREETING)", "$(NOPE)"]


def test_expand_subpath_requires_every_variable() -> None:
    assert expand_subpath("logs/$(POD)", (("POD", "web"),)) == "logs/web"
    with pytest.raises(ContainerConfigError, match="missing value for A, B"):
        expand_subpath("$(B)/$(A)", (("B", ""),))


# -- ordering and overriding ----------------------------------------------------------------------------------

def test_service_env_comes_first_then_env_from_then_env() -> None:
    pairs = env_pairs({"envFrom": [{"configMapRef": {"name": "cfg"}}], "env": [{"name": "Z", "value": "z"}]},
                      service_env={"KUBERNETES_SERVICE_HOST": "10.96.0.1"})
    assert [name for name, _ in pairs] == ["KUBERNETES_SERVICE_HOST", "A", "B", "Z"]


def test_env_overrides_env_from_and_later_env_overrides_earlier() -> None:
    env = env_of({"envFrom": [{"configMapRef": {"name": "cfg"}}],
                  "env": [{"name": "A", "value": "mine"}, {"name": "X", "value": "1"}, {"name": "X", "value": "2"}]})
    assert env["A"] == "mine"
    assert env["X"] == "2"


def test_later_env_from_overrides_earlier_env_from() -> None:
    env = env_of({"envFrom": [{"configMapRef": {"name": "cfg"}}, {"secretRef": {"name": "sec"}, "prefix": "A"},
                              {"secretRef": {"name": "sec"}}]})
    assert env["APASS"] == "s3cret"
    assert env["PASS"] == "s3cret"
    assert env["USER"] == "root"


def test_env_overrides_service_env() -> None:
    env = env_of({"env": [{"name": "KUBERNETES_SERVICE_HOST", "value": "mine"}]},
                 service_env={"KUBERNETES_SERVICE_HOST": "10.96.0.1"})
    assert env == {"KUBERNETES_SERVICE_HOST": "mine"}


def test_env_from_prefix_is_prepended() -> None:
    env = env_of({"envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}]})
    assert env == {"CFG_A": "a-cm", "CFG_B": "b-cm", "CFG_1BAD": "x"}


def test_env_from_skips_invalid_names_and_reports_them() -> None:
    warnings: list[str] = []
    env = env_of({"envFrom": [{"configMapRef": {"name": "cfg"}}]}, warnings=warnings)
    assert "1BAD" not in env
    assert warnings == ["Keys [1BAD] from the EnvFrom configMap default/cfg were skipped since they are considered "
                        "invalid environment variable names."]


def test_env_from_missing_optional_source_is_skipped() -> None:
    env = env_of({"envFrom": [{"configMapRef": {"name": "gone", "optional": True}},
                              {"secretRef": {"name": "nosuch", "optional": True}}]})
    assert env == {}


@pytest.mark.parametrize(("container", "message"), [
    ({"envFrom": [{"configMapRef": {"name": "gone"}}]}, 'configmap "gone" not found'),
    ({"envFrom": [{"secretRef": {"name": "nosuch"}}]}, 'secret "nosuch" not found'),
    ({"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k"}}}]},
     'configmap "gone" not found'),
    ({"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}]},
     "couldn't find key k in ConfigMap default/cfg"),
    ({"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}, 'secret "s" not found'),
    ({"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "k"}}}]},
     "couldn't find key k in Secret default/sec"),
    ({"env": [{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "spec.bogus"}}}]},
     "unsupported fieldPath: spec.bogus"),
    ({"env": [{"name": "X", "valueFrom": {"resourceFieldRef": {"resource": "limits.gpu"}}}]},
     "unsupported container resource : limits.gpu"),
    ({"env": [{"name": "X", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "containerName": "no"}}}]},
     "container no not found"),
])
def test_missing_required_sources_fail_with_kubernetes_messages(container: dict[str, Any], message: str) -> None:
    with pytest.raises(ContainerConfigError) as info:
        env_of(container)
    assert str(info.value) == message


@pytest.mark.parametrize("ref", [
    {"configMapKeyRef": {"name": "gone", "key": "k", "optional": True}},
    {"configMapKeyRef": {"name": "cfg", "key": "k", "optional": True}},
    {"secretKeyRef": {"name": "nosuch", "key": "k", "optional": True}},
    {"secretKeyRef": {"name": "sec", "key": "k", "optional": True}},
])
def test_optional_key_refs_skip_the_variable(ref: dict[str, Any]) -> None:
    assert env_of({"env": [{"name": "X", "value": "keep"}, {"name": "X", "valueFrom": ref}]}) == {"X": "keep"}


def test_key_refs_read_config_map_and_decoded_secret() -> None:
    env = env_of({"env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "A"}}},
                          {"name": "P", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "PASS"}}}]})
    assert env == {"A": "a-cm", "P": "s3cret"}


def test_secret_string_data_is_not_read() -> None:
    secret = {"metadata": {"name": "s"}, "stringData": {"K": "plain"}}
    with pytest.raises(ContainerConfigError, match="couldn't find key K in Secret default/s"):
        env_of({"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "K"}}}]},
               secrets={"s": secret})


# -- value expansion against what came before ------------------------------------------------------------------

def test_value_expands_previously_defined_variables_only() -> None:
    env = env_of({"envFrom": [{"configMapRef": {"name": "cfg"}}],
                  "env": [{"name": "X", "value": "$(A)-$(Y)"}, {"name": "Y", "value": "y"},
                          {"name": "Z", "value": "$(Y)/$$(Y)/$(KUBERNETES_SERVICE_HOST)"}]},
                 service_env={"KUBERNETES_SERVICE_HOST": "10.96.0.1"})
    assert env["X"] == "a-cm-$(Y)"
    assert env["Z"] == "y/$(Y)/10.96.0.1"


def test_value_from_is_not_expanded() -> None:
    config = {"data": {"K": "$(A)"}}
    env = env_of({"env": [{"name": "A", "value": "1"},
                          {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "K"}}}]},
                 config_maps={"c": config})
    assert env["B"] == "$(A)"


def test_empty_value_without_source_is_an_empty_variable() -> None:
    assert env_of({"env": [{"name": "E"}, {"name": "F", "value": ""}]}) == {"E": "", "F": ""}


# -- fieldRef ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "expected"), [
    ("metadata.name", "web"),
    ("metadata.namespace", "default"),
    ("metadata.uid", "u-1"),
    ("metadata.labels['app']", "web"),
    ("metadata.labels['absent']", ""),
    ("metadata.annotations['note']", 'say "hi"'),
    ("metadata.labels", 'app="web"\ntier="front"'),
    ("metadata.annotations", 'note="say \\"hi\\""'),
    ("spec.nodeName", "node-1"),
    ("spec.serviceAccountName", "robot"),
    ("status.hostIP", "192.168.1.10"),
    ("status.hostIPs", "192.168.1.10"),
    ("status.podIP", "10.0.0.5"),
    ("status.podIPs", "10.0.0.5,fd00::5"),
])
def test_field_refs(path: str, expected: str) -> None:
    assert env_of({"env": [{"name": "F", "valueFrom": {"fieldRef": {"fieldPath": path}}}]})["F"] == expected


def test_field_ref_subscript_only_on_labels_and_annotations() -> None:
    with pytest.raises(ContainerConfigError) as info:
        env_of({"env": [{"name": "F", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name['x']"}}}]})
    assert str(info.value) == 'fieldPath "metadata.name[\'x\']" does not support subscript'


def test_pod_ip_falls_back_to_pod_ip_argument_without_pod_ips() -> None:
    env = env_of({"env": [{"name": "F", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}]}, pod_ips=[])
    assert env["F"] == "10.0.0.5"


def test_format_map_quotes_like_go() -> None:
    assert format_map({"b": "2", "a": "x\ny\t\x00é"}) == 'a="x\\ny\\t\\x00é"\nb="2"'
    assert go_quote("\u00a0") == '"\\u00a0"'


# -- resourceFieldRef --------------------------------------------------------------------------------------------

def resource(resource_name: str, divisor: str | None = None, **kwargs: Any) -> str:
    ref: dict[str, Any] = {"resource": resource_name}
    if divisor:
        ref["divisor"] = divisor
    return env_of({"env": [{"name": "R", "valueFrom": {"resourceFieldRef": ref}}], **POD["spec"]["containers"][0]},
                  **kwargs)["R"]


@pytest.mark.parametrize(("resource_name", "divisor", "expected"), [
    ("limits.cpu", None, "1"),  # 500m rounded up to whole cores
    ("limits.cpu", "1m", "500"),
    ("requests.cpu", "1m", "250"),
    ("requests.cpu", None, "1"),
    ("limits.memory", None, str(64 * 1024 * 1024)),
    ("limits.memory", "1Mi", "64"),
    ("requests.memory", "1Mi", "96"),  # 100M = 95.37Mi, rounded up
    ("requests.memory", "1M", "100"),
    ("limits.memory", "0", str(64 * 1024 * 1024)),  # a zero divisor means 1
])
def test_resource_field_refs_with_divisor_round_up(resource_name: str, divisor: str | None, expected: str) -> None:
    assert resource(resource_name, divisor) == expected


def test_resource_without_limit_uses_node_allocatable_then_zero() -> None:
    pod = {"spec": {"containers": [{"name": "c"}]}}
    ref = {"resource": "limits.memory", "divisor": "1Mi"}
    assert resource_field_value(ref, pod, pod["spec"]["containers"][0], {"memory": "2Gi"}) == "2048"
    assert resource_field_value(ref, pod, pod["spec"]["containers"][0]) == "0"
    assert resource_field_value({"resource": "limits.cpu"}, pod, {"name": "c"}, {"cpu": "4"}) == "4"


def test_request_defaults_to_limit_when_unset() -> None:
    container = {"name": "c", "resources": {"limits": {"cpu": "2"}}}
    assert resource_field_value({"resource": "requests.cpu", "divisor": "1m"}, {}, container) == "2000"


def test_resource_of_another_container_by_name() -> None:
    ref = {"resource": "limits.memory", "divisor": "1Mi", "containerName": "app"}
    assert resource_field_value(ref, POD, POD["spec"]["containers"][1]) == "64"


def test_ephemeral_storage_limit() -> None:
    container = {"name": "c", "resources": {"limits": {"ephemeral-storage": "1Gi"}}}
    assert resource_field_value({"resource": "limits.ephemeral-storage", "divisor": "1Mi"}, {}, container) == "1024"


# -- what to fetch, service variables -----------------------------------------------------------------------------

def test_referenced_objects_cover_env_env_from_volumes_and_projected() -> None:
    pod = {"spec": {
        "imagePullSecrets": [{"name": "pull"}],
        "initContainers": [{"name": "i", "envFrom": [{"configMapRef": {"name": "cm-init"}}]}],
        "containers": [{"name": "c", "envFrom": [{"secretRef": {"name": "s-from"}}], "env": [
            {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cm-key", "key": "k"}}},
            {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s-key", "key": "k"}}},
            {"name": "C", "value": "plain"}]}],
        "volumes": [{"name": "v1", "configMap": {"name": "cm-vol"}}, {"name": "v2", "secret": {"secretName": "s-vol"}},
                    {"name": "v3", "projected": {"sources": [{"configMap": {"name": "cm-proj"}},
                                                             {"secret": {"name": "s-proj"}},
                                                             {"serviceAccountToken": {"path": "t"}}]}},
                    {"name": "v4", "emptyDir": {}}]}}
    config_maps, secrets = referenced_objects(pod)
    assert config_maps == {"cm-init", "cm-key", "cm-vol", "cm-proj"}
    assert secrets == {"pull", "s-from", "s-key", "s-vol", "s-proj"}


def svc(name: str, namespace: str, ip: str, ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace}, "spec": {"clusterIP": ip, "ports": ports}}


def test_service_env_vars_docker_link_style() -> None:
    services = [svc("kubernetes", "default", "10.96.0.1", [{"name": "https", "port": 443}]),
                svc("my-db", "team", "10.96.0.9",
                    [{"port": 5432}, {"name": "metrics", "port": 9187, "protocol": "TCP"}]),
                svc("headless", "team", "None", [{"port": 80}]),
                svc("elsewhere", "other", "10.96.0.7", [{"port": 80}])]
    env = service_env_vars(services, "team")
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    assert env["KUBERNETES_SERVICE_PORT"] == "443"
    assert env["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"
    assert env["KUBERNETES_PORT"] == "tcp://10.96.0.1:443"
    assert env["KUBERNETES_PORT_443_TCP_ADDR"] == "10.96.0.1"
    assert env["MY_DB_SERVICE_PORT"] == "5432"
    assert env["MY_DB_SERVICE_PORT_METRICS"] == "9187"
    assert env["MY_DB_PORT_5432_TCP"] == "tcp://10.96.0.9:5432"
    assert env["MY_DB_PORT_9187_TCP_PROTO"] == "tcp"
    assert not any(k.startswith(("HEADLESS", "ELSEWHERE")) for k in env)


def test_service_links_disabled_keeps_only_the_master_service() -> None:
    services = [svc("kubernetes", "default", "10.96.0.1", [{"port": 443}]), svc("db", "team", "10.96.0.9",
                                                                              [{"port": 5432}])]
    env = service_env_vars(services, "team", enable_service_links=False)
    assert "KUBERNETES_SERVICE_HOST" in env
    assert "DB_SERVICE_HOST" not in env
