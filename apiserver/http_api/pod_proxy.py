"""`pods/log`, `pods/exec`, `pods/attach` and `pods/portforward`: the HTTP API relays them to the pod's kubelet
(service ``Kubelet``, gRPC).

- `GET .../pods/{name}/log` (container, follow, tailLines, sinceSeconds, sinceTime, timestamps, previous,
  limitBytes) answers `text/plain`, chunked, streamed as the kubelet sends it.
- `GET|POST .../pods/{name}/exec` (command repeated, container, stdin, stdout, stderr, tty) is a websocket upgrade
  speaking Kubernetes' remotecommand channel protocols `v5.channel.k8s.io` and `v4.channel.k8s.io`: every binary
  message is one channel byte + data; 0 stdin, 1 stdout, 2 stderr, 3 error (a `Status` JSON: Success, or Failure
  with reason NonZeroExitCode and cause ExitCode, which is how kubectl learns the exit code), 4 resize
  (`{"Width":..,"Height":..}`), and in v5 255 close (data[0] = the channel closed: stdin EOF). SPDY is not served
  for exec and attach (kubectl uses websockets since 1.30): an SPDY upgrade gets a 400 Status saying so.
- `GET|POST .../pods/{name}/attach` (container, stdin, stdout, stderr, tty): the same channels, relayed to the
  kubelet's Attach (the container's own stdio); the error channel says Success when the container's output ends.
- `GET|POST .../pods/{name}/portforward`: a websocket with subprotocol `SPDY/3.1+portforward.k8s.io` (kubectl:
  SPDY/3.1 tunnelled in binary messages), `v4.channel.k8s.io` (the Python client, `ports` query), or a raw
  `Upgrade: SPDY/3.1` connection (kubectl before 1.30, or with KUBECTL_PORT_FORWARD_WEBSOCKETS=false); each
  forwarded connection is one kubelet PortForward call. See :mod:`apiserver.http_api.port_forward` and
  :mod:`apiserver.http_api.port_forward_spdy`.

Checks before anything is relayed, as kube-apiserver does them: the container (defaulted when the pod has only
one; `a container name must be specified for pod p, choose one of: [a b]`, `container x is not valid for pod p`),
the pod has a node (`pod p does not have a host assigned`), the Node names a kubelet endpoint. Once a websocket is
open, failures (kubelet unreachable, container gone) are written to the error channel as a Failure Status. A
port-forward dials the kubelet before it upgrades, so an unreachable kubelet is an error response kubectl prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime
from typing import Any

import grpc
import orjson
from aiohttp import WSMsgType, web

from apimachinery import errors
from apiserver.http_api.port_forward import channel_port_forward, query_ports
from apiserver.http_api.port_forward_spdy import TUNNEL_PROTOCOL, serve_spdy_upgrade, serve_spdy_websocket
from apiserver.http_api.responses import guarded, query_bool, query_int
from apiserver.kubelet_client import KubeletClients, kubelet_address, kubelet_error
from apiserver.registry.store import Registry
from proto import kubeling_pb2 as pb

log = logging.getLogger(__name__)
Object = dict[str, Any]
POD_PATH = "/api/v1/namespaces/{namespace}/pods/{name}"
PROTOCOL_V5, PROTOCOL_V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255


def container_names(pod: Object) -> list[str]:
    """Every container of the pod, in Kubernetes' VisitContainers order (init, app, ephemeral)."""
    spec = pod.get("spec") or {}
    return [c.get("name", "") for key in ("initContainers", "containers", "ephemeralContainers")
            for c in spec.get(key) or []]


def pick_container(pod: Object, wanted: str) -> str:
    """The container a request is about (kube-apiserver's validateContainer)."""
    name = pod["metadata"]["name"]
    if wanted:
        if wanted not in container_names(pod):
            raise errors.bad_request(f"container {wanted} is not valid for pod {name}")
        return wanted
    containers = (pod.get("spec") or {}).get("containers") or []
    if len(containers) == 1:
        return str(containers[0].get("name", ""))
    if not containers:
        raise errors.bad_request(f"a container name must be specified for pod {name}")
    raise errors.bad_request(f"a container name must be specified for pod {name}, choose one of: "
                             f"[{' '.join(container_names(pod))}]")


