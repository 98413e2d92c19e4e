from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResourceRef(_message.Message):
    __slots__ = ("group", "resource", "namespace", "name")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    group: str
    resource: str
    namespace: str
    name: str
    def __init__(self, group: _Optional[str] = ..., resource: _Optional[str] = ..., namespace: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class WriteOptions(_message.Message):
    __slots__ = ("dry_run", "field_validation", "field_manager")
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    FIELD_VALIDATION_FIELD_NUMBER: _ClassVar[int]
    FIELD_MANAGER_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    field_validation: str
    field_manager: str
    def __init__(self, dry_run: _Optional[bool] = ..., field_validation: _Optional[str] = ..., field_manager: _Optional[str] = ...) -> None: ...

class ObjectResponse(_message.Message):
    __slots__ = ("object", "warnings")
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    object: bytes
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, object: _Optional[bytes] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateRequest(_message.Message):
    __slots__ = ("ref", "object", "options")
    REF_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    ref: ResourceRef
    object: bytes
    options: WriteOptions
    def __init__(self, ref: _Optional[_Union[ResourceRef, _Mapping]] = ..., object: _Optional[bytes] = ..., options: _Optional[_Union[WriteOptions, _Mapping]] = ...) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ("ref", "resource_version")
    REF_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_VERSION_FIELD_NUMBER: _ClassVar[int]
    ref: ResourceRef
    resource_version: str
    def __init__(self, ref: _Optional[_Union[ResourceRef, _Mapping]] = ..., resource_version: _Optional[str] = ...) -> None: ...

class ListRequest(_message.Message):
    __slots__ = ("ref", "label_selector", "field_selector", "limit", "resource_version", "resource_version_match")
    REF_FIELD_NUMBER: _ClassVar[int]
    LABEL_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    FIELD_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CONTINUE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_VERSION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_VERSION_MATCH_FIELD_NUMBER: _ClassVar[int]
    ref: ResourceRef
    label_selector: str
    field_selector: str
    limit: int
    resource_version: str
    resource_version_match: str
    def __init__(self, ref: _Optional[_Union[ResourceRef, _Mapping]] = ..., label_selector: _Optional[str] = ..., field_selector: _Optional[str] = ..., limit: _Optional[int] = ..., resource_version: _Optional[str] = ..., resource_version_match: _Optional[str] = ..., **kwargs) -> None: ...

class ListResponse(_message.Message):
    __slots__ = ("items", "resource_version", "remaining_item_count", "has_remaining_item_count")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONTINUE_FIELD_NUMBER: _ClassVar[int]
    REMAINING_ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    HAS_REMAINING_ITEM_COUNT_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedScalarFieldContainer[bytes]
    resource_version: str
    remaining_item_count: int
    has_remaining_item_count: bool
    def __init__(self, items: _Optional[_Iterable[bytes]] = ..., resource_version: _Optional[str] = ..., remaining_item_count: _Optional[int] = ..., has_remaining_item_count: _Optional[bool] = ..., **kwargs) -> None: ...

class UpdateRequest(_message.Message):
    __slots__ = ("ref", "object", "options")
    REF_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    ref: ResourceRef
    object: bytes
    options: WriteOptions
    def __init__(self, ref: _Optional[_Union[ResourceRef, _Mapping]] = ..., object: _Optional[bytes] = ..., options: _Optional[_Union[WriteOptions, _Mapping]] = ...) -> None: ...

class PatchRequest(_message.Message):
    __slots__ = ("ref", "patch_type", "patch", "subresource", "options")
    REF_FIELD_NUMBER: _ClassVar[int]
    PATCH_TYPE_FIELD_NUMBER: _ClassVar[int]
    PATCH_FIELD_NUMBER: _ClassVar[int]
    SUBRESOURCE_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    ref: ResourceRef
    patch_type: str
    patch: bytes
    subresource: str
    options: WriteOptions
    def __init__(self, ref: _Optional[_Union[ResourceRef, _Mapping]] = ..., patch_type: _Optional[str] = ..., patch: _Optional[bytes] = ..., subresource: _Optional[str] = ..., options: _Optional[_Union[WriteOptions, _Mapping]] = ...) -> None: ...

class DeleteRequest(_message.Message):
    __slots__ = ("ref", "options", "dry_run")
    REF_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    ref: ResourceRef
    options: bytes
    dry_run: bool
    def __init__(self, ref: _Optional[_Union[ResourceRef, _Mapping]] = ..., options: _Optional[bytes] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class DeleteResponse(_message.Message):
    __slots__ = ("object", "deleted", "warnings")
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    object: bytes
    deleted: bool
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, object: _Optional[bytes] = ..., deleted: _Optional[bool] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("ref", "resource_version", "label_selector", "field_selector", "allow_bookmarks", "timeout_seconds", "send_initial_events")
    REF_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_VERSION_FIELD_NUMBER: _ClassVar[int]
    LABEL_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    FIELD_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    ALLOW_BOOKMARKS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SEND_INITIAL_EVENTS_FIELD_NUMBER: _ClassVar[int]
    ref: ResourceRef
    resource_version: str
    label_selector: str
    field_selector: str
    allow_bookmarks: bool
    timeout_seconds: int
    send_initial_events: bool
    def __init__(self, ref: _Optional[_Union[ResourceRef, _Mapping]] = ..., resource_version: _Optional[str] = ..., label_selector: _Optional[str] = ..., field_selector: _Optional[str] = ..., allow_bookmarks: _Optional[bool] = ..., timeout_seconds: _Optional[int] = ..., send_initial_events: _Optional[bool] = ...) -> None: ...

class WatchEvent(_message.Message):
    __slots__ = ("type", "object")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    type: str
    object: bytes
    def __init__(self, type: _Optional[str] = ..., object: _Optional[bytes] = ...) -> None: ...

class WatchResponse(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[WatchEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[WatchEvent, _Mapping]]] = ...) -> None: ...

class BindRequest(_message.Message):
    __slots__ = ("namespace", "name", "node_name", "pod_uid")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    POD_UID_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    node_name: str
    pod_uid: str
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ..., node_name: _Optional[str] = ..., pod_uid: _Optional[str] = ...) -> None: ...

