"""The gRPC face of the registry: one thin method per RPC.

Each method resolves the kind, decodes the body, calls the registry and encodes the answer.
Errors leave as gRPC status codes with the Kubernetes `Status` object (JSON) in the trailing
metadata key `kubeling-status-bin`, which the client turns back into the same ApiError.
Watch streams send every pending event in one message (batches), and end with an ERROR event
carrying a Status when the server cuts a watch short (e.g. a client too slow to keep up).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
import orjson

from apimachinery import errors
from apimachinery.kinds import ResourceType
from apiserver import metrics
from apiserver.cache_watcher import OutEvent
from apiserver.inflight import InflightLimiter
from apiserver.registry.deletion import parse_delete_options
from apiserver.registry.listing import ListOptions
from apiserver.registry.store import Registry, WriteOptions, WriteResult, decode_body
from proto import kubeling_pb2 as pb
from proto import kubeling_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)
STATUS_KEY = "kubeling-status-bin"
T = TypeVar("T")


def _write_options(options: pb.WriteOptions) -> WriteOptions:
    return WriteOptions(dry_run=options.dry_run, field_validation=options.field_validation or "Strict",
                        field_manager=options.field_manager)


def _object_response(result: WriteResult) -> pb.ObjectResponse:
    return pb.ObjectResponse(object=orjson.dumps(result.object), warnings=result.warnings)


async def _abort(context: grpc.aio.ServicerContext, error: errors.ApiError) -> None:
    code = getattr(grpc.StatusCode, error.grpc_code_name, grpc.StatusCode.UNKNOWN)
    await context.abort(code, error.message, trailing_metadata=((STATUS_KEY, orjson.dumps(error.to_status())),))


def encode_event(event: OutEvent) -> bytes:
    """`event` as a one-event WatchResponse, kept on the (shared) event for the next stream."""
    event.wire = pb.WatchResponse(events=[pb.WatchEvent(type=event.type, object=event.raw)]).SerializeToString()
    return event.wire


class _Captured:
    """Stands in for the server to catch the method handlers the generated code registers."""

    def __init__(self) -> None:
        self.service = ""
        self.handlers: dict[str, grpc.RpcMethodHandler] = {}

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        pass

    def add_registered_method_handlers(self, service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        self.service, self.handlers = service, handlers


def add_resources_service(servicer: ResourcesServicer, server: grpc.aio.Server) -> None:
    """The generated registration, except that Watch yields already-encoded messages (bytes)."""
    captured = _Captured()
    pb_grpc.add_ResourcesServicer_to_server(servicer, captured)
    handlers = dict(captured.handlers)
    handlers["Watch"] = grpc.unary_stream_rpc_method_handler(
        servicer.Watch, request_deserializer=pb.WatchRequest.FromString, response_serializer=None)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(captured.service, handlers),))
    server.add_registered_method_handlers(captured.service, handlers)


class ResourcesServicer(pb_grpc.ResourcesServicer):
    def __init__(self, registry: Registry, watch_batch_interval: float = 0.01,
                 limiter: InflightLimiter | None = None) -> None:
        self.registry = registry
        self.limiter = limiter or InflightLimiter(0, 0)  # shared with the HTTP API: one budget per apiserver
        # After a watch stream sends a message it waits this long before the next one, so under
        # load each message carries every event pending by then (an idle stream sends at once).
        self.watch_batch_interval = watch_batch_interval

    def _type(self, ref: pb.ResourceRef) -> ResourceType:
        rt = self.registry.kinds.get(ref.group, ref.resource)
        if rt is None:
            resource = f"{ref.resource}.{ref.group}" if ref.group else ref.resource
            raise errors.not_found("resource", resource)
        return rt

    async def _serve(self, verb: str, ref: pb.ResourceRef, context: grpc.aio.ServicerContext,
                     call: Callable[[], Awaitable[T]]) -> T:
        started, code = time.perf_counter(), 200
        try:
            with self.limiter.admit(verb):
                return await call()
        except errors.ApiError as e:
            code = e.code
            await _abort(context, e)
            raise  # abort raises; this line is never reached
        except Exception as e:
            if isinstance(e, asyncio.CancelledError) or type(e).__name__ == "AbortError":
                raise
            code = 500
            log.exception("%s %s failed", verb, ref.resource)
            await _abort(context, errors.internal(f"{type(e).__name__}: {e}"))
            raise
        finally:
            metrics.REQUESTS.labels(verb, ref.resource, str(code)).inc()
            metrics.LATENCY.labels(verb, ref.resource).observe(time.perf_counter() - started)

    async def Create(self, request: pb.CreateRequest, context: Any) -> pb.ObjectResponse:
        async def call() -> pb.ObjectResponse:
            rt = self._type(request.ref)
            obj = decode_body(request.object)
            result = await self.registry.create(rt, obj, request.ref.namespace, _write_options(request.options))
            return _object_response(result)
        return await self._serve("create", request.ref, context, call)

    async def Get(self, request: pb.GetRequest, context: Any) -> pb.ObjectResponse:
        async def call() -> pb.ObjectResponse:
            rt = self._type(request.ref)
            obj = await self.registry.get(rt, request.ref.namespace, request.ref.name, request.resource_version)
            return pb.ObjectResponse(object=orjson.dumps(obj))
        return await self._serve("get", request.ref, context, call)

    async def List(self, request: pb.ListRequest, context: Any) -> pb.ListResponse:
        async def call() -> pb.ListResponse:
            rt = self._type(request.ref)
            options = ListOptions(request.ref.namespace, request.label_selector, request.field_selector,
                                  request.limit, getattr(request, "continue"), request.resource_version,
                                  request.resource_version_match)
            result = await self.registry.list(rt, options)
            response = pb.ListResponse(items=result.items, resource_version=str(result.revision))
            setattr(response, "continue", result.continue_token)  # a Python keyword as a field name
            if result.remaining is not None:
                response.remaining_item_count = result.remaining
                response.has_remaining_item_count = True
            return response
        return await self._serve("list", request.ref, context, call)

    async def _update(self, request: pb.UpdateRequest, context: Any, subresource: str) -> pb.ObjectResponse:
        async def call() -> pb.ObjectResponse:
            rt = self._type(request.ref)
            obj = decode_body(request.object)
            name = request.ref.name or (obj.get("metadata") or {}).get("name", "")
            namespace = request.ref.namespace or (obj.get("metadata") or {}).get("namespace", "")
            result = await self.registry.update(rt, obj, namespace if rt.namespaced else "", name,
                                                _write_options(request.options), subresource)
            return _object_response(result)
        return await self._serve("update", request.ref, context, call)

    async def Update(self, request: pb.UpdateRequest, context: Any) -> pb.ObjectResponse:
        return await self._update(request, context, "")

    async def UpdateStatus(self, request: pb.UpdateRequest, context: Any) -> pb.ObjectResponse:
        return await self._update(request, context, "status")

    async def Patch(self, request: pb.PatchRequest, context: Any) -> pb.ObjectResponse:
        async def call() -> pb.ObjectResponse:
            rt = self._type(request.ref)
            if request.subresource not in ("", "status"):
                raise errors.bad_request(f'unsupported subresource "{request.subresource}"')
            result = await self.registry.patch(rt, request.ref.namespace, request.ref.name,
                                               request.patch_type or "merge", request.patch,
                                               _write_options(request.options), request.subresource)
            return _object_response(result)
        return await self._serve("patch", request.ref, context, call)

    async def Delete(self, request: pb.DeleteRequest, context: Any) -> pb.DeleteResponse:
        async def call() -> pb.DeleteResponse:
            rt = self._type(request.ref)
            raw = decode_body(request.options) if request.options else {}
            if request.dry_run:
                raw["dryRun"] = ["All"]
            result = await self.registry.delete(rt, request.ref.namespace, request.ref.name,
                                                parse_delete_options(raw))
            return pb.DeleteResponse(object=orjson.dumps(result.object), deleted=result.deleted)
        return await self._serve("delete", request.ref, context, call)

    async def Bind(self, request: pb.BindRequest, context: Any) -> pb.ObjectResponse:
        ref = pb.ResourceRef(resource="pods", namespace=request.namespace, name=request.name)

        async def call() -> pb.ObjectResponse:
            pod = await self.registry.bind(request.namespace, request.name, request.node_name, request.pod_uid)
            return pb.ObjectResponse(object=orjson.dumps(pod))
        return await self._serve("bind", ref, context, call)

    async def Watch(self, request: pb.WatchRequest, context: Any) -> AsyncIterator[bytes]:
        """Yields encoded WatchResponse messages: each event is encoded once, shared by every stream
        it goes to, and a batch is the concatenation of its events' one-event messages (protobuf
        parses concatenated messages as one, appending the repeated `events`)."""
        async def open_watch() -> Any:
            rt = self._type(request.ref)
            options = ListOptions(request.ref.namespace, request.label_selector, request.field_selector,
                                  resource_version=request.resource_version)
            return await self.registry.watch(rt, options, request.ref.name,
                                             allow_bookmarks=request.allow_bookmarks,
                                             send_initial_events=request.send_initial_events)

        watcher = await self._serve("watch", request.ref, context, open_watch)
        gauge = metrics.WATCHERS.labels(request.ref.resource)
        gauge.inc()
        deadline = time.monotonic() + request.timeout_seconds if request.timeout_seconds > 0 else None
        try:
            while True:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return
                try:
                    batch = await watcher.next_batch(timeout=remaining)
                except StopAsyncIteration:
                    return
                except errors.ApiError as e:
                    yield pb.WatchResponse(events=[pb.WatchEvent(type="ERROR", object=orjson.dumps(e.to_status()))
                                                   ]).SerializeToString()
                    return
                if batch:
                    yield b"".join(event.wire or encode_event(event) for event in batch)
                    await asyncio.sleep(self.watch_batch_interval)
        finally:
            gauge.dec()
            watcher.close()
