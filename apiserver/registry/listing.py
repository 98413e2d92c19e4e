"""LIST: selectors, `limit` + `continue` paging from one etcd snapshot, and where to read from.

A paged list is served from etcd at one revision: the first page fixes the revision, and every
`continue` token carries it with the next key, so all pages together are one consistent snapshot.
When that revision has been compacted, the token has expired and the answer is 410 Gone, as in
Kubernetes. With selectors, pages are filled by reading further until `limit` objects match.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import orjson

from apimachinery import errors
from apimachinery.fields import FieldSelector, parse_field_selector, validate_field_selector
from apimachinery.kinds import ResourceType
from apimachinery.labels import Selector, parse_selector
from apiserver.cache_watcher import Filter

ALWAYS_SELECTABLE = ("metadata.name", "metadata.namespace")
EXPIRED_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new "
    "list without the continue parameter, or use the continue token in this response to retrieve the "
    "remainder of the results. Continuing with the provided token results in an inconsistent list - "
    "objects that were created, modified, or deleted between the time the first chunk was returned and "
    "now may show up in the list."
)


@dataclass(frozen=True)
class ListOptions:
    namespace: str = ""
    label_selector: str = ""
    field_selector: str = ""
    limit: int = 0
    continue_token: str = ""
    resource_version: str = ""
    resource_version_match: str = ""


@dataclass(frozen=True)
class ContinueToken:
    revision: int
    start: str  # the key to resume from, relative to the resource prefix


def encode_continue(revision: int, start: str) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": start})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token: str) -> ContinueToken:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
        revision, start = int(data["rv"]), str(data["start"])
    except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        raise errors.bad_request("continue key is not valid: the token could not be decoded") from None
    if data.get("v") != "meta.k8s.io/v1" or revision <= 0 or ".." in start or start.startswith("/"):
        raise errors.bad_request("continue key is not valid: unsupported or malformed token")
    return ContinueToken(revision, start)


def parse_filter(rt: ResourceType, options: ListOptions, name: str = "") -> Filter:
    """The Filter for a list/watch; BadRequest naming the selector when one does not parse."""
    labels: Selector | None = None
    fields: FieldSelector | None = None
    if options.label_selector:
        try:
            labels = parse_selector(options.label_selector)
        except ValueError as e:
            raise errors.bad_request(f"unable to parse requirement: {e}") from None
    if options.field_selector:
        try:
            fields = parse_field_selector(options.field_selector)
            validate_field_selector(fields, {*ALWAYS_SELECTABLE, *rt.selectable_fields})
        except ValueError as e:
            raise errors.bad_request(f"{e}") from None
    return Filter(namespace=options.namespace if rt.namespaced else "", name=name, labels=labels,
                  fields=fields)


def validate_list_options(options: ListOptions) -> None:
    if options.limit < 0:
        raise errors.bad_request(f"limit: Invalid value: {options.limit}: must be >= 0")
    if options.resource_version_match not in ("", "NotOlderThan", "Exact"):
        raise errors.bad_request(f'resourceVersionMatch: Unsupported value: "{options.resource_version_match}"'
                                 ': supported values: "Exact", "NotOlderThan"')
    if options.resource_version_match and not options.resource_version:
        raise errors.bad_request("resourceVersionMatch is forbidden unless resourceVersion is provided")
    if options.continue_token and options.resource_version not in ("", "0"):
        raise errors.bad_request("specifying resource version is not allowed when using continue")


def serve_from_cache(options: ListOptions) -> bool:
    """Kubernetes' rule (before consistent cached reads): RV unset or Exact → etcd, else the cache."""
    if options.continue_token or not options.resource_version:
        return False
    return options.resource_version_match != "Exact"


def list_object(rt: ResourceType, items: list[Any], revision: int, continue_token: str = "",
                remaining: int | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"resourceVersion": str(revision)}
    if continue_token:
        metadata["continue"] = continue_token
    if remaining is not None:
        metadata["remainingItemCount"] = remaining
    return {"apiVersion": rt.api_version, "kind": rt.list_kind, "metadata": metadata, "items": items}
