"""Request bodies in Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`).

client-go's typed clients, and so kubectl's generators (`kubectl create configmap|deployment|...`,
`kubectl expose`), send protobuf. The wire format is the 4-byte magic `k8s\\x00` followed by a
runtime.Unknown {typeMeta{apiVersion, kind}, raw, contentEncoding, contentType}; `raw` is the
object as the message of its kind, from Kubernetes' own generated.proto files (vendored in
proto/k8s/). `decode` turns that into the object's Kubernetes JSON shape, as Go's encoding/json
would write the same Go struct, so the rest of the request path treats it like a JSON body:

- field names are the proto names, except where the Go json tag differs (proto/k8s/go_json.py);
  inlined structs (`json:",inline"`, e.g. Volume.volumeSource) are merged into their parent;
- a zero scalar is dropped unless it is meaningful (a pointer, or a field without omitempty):
  go-to-protobuf writes every non-pointer field, so "" / 0 / false on the wire usually means unset;
- resource.Quantity → "100m"; meta.v1.Time → "2026-01-02T03:04:05Z" (zero → null);
  MicroTime → "2026-01-02T03:04:05.000000Z"; Duration → "1m30s"; IntOrString → int or string;
  RawExtension and FieldsV1 → the embedded JSON; bytes → base64; maps stay maps.

Responses stay JSON: kubectl offers `application/vnd.kubernetes.protobuf, */*` and accepts it.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

import orjson
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message

import proto.k8s
from apimachinery import errors
from proto.k8s.go_json import FIELDS

MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
META = "k8s.io.apimachinery.pkg.apis.meta.v1"
UNKNOWN = "k8s.io.apimachinery.pkg.runtime.Unknown"
QUANTITY = "k8s.io.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "k8s.io.apimachinery.pkg.util.intstr.IntOrString"
RAW_EXTENSION = "k8s.io.apimachinery.pkg.runtime.RawExtension"
TIME, MICRO_TIME, DURATION, FIELDS_V1 = (f"{META}.Time", f"{META}.MicroTime", f"{META}.Duration", f"{META}.FieldsV1")
# Go types that are slices (`type ExtraValue []string`), which go-to-protobuf wraps as {repeated items}.
SLICE_TYPES = {"k8s.io.api.authentication.v1.ExtraValue", "k8s.io.api.authorization.v1.ExtraValue",
               f"{META}.Verbs"}
# API groups whose generated.proto is vendored: group → proto package segment under k8s.io.api.
GROUPS = {
    "": "core", "apps": "apps", "batch": "batch", "autoscaling": "autoscaling", "policy": "policy",
    "coordination.k8s.io": "coordination", "networking.k8s.io": "networking",
    "rbac.authorization.k8s.io": "rbac", "discovery.k8s.io": "discovery", "events.k8s.io": "events",
    "scheduling.k8s.io": "scheduling", "storage.k8s.io": "storage",
    "authentication.k8s.io": "authentication", "authorization.k8s.io": "authorization",
}

Object = dict[str, Any]
_SKIP = object()


def is_protobuf(content_type: str) -> bool:
    return content_type == MEDIA_TYPE


def decode(raw: bytes) -> Object:
    """A protobuf request body (envelope included) as the object's Kubernetes JSON; BadRequest if malformed."""
    if not raw.startswith(MAGIC):
        raise errors.bad_request("the request body is not a Kubernetes protobuf object (no 'k8s\\x00' prefix)")
    unknown = _message(UNKNOWN)()
    try:
        unknown.ParseFromString(raw[len(MAGIC):])
    except DecodeError as e:
        raise errors.bad_request(f"the request body is not valid protobuf: {e}") from None
    api_version, kind = unknown.typeMeta.apiVersion, unknown.typeMeta.kind
    if unknown.contentEncoding:
        raise errors.bad_request(f'unsupported protobuf contentEncoding "{unknown.contentEncoding}"')
    message = message_class(api_version, kind)()
    try:
        message.ParseFromString(unknown.raw)
    except DecodeError as e:
        raise errors.bad_request(f"the request body is not a valid {kind} ({api_version}) protobuf: {e}") from None
    obj = to_json(message)
    return {"apiVersion": api_version, "kind": kind, **obj} if isinstance(obj, dict) else obj


