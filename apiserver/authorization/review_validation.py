"""Validation of the access review kinds, after pkg/apis/authorization/validation.

A review asks about exactly one thing: `spec.resourceAttributes` (a verb on a resource) or
`spec.nonResourceAttributes` (a verb on a URL path), never both and never neither. A
SubjectAccessReview names the subject (`spec.user` and/or `spec.groups`); its metadata must be
empty (a LocalSubjectAccessReview's may carry only the namespace, which must also be the one in
`spec.resourceAttributes`). A field or label selector in resourceAttributes gives either
`rawSelector` or `requirements`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apimachinery.errors import FIELD_VALUE_INVALID, FIELD_VALUE_REQUIRED, FieldError

Object = dict[str, Any]
# ObjectMeta as the client sent it may hold zero values that decode to "unset" in Go.
_IGNORED_META = ("managedFields",)


@dataclass(frozen=True)
class GoValue:
    """A bad value printed as Go's `%#v` prints a struct (unquoted), e.g. in `Invalid value: ...`."""

    text: str

    def __str__(self) -> str:
        return self.text


def go_struct(type_name: str, fields: dict[str, Any]) -> GoValue:
    parts = [f"{name}:{_go_literal(value)}" for name, value in fields.items()]
    return GoValue(f"{type_name}{{{', '.join(parts)}}}")


def _go_literal(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _set(value: Any) -> bool:
    return value not in (None, "", {}, [], 0, False)


def validate_access_spec(spec: Object) -> list[FieldError]:
    """ValidateSelfSubjectAccessReviewSpec: exactly one of the two attribute sets."""
    resource, non_resource = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    found = []
    if resource is not None and non_resource is not None:
        value = go_struct("authorization.NonResourceAttributes",
                          {"Path": non_resource.get("path", ""), "Verb": non_resource.get("verb", "")})
        found.append(FieldError("spec.nonResourceAttributes", FIELD_VALUE_INVALID,
                                "cannot be specified in combination with resourceAttributes", value))
    if resource is None and non_resource is None:
        found.append(FieldError("spec.resourceAttributes", FIELD_VALUE_INVALID,
                                "exactly one of nonResourceAttributes or resourceAttributes must be specified",
                                "null"))
    return found


def validate_subject_spec(spec: Object) -> list[FieldError]:
    """ValidateSubjectAccessReviewSpec: the self checks, then who the subject is."""
    found = validate_access_spec(spec)
    if not spec.get("user") and not spec.get("groups"):
        found.append(FieldError("spec.user", FIELD_VALUE_INVALID, "at least one of user or group must be specified",
                                spec.get("user") or ""))
    return found + validate_resource_attributes(spec.get("resourceAttributes"))


def validate_self_access_review(obj: Object) -> list[FieldError]:
    spec = obj.get("spec") or {}
    return (validate_access_spec(spec) + validate_resource_attributes(spec.get("resourceAttributes"))
            + validate_empty_metadata(obj))


def validate_subject_access_review(obj: Object) -> list[FieldError]:
    return validate_subject_spec(obj.get("spec") or {}) + validate_empty_metadata(obj)


def validate_local_access_review(obj: Object) -> list[FieldError]:
    spec = obj.get("spec") or {}
    namespace = (obj.get("metadata") or {}).get("namespace") or ""
    found = validate_subject_spec(spec) + validate_empty_metadata(obj, "namespace")
    resource = spec.get("resourceAttributes")
    if resource is not None and (resource.get("namespace") or "") != namespace:
        found.append(FieldError("spec.resourceAttributes.namespace", FIELD_VALUE_INVALID,
                                "must match metadata.namespace", resource.get("namespace") or ""))
    non_resource = spec.get("nonResourceAttributes")
    if non_resource is not None:
        value = go_struct("&authorization.NonResourceAttributes",
                          {"Path": non_resource.get("path", ""), "Verb": non_resource.get("verb", "")})
        found.append(FieldError("spec.nonResourceAttributes", FIELD_VALUE_INVALID,
                                "disallowed on this kind of request", value))
    return found


def validate_empty_metadata(obj: Object, allowed: str = "") -> list[FieldError]:
    metadata = obj.get("metadata") or {}
    present = {key: value for key, value in metadata.items()
               if _set(value) and key not in _IGNORED_META and key != allowed}
    if not present:
        return []
    detail = "must be empty except for namespace" if allowed else "must be empty"
    value = go_struct("v1.ObjectMeta", {key[:1].upper() + key[1:]: value for key, value in metadata.items()
                                        if _set(value) and key not in _IGNORED_META})
    return [FieldError("metadata", FIELD_VALUE_INVALID, detail, value)]


def validate_resource_attributes(attributes: Object | None) -> list[FieldError]:
    """validateResourceAttributes: each selector gives rawSelector or requirements, not both."""
    if attributes is None:
        return []
    found = []
    for selector in ("fieldSelector", "labelSelector"):
        given = attributes.get(selector)
        if given is None:
            continue
        path = f"spec.resourceAttributes.{selector}"
        raw, requirements = given.get("rawSelector"), given.get("requirements")
        if raw and requirements:
            found.append(FieldError(f"{path}.rawSelector", FIELD_VALUE_INVALID,
                                    "may not specified at the same time as requirements", raw))
        if not raw and not requirements:
            found.append(FieldError(f"{path}.requirements", FIELD_VALUE_REQUIRED,
                                    f"when {path} is specified, requirements or rawSelector is required"))
    return found
