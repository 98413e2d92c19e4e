"""Helpers shared by the built-in kinds: safe access to JSON objects and Kubernetes' error shapes.

Objects reach the hooks as decoded JSON. Structural validation has already checked types, but the
hooks must never crash on a body it let through (or on one it was told to ignore), so every read
goes through `sub`, `entries` and `number`, which treat a wrong type as absent.

The error constructors mirror k8s.io/apimachinery/pkg/util/validation/field (Required, Invalid,
NotSupported, ...) and the messages of the small validators Kubernetes reuses everywhere
(ValidateNonnegativeField, ValidateImmutableField, IsValidPortNum, IsValidPercent, ...).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from apimachinery import errors
from apimachinery.errors import FieldError
from apimachinery.labels import selector_from_label_selector

Object = dict[str, Any]

FIELD_VALUE_NOT_FOUND = errors.FIELD_VALUE_NOT_FOUND

NON_NEGATIVE = "must be greater than or equal to 0"
IMMUTABLE = "field is immutable"
PORT_RANGE = "must be between 1 and 65535, inclusive"
MAX_INT32 = 2**31 - 1
PROTOCOLS = ("SCTP", "TCP", "UDP")
_PERCENT = re.compile(r"^[0-9]+%$")
PERCENT_MESSAGE = ("a valid percent string must be a numeric string followed by an ending '%' "
                   "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")


# -- reading JSON safely --------------------------------------------------------------------


def sub(obj: Any, key: str) -> Object:
    """obj[key] if it is an object, else {} (never inserted)."""
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, dict) else {}


def ensure(obj: Object, key: str) -> Object:
    """obj[key], created as {} when absent or null; a throwaway {} if it has the wrong type."""
    value = obj.get(key)
    if value is None:
        value = obj[key] = {}
    return value if isinstance(value, dict) else {}


def indexed(value: Any) -> list[tuple[int, Object]]:
    """(index, item) for the object items of a list; [] for anything but a list."""
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def entries(obj: Any, key: str) -> list[tuple[int, Object]]:
    """(index, item) for the object items of the list obj[key]."""
    return indexed(obj.get(key) if isinstance(obj, dict) else None)


def values(obj: Any, key: str) -> list[Any]:
    """obj[key] if it is a list, else []."""
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, list) else []


def strings(obj: Any, key: str) -> dict[str, Any]:
    """obj[key] as a mapping (labels, selectors, data), {} when absent or not an object."""
    return sub(obj, key)


def number(value: Any) -> int | None:
    """An integer field's value, None when absent or not an integer (bools are not integers)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def text(value: Any) -> str:
    """A string field's value, "" when absent or not a string."""
    return value if isinstance(value, str) else ""


# -- field errors ---------------------------------------------------------------------------


def required(path: str, detail: str = "") -> FieldError:
    return FieldError(path, errors.FIELD_VALUE_REQUIRED, detail)


def invalid(path: str, value: Any, detail: str) -> FieldError:
    return FieldError(path, errors.FIELD_VALUE_INVALID, detail, value)


def not_supported(path: str, value: Any, supported: tuple[str, ...] | list[str]) -> FieldError:
    detail = "supported values: " + ", ".join(f'"{v}"' for v in supported) if supported else ""
    return FieldError(path, errors.FIELD_VALUE_NOT_SUPPORTED, detail, value)


def one_of(value: Any, supported: tuple[str, ...], path: str) -> list[FieldError]:
    """Required, and one of `supported`."""
    if not value:
        return [required(path)]
    return [] if value in supported else [not_supported(path, value, supported)]


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError(path, errors.FIELD_VALUE_DUPLICATE, "", value)


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(path, errors.FIELD_VALUE_FORBIDDEN, detail)


def too_long(path: str, limit: int) -> FieldError:
    return FieldError(path, errors.FIELD_VALUE_TOO_LONG, f"may not be more than {limit} bytes")


def not_found(path: str, value: Any) -> FieldError:
    return FieldError(path, FIELD_VALUE_NOT_FOUND, "", value)


def from_messages(path: str, value: Any, messages: list[str]) -> list[FieldError]:
    """One Invalid error per message of a names/labels validator, as Kubernetes reports them."""
    return [invalid(path, value, message) for message in messages]


# -- small validators Kubernetes reuses everywhere ----------------------------------------


def non_negative(value: Any, path: str) -> list[FieldError]:
    """ValidateNonnegativeField: only an integer below 0 is an error."""
    n = number(value)
    return [invalid(path, n, NON_NEGATIVE)] if n is not None and n < 0 else []


