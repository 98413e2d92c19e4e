"""The apiserver's side of the kubelet API (service ``Kubelet`` in proto/kubeling.proto).

`kubelet_address(node)` finds where a node's kubelet listens, the way kube-apiserver does: the first
InternalIP in ``status.addresses`` (else Hostname, else ExternalIP) and ``status.daemonEndpoints.kubeletEndpoint.Port``.
`KubeletClients` keeps one gRPC channel per address (channels reconnect by themselves) and turns the kubelet's
gRPC errors into Kubernetes errors: NOT_FOUND → 400 BadRequest with the kubelet's message (what kubectl shows for
`previous terminated container "c" in pod "p" not found`), an unreachable kubelet → 500 naming the node.
`port_forward` opens one forwarded connection (the start frame written; data frames follow both ways).
Only the generated stub is shared with the kubelet; this module never imports kubelet code.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import grpc

from apimachinery import errors
from proto import kubeling_pb2 as pb
from proto import kubeling_pb2_grpc as pb_grpc

ADDRESS_PREFERENCE = ("InternalIP", "Hostname", "ExternalIP")
CONNECT_TIMEOUT = 5.0


def kubelet_address(node: dict[str, Any]) -> str:
    """host:port of the node's kubelet API; an InternalError naming what the Node lacks."""
    name = (node.get("metadata") or {}).get("name", "")
    status = node.get("status") or {}
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise errors.internal(f'node "{name}" has no kubelet endpoint (status.daemonEndpoints.kubeletEndpoint.Port)')
    addresses = {a.get("type"): a.get("address") for a in reversed(status.get("addresses") or [])}
    host = next((addresses[t] for t in ADDRESS_PREFERENCE if addresses.get(t)), None)
    if host is None:
        raise errors.internal(f'node "{name}" has no address (status.addresses)')
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def kubelet_error(error: grpc.aio.AioRpcError, node: str, address: str) -> errors.ApiError:
    """A kubelet gRPC failure as the Kubernetes error kubectl should print."""
    code, message = error.code(), error.details() or ""
    if code == grpc.StatusCode.NOT_FOUND:
        return errors.bad_request(message)
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return errors.bad_request(message)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return errors.internal(f'error dialing backend: the kubelet of node "{node}" at {address} is unreachable: '
                               f"{message}")
    return errors.internal(f'kubelet of node "{node}": {message}')


class KubeletClients:
    """One channel per kubelet address, created on first use and closed by `close()`."""

    def __init__(self) -> None:
        self._channels: dict[str, grpc.aio.Channel] = {}

    def stub(self, address: str) -> pb_grpc.KubeletStub:
        channel = self._channels.get(address)
        if channel is None:
            channel = grpc.aio.insecure_channel(address)
            self._channels[address] = channel
        return pb_grpc.KubeletStub(channel)

    async def connect(self, address: str, node: str) -> pb_grpc.KubeletStub:
        """The stub, once the channel is connected: a clear error at once (refused) or after CONNECT_TIMEOUT,
        instead of a call that hangs. A channel that failed is dropped, so the next request dials afresh."""
        stub = self.stub(address)
        channel = self._channels[address]
        try:
            await asyncio.wait_for(_ready(channel), CONNECT_TIMEOUT)
        except (TimeoutError, ConnectionError) as e:
            if self._channels.get(address) is channel:
                del self._channels[address]
            await channel.close()
            detail = str(e) or f"no connection after {CONNECT_TIMEOUT:g}s"
            raise errors.internal(f'error dialing backend: the kubelet of node "{node}" at {address} is '
                                  f"unreachable ({detail})") from None
        return stub

    async def logs(self, address: str, node: str, request: pb.LogsRequest) -> AsyncGenerator[bytes, None]:
        """The log stream; the kubelet's errors are raised here, before the first chunk is returned."""
        stub = await self.connect(address, node)
        call = stub.Logs(request)
        try:
            first = await call.read()  # the empty first chunk: the container exists
        except grpc.aio.AioRpcError as e:
            raise kubelet_error(e, node, address) from None
        return _chunks(call, ended=first is grpc.aio.EOF)

    async def port_forward(self, address: str, node: str, start: pb.PortForwardStart) -> Any:
        """A started PortForward call (the start frame sent); the kubelet's errors arrive on the first read."""
        stub = await self.connect(address, node)
        call = stub.PortForward()
        await call.write(pb.PortForwardFrame(start=start))
        return call

    async def close(self) -> None:
        channels, self._channels = self._channels, {}
        for channel in channels.values():
            await channel.close()


async def _ready(channel: grpc.aio.Channel) -> None:
    state = channel.get_state(try_to_connect=True)
    while state != grpc.ChannelConnectivity.READY:
        if state == grpc.ChannelConnectivity.TRANSIENT_FAILURE:
            raise ConnectionError("connection failed")
        if state == grpc.ChannelConnectivity.SHUTDOWN:
            raise ConnectionError("channel closed")
        await channel.wait_for_state_change(state)
        state = channel.get_state(try_to_connect=True)


async def _chunks(call: Any, ended: bool) -> AsyncGenerator[bytes, None]:
    try:
        while not ended:
            chunk = await call.read()
            if chunk is grpc.aio.EOF:
                return
            if chunk.data:
                yield chunk.data
    finally:
        call.cancel()
