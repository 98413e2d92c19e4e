"""The async gRPC client every kubeling process uses to talk to the apiserver.

Objects go in and come out as Kubernetes JSON dicts. Resources are named as kubectl names them
("pods", "deploy", "leases.coordination.k8s.io") or by a ResourceType. Failures arrive as the
same `ApiError` subclasses the server raised (NotFound, Conflict, Invalid, Gone, ...), rebuilt
from the Status the server attached. A call that finds the apiserver unavailable is retried with
backoff until `retry_timeout` has passed (the apiserver may be restarting in a chaos run); every
call has a deadline.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
import orjson

from apimachinery import errors
from apimachinery.kinds import KindRegistry, ResourceType, default_registry
from client.backoff import Backoff
from proto import kubeling_pb2 as pb
from proto import kubeling_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)
STATUS_KEY = "kubeling-status-bin"
Object = dict[str, Any]
T = TypeVar("T")
Resource = str | ResourceType


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    object: Object

    @property
    def resource_version(self) -> str:
        return str(self.object.get("metadata", {}).get("resourceVersion", ""))


def api_error(e: grpc.aio.AioRpcError) -> errors.ApiError:
    """The ApiError a failed call stands for: the server's Status if it sent one, else from the code."""
    for key, value in e.trailing_metadata() or ():
        if key == STATUS_KEY:
            return errors.ApiError.from_status(orjson.loads(value))
    if e.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
        return errors.unavailable(f"the apiserver is unavailable: {e.details()}")
    if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
        return errors.ApiError(504, errors.REASON_TIMEOUT, f"the request timed out: {e.details()}")
    return errors.internal(f"{e.code().name}: {e.details()}")


