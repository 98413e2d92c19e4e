"""The two checks every write goes through, with the answers Kubernetes gives.

1. `decode_checks`: the body against the kind's upstream OpenAPI schema. Unknown fields follow
   `fieldValidation` (Strict: 400 "strict decoding error: unknown field ...", Warn: a warning and
   the field dropped, Ignore: dropped); a value of the wrong type is 400, as when the real
   apiserver fails to decode it. Both name the field.
2. `validate`: the kind's semantic rules (names, selectors, quantities, cross-field checks),
   422 Invalid with every cause and its field path. Fields that are in the schema but that
   kubeling does not emulate are accepted and answered with a warning.
"""

from __future__ import annotations

from typing import Any

from apimachinery import errors
from apimachinery.errors import FieldError
from apimachinery.kinds import ResourceType
from apimachinery.schema import check_fields
from apiserver.registry.objects import validate_finalizer_changes

Object = dict[str, Any]
FIELD_VALIDATION_MODES = ("Strict", "Warn", "Ignore")


class Validation:
    def __init__(self, structural: bool = True) -> None:
        self.structural = structural

    def decode_checks(self, rt: ResourceType, obj: Object, field_validation: str) -> list[str]:
        """Structural check of a request body; returns warnings, raises 400 naming the field."""
        mode = field_validation or "Strict"
        if mode not in FIELD_VALIDATION_MODES:
            raise errors.bad_request(f'fieldValidation: Unsupported value: "{field_validation}": supported '
                                     'values: "Ignore", "Warn", "Strict"')
        if not isinstance(obj.get("metadata", {}), dict):
            raise errors.bad_request(f"{rt.kind} in version \"{rt.version}\" cannot be handled as a "
                                     f"{rt.kind}: metadata: expected object")
        if not self.structural or rt.schema_ref is None:
            return []
        field_errors, warnings = check_fields(obj, rt.schema_ref, mode)
        if field_errors:
            raise _decode_error(rt, field_errors)
        return warnings

    def validate(self, rt: ResourceType, obj: Object, old: Object | None, subresource: str = "") -> list[str]:
        """Semantic validation; returns warnings, raises 422 Invalid listing every cause."""
        found = list(rt.validate(obj))
        if old is not None:
            found += validate_finalizer_changes(obj, old)
            if not subresource:
                found += rt.validate_update(obj, old)
        if found:
            name = obj.get("metadata", {}).get("name") or obj.get("metadata", {}).get("generateName", "")
            raise errors.invalid(rt.kind, name, found, rt.group)
        return not_emulated_warnings(rt, obj)


def _decode_error(rt: ResourceType, field_errors: list[FieldError]) -> errors.ApiError:
    unknown = [e for e in field_errors if e.type == errors.FIELD_VALUE_UNKNOWN]
    prefix = f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
    if unknown:
        message = prefix + "strict decoding error: " + ", ".join(e.message() for e in unknown)
    else:
        message = prefix + ", ".join(e.message() for e in field_errors)
    return errors.BadRequest(400, errors.REASON_BAD_REQUEST, message,
                             {"kind": rt.kind, "causes": [e.cause() for e in field_errors]})


def not_emulated_warnings(rt: ResourceType, obj: Object) -> list[str]:
    return [f"{path} is accepted but not emulated by kubeling" for path in rt.not_emulated
            if _has_path(obj, path)]


def _has_path(obj: Any, path: str) -> bool:
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return False
        obj = obj[part]
    return obj is not None
