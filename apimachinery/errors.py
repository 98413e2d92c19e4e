"""API errors, shaped like Kubernetes' `metav1.Status`.

Every failure a client can see is an `ApiError` carrying a Kubernetes reason (NotFound, Conflict,
Invalid, ...), an HTTP code and, for Invalid, `details.causes` with field paths. The same error
travels over gRPC (a status code plus the Status JSON in trailing metadata) and, later, over the
HTTP API (the Status object as the body), so `kubectl` and our own client print the same message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Status reasons, spelled as Kubernetes spells them (k8s.io/apimachinery/pkg/apis/meta/v1).
REASON_NOT_FOUND = "NotFound"
REASON_ALREADY_EXISTS = "AlreadyExists"
REASON_CONFLICT = "Conflict"
REASON_INVALID = "Invalid"
REASON_BAD_REQUEST = "BadRequest"
REASON_GONE = "Expired"
REASON_FORBIDDEN = "Forbidden"
REASON_UNAUTHORIZED = "Unauthorized"
REASON_METHOD_NOT_ALLOWED = "MethodNotAllowed"
REASON_REQUEST_ENTITY_TOO_LARGE = "RequestEntityTooLarge"
REASON_UNSUPPORTED_MEDIA_TYPE = "UnsupportedMediaType"
REASON_TOO_MANY_REQUESTS = "TooManyRequests"
REASON_INTERNAL_ERROR = "InternalError"
REASON_SERVICE_UNAVAILABLE = "ServiceUnavailable"
REASON_TIMEOUT = "Timeout"

# Field error types (k8s.io/apimachinery/pkg/util/validation/field), used as causes[].reason.
FIELD_VALUE_REQUIRED = "FieldValueRequired"
FIELD_VALUE_INVALID = "FieldValueInvalid"
FIELD_VALUE_NOT_SUPPORTED = "FieldValueNotSupported"
FIELD_VALUE_DUPLICATE = "FieldValueDuplicate"
FIELD_VALUE_FORBIDDEN = "FieldValueForbidden"
FIELD_VALUE_TOO_LONG = "FieldValueTooLong"
FIELD_VALUE_NOT_FOUND = "FieldValueNotFound"
FIELD_VALUE_UNKNOWN = "FieldValueUnknown"  # unknown field under fieldValidation=Strict

_FIELD_PHRASES = {
    FIELD_VALUE_REQUIRED: "Required value",
    FIELD_VALUE_INVALID: "Invalid value",
    FIELD_VALUE_NOT_SUPPORTED: "Unsupported value",
    FIELD_VALUE_DUPLICATE: "Duplicate value",
    FIELD_VALUE_FORBIDDEN: "Forbidden",
    FIELD_VALUE_TOO_LONG: "Too long",
    FIELD_VALUE_NOT_FOUND: "Not found",
    FIELD_VALUE_UNKNOWN: "unknown field",
}


@dataclass(frozen=True)
class FieldError:
    """One problem with one field, e.g. FieldError('metadata.name', FIELD_VALUE_INVALID, 'a DNS-1123 ...', 'Foo')."""

    field: str
    type: str
    detail: str = ""
    value: Any = None

    def message(self) -> str:
        """Render as Kubernetes does: `spec.replicas: Invalid value: -1: must be greater than or equal to 0`."""
        phrase = _FIELD_PHRASES.get(self.type, self.type)
        if self.type == FIELD_VALUE_UNKNOWN:
            return f'unknown field "{self.field}"'
        parts = [f"{self.field}: {phrase}"]
        if self.type in (FIELD_VALUE_INVALID, FIELD_VALUE_NOT_SUPPORTED, FIELD_VALUE_DUPLICATE,
                         FIELD_VALUE_NOT_FOUND) and (
            self.value is not None
        ):
            parts.append(_render_value(self.value))
        if self.detail:
            parts.append(self.detail)
        return ": ".join(parts)

    def cause(self) -> dict[str, str]:
        return {"reason": self.type, "message": self.message(), "field": self.field}


def _render_value(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# gRPC status code names (grpc.StatusCode.<name>) per HTTP code; kept as strings so this module
# has no grpc dependency. The client maps them back through the Status payload, not the code.
_GRPC_CODE_BY_HTTP = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    409: "ABORTED",
    410: "OUT_OF_RANGE",
    413: "RESOURCE_EXHAUSTED",
    415: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


@dataclass
class ApiError(Exception):
    """An error a Kubernetes client understands: reason + HTTP code + message (+ details)."""

    code: int
    reason: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    @property
    def grpc_code_name(self) -> str:
        if self.code == 409 and self.reason == REASON_ALREADY_EXISTS:
            return "ALREADY_EXISTS"
        return _GRPC_CODE_BY_HTTP.get(self.code, "UNKNOWN")

    @property
    def causes(self) -> list[dict[str, str]]:
        return list(self.details.get("causes", []))

    def to_status(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            status["details"] = self.details
        return status

    @classmethod
    def from_status(cls, status: dict[str, Any]) -> ApiError:
        error = cls(
            code=int(status.get("code", 500)),
            reason=str(status.get("reason", REASON_INTERNAL_ERROR)),
            message=str(status.get("message", "")),
            details=dict(status.get("details") or {}),
        )
        return _typed(error)


class NotFound(ApiError):
    pass


class AlreadyExists(ApiError):
    pass


class Conflict(ApiError):
    pass


class Invalid(ApiError):
    pass


class BadRequest(ApiError):
    pass


class Gone(ApiError):
    pass


class Forbidden(ApiError):
    pass


class TooLarge(ApiError):
    pass


class Unavailable(ApiError):
    pass


class TooManyRequests(ApiError):
    """429: the server is busy (details.retryAfterSeconds says when to retry) or, for an eviction, a
    disruption budget does not allow it now."""

    @property
    def retry_after(self) -> int:
        return int((self.details or {}).get("retryAfterSeconds") or 0)


_CLASS_BY_REASON: dict[str, type[ApiError]] = {
    REASON_NOT_FOUND: NotFound,
    REASON_ALREADY_EXISTS: AlreadyExists,
    REASON_CONFLICT: Conflict,
    REASON_INVALID: Invalid,
    REASON_BAD_REQUEST: BadRequest,
    REASON_GONE: Gone,
    REASON_FORBIDDEN: Forbidden,
    REASON_REQUEST_ENTITY_TOO_LARGE: TooLarge,
    REASON_SERVICE_UNAVAILABLE: Unavailable,
    REASON_TOO_MANY_REQUESTS: TooManyRequests,
}


def _typed(error: ApiError) -> ApiError:
    cls = _CLASS_BY_REASON.get(error.reason)
    if cls is None or type(error) is cls:
        return error
    return cls(error.code, error.reason, error.message, error.details)


def _details(kind: str, name: str, group: str = "", **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": kind}
    if group:
        details["group"] = group
    details.update(extra)
    return details


def _resource_phrase(resource: str, group: str) -> str:
    return f"{resource}.{group}" if group else resource


def not_found(resource: str, name: str, group: str = "") -> NotFound:
    """`pods "web" not found` (resource is the plural, as Kubernetes prints it)."""
    return NotFound(404, REASON_NOT_FOUND, f'{_resource_phrase(resource, group)} "{name}" not found',
                    _details(resource, name, group))


def already_exists(resource: str, name: str, group: str = "") -> AlreadyExists:
    return AlreadyExists(409, REASON_ALREADY_EXISTS,
                         f'{_resource_phrase(resource, group)} "{name}" already exists',
                         _details(resource, name, group))


def conflict(resource: str, name: str, reason_text: str, group: str = "") -> Conflict:
    return Conflict(409, REASON_CONFLICT,
                    f'Operation cannot be fulfilled on {_resource_phrase(resource, group)} "{name}": '
                    f"{reason_text}", _details(resource, name, group))


STALE_OBJECT_TEXT = "the object has been modified; please apply your changes to the latest version and try again"


def invalid(kind: str, name: str, errors: list[FieldError], group: str = "") -> Invalid:
    """`Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be ...`."""
    qualified = f"{kind}.{group}" if group else kind
    rendered = errors[0].message() if len(errors) == 1 else "[" + ", ".join(e.message() for e in errors) + "]"
    return Invalid(422, REASON_INVALID, f'{qualified} "{name}" is invalid: {rendered}',
                   _details(kind, name, group, causes=[e.cause() for e in errors]))


def bad_request(message: str) -> BadRequest:
    return BadRequest(400, REASON_BAD_REQUEST, message)


def gone(message: str) -> Gone:
    return Gone(410, REASON_GONE, message)


def forbidden(resource: str, name: str, reason_text: str, group: str = "") -> Forbidden:
    return Forbidden(403, REASON_FORBIDDEN,
                     f'{_resource_phrase(resource, group)} "{name}" is forbidden: {reason_text}',
                     _details(resource, name, group))


def too_large(message: str) -> TooLarge:
    return TooLarge(413, REASON_REQUEST_ENTITY_TOO_LARGE, message)


def internal(message: str) -> ApiError:
    return ApiError(500, REASON_INTERNAL_ERROR, message)


def unavailable(message: str) -> Unavailable:
    return Unavailable(503, REASON_SERVICE_UNAVAILABLE, message)


def too_many_requests(message: str, retry_after_seconds: int = 0) -> TooManyRequests:
    details = {"retryAfterSeconds": retry_after_seconds} if retry_after_seconds else {}
    return TooManyRequests(429, REASON_TOO_MANY_REQUESTS, message, details)


def method_not_allowed(message: str) -> ApiError:
    return ApiError(405, REASON_METHOD_NOT_ALLOWED, message)
