"""Pure patch application: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.

`apply_patch(current, patch_type, body, kind, name, schema_ref)` returns the patched object or raises
the error Kubernetes answers: 400 BadRequest for a body that is not JSON or not a patch of its type,
422 Invalid for a JSON patch that does not apply (a failed `test`, a missing path) or a malformed
strategic merge patch (a merge-list element without its merge key, an unknown `$patch`, ...).
Strategic merge patch (`apimachinery.strategic_merge`) reads the patch metadata of the kind's OpenAPI
definition `schema_ref`; without one it degrades to merge semantics (maps merge, lists are replaced).
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import orjson

from apimachinery import errors
from apimachinery.strategic_merge import StrategicMergeError, apply_strategic_merge_patch

Object = dict[str, Any]

MERGE = "merge"
JSON = "json"
STRATEGIC = "strategic"
APPLY = "apply"  # server-side apply: not a patch of `current`; the registry routes it to apiserver/registry/apply.py
PATCH_TYPES = (MERGE, JSON, STRATEGIC)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def apply_patch(current: Object, patch_type: str, body: bytes, kind: str = "", name: str = "",
                schema_ref: str | None = None) -> Object:
    """`current` with the patch applied; `current` itself is not modified."""
    try:
        patch = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise errors.bad_request(f"error decoding patch: {e}") from None
    if patch_type == MERGE:
        if not isinstance(patch, dict):
            raise errors.bad_request("error decoding patch: a merge patch must be a JSON object")
        return merge_patch(current, patch)
    if patch_type == JSON:
        return _json_patch(current, patch, kind, name)
    if patch_type == STRATEGIC:
        return _strategic_patch(current, patch, kind, name, schema_ref)
    raise errors.ApiError(415, errors.REASON_UNSUPPORTED_MEDIA_TYPE,
                          f'unsupported patch type "{patch_type}" (supported: {", ".join(PATCH_TYPES)})')


def _strategic_patch(current: Object, patch: Any, kind: str, name: str, schema_ref: str | None) -> Object:
    if not isinstance(patch, dict):
        raise errors.bad_request("error decoding patch: a strategic merge patch must be a JSON object")
    try:
        return apply_strategic_merge_patch(current, patch, schema_ref)
    except StrategicMergeError as e:
        raise errors.Invalid(422, errors.REASON_INVALID, f'{kind} "{name}" is invalid: {e}',
                             {"kind": kind, "name": name}) from None


def _json_patch(current: Object, patch: Any, kind: str, name: str) -> Object:
    if not isinstance(patch, list):
        raise errors.bad_request("error decoding patch: a JSON patch must be a JSON array of operations")
    try:
        result = jsonpatch.JsonPatch(patch).apply(current, in_place=False)
    except jsonpatch.InvalidJsonPatch as e:
        raise errors.bad_request(f"error decoding patch: {e}") from None
    except (jsonpatch.JsonPatchConflict, jsonpatch.JsonPatchTestFailed, jsonpatch.JsonPointerException) as e:
        raise errors.ApiError(422, errors.REASON_INVALID,
                              f'{kind} "{name}" is invalid: the JSON patch could not be applied: {e}',
                              {"kind": kind, "name": name}) from None
    if not isinstance(result, dict):
        raise errors.bad_request("the patched object is not a JSON object")
    return result