class LogsRequest(_message.Message):
    __slots__ = ("namespace", "pod", "container", "follow", "tail_lines", "since_seconds", "timestamps", "previous", "limit_bytes")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    POD_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    TAIL_LINES_FIELD_NUMBER: _ClassVar[int]
    SINCE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMPS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_BYTES_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    pod: str
    container: str
    follow: bool
    tail_lines: int
    since_seconds: int
    timestamps: bool
    previous: bool
    limit_bytes: int
    def __init__(self, namespace: _Optional[str] = ..., pod: _Optional[str] = ..., container: _Optional[str] = ..., follow: _Optional[bool] = ..., tail_lines: _Optional[int] = ..., since_seconds: _Optional[int] = ..., timestamps: _Optional[bool] = ..., previous: _Optional[bool] = ..., limit_bytes: _Optional[int] = ...) -> None: ...

class LogsChunk(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class ExecStart(_message.Message):
    __slots__ = ("namespace", "pod", "container", "command", "stdin", "stdout", "stderr", "tty")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    POD_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    STDIN_FIELD_NUMBER: _ClassVar[int]
    STDOUT_FIELD_NUMBER: _ClassVar[int]
    STDERR_FIELD_NUMBER: _ClassVar[int]
    TTY_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    pod: str
    container: str
    command: _containers.RepeatedScalarFieldContainer[str]
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool
    def __init__(self, namespace: _Optional[str] = ..., pod: _Optional[str] = ..., container: _Optional[str] = ..., command: _Optional[_Iterable[str]] = ..., stdin: _Optional[bool] = ..., stdout: _Optional[bool] = ..., stderr: _Optional[bool] = ..., tty: _Optional[bool] = ...) -> None: ...

class ExecResize(_message.Message):
    __slots__ = ("width", "height")
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    width: int
    height: int
    def __init__(self, width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class ExecOutput(_message.Message):
    __slots__ = ("stream", "data")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    stream: int
    data: bytes
    def __init__(self, stream: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class ExecExit(_message.Message):
    __slots__ = ("exit_code",)
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    exit_code: int
    def __init__(self, exit_code: _Optional[int] = ...) -> None: ...

class ExecFrame(_message.Message):
    __slots__ = ("start", "stdin", "stdin_close", "resize", "output", "exit")
    START_FIELD_NUMBER: _ClassVar[int]
    STDIN_FIELD_NUMBER: _ClassVar[int]
    STDIN_CLOSE_FIELD_NUMBER: _ClassVar[int]
    RESIZE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    EXIT_FIELD_NUMBER: _ClassVar[int]
    start: ExecStart
    stdin: bytes
    stdin_close: bool
    resize: ExecResize
    output: ExecOutput
    exit: ExecExit
    def __init__(self, start: _Optional[_Union[ExecStart, _Mapping]] = ..., stdin: _Optional[bytes] = ..., stdin_close: _Optional[bool] = ..., resize: _Optional[_Union[ExecResize, _Mapping]] = ..., output: _Optional[_Union[ExecOutput, _Mapping]] = ..., exit: _Optional[_Union[ExecExit, _Mapping]] = ...) -> None: ...

class StatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ContainerStats(_message.Message):
    __slots__ = ("name", "container_id", "cpu_usage_nanocores", "cpu_usage_core_nanoseconds", "memory_usage_bytes", "memory_working_set_bytes", "timestamp")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_ID_FIELD_NUMBER: _ClassVar[int]
    CPU_USAGE_NANOCORES_FIELD_NUMBER: _ClassVar[int]
    CPU_USAGE_CORE_NANOSECONDS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_USAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORY_WORKING_SET_BYTES_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    name: str
    container_id: str
    cpu_usage_nanocores: int
    cpu_usage_core_nanoseconds: int
    memory_usage_bytes: int
    memory_working_set_bytes: int
    timestamp: float
    def __init__(self, name: _Optional[str] = ..., container_id: _Optional[str] = ..., cpu_usage_nanocores: _Optional[int] = ..., cpu_usage_core_nanoseconds: _Optional[int] = ..., memory_usage_bytes: _Optional[int] = ..., memory_working_set_bytes: _Optional[int] = ..., timestamp: _Optional[float] = ...) -> None: ...

class PodStats(_message.Message):
    __slots__ = ("namespace", "name", "uid", "containers")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    uid: str
    containers: _containers.RepeatedCompositeFieldContainer[ContainerStats]
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ..., uid: _Optional[str] = ..., containers: _Optional[_Iterable[_Union[ContainerStats, _Mapping]]] = ...) -> None: ...

class StatsResponse(_message.Message):
    __slots__ = ("pods",)
    PODS_FIELD_NUMBER: _ClassVar[int]
    pods: _containers.RepeatedCompositeFieldContainer[PodStats]
    def __init__(self, pods: _Optional[_Iterable[_Union[PodStats, _Mapping]]] = ...) -> None: ...

class PortForwardStart(_message.Message):
    __slots__ = ("namespace", "pod", "uid", "port")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    POD_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    pod: str
    uid: str
    port: int
    def __init__(self, namespace: _Optional[str] = ..., pod: _Optional[str] = ..., uid: _Optional[str] = ..., port: _Optional[int] = ...) -> None: ...

class PortForwardFrame(_message.Message):
    __slots__ = ("start", "data", "close", "error")
    START_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    start: PortForwardStart
    data: bytes
    close: bool
    error: str
    def __init__(self, start: _Optional[_Union[PortForwardStart, _Mapping]] = ..., data: _Optional[bytes] = ..., close: _Optional[bool] = ..., error: _Optional[str] = ...) -> None: ...
