"""Running ONE probe: Kubernetes' ``pkg/kubelet/prober/prober.go`` (``runProbe``) and ``pkg/probe/{exec,http,tcp,
grpc}``.

A :class:`ProbeRunner` runs the handler of one probe once and says what happened; *when* to probe and what the
results mean (thresholds, restarts, readiness) is :mod:`kubelet.prober_manager`'s job. Two runners exist:

* :class:`NetworkProbeRunner` for real containers: ``exec`` through the runtime, ``httpGet``, ``tcpSocket`` and
  ``grpc`` against the pod IP (or ``host``), each bounded by ``timeoutSeconds``.
* :class:`AnnotationProbeRunner` for hollow nodes (fake runtime): the outcome is read from a pod annotation,
  so a test drives probes by patching the pod.

Results, as Kubernetes' ``probe.Result``: ``success``, ``failure`` (the message is shown in the ``Unhealthy``
event), ``unknown`` (the probe could not be run at all: bad port, runtime error; the manager discards it, as the
kubelet throws away errored probes). A success can carry ``warning=True`` (an HTTP redirect to another host, not
followed), which the kubelet reports as a ``ProbeWarning`` event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import grpc

from kubelet.http_get import (
    USER_AGENT_PROBE,
    ActionError,
    HttpGetError,
    build_request,
    dial_error,
    http_get,
    join_host_port,
    resolve_port,
)
from kubelet.runtime.interface import Runtime, RuntimeError_

SUCCESS = "success"
FAILURE = "failure"
UNKNOWN = "unknown"

MAX_OUTPUT_BYTES = 10 * 1024  # Kubernetes keeps at most 10 KiB of an exec probe's output
ANNOTATION_PREFIX = "fake.kubeling.io/probe."  # + "<kind>.<container name>"


@dataclass(frozen=True)
class ProbeResult:
    result: str  # SUCCESS | FAILURE | UNKNOWN
    message: str = ""
    warning: bool = False  # a success Kubernetes reports with a ProbeWarning event


class ProbeRunner(Protocol):
    async def run(self, kind: str, probe: Mapping[str, Any], *, pod: Mapping[str, Any],
                  container: Mapping[str, Any], container_id: str, pod_ip: str) -> ProbeResult:
        """Run ``probe`` (a Kubernetes Probe; ``kind`` is liveness | readiness | startup) once."""
        ...


# -- exec (shared with lifecycle hooks) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ExecOutcome:
    exit_code: int | None  # None: the command did not finish within the timeout
    output: str  # stdout and stderr, at most 10 KiB


async def exec_in_container(runtime: Runtime, container_id: str, command: list[str], timeout: float) -> ExecOutcome:
    """Run ``command`` in the container and wait at most ``timeout`` seconds. Raises the runtime's errors."""
    try:
        async with asyncio.timeout(timeout):
            result = await runtime.exec_sync(container_id, command, timeout=timeout)
    except TimeoutError:
        return ExecOutcome(None, f'command "{" ".join(command)}" timed out')
    return ExecOutcome(result.exit_code, result.output[:MAX_OUTPUT_BYTES].decode("utf-8", "replace"))


# -- the network runner --------------------------------------------------------------------------------------------


class NetworkProbeRunner:
    """Probes real containers: exec through ``runtime``, HTTP/TCP/gRPC over the pod network."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def run(self, kind: str, probe: Mapping[str, Any], *, pod: Mapping[str, Any],
                  container: Mapping[str, Any], container_id: str, pod_ip: str) -> ProbeResult:
        timeout = float(probe.get("timeoutSeconds") or 1)
        try:
            if "exec" in probe:
                return await self._exec(probe["exec"], container_id, timeout)
            if "httpGet" in probe:
                return await _http(probe["httpGet"], container, pod_ip, timeout)
            if "tcpSocket" in probe:
                return await _tcp(probe["tcpSocket"], container, pod_ip, timeout)
            if "grpc" in probe:
                return await _grpc(probe["grpc"], pod_ip, timeout)
        except ActionError as err:
            return ProbeResult(UNKNOWN, str(err))
        return ProbeResult(UNKNOWN, f"missing probe handler for container {container.get('name', '')!r}")

    async def _exec(self, action: Mapping[str, Any], container_id: str, timeout: float) -> ProbeResult:
        command = [str(part) for part in action.get("command") or []]
        try:
            outcome = await exec_in_container(self.runtime, container_id, command, timeout)
        except RuntimeError_ as err:
            return ProbeResult(UNKNOWN, str(err))
        if outcome.exit_code == 0:
            return ProbeResult(SUCCESS, outcome.output)
        return ProbeResult(FAILURE, outcome.output)


async def _http(action: Mapping[str, Any], container: Mapping[str, Any], pod_ip: str, timeout: float) -> ProbeResult:
    """Kubernetes' ``DoHTTPProbe``: 2xx success, 3xx (a redirect not followed) success with a warning, else
    failure with Kubernetes' fixed wording (which, by design, does not include the body)."""
    request = build_request(action, container, pod_ip, USER_AGENT_PROBE)
    try:
        response = await http_get(request, timeout)
    except HttpGetError as err:
        return ProbeResult(FAILURE, str(err))
    if 200 <= response.status < 300:
        return ProbeResult(SUCCESS, response.body)
    if 300 <= response.status < 400:
        return ProbeResult(SUCCESS, f"Probe terminated redirects, Response body: {response.body}", warning=True)
    return ProbeResult(FAILURE, f"HTTP probe failed with statuscode: {response.status}")


