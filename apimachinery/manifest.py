"""Reading manifests: YAML or JSON files with one or more Kubernetes objects.

`load_manifests(text)` returns the objects in order, skipping empty documents and flattening
`kind: List`, as kubectl does. Anything that is not a set of objects is a `ManifestError` that
says where: the document number and, for YAML syntax errors, the line and column.
"""

from __future__ import annotations

from typing import Any

import yaml


class ManifestError(ValueError):
    pass


def load_manifests(text: str, source: str = "<manifest>") -> list[dict[str, Any]]:
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "unknown position"
        raise ManifestError(f"{source}: error converting YAML to JSON: {where}: {e.problem}") from None
    except yaml.YAMLError as e:
        raise ManifestError(f"{source}: error converting YAML to JSON: {e}") from None
    objects: list[dict[str, Any]] = []
    for index, document in enumerate(documents, start=1):
        if document is None:
            continue
        if not isinstance(document, dict):
            raise ManifestError(f"{source}: document {index} is a {type(document).__name__}, not an object")
        for field in ("apiVersion", "kind"):
            if not document.get(field):
                raise ManifestError(f"{source}: document {index}: Object '{field}' is missing")
        if document["kind"].endswith("List") and isinstance(document.get("items"), list):
            objects.extend(document.get("items") or [])
        else:
            objects.append(document)
    return objects