def message_class(api_version: str, kind: str) -> type[Message]:
    """The generated message class for (apiVersion, kind); meta/v1 kinds (DeleteOptions, ...) in any group."""
    group, _, version = api_version.rpartition("/")
    candidates = [f"{META}.{kind}"]
    if group in GROUPS and version:
        candidates.insert(0, f"k8s.io.api.{GROUPS[group]}.{version}.{kind}")
    for name in candidates:
        try:
            return _message(name)
        except KeyError:
            continue
    raise errors.bad_request(f'no kind "{kind}" is registered for version "{api_version}" in protobuf '
                             f"(send it as application/json)")


def _message(full_name: str) -> type[Message]:
    proto.k8s.load()
    descriptor = descriptor_pool.Default().FindMessageTypeByName(full_name)
    return message_factory.GetMessageClass(descriptor)


def to_json(message: Message) -> Any:
    """One message as Go's encoding/json would write the Go struct it came from."""
    descriptor: Descriptor = message.DESCRIPTOR
    name = descriptor.full_name
    special = _special(name, message)
    if special is not _SKIP:
        return special
    flags = FIELDS.get(name, {})
    out: Object = {}
    for field, value in message.ListFields():
        flag = flags.get(field.name, "")
        if flag == "json=-":
            continue
        key = flag[5:] if flag.startswith("json=") else field.name
        if _is_map(field):
            out[key] = {k: _value(field.message_type.fields_by_name["value"], v) for k, v in value.items()}
        elif field.is_repeated:
            out[key] = [_value(field, v) for v in value]
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            converted = to_json(value)
            if flag == "inline":
                out.update(converted)
            elif field.message_type.full_name == INT_OR_STRING and converted == 0 and flag != "keep":
                continue  # an unset non-pointer IntOrString (e.g. targetPort): Kubernetes defaults it
            else:
                out[key] = converted
        elif value or flag == "keep":
            out[key] = _value(field, value)
    return out


def _special(name: str, message: Any) -> Any:
    if name == QUANTITY:
        return message.string
    if name == INT_OR_STRING:
        return message.strVal if message.type == 1 else message.intVal
    if name in (TIME, MICRO_TIME):
        if not message.seconds and not message.nanos:
            return None
        moment = datetime.datetime.fromtimestamp(message.seconds, datetime.UTC)
        if name == TIME:
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{message.nanos // 1000:06d}Z"
    if name == DURATION:
        return go_duration(message.duration)
    if name in (RAW_EXTENSION, FIELDS_V1):
        return _embedded(message.raw if name == RAW_EXTENSION else message.Raw)
    if name in SLICE_TYPES:
        return list(message.items)
    return _SKIP


def _embedded(raw: bytes) -> Any:
    if not raw:
        return None
    if raw.startswith(MAGIC):
        return decode(raw)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise errors.bad_request(f"an embedded object (RawExtension) is not valid JSON: {e}") from None


def _is_map(field: FieldDescriptor) -> bool:
    return (field.is_repeated and field.type == FieldDescriptor.TYPE_MESSAGE
            and field.message_type.GetOptions().map_entry)


def _value(field: FieldDescriptor, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return to_json(value)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return base64.b64encode(value).decode("ascii")
    return value


def go_duration(nanoseconds: int) -> str:
    """Go's time.Duration.String(): "1h2m3.5s", "150ms", "0s"."""
    if nanoseconds == 0:
        return "0s"
    sign, n = ("-", -nanoseconds) if nanoseconds < 0 else ("", nanoseconds)
    if n < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if n >= size:
                return sign + _decimal(n, size) + unit
    hours, rest = divmod(n, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    text = _decimal(rest, 1_000_000_000) + "s"
    if hours or minutes:
        text = f"{minutes}m" + text
    if hours:
        text = f"{hours}h" + text
    return sign + text


def _decimal(n: int, unit: int) -> str:
    whole, fraction = divmod(n, unit)
    if not fraction:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}." + f"{fraction:0{digits}d}".rstrip("0")
