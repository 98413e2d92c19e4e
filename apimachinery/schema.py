"""Structural validation of Kubernetes objects against the upstream OpenAPI schemas.

What it checks. Every write's body is checked against the definition its kind names
(`ResourceType.schema_ref`, e.g. `io.k8s.api.core.v1.Pod`), taken from the schemas packaged in the
`kubernetes-validate` wheel for Kubernetes `KUBERNETES_VERSION` (the `-local-strict` variant: a
JSON Schema 2020-12 document `{"$defs": {...}}` whose objects carry `additionalProperties: false`).
No schema is typed by hand. A check reports, all at once and each with its Kubernetes field path:

- a value of the wrong JSON type — FIELD_VALUE_INVALID, `expected integer, got string`. The test
  is on exact types, so `True` is not an integer and `1.0` is not an integer, as in Go's decoder;
  int32/int64 values must fit their range;
- an out-of-enum value — FIELD_VALUE_NOT_SUPPORTED (top-level `apiVersion`/`kind` are skipped:
  the caller routed the object by them);
- a missing (or null) required field — FIELD_VALUE_REQUIRED;
- `format: byte` that is not base64 (Secret.data) and `format: date-time` that is not RFC3339
  (metav1.Time), both FIELD_VALUE_INVALID; a secret value is never echoed back;
- unknown fields, listed separately (`SchemaResult.unknown_fields`) as paths printed the way
  Kubernetes' strict decoder prints them: `spec.containers[0].imagePullPolicyy`, map keys joined
  with dots. Maps (`metadata.labels`) accept any key.

A JSON null is accepted wherever the schema allows it (every optional field does), except inside a
list or as a map value, where Go would silently make a zero value and our code would trip over it.
`oneOf` is read as anyOf (both packaged IntOrString/Quantity branches allow null, so a strict
oneOf would reject null). Free-form definitions (no properties and no additionalProperties:
RawExtension, JSON, FieldsV1, JSONSchemaPropsOr*) accept anything of their type.

`check_fields` adds Kubernetes' `fieldValidation`: Strict makes unknown fields errors (type
FIELD_VALUE_UNKNOWN), Warn drops them and returns `unknown field "spec.foo"` warnings, Ignore drops
them silently. It mutates the object only to drop unknown fields under Warn/Ignore.

How it is fast. `_definitions.json` (1.3 MB) is read once per process, lazily, on the first call
that needs it (~10 ms with orjson). A definition is compiled on first use by
`apimachinery.schema_compile` into nested closures — with everything it references — and cached
for the process; recursive definitions terminate through a forwarding stub. Validation then walks
the object once: leaves are a set lookup on `type(v)`, and a path string is built only for
containers and for errors. Measured numbers: run `python -m apimachinery.schema`.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from apimachinery.errors import FIELD_VALUE_INVALID, FIELD_VALUE_UNKNOWN, FieldError
from apimachinery.schema_compile import SchemaCompiler, SchemaResult, definition_name

__all__ = [
    "FIELD_VALIDATION_IGNORE",
    "FIELD_VALIDATION_STRICT",
    "FIELD_VALIDATION_WARN",
    "KUBERNETES_VERSION",
    "SchemaResult",
    "SchemaValidator",
    "check_fields",
    "default_validator",
    "has_definition",
    "openapi_definitions",
    "prune_unknown_fields",
    "validate",
]

# The Kubernetes release whose schemas we enforce; matches the kubectl on the machine.
KUBERNETES_VERSION = "v1.32.0"
_SCHEMA_DIR = f"{KUBERNETES_VERSION}-local-strict"

FIELD_VALIDATION_STRICT = "Strict"
FIELD_VALIDATION_WARN = "Warn"
FIELD_VALIDATION_IGNORE = "Ignore"
_FIELD_VALIDATIONS = (FIELD_VALIDATION_IGNORE, FIELD_VALIDATION_STRICT, FIELD_VALIDATION_WARN)


def _definitions_path() -> Path:
    # find_spec locates the package without importing it (its __init__ pulls in jsonschema: ~100 ms).
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the kubernetes-validate package is not installed")
    package = Path(next(iter(spec.submodule_search_locations)))
    return package / "kubernetes-json-schema" / _SCHEMA_DIR / "_definitions.json"


@cache
def openapi_definitions() -> dict[str, Any]:
    """The raw `$defs` of the packaged schema, by definition name. Shared: do not mutate."""
    document = orjson.loads(_definitions_path().read_bytes())
    definitions: dict[str, Any] = document["$defs"]
    return definitions


def has_definition(ref: str) -> bool:
    """Whether `io.k8s.api.core.v1.Pod` (or `#/$defs/io.k8s.api.core.v1.Pod`) is a known definition."""
    return definition_name(ref) in openapi_definitions()


class SchemaValidator:
    """Validates objects against named definitions; compiles each definition once, on first use.

    `definitions` defaults to the packaged Kubernetes schemas; pass another `$defs` mapping (same
    JSON Schema subset) to validate against something else, e.g. in a test. Thread-safe.
    """

    def __init__(self, definitions: dict[str, Any] | None = None) -> None:
        self._definitions = definitions
        self._compiler: SchemaCompiler | None = None
        self._lock = threading.Lock()

    def _get_compiler(self) -> SchemaCompiler:
        compiler = self._compiler
        if compiler is None:
            with self._lock:
                if self._compiler is None:
                    defs = self._definitions if self._definitions is not None else openapi_definitions()
                    self._compiler = SchemaCompiler(defs)
                compiler = self._compiler
        return compiler

    def has_definition(self, ref: str) -> bool:
        return definition_name(ref) in self._get_compiler().definitions

    def compile(self, schema_ref: str) -> None:
        """Compile a definition (and all it references) now rather than on first validate."""
        self._get_compiler().ref(schema_ref)

    def validate(self, obj: dict[str, Any], schema_ref: str) -> SchemaResult:
        """Every structural problem of `obj` as definition `schema_ref`; KeyError if there is none."""
        result = SchemaResult()
        if not isinstance(obj, dict):
            kind = "array" if isinstance(obj, list) else type(obj).__name__
            result.errors.append(FieldError("<root>", FIELD_VALUE_INVALID, f"expected object, got {kind}"))
            return result
        spec = self._get_compiler().ref(schema_ref)
        if isinstance(spec, frozenset):
            return result  # a free-form definition: any object will do
        try:
            spec(obj, "", "", result)
        except RecursionError:
            result.errors.append(FieldError("<root>", FIELD_VALUE_INVALID, "object is nested too deeply"))
        return result


_default_lock = threading.Lock()
_default: SchemaValidator | None = None


def default_validator() -> SchemaValidator:
    """The process-wide validator over the packaged schemas."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = SchemaValidator()
    return _default