class Client:
    """CRUD, watch and bind against the apiserver's gRPC API at `target` ("host:port")."""

    def __init__(self, target: str, *, kinds: KindRegistry | None = None, timeout: float = 30.0,
                 retry_timeout: float = 30.0, field_manager: str = "") -> None:
        self.target = target
        # The manager this client's writes are recorded under in managedFields (Kubernetes: the
        # component's name, e.g. kube-controller-manager); "" lets the apiserver use its default.
        self.field_manager = field_manager
        self.kinds = kinds or default_registry()
        self.timeout = timeout
        self.retry_timeout = retry_timeout
        self._channel = grpc.aio.insecure_channel(target, options=[
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
            # gRPC's default reconnect backoff grows to 120 s; a restarted apiserver must be found
            # again within a couple of seconds (chaos runs kill it on purpose).
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 2000),
            # Each Client its own connection (not a process-wide shared one), so several apiservers
            # behind one port (SO_REUSEPORT) share the clients between them.
            ("grpc.use_local_subchannel_pool", 1)])
        self._stub = pb_grpc.ResourcesStub(self._channel)

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- addressing ------------------------------------------------------------------------

    def resource_type(self, resource: Resource) -> ResourceType:
        return resource if isinstance(resource, ResourceType) else self.kinds.resolve(resource)

    def _ref(self, resource: Resource, namespace: str = "", name: str = "") -> pb.ResourceRef:
        rt = self.resource_type(resource)
        return pb.ResourceRef(group=rt.group, resource=rt.plural, namespace=namespace if rt.namespaced else "",
                              name=name)

    def _ref_for(self, obj: Object, namespace: str = "") -> pb.ResourceRef:
        rt = self.kinds.for_object(obj)
        metadata = obj.get("metadata") or {}
        return self._ref(rt, namespace or metadata.get("namespace", ""), metadata.get("name", ""))

    # -- calls -----------------------------------------------------------------------------

    async def _call(self, method: Callable[..., Awaitable[T]], request: Any) -> T:
        deadline = time.monotonic() + self.retry_timeout
        backoff = Backoff(initial=0.05, factor=2.0, cap=2.0)
        while True:
            try:
                return await method(request, timeout=self.timeout)
            except grpc.aio.AioRpcError as e:
                error = api_error(e)
            delay = _retry_delay(error, backoff)
            if delay is None or time.monotonic() + delay > deadline:
                raise error
            log.debug("retrying in %.2fs: %s", delay, error)
            await asyncio.sleep(delay)

    def _options(self, dry_run: bool = False, field_validation: str = "") -> pb.WriteOptions:
        return pb.WriteOptions(dry_run=dry_run, field_validation=field_validation, field_manager=self.field_manager)

    async def create(self, obj: Object, *, namespace: str = "", dry_run: bool = False,
                     field_validation: str = "", warnings: builtins.list[str] | None = None) -> Object:
        request = pb.CreateRequest(ref=self._ref_for(obj, namespace), object=orjson.dumps(obj),
                                   options=self._options(dry_run, field_validation))
        return _object(await self._call(self._stub.Create, request), warnings)

    async def get(self, resource: Resource, name: str, namespace: str = "", *,
                  resource_version: str = "") -> Object:
        request = pb.GetRequest(ref=self._ref(resource, namespace, name), resource_version=resource_version)
        return _object(await self._call(self._stub.Get, request))

    async def list(self, resource: Resource, namespace: str = "", *, label_selector: str = "",
                   field_selector: str = "", limit: int = 0, continue_: str = "", resource_version: str = "",
                   resource_version_match: str = "") -> Object:
        """A Kubernetes List object: {"kind": "PodList", "metadata": {resourceVersion, continue}, "items"}."""
        rt = self.resource_type(resource)
        request = pb.ListRequest(ref=self._ref(rt, namespace), label_selector=label_selector,
                                 field_selector=field_selector, limit=limit, resource_version=resource_version,
                                 resource_version_match=resource_version_match, **{"continue": continue_})
        response: pb.ListResponse = await self._call(self._stub.List, request)
        metadata: Object = {"resourceVersion": response.resource_version}
        if getattr(response, "continue"):
            metadata["continue"] = getattr(response, "continue")
        if response.has_remaining_item_count:
            metadata["remainingItemCount"] = response.remaining_item_count
        return {"apiVersion": rt.api_version, "kind": rt.list_kind, "metadata": metadata,
                "items": [orjson.loads(item) for item in response.items]}

    async def update(self, obj: Object, *, dry_run: bool = False, field_validation: str = "",
                     warnings: builtins.list[str] | None = None) -> Object:
        request = pb.UpdateRequest(ref=self._ref_for(obj), object=orjson.dumps(obj),
                                   options=self._options(dry_run, field_validation))
        return _object(await self._call(self._stub.Update, request), warnings)

    async def update_status(self, obj: Object) -> Object:
        request = pb.UpdateRequest(ref=self._ref_for(obj), object=orjson.dumps(obj), options=self._options())
        return _object(await self._call(self._stub.UpdateStatus, request))

    async def patch(self, resource: Resource, name: str, patch: Any, namespace: str = "", *,
                    patch_type: str = "merge", subresource: str = "", dry_run: bool = False) -> Object:
        body = patch if isinstance(patch, bytes) else orjson.dumps(patch)
        request = pb.PatchRequest(ref=self._ref(resource, namespace, name), patch_type=patch_type, patch=body,
                                  subresource=subresource, options=self._options(dry_run))
        return _object(await self._call(self._stub.Patch, request))

    async def delete(self, resource: Resource, name: str, namespace: str = "", *,
                     grace_period_seconds: int | None = None, propagation_policy: str | None = None,
                     preconditions: dict[str, str] | None = None, dry_run: bool = False) -> Object:
        """Delete; the answer is the object as deleted, or as marked for deletion."""
        options: Object = {}
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        if propagation_policy is not None:
            options["propagationPolicy"] = propagation_policy
        if preconditions:
            options["preconditions"] = preconditions
        request = pb.DeleteRequest(ref=self._ref(resource, namespace, name),
                                   options=orjson.dumps(options) if options else b"", dry_run=dry_run)
        response: pb.DeleteResponse = await self._call(self._stub.Delete, request)
        return orjson.loads(response.object)

    async def bind(self, namespace: str, name: str, node_name: str, uid: str = "") -> Object:
        request = pb.BindRequest(namespace=namespace, name=name, node_name=node_name, pod_uid=uid)
        return _object(await self._call(self._stub.Bind, request))

    async def watch(self, resource: Resource, namespace: str = "", *, name: str = "",
                    resource_version: str = "", label_selector: str = "", field_selector: str = "",
                    allow_bookmarks: bool = False, timeout_seconds: int = 0,
                    send_initial_events: bool = False) -> AsyncIterator[WatchEvent]:
        """Events in order; raises Gone when the resourceVersion is too old (relist, then watch again)."""
        request = pb.WatchRequest(ref=self._ref(resource, namespace, name), resource_version=resource_version,
                                  label_selector=label_selector, field_selector=field_selector,
                                  allow_bookmarks=allow_bookmarks, timeout_seconds=timeout_seconds,
                                  send_initial_events=send_initial_events)
        stream = self._stub.Watch(request)
        try:
            async for response in stream:
                for event in response.events:
                    obj = orjson.loads(event.object)
                    if event.type == "ERROR":
                        raise errors.ApiError.from_status(obj)
                    yield WatchEvent(event.type, obj)
        except grpc.aio.AioRpcError as e:
            raise api_error(e) from None
        finally:
            stream.cancel()


def _retry_delay(error: errors.ApiError, backoff: Backoff) -> float | None:
    """How long to wait before retrying, or None: an unavailable apiserver is retried with backoff; a 429
    with a retryAfterSeconds (the apiserver's max-in-flight limit) after that long, as client-go does. A 429
    without one (an eviction a disruption budget refuses) is the caller's to handle."""
    if isinstance(error, errors.Unavailable):
        return backoff.next()
    if isinstance(error, errors.TooManyRequests) and error.retry_after > 0:
        return float(error.retry_after)
    return None


def _object(response: pb.ObjectResponse, warnings: list[str] | None = None) -> Object:
    if warnings is not None:
        warnings.extend(response.warnings)
    for warning in response.warnings:
        log.info("warning from the apiserver: %s", warning)
    return orjson.loads(response.object)
