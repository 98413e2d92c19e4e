"""Kubernetes' own protobuf messages (k8s.io/api and k8s.io/apimachinery, v0.32.4).

The upstream .proto files are vendored under proto/k8s/k8s.io/ with their import paths; `make proto`
generates Python into proto/k8s/k8s/io/ (protoc's module for "k8s.io/api/core/v1/generated.proto" is
`k8s.io.api.core.v1.generated_pb2`, and the generated modules import each other by those names).
`load()` makes that tree importable as the top-level package `k8s` without touching sys.path, then
imports every group, so each message is in the default descriptor pool.
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

GENERATED = Path(__file__).resolve().parent / "k8s"

# Every vendored generated.proto, as the module protoc made of it.
MODULES = [
    "k8s.io.apimachinery.pkg.runtime.schema.generated_pb2",
    "k8s.io.apimachinery.pkg.runtime.generated_pb2",
    "k8s.io.apimachinery.pkg.api.resource.generated_pb2",
    "k8s.io.apimachinery.pkg.util.intstr.generated_pb2",
    "k8s.io.apimachinery.pkg.apis.meta.v1.generated_pb2",
    "k8s.io.api.core.v1.generated_pb2",
    "k8s.io.api.apps.v1.generated_pb2",
    "k8s.io.api.authentication.v1.generated_pb2",
    "k8s.io.api.authorization.v1.generated_pb2",
    "k8s.io.api.autoscaling.v1.generated_pb2",
    "k8s.io.api.batch.v1.generated_pb2",
    "k8s.io.api.coordination.v1.generated_pb2",
    "k8s.io.api.discovery.v1.generated_pb2",
    "k8s.io.api.events.v1.generated_pb2",
    "k8s.io.api.networking.v1.generated_pb2",
    "k8s.io.api.policy.v1.generated_pb2",
    "k8s.io.api.rbac.v1.generated_pb2",
    "k8s.io.api.scheduling.v1.generated_pb2",
    "k8s.io.api.storage.v1.generated_pb2",
]


def load() -> None:
    """Import every generated module (idempotent)."""
    package = sys.modules.get("k8s")
    if package is None:
        package = types.ModuleType("k8s", "kubeling's generated Kubernetes protobuf modules (proto/k8s/k8s)")
        package.__path__ = [str(GENERATED)]
        sys.modules["k8s"] = package
    elif str(GENERATED) not in list(getattr(package, "__path__", [])):
        raise ImportError(f"a different top-level package 'k8s' is already imported: {package!r}")
    for name in MODULES:
        importlib.import_module(name)
