"""Protobuf request bodies (what client-go's typed clients send) decode to the object's Kubernetes JSON."""

from __future__ import annotations

import pytest
from google.protobuf import descriptor_pool
from google.protobuf.message import Message

import proto.k8s
from apimachinery import errors
from apiserver.http_api import protobuf_codec
from apiserver.http_api.protobuf_codec import decode, go_duration
from proto.k8s.go_json import FIELDS

proto.k8s.load()
from k8s.io.api.apps.v1 import generated_pb2 as apps  # noqa: E402
from k8s.io.api.batch.v1 import generated_pb2 as batch  # noqa: E402
from k8s.io.api.coordination.v1 import generated_pb2 as coordination  # noqa: E402
from k8s.io.api.core.v1 import generated_pb2 as core  # noqa: E402
from k8s.io.apimachinery.pkg.apis.meta.v1 import generated_pb2 as meta  # noqa: E402
from k8s.io.apimachinery.pkg.runtime import generated_pb2 as runtime  # noqa: E402


def envelope(api_version: str, kind: str, message: Message) -> bytes:
    unknown = runtime.Unknown(raw=message.SerializeToString())
    unknown.typeMeta.apiVersion = api_version
    unknown.typeMeta.kind = kind
    return b"k8s\x00" + unknown.SerializeToString()


def go_object_meta(**kwargs: object) -> meta.ObjectMeta:
    """ObjectMeta as Go writes it: every non-pointer field on the wire, zero or not."""
    fields: dict[str, object] = dict(name="", generateName="", namespace="", selfLink="", uid="",
                                     resourceVersion="", generation=0)
    fields.update(kwargs)
    m = meta.ObjectMeta(**fields)
    m.creationTimestamp.SetInParent()
    return m


def test_configmap_gets_apiversion_kind_and_drops_unset_go_zero_values() -> None:
    cm = core.ConfigMap(metadata=go_object_meta(name="c", labels={"app": "x"}), data={"a": "b"},
                        binaryData={"bin": b"\x00\xff"})
    assert decode(envelope("v1", "ConfigMap", cm)) == {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"app": "x"}, "creationTimestamp": None},
        "data": {"a": "b"}, "binaryData": {"bin": "AP8="},
    }


def test_secret_bytes_become_base64_strings() -> None:
    secret = core.Secret(metadata=go_object_meta(name="s"), data={"k": b"v"}, type="Opaque")
    obj = decode(envelope("v1", "Secret", secret))
    assert obj["data"] == {"k": "dg=="}
    assert obj["type"] == "Opaque"


