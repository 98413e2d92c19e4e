"""The cluster's kubeconfig: one cluster, one context, no credentials (the lab apiserver has no authentication)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

FILE = "kubeconfig"


def kubeconfig(cluster: str, server: str) -> dict[str, Any]:
    name = f"kubeling-{cluster}"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server}}],
        "users": [{"name": name, "user": {}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name, "namespace": "default"}}],
        "current-context": name,
        "preferences": {},
    }


def path(directory: Path) -> Path:
    return directory / FILE


def write(directory: Path, cluster: str, server: str) -> Path:
    target = path(directory)
    target.write_text(yaml.safe_dump(kubeconfig(cluster, server), sort_keys=False))
    return target