def node_of(pod: Object) -> str:
    node = (pod.get("spec") or {}).get("nodeName") or ""
    if not node:
        raise errors.bad_request(f"pod {pod['metadata']['name']} does not have a host assigned")
    return str(node)


def positive(request: web.Request, name: str, minimum: int) -> int | None:
    value = query_int(request, name)
    if value is not None and value < minimum:
        raise errors.invalid("PodLogOptions", "", [errors.FieldError(
            name, errors.FIELD_VALUE_INVALID, f"must be greater than or equal to {minimum}", value)])
    return value


def since_seconds(request: web.Request) -> int:
    seconds = positive(request, "sinceSeconds", 1)
    since_time = request.query.get("sinceTime")
    if seconds is not None and since_time:
        raise errors.bad_request("at most one of `sinceTime` or `sinceSeconds` may be specified")
    if since_time:
        try:
            then = datetime.fromisoformat(since_time.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise errors.bad_request(f'sinceTime: Invalid value: "{since_time}": must be RFC3339') from None
        return max(1, int(time.time() - then + 0.999))
    return seconds or 0


def logs_request(request: web.Request, pod: Object) -> pb.LogsRequest:
    meta = pod["metadata"]
    message = pb.LogsRequest(namespace=meta.get("namespace", ""), pod=meta["name"],
                             container=pick_container(pod, request.query.get("container", "")),
                             follow=query_bool(request, "follow"), since_seconds=since_seconds(request),
                             timestamps=query_bool(request, "timestamps"), previous=query_bool(request, "previous"),
                             limit_bytes=positive(request, "limitBytes", 1) or 0)
    tail = positive(request, "tailLines", 0)
    if tail is not None:
        message.tail_lines = tail
    return message


def exec_start(request: web.Request, pod: Object) -> pb.ExecStart:
    meta, phase = pod["metadata"], (pod.get("status") or {}).get("phase")
    command = request.query.getall("command", [])
    if not command:
        raise errors.bad_request("you must specify at least 1 command")
    start = pb.ExecStart(namespace=meta.get("namespace", ""), pod=meta["name"], command=command,
                         container=pick_container(pod, request.query.get("container", "")),
                         stdin=query_bool(request, "stdin"), stdout=query_bool(request, "stdout"),
                         stderr=query_bool(request, "stderr"), tty=query_bool(request, "tty"))
    if not (start.stdin or start.stdout or start.stderr):
        raise errors.bad_request("you must specify at least 1 of stdin, stdout, stderr")
    if phase in ("Succeeded", "Failed"):
        raise errors.bad_request(f"cannot exec into a container in a completed pod; current phase is {phase}")
    return start


def attach_start(request: web.Request, pod: Object) -> pb.ExecStart:
    meta = pod["metadata"]
    start = pb.ExecStart(namespace=meta.get("namespace", ""), pod=meta["name"],
                         container=pick_container(pod, request.query.get("container", "")),
                         stdin=query_bool(request, "stdin"), stdout=query_bool(request, "stdout"),
                         stderr=query_bool(request, "stderr"), tty=query_bool(request, "tty"))
    if not (start.stdin or start.stdout or start.stderr):
        raise errors.bad_request("you must specify at least 1 of stdin, stdout, stderr")
    return start


def exit_status(code: int, command: list[str]) -> Object:
    """What the error channel carries when the command has ended (remotecommand's v4 error protocol)."""
    status: Object = {"kind": "Status", "apiVersion": "v1", "metadata": {}}
    if code == 0:
        return {**status, "status": "Success"}
    return {**status, "status": "Failure", "reason": "NonZeroExitCode",
            "message": f"command terminated with non-zero exit code: error executing command "
                       f"[{' '.join(command)}], exit code {code}",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code & 0xFF)}]}}