def test_deployment_keeps_pointer_zeros_and_maps_quantity_intorstring_and_inline_fields() -> None:
    container = core.Container(name="app", image="img", imagePullPolicy="", workingDir="",
                               ports=[core.ContainerPort(containerPort=8080, protocol="TCP", name="")])
    container.resources.limits["cpu"].string = "100m"
    container.resources.requests["memory"].string = "1Gi"
    container.readinessProbe.handler.httpGet.path = "/healthz"
    container.readinessProbe.handler.httpGet.port.type = 1
    container.readinessProbe.handler.httpGet.port.strVal = "http"
    volume = core.Volume(name="cfg")
    volume.volumeSource.configMap.localObjectReference.name = "c"
    spec = apps.DeploymentSpec(replicas=0, minReadySeconds=0, paused=False)
    spec.selector.matchLabels["app"] = "d"
    spec.template.metadata.CopyFrom(go_object_meta(labels={"app": "d"}))
    spec.template.spec.containers.append(container)
    spec.template.spec.volumes.append(volume)
    spec.strategy.type = "RollingUpdate"
    spec.strategy.rollingUpdate.maxSurge.type = 1
    spec.strategy.rollingUpdate.maxSurge.strVal = "25%"
    spec.strategy.rollingUpdate.maxUnavailable.type = 0
    spec.strategy.rollingUpdate.maxUnavailable.intVal = 0
    deployment = apps.Deployment(metadata=go_object_meta(name="d"), spec=spec)
    deployment.status.SetInParent()

    obj = decode(envelope("apps/v1", "Deployment", deployment))

    assert obj["apiVersion"] == "apps/v1" and obj["kind"] == "Deployment"
    assert obj["status"] == {}
    got = obj["spec"]
    assert got["replicas"] == 0  # *int32: an explicit 0 is kept
    assert "minReadySeconds" not in got and "paused" not in got  # non-pointer omitempty zeros: unset
    assert got["selector"] == {"matchLabels": {"app": "d"}}
    assert got["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}
    template = got["template"]
    assert template["metadata"] == {"labels": {"app": "d"}, "creationTimestamp": None}
    assert template["spec"]["volumes"] == [{"name": "cfg", "configMap": {"name": "c"}}]
    assert template["spec"]["containers"] == [{
        "name": "app", "image": "img",
        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
        "resources": {"limits": {"cpu": "100m"}, "requests": {"memory": "1Gi"}},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
    }]


def test_non_omitempty_zero_scalars_are_kept() -> None:
    port = core.ContainerPort(containerPort=0)
    pod = core.Pod(metadata=go_object_meta(name="p"))
    pod.spec.containers.append(core.Container(name="", ports=[port]))
    containers = decode(envelope("v1", "Pod", pod))["spec"]["containers"]
    assert containers == [{"name": "", "ports": [{"containerPort": 0}]}]


def test_service_target_port_int_and_unset_intorstring() -> None:
    service = core.Service(metadata=go_object_meta(name="svc"))
    set_port = service.spec.ports.add(name="80-8080", port=80, protocol="TCP")
    set_port.targetPort.intVal = 8080
    unset_port = service.spec.ports.add(name="b", port=81, protocol="TCP")
    unset_port.targetPort.SetInParent()
    service.spec.selector["app"] = "svc"
    service.spec.type = "ClusterIP"
    obj = decode(envelope("v1", "Service", service))
    assert obj["spec"] == {
        "ports": [{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080},
                  {"name": "b", "port": 81, "protocol": "TCP"}],
        "selector": {"app": "svc"}, "type": "ClusterIP",
    }


def test_time_is_rfc3339_and_micro_time_has_microseconds() -> None:
    lease = coordination.Lease(metadata=go_object_meta(name="l"))
    lease.metadata.creationTimestamp.seconds = 1767323045  # 2026-01-02T03:04:05Z
    lease.spec.holderIdentity = "node-1"
    lease.spec.leaseDurationSeconds = 40
    lease.spec.renewTime.seconds = 1767323045
    lease.spec.renewTime.nanos = 123456789
    obj = decode(envelope("coordination.k8s.io/v1", "Lease", lease))
    assert obj["metadata"]["creationTimestamp"] == "2026-01-02T03:04:05Z"
    assert obj["spec"] == {"holderIdentity": "node-1", "leaseDurationSeconds": 40,
                           "renewTime": "2026-01-02T03:04:05.123456Z"}


def test_raw_extension_becomes_the_embedded_json() -> None:
    revision = apps.ControllerRevision(metadata=go_object_meta(name="r"), revision=3)
    revision.data.raw = b'{"spec": {"template": {"x": [1, 2]}}}'
    obj = decode(envelope("apps/v1", "ControllerRevision", revision))
    assert obj["data"] == {"spec": {"template": {"x": [1, 2]}}}
    assert obj["revision"] == 3


def test_job_nested_lists_and_maps() -> None:
    job = batch.Job(metadata=go_object_meta(name="j"))
    job.spec.backoffLimit = 0
    job.spec.template.spec.restartPolicy = "Never"
    job.spec.template.spec.containers.add(name="j", image="busybox", command=["sh", "-c", "true"])
    job.spec.template.spec.nodeSelector["disk"] = "ssd"
    spec = decode(envelope("batch/v1", "Job", job))["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["template"]["spec"] == {
        "restartPolicy": "Never", "nodeSelector": {"disk": "ssd"},
        "containers": [{"name": "j", "image": "busybox", "command": ["sh", "-c", "true"]}],
    }


def test_delete_options_resolve_from_meta_v1_in_any_group() -> None:
    options = meta.DeleteOptions(propagationPolicy="Foreground", gracePeriodSeconds=0)
    assert decode(envelope("apps/v1", "DeleteOptions", options)) == {
        "apiVersion": "apps/v1", "kind": "DeleteOptions", "propagationPolicy": "Foreground", "gracePeriodSeconds": 0}


def test_body_without_the_k8s_magic_is_a_bad_request() -> None:
    with pytest.raises(errors.ApiError) as caught:
        decode(b'{"kind": "ConfigMap"}')
    assert caught.value.code == 400


def test_truncated_protobuf_is_a_bad_request() -> None:
    raw = envelope("v1", "ConfigMap", core.ConfigMap(data={"a": "b" * 100}))
    with pytest.raises(errors.ApiError) as caught:
        decode(raw[:-20])
    assert caught.value.code == 400


def test_unknown_kind_is_a_bad_request_naming_it() -> None:
    with pytest.raises(errors.ApiError) as caught:
        decode(envelope("example.com/v1", "Widget", core.ConfigMap()))
    assert caught.value.code == 400
    assert "Widget" in str(caught.value.to_status()["message"])


def test_only_the_kubernetes_protobuf_media_type_is_protobuf() -> None:
    assert protobuf_codec.is_protobuf("application/vnd.kubernetes.protobuf")
    assert not protobuf_codec.is_protobuf("application/cbor")
    assert not protobuf_codec.is_protobuf("application/json")


@pytest.mark.parametrize(("nanoseconds", "text"), [
    (0, "0s"), (1_500_000_000, "1.5s"), (90_000_000_000, "1m30s"), (3_600_000_000_000, "1h0m0s"),
    (150_000_000, "150ms"), (-2_000_000_000, "-2s"), (1500, "1.5µs"),
])
def test_duration_is_go_duration_string(nanoseconds: int, text: str) -> None:
    assert go_duration(nanoseconds) == text


def test_go_json_table_names_only_existing_proto_fields() -> None:
    pool = descriptor_pool.Default()
    for message, fields in FIELDS.items():
        descriptor = pool.FindMessageTypeByName(message)
        for field in fields:
            assert field in descriptor.fields_by_name, f"{message}.{field}"