def semantic(value: Any) -> Any:
    """A JSON value as apiequality.Semantic.DeepEqual sees it: null, [] and {} members are absent."""
    if isinstance(value, dict):
        pruned = {k: semantic(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [semantic(v) for v in value]
    return value


def immutable(new: Any, old: Any, path: str) -> list[FieldError]:
    """ValidateImmutableField: `field is immutable` with the new value."""
    return [] if semantic(new) == semantic(old) else [invalid(path, new, IMMUTABLE)]


def valid_port(value: Any, path: str) -> list[FieldError]:
    """IsValidPortNum for a present integer port."""
    n = number(value)
    return [invalid(path, n, PORT_RANGE)] if n is not None and not 1 <= n <= 65535 else []


def port_name_errors(name: str) -> list[str]:
    """IsValidPortName: an IANA_SVC_NAME."""
    found = []
    if len(name) > 15:
        found.append("must be no more than 15 characters")
    if not re.fullmatch(r"[-a-z0-9]+", name):
        found.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search(r"[a-z]", name):
        found.append("must contain at least one letter (a-z)")
    if "--" in name:
        found.append("must not contain consecutive hyphens")
    if name and (name[0] == "-" or name[-1] == "-"):
        found.append("must not begin or end with a hyphen")
    return found


def port_num_or_name(value: Any, path: str) -> list[FieldError]:
    """ValidatePortNumOrName, for targetPort and probe ports (an int or an IANA name)."""
    if isinstance(value, str):
        return from_messages(path, value, port_name_errors(value))
    n = number(value)
    if n is None:
        return []
    return [invalid(path, n, PORT_RANGE)] if not 1 <= n <= 65535 else []


def protocol(value: Any, path: str) -> list[FieldError]:
    if not value:
        return [required(path)]
    return [] if value in PROTOCOLS else [not_supported(path, value, PROTOCOLS)]


def int_or_percent(value: Any, path: str) -> list[FieldError]:
    """ValidatePositiveIntOrPercent (apps): an integer ≥ 0 or a string like "25%"."""
    if isinstance(value, str):
        return [] if _PERCENT.match(value) else [invalid(path, value, PERCENT_MESSAGE)]
    return non_negative(value, path)


def percent_value(value: Any) -> int | None:
    """The N of a valid "N%" string, else None."""
    return int(value[:-1]) if isinstance(value, str) and _PERCENT.match(value) else None


def int_or_percent_value(value: Any) -> int:
    """getIntOrPercentValue: N for "N%", the integer itself, 0 for anything else."""
    percent = percent_value(value)
    if percent is not None:
        return percent
    if isinstance(value, str):
        return int(value) if re.fullmatch(r"[+-]?[0-9]+", value) else 0
    return number(value) or 0


def not_more_than_100_percent(value: Any, path: str) -> list[FieldError]:
    percent = percent_value(value)
    return [invalid(path, value, "must not be greater than 100%")] if percent is not None and percent > 100 else []


def ip_errors(value: str) -> list[str]:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return ["must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"]
    return []


def cidr_errors(value: str) -> list[str]:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return ["must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"]
    return [] if "/" in value else ["must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"]


def path_segment_name_errors(name: str) -> list[str]:
    """IsValidPathSegmentName: the only rule for kinds without their own name rule (Event)."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


# -- selectors ------------------------------------------------------------------------------


def selector_matches(selector: Any, labels: Any) -> bool | None:
    """Whether a LabelSelector matches `labels`: a nil selector matches nothing, an empty one
    everything; None when the selector cannot be built (its own validation reports why)."""
    if not isinstance(selector, dict):
        return False
    try:
        built = selector_from_label_selector(selector)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    plain = {k: v for k, v in labels.items() if isinstance(v, str)} if isinstance(labels, dict) else {}
    return bool(built.matches(plain))


def selector_is_empty(selector: Any) -> bool:
    return isinstance(selector, dict) and not selector.get("matchLabels") and not selector.get("matchExpressions")


def template_labels_match(selector: Any, template: Object, path: str) -> list[FieldError]:
    """`selector` does not match template `labels` — unless the selector is empty or unusable."""
    if selector_is_empty(selector):
        return []
    labels = strings(sub(template, "metadata"), "labels")
    if selector_matches(selector, labels) is False:
        return [invalid(f"{path}.metadata.labels", labels, "`selector` does not match template `labels`")]
    return []