class PodProxy:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.clients = KubeletClients()
        pods, nodes = registry.kinds.get("", "pods"), registry.kinds.get("", "nodes")
        assert pods is not None and nodes is not None
        self.pods, self.nodes = pods, nodes

    async def _pod(self, request: web.Request) -> Object:
        return await self.registry.get(self.pods, request.match_info["namespace"], request.match_info["name"])

    async def _kubelet(self, pod: Object) -> tuple[str, str]:
        """The pod's node name and its kubelet's address."""
        node_name = node_of(pod)
        try:
            node = await self.registry.get(self.nodes, "", node_name)
        except errors.NotFound:
            raise errors.internal(f'pod {pod["metadata"]["name"]} is bound to node "{node_name}", which does not '
                                  f"exist") from None
        return node_name, kubelet_address(node)

    async def logs(self, request: web.Request) -> web.StreamResponse:
        pod = await self._pod(request)
        message = logs_request(request, pod)
        node, address = await self._kubelet(pod)
        chunks = await self.clients.logs(address, node, message)
        response = web.StreamResponse(headers={"Content-Type": "text/plain", "Cache-Control": "no-cache"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            async for chunk in chunks:
                await response.write(chunk)
        except grpc.aio.AioRpcError as e:
            log.warning("log stream of %s from node %s ended: %s", request.path, node, e.details())
        finally:
            await chunks.aclose()
        await response.write_eof()
        return response

    async def exec(self, request: web.Request) -> web.StreamResponse:
        pod = await self._pod(request)
        return await self._stream(request, exec_start(request, pod), pod, "exec")

    async def attach(self, request: web.Request) -> web.StreamResponse:
        pod = await self._pod(request)
        return await self._stream(request, attach_start(request, pod), pod, "attach")

    async def _stream(self, request: web.Request, start: pb.ExecStart, pod: Object, verb: str) -> web.StreamResponse:
        node, address = await self._kubelet(pod)
        ws = web.WebSocketResponse(protocols=(PROTOCOL_V5, PROTOCOL_V4), max_msg_size=0)
        ready = ws.can_prepare(request)
        if not ready.ok or ready.protocol is None:
            raise errors.bad_request(f"{verb} needs a websocket upgrade with subprotocol v5.channel.k8s.io or "
                                     "v4.channel.k8s.io (kubeling does not serve SPDY)")
        await ws.prepare(request)
        try:
            await ExecBridge(ws, start, self.clients, node, address, attach=verb == "attach").run()
        finally:
            await ws.close()
        return ws

    async def port_forward(self, request: web.Request) -> web.StreamResponse:
        pod = await self._pod(request)
        node, address = await self._kubelet(pod)
        meta = pod["metadata"]
        await self.clients.connect(address, node)  # an unreachable kubelet fails the request, before any upgrade

        async def open_call(port: int) -> Any:
            return await self.clients.port_forward(address, node, pb.PortForwardStart(
                namespace=meta.get("namespace", ""), pod=meta["name"], uid=meta.get("uid", ""), port=port))

        def describe(error: grpc.aio.AioRpcError) -> str:
            return kubelet_error(error, node, address).message

        ws = web.WebSocketResponse(protocols=(TUNNEL_PROTOCOL, PROTOCOL_V4), max_msg_size=0)
        ready = ws.can_prepare(request)
        if not ready.ok:
            if request.headers.get("Upgrade", "").lower() == "spdy/3.1":
                return await serve_spdy_upgrade(request, open_call, describe)
            raise errors.bad_request("port-forward needs a websocket upgrade (subprotocol SPDY/3.1+portforward.k8s.io "
                                     "or v4.channel.k8s.io) or an SPDY/3.1 upgrade")
        ports = query_ports(request) if ready.protocol != TUNNEL_PROTOCOL else []
        await ws.prepare(request)
        try:
            if ready.protocol == TUNNEL_PROTOCOL:
                await serve_spdy_websocket(ws, open_call, describe)
            else:
                await channel_port_forward(ws, ports, open_call, describe)
        finally:
            await ws.close()
        return ws

    async def close(self, app: web.Application) -> None:
        await self.clients.close()


class ExecBridge:
    """One exec (or attach): the websocket's channels ↔ the kubelet's Exec (or Attach) stream."""

    def __init__(self, ws: web.WebSocketResponse, start: pb.ExecStart, clients: KubeletClients, node: str,
                 address: str, attach: bool = False) -> None:
        self.ws, self.start, self.clients, self.node, self.address = ws, start, clients, node, address
        self.attach = attach
        self.client_gone = False

    async def send(self, channel: int, data: bytes) -> None:
        await self.ws.send_bytes(bytes([channel]) + data)

    async def run(self) -> None:
        try:
            stub = await self.clients.connect(self.address, self.node)
            call = stub.Attach() if self.attach else stub.Exec()
            await call.write(pb.ExecFrame(start=self.start))
            relay = asyncio.create_task(self.relay_input(call), name="exec-input")
            try:
                code = await self.relay_output(call)
            finally:
                relay.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await relay
            if code is None:
                log.info("%s %s in pod %s: the client went away", "attach" if self.attach else "exec",
                         list(self.start.command), self.start.pod)
                return
            await self.send(ERROR, orjson.dumps(exit_status(code, list(self.start.command))))
        except grpc.aio.AioRpcError as e:
            await self.send(ERROR, orjson.dumps(kubelet_error(e, self.node, self.address).to_status()))
        except errors.ApiError as e:
            await self.send(ERROR, orjson.dumps(e.to_status()))

    async def relay_output(self, call: Any) -> int | None:
        """Kubelet frames → websocket channels, until the exit frame; the exit code (None: the client left)."""
        while True:
            try:
                frame = await call.read()
            except asyncio.CancelledError:
                if self.client_gone:
                    return None
                raise
            if frame is grpc.aio.EOF:
                raise errors.internal(f'the kubelet of node "{self.node}" ended the exec without an exit code')
            kind = frame.WhichOneof("frame")
            if kind == "output":
                await self.send(frame.output.stream, frame.output.data)
            elif kind == "exit":
                return int(frame.exit.exit_code)

    async def relay_input(self, call: Any) -> None:
        """Websocket channels → kubelet frames: stdin, stdin close (v5 channel 255), resize. When the websocket
        closes before the command ended, the kubelet call is cancelled (the command itself is not killed)."""
        async for msg in self.ws:
            if msg.type != WSMsgType.BINARY or not msg.data:
                continue
            channel, data = msg.data[0], msg.data[1:]
            if channel == STDIN and data:
                await call.write(pb.ExecFrame(stdin=data))
            elif channel == CLOSE and data[:1] == bytes([STDIN]):
                await call.write(pb.ExecFrame(stdin_close=True))
            elif channel == RESIZE:
                size = orjson.loads(data)
                await call.write(pb.ExecFrame(resize=pb.ExecResize(width=int(size.get("Width", 0)),
                                                                   height=int(size.get("Height", 0)))))
        self.client_gone = True
        call.cancel()


def add_pod_proxy_routes(app: web.Application, registry: Registry) -> PodProxy:
    """Register before the generic `/api/{tail}` route, so these paths reach the proxy."""
    proxy = PodProxy(registry)
    app.router.add_get(POD_PATH + "/log", guarded(proxy.logs))
    for method in ("GET", "POST"):
        app.router.add_route(method, POD_PATH + "/exec", guarded(proxy.exec))
        app.router.add_route(method, POD_PATH + "/attach", guarded(proxy.attach))
        app.router.add_route(method, POD_PATH + "/portforward", guarded(proxy.port_forward))
    app.on_cleanup.append(proxy.close)
    return proxy
