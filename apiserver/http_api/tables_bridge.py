"""Table output (`Accept: ...;as=Table`) for GET and LIST, delegated to `tables.render_table`.

`wants_table` reads the Accept header (kubectl asks for `application/json;as=Table;v=v1;g=meta.k8s.io`
first, then plain JSON); `table` renders with the request's `includeObject` (default Metadata) and
the list's metadata (resourceVersion, continue, remainingItemCount).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from apimachinery import errors
from apimachinery.kinds import ResourceType
from apiserver.http_api.tables import render_table

INCLUDE_OBJECT = ("None", "Metadata", "Object")


def wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


def table(rt: ResourceType, objects: list[dict[str, Any]], request: web.Request,
          list_metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    include = request.query.get("includeObject") or "Metadata"
    if include not in INCLUDE_OBJECT:
        raise errors.bad_request(f'includeObject: Unsupported value: "{include}": supported values: '
                                 '"None", "Metadata", "Object"')
    return render_table(rt, objects, now=datetime.now(UTC), include_object=include, list_metadata=list_metadata)
