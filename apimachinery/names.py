"""Object names, label keys and values, and ObjectMeta validation, as Kubernetes checks them.

A port of k8s.io/apimachinery pkg/util/validation (IsDNS1123Label, IsQualifiedName, ...),
pkg/api/validation (ValidateObjectMeta) and apiserver's SimpleNameGenerator.

Guarantees:
- every `is_*` check returns Kubernetes' exact error strings (an empty list when the value is
  fine); lengths are counted in bytes, as Go's len() does;
- `validate_object_meta` reports the same field paths, error types and details as
  `ValidateObjectMetaAccessor`, in the same order (generateName, name, namespace, generation,
  labels, annotations, ownerReferences, finalizers);
- `generate_name` never returns more than 63 characters.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from typing import Any

from apimachinery.errors import (
    FIELD_VALUE_DUPLICATE,
    FIELD_VALUE_FORBIDDEN,
    FIELD_VALUE_INVALID,
    FIELD_VALUE_REQUIRED,
    FIELD_VALUE_TOO_LONG,
    FieldError,
)

NameValidator = Callable[[str], list[str]]

DNS1123_LABEL_MAX_LENGTH = 63
DNS1123_SUBDOMAIN_MAX_LENGTH = 253
DNS1035_LABEL_MAX_LENGTH = 63
LABEL_VALUE_MAX_LENGTH = 63
QUALIFIED_NAME_MAX_LENGTH = 63
TOTAL_ANNOTATION_SIZE_LIMIT_B = 256 * (1 << 10)
IS_NEGATIVE_ERROR_MSG = "must be greater than or equal to 0"

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + "(\\." + _DNS1123_LABEL_FMT + ")*"
_DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QUALIFIED_NAME_FMT + ")?"
_C_IDENTIFIER_FMT = "[A-Za-z_][A-Za-z0-9_]*"
_ENV_VAR_NAME_FMT = "[-._a-zA-Z][-._a-zA-Z0-9]*"
_CONFIG_MAP_KEY_FMT = "[-._a-zA-Z0-9]+"

_DNS1123_LABEL_RE = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE = re.compile(_DNS1123_SUBDOMAIN_FMT)
_DNS1035_LABEL_RE = re.compile(_DNS1035_LABEL_FMT)
_QUALIFIED_NAME_RE = re.compile(_QUALIFIED_NAME_FMT)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)
_C_IDENTIFIER_RE = re.compile(_C_IDENTIFIER_FMT)
_ENV_VAR_NAME_RE = re.compile(_ENV_VAR_NAME_FMT)
_CONFIG_MAP_KEY_RE = re.compile(_CONFIG_MAP_KEY_FMT)

FINALIZER_ORPHAN_DEPENDENTS = "orphan"
FINALIZER_DELETE_DEPENDENTS = "foregroundDeletion"

# apiserver's SimpleNameGenerator: 5 characters from utilrand's alphabet, 63 characters in all.
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
RANDOM_NAME_LENGTH = 5
MAX_NAME_LENGTH = 63
MAX_GENERATED_NAME_LENGTH = MAX_NAME_LENGTH - RANDOM_NAME_LENGTH
_random = random.Random()


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """`validation.RegexError`: the message, examples and the regex in one sentence."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def max_len_error(length: int, unit: str = "characters") -> str:
    return f"must be no more than {length} {unit}"


def _byte_len(value: str) -> int:
    return len(value.encode("utf-8"))


def _full(pattern: re.Pattern[str], value: str) -> bool:
    return pattern.fullmatch(value) is not None