async def _tcp(action: Mapping[str, Any], container: Mapping[str, Any], pod_ip: str, timeout: float) -> ProbeResult:
    """Kubernetes' ``DoTCPProbe``: success when a TCP connection opens within the timeout."""
    host = str(action.get("host") or pod_ip)
    port = resolve_port(action.get("port"), container)
    host_port = join_host_port(host, port)
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return ProbeResult(FAILURE, f"dial tcp {host_port}: i/o timeout")
    except OSError as err:
        return ProbeResult(FAILURE, dial_error(host_port, err))
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeResult(SUCCESS)


# -- gRPC: grpc.health.v1.Health/Check, encoded by hand (grpcio-health-checking is not a dependency) -------------

HEALTH_CHECK_METHOD = "/grpc.health.v1.Health/Check"
SERVING_STATUSES = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


def encode_health_request(service: str) -> bytes:
    """``HealthCheckRequest{service}``: field 1, wire type 2 (length-delimited); empty string encodes to nothing."""
    data = service.encode()
    return b"\x0a" + _varint(len(data)) + data if data else b""


def decode_health_response(data: bytes) -> int:
    """``HealthCheckResponse.status`` (field 1, varint); other fields are skipped; absent means 0 (UNKNOWN)."""
    status, pos = 0, 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        field, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, pos = _read_varint(data, pos)
            if field == 1:
                status = value
        elif wire_type == 2:
            length, pos = _read_varint(data, pos)
            pos += length
        else:
            raise ValueError(f"unexpected protobuf wire type {wire_type}")
    return status


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated protobuf varint")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if not byte & 0x80:
            return value, pos


def _go_code(code: grpc.StatusCode) -> str:
    return "".join(part.capitalize() for part in code.name.split("_"))  # DEADLINE_EXCEEDED -> DeadlineExceeded


async def _grpc(action: Mapping[str, Any], pod_ip: str, timeout: float) -> ProbeResult:
    """Kubernetes' gRPC prober: connect within the timeout, then ``Check`` must answer SERVING."""
    address = join_host_port(pod_ip, resolve_port(action.get("port"), {}))
    seconds = f"{timeout:g}s"
    options = [("grpc.primary_user_agent", USER_AGENT_PROBE)]
    async with grpc.aio.insecure_channel(address, options=options) as channel:
        try:
            await asyncio.wait_for(channel.channel_ready(), timeout)
        except TimeoutError:
            return ProbeResult(
                FAILURE, f'timeout: failed to connect service "{address}" within {seconds}: context deadline exceeded')
        check = channel.unary_unary(HEALTH_CHECK_METHOD)
        try:
            raw = await check(encode_health_request(str(action.get("service") or "")), timeout=timeout)
        except grpc.aio.AioRpcError as err:
            return _grpc_error(err, seconds)
    status = decode_health_response(raw)
    if status != 1:
        return ProbeResult(FAILURE, f'service unhealthy (responded with "{SERVING_STATUSES.get(status, status)}")')
    return ProbeResult(SUCCESS, "service healthy")


def _grpc_error(err: grpc.aio.AioRpcError, seconds: str) -> ProbeResult:
    code = err.code()
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return ProbeResult(FAILURE, "this server does not implement the grpc health protocol "
                                    f"(grpc.health.v1.Health): {err.details()}")
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return ProbeResult(FAILURE, f"timeout: health rpc did not complete within {seconds}")
    return ProbeResult(
        FAILURE, f"error: health rpc probe failed: rpc error: code = {_go_code(code)} desc = {err.details()}")


# -- the annotation runner (hollow nodes) --------------------------------------------------------------------------


class AnnotationProbeRunner:
    """For the fake runtime: the outcome of probe ``kind`` of container ``c`` is the pod annotation
    ``fake.kubeling.io/probe.<kind>.<c>``: ``success`` (also when absent) or ``failure``; anything else is an
    error (unknown). The manager hands every probe the latest pod it was given, so patching the annotation
    changes the next probe's outcome."""

    async def run(self, kind: str, probe: Mapping[str, Any], *, pod: Mapping[str, Any],
                  container: Mapping[str, Any], container_id: str, pod_ip: str) -> ProbeResult:
        key = f"{ANNOTATION_PREFIX}{kind}.{container.get('name', '')}"
        value = ((pod.get("metadata") or {}).get("annotations") or {}).get(key, SUCCESS)
        if value == SUCCESS:
            return ProbeResult(SUCCESS)
        if value == FAILURE:
            return ProbeResult(FAILURE, f"fake probe failure (annotation {key})")
        return ProbeResult(UNKNOWN, f"annotation {key}: want success or failure, got {value!r}")
