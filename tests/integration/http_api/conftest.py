"""Fixtures for the HTTP API tests: a kubeconfig pointing at the in-process apiserver, and `kubectl`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml


@pytest.fixture
def kubeconfig(apiserver, tmp_path: Path) -> Path:
    """A kubeconfig for http://127.0.0.1:<port> with context `kubeling` and no credentials."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kubeling", "cluster": {"server": f"http://127.0.0.1:{apiserver.http_port}"}}],
        "users": [{"name": "kubeling", "user": {}}],
        "contexts": [{"name": "kubeling", "context": {"cluster": "kubeling", "user": "kubeling",
                                                      "namespace": "default"}}],
        "current-context": "kubeling",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def kubectl_path() -> str:
    path = shutil.which("kubectl")
    if path is None:
        pytest.skip("kubectl is not installed")
    return path


def kubectl(kubeconfig: Path, *args: str, input: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the real kubectl against the test apiserver (blocking: call through asyncio.to_thread)."""
    cache = kubeconfig.parent / "kube-cache"
    return subprocess.run([kubectl_path(), "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache), *args],
                          input=input, capture_output=True, text=True, timeout=timeout)