def is_dns1123_label(value: str) -> list[str]:
    errs = []
    if _byte_len(value) > DNS1123_LABEL_MAX_LENGTH:
        errs.append(max_len_error(DNS1123_LABEL_MAX_LENGTH))
    if not _full(_DNS1123_LABEL_RE, value):
        if _full(_DNS1123_SUBDOMAIN_RE, value):
            errs.append("must not contain dots")
        else:
            msg = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
                   "and must start and end with an alphanumeric character")
            errs.append(regex_error(msg, _DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def _dns1123_subdomain(value: str, unit: str) -> list[str]:
    errs = []
    if _byte_len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH, unit))
    if not _full(_DNS1123_SUBDOMAIN_RE, value):
        msg = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
               "'-' or '.', and must start and end with an alphanumeric character")
        errs.append(regex_error(msg, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    return _dns1123_subdomain(value, "characters")


def is_dns1035_label(value: str) -> list[str]:
    errs = []
    if _byte_len(value) > DNS1035_LABEL_MAX_LENGTH:
        errs.append(max_len_error(DNS1035_LABEL_MAX_LENGTH))
    if not _full(_DNS1035_LABEL_RE, value):
        msg = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
               "alphabetic character, and end with an alphanumeric character")
        errs.append(regex_error(msg, _DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


_QUALIFIED_NAME_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                       "with an alphanumeric character")


def is_qualified_name(value: str) -> list[str]:
    """A label/annotation key: `[prefix/]name`, prefix a DNS subdomain, name at most 63 bytes."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) > 2:
        key_msg = regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        return [f"a valid label key {key_msg} with an optional DNS subdomain prefix and '/' "
                "(e.g. 'example.com/MyName')"]
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + msg for msg in _dns1123_subdomain(prefix, "bytes"))
    if not name:
        errs.append("name part must be non-empty")
    elif _byte_len(name) > QUALIFIED_NAME_MAX_LENGTH:
        errs.append("name part " + max_len_error(QUALIFIED_NAME_MAX_LENGTH, "bytes"))
    if not _full(_QUALIFIED_NAME_RE, name):
        errs.append("name part " + regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT,
                                               "MyName", "my.name", "123-abc"))
    return errs


def is_valid_label_value(value: str) -> list[str]:
    errs = []
    if _byte_len(value) > LABEL_VALUE_MAX_LENGTH:
        errs.append(max_len_error(LABEL_VALUE_MAX_LENGTH, "bytes"))
    if not _full(_LABEL_VALUE_RE, value):
        msg = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
               "or '.', and must start and end with an alphanumeric character")
        errs.append(regex_error(msg, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def is_c_identifier(value: str) -> list[str]:
    if _full(_C_IDENTIFIER_RE, value):
        return []
    msg = ("a valid C identifier must start with alphabetic character or '_', followed by a string of "
           "alphanumeric characters or '_'")
    return [regex_error(msg, _C_IDENTIFIER_FMT, "my_name", "MY_NAME", "MyName")]


def _chdir_prefix_errors(value: str) -> list[str]:
    if value in (".", ".."):
        return [f"must not be '{value}'"]
    if value.startswith(".."):
        return ["must not start with '..'"]
    return []


def is_env_var_name(value: str) -> list[str]:
    errs = []
    if not _full(_ENV_VAR_NAME_RE, value):
        msg = ("a valid environment variable name must consist of alphabetic characters, digits, '_', '-', "
               "or '.', and must not start with a digit")
        errs.append(regex_error(msg, _ENV_VAR_NAME_FMT, "my.env-name", "MY_ENV.NAME", "MyEnvName1"))
    return errs + _chdir_prefix_errors(value)


def is_config_map_key(value: str) -> list[str]:
    errs = []
    if _byte_len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _full(_CONFIG_MAP_KEY_RE, value):
        msg = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
        errs.append(regex_error(msg, _CONFIG_MAP_KEY_FMT, "key.name", "KEY_NAME", "key-name"))
    return errs + _chdir_prefix_errors(value)


def mask_trailing_dash(name: str) -> str:
    """Kubernetes' maskTrailingDash, quirk included: `abc-` is checked as `aba`."""
    if len(name) > 1 and name.endswith("-"):
        return name[:-2] + "a"
    return name


def generate_name(prefix: str) -> str:
    """`SimpleNameGenerator.GenerateName`: prefix (cut to 58 chars) + 5 random characters."""
    base = prefix[:MAX_GENERATED_NAME_LENGTH]
    return base + "".join(_random.choices(NAME_ALPHABET, k=RANDOM_NAME_LENGTH))


def _string_errors(value: Any, path: str) -> list[FieldError]:
    if isinstance(value, str):
        return []
    return [FieldError(path, FIELD_VALUE_INVALID, "must be a string", value)]


def validate_labels(labels: Mapping[str, str] | None, path: str) -> list[FieldError]:
    """`ValidateLabels`: keys are qualified names, values label values (errors at `path` itself)."""
    if not isinstance(labels or {}, Mapping):
        return [FieldError(path, FIELD_VALUE_INVALID, "must be an object", labels)]
    errs: list[FieldError] = []
    for key, value in (labels or {}).items():
        if _string_errors(key, path) or _string_errors(value, path):
            errs.extend(_string_errors(key, path) + _string_errors(value, path))
            continue
        errs.extend(FieldError(path, FIELD_VALUE_INVALID, msg, key) for msg in is_qualified_name(key))
        errs.extend(FieldError(path, FIELD_VALUE_INVALID, msg, value) for msg in is_valid_label_value(value))
    return errs


def validate_annotations(annotations: Mapping[str, str] | None, path: str) -> list[FieldError]:
    """`ValidateAnnotations`: keys are qualified names (any case); keys+values at most 256 KiB."""
    if not isinstance(annotations or {}, Mapping):
        return [FieldError(path, FIELD_VALUE_INVALID, "must be an object", annotations)]
    errs: list[FieldError] = []
    total = 0
    for key, value in (annotations or {}).items():
        if _string_errors(key, path) or _string_errors(value, path):
            errs.extend(_string_errors(key, path) + _string_errors(value, path))
            continue
        errs.extend(FieldError(path, FIELD_VALUE_INVALID, msg, key) for msg in is_qualified_name(key.lower()))
        total += _byte_len(key) + _byte_len(value)
    if total > TOTAL_ANNOTATION_SIZE_LIMIT_B:
        errs.append(FieldError(path, FIELD_VALUE_TOO_LONG,
                               f"may not be more than {TOTAL_ANNOTATION_SIZE_LIMIT_B} bytes"))
    return errs


def _parse_group_version(api_version: str) -> tuple[str, str] | None:
    """`schema.ParseGroupVersion`: (group, version), or None when it has more than one '/'."""
    if api_version.count("/") > 1:
        return None
    group, _, version = api_version.rpartition("/")
    return group, version


def _validate_owner_reference(ref: Any, path: str) -> list[FieldError]:
    if not isinstance(ref, Mapping):
        return [FieldError(path, FIELD_VALUE_INVALID, "must be an object", ref)]
    errs: list[FieldError] = []
    api_version = str(ref.get("apiVersion") or "")
    group_version = _parse_group_version(api_version)
    if not api_version:
        errs.append(FieldError(f"{path}.apiVersion", FIELD_VALUE_REQUIRED, "must not be empty"))
    elif group_version is None or not group_version[1]:
        errs.append(FieldError(f"{path}.apiVersion", FIELD_VALUE_INVALID,
                               "must be <group>/<version> or <version>", api_version))
    for key in ("kind", "name", "uid"):
        if not ref.get(key):
            errs.append(FieldError(f"{path}.{key}", FIELD_VALUE_REQUIRED, "must not be empty"))
    if group_version == ("", "v1") and ref.get("kind") == "Event":
        errs.append(FieldError(path, FIELD_VALUE_INVALID, "/v1, Kind=Event is disallowed from being an owner",
                               dict(ref)))
    return errs


def validate_owner_references(refs: list[Mapping[str, Any]] | None, path: str) -> list[FieldError]:
    """`ValidateOwnerReferences`: required fields, and at most one controller reference."""
    errs: list[FieldError] = []
    first_controller = ""
    for index, ref in enumerate(refs or []):
        errs.extend(_validate_owner_reference(ref, f"{path}[{index}]"))
        if isinstance(ref, Mapping) and ref.get("controller") is True:
            current = f"{ref.get('kind', '')}/{ref.get('name', '')}"
            if not first_controller:
                first_controller = current
                continue
            detail = ("Only one reference can have Controller set to true. Found \"true\" in references for "
                      f"{first_controller} and {current}")
            errs.append(FieldError(path, FIELD_VALUE_INVALID, detail, list(refs or [])))
    return errs


def validate_finalizers(finalizers: list[str] | None, path: str) -> list[FieldError]:
    """`ValidateFinalizers` (qualified names; not both orphan and foregroundDeletion), no duplicates."""
    errs: list[FieldError] = []
    seen: set[str] = set()
    for index, finalizer in enumerate(finalizers or []):
        if _string_errors(finalizer, path):
            errs.extend(_string_errors(finalizer, path))
            continue
        errs.extend(FieldError(path, FIELD_VALUE_INVALID, msg, finalizer)
                    for msg in is_qualified_name(finalizer))
        if finalizer in seen:
            errs.append(FieldError(f"{path}[{index}]", FIELD_VALUE_DUPLICATE, "", finalizer))
        seen.add(finalizer)
    if {FINALIZER_ORPHAN_DEPENDENTS, FINALIZER_DELETE_DEPENDENTS} <= seen:
        detail = (f"finalizer {FINALIZER_ORPHAN_DEPENDENTS} and {FINALIZER_DELETE_DEPENDENTS} "
                  "cannot be both set")
        errs.append(FieldError(path, FIELD_VALUE_INVALID, detail, list(finalizers or [])))
    return errs


def _validate_names(meta: Mapping[str, Any], name_validator: NameValidator, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    generate = meta.get("generateName") or ""
    name = meta.get("name") or ""
    wrong_types = _string_errors(generate, f"{path}.generateName") + _string_errors(name, f"{path}.name")
    if wrong_types:
        return wrong_types
    if generate:
        errs.extend(FieldError(f"{path}.generateName", FIELD_VALUE_INVALID, msg, generate)
                    for msg in name_validator(mask_trailing_dash(generate)))
    if name:
        errs.extend(FieldError(f"{path}.name", FIELD_VALUE_INVALID, msg, name)
                    for msg in name_validator(name))
    elif not generate:
        errs.append(FieldError(f"{path}.name", FIELD_VALUE_REQUIRED, "name or generateName is required"))
    return errs


def _validate_namespace(meta: Mapping[str, Any], namespaced: bool, path: str) -> list[FieldError]:
    namespace = meta.get("namespace") or ""
    if _string_errors(namespace, f"{path}.namespace"):
        return _string_errors(namespace, f"{path}.namespace")
    if not namespaced:
        if not namespace:
            return []
        return [FieldError(f"{path}.namespace", FIELD_VALUE_FORBIDDEN, "not allowed on this type")]
    if not namespace:
        return [FieldError(f"{path}.namespace", FIELD_VALUE_REQUIRED)]
    return [FieldError(f"{path}.namespace", FIELD_VALUE_INVALID, msg, namespace)
            for msg in is_dns1123_label(namespace)]


def validate_object_meta(meta: Mapping[str, Any], namespaced: bool,
                         name_validator: NameValidator = is_dns1123_subdomain,
                         path: str = "metadata") -> list[FieldError]:
    """`ValidateObjectMeta` on create; a missing name is fine while generateName is set."""
    errs = _validate_names(meta, name_validator, path)
    errs += _validate_namespace(meta, namespaced, path)
    generation = meta.get("generation")
    if isinstance(generation, int) and generation < 0:
        errs.append(FieldError(f"{path}.generation", FIELD_VALUE_INVALID, IS_NEGATIVE_ERROR_MSG, generation))
    errs += validate_labels(meta.get("labels"), f"{path}.labels")
    errs += validate_annotations(meta.get("annotations"), f"{path}.annotations")
    errs += validate_owner_references(meta.get("ownerReferences"), f"{path}.ownerReferences")
    errs += validate_finalizers(meta.get("finalizers"), f"{path}.finalizers")
    return errs