def validate(obj: dict[str, Any], schema_ref: str) -> SchemaResult:
    """`default_validator().validate(obj, schema_ref)`."""
    return default_validator().validate(obj, schema_ref)


def check_fields(
    obj: dict[str, Any], schema_ref: str, field_validation: str
) -> tuple[list[FieldError], list[str]]:
    """(errors, warnings) for a write with Kubernetes' `fieldValidation` = Strict, Warn or Ignore.

    Errors are the structural ones plus, under Strict, one FIELD_VALUE_UNKNOWN per unknown field.
    Under Warn and Ignore the unknown fields are removed from `obj` (Warn also returns
    `unknown field "<path>"` for each); nothing else ever changes. ValueError for another mode.
    """
    if field_validation not in _FIELD_VALIDATIONS:
        raise ValueError(f'fieldValidation: Unsupported value: "{field_validation}": supported values: '
                         '"Ignore", "Strict", "Warn"')
    result = default_validator().validate(obj, schema_ref)
    if not result.unknown_fields:
        return result.errors, []
    if field_validation == FIELD_VALIDATION_STRICT:
        return result.errors + [FieldError(p, FIELD_VALUE_UNKNOWN) for p in result.unknown_fields], []
    for container, key in result.unknown_at:
        container.pop(key, None)
    if field_validation == FIELD_VALIDATION_WARN:
        return result.errors, [f'unknown field "{p}"' for p in result.unknown_fields]
    return result.errors, []


def prune_unknown_fields(obj: dict[str, Any], unknown_fields: list[str]) -> int:
    """Remove the fields at `unknown_fields` (paths as in `SchemaResult.unknown_fields`); returns how many.

    A path is matched against the object itself, so map keys that contain dots are found too.
    Paths that no longer exist are skipped.
    """
    removed = 0
    for path in unknown_fields:
        located = _locate(obj, path)
        if located is not None:
            container, key = located
            del container[key]
            removed += 1
    return removed


def _locate(node: Any, rest: str) -> tuple[dict[str, Any], str] | None:
    """The (dict, key) that `rest` ends at under `node`, trying every way to split it into keys."""
    if isinstance(node, list):
        if not rest.startswith("["):
            return None
        close = rest.find("]")
        index = rest[1:close]
        if close < 0 or not index.isdigit() or int(index) >= len(node):
            return None
        tail = rest[close + 1:]
        if not tail:
            return None  # a list item is never itself an unknown field
        return _locate(node[int(index)], tail[1:] if tail.startswith(".") else tail)
    if not isinstance(node, dict):
        return None
    if rest in node:
        return node, rest
    for i, ch in enumerate(rest):
        if ch in ".[" and rest[:i] in node:
            found = _locate(node[rest[:i]], rest[i + 1:] if ch == "." else rest[i:])
            if found is not None:
                return found
    return None


def _timing_report() -> None:  # pragma: no cover - run by hand: python -m apimachinery.schema
    def per_call(fn: Any, n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - start) / n * 1e6

    start = time.perf_counter()
    defs = openapi_definitions()
    print(f"load _definitions.json ({len(defs)} definitions): {(time.perf_counter() - start) * 1e3:.1f} ms")
    validator = SchemaValidator()
    for ref in ("io.k8s.api.core.v1.Pod", "io.k8s.api.apps.v1.Deployment", "io.k8s.api.core.v1.ConfigMap"):
        start = time.perf_counter()
        validator.compile(ref)
        print(f"compile {ref} (and its references): {(time.perf_counter() - start) * 1e3:.1f} ms")
    start = time.perf_counter()
    every = SchemaValidator()
    for name in defs:
        every.compile(name)
    print(f"compile all {len(defs)} definitions: {(time.perf_counter() - start) * 1e3:.1f} ms")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default",
                                                           "labels": {"app": "web"}},
           "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
                                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "default"},
          "data": {f"key{i}": f"value{i}" for i in range(10)}}
    n = 20000
    print(f"validate small Pod: "
          f"{per_call(lambda: validator.validate(pod, 'io.k8s.api.core.v1.Pod'), n):.1f} µs")
    print(f"validate ConfigMap, 10 keys: "
          f"{per_call(lambda: validator.validate(cm, 'io.k8s.api.core.v1.ConfigMap'), n):.1f} µs")
    print(f"check_fields(Pod, Strict): "
          f"{per_call(lambda: check_fields(pod, 'io.k8s.api.core.v1.Pod', 'Strict'), n):.1f} µs")


if __name__ == "__main__":  # pragma: no cover
    _timing_report()
