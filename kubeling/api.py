"""The few apiserver calls the CLI makes, over the Kubernetes HTTP API (plain urllib, no component imported)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class ApiError(Exception):
    pass


def request(base: str, method: str, path: str, timeout: float = 3.0) -> dict[str, Any] | None:
    """The JSON answer, None for 404; ApiError when the apiserver is unreachable or answers another error."""
    req = urllib.request.Request(base + path, method=method, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            body: dict[str, Any] = json.loads(response.read() or b"{}")
            return body
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise ApiError(f"{method} {path}: HTTP {err.code}") from err
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise ApiError(f"{method} {path}: {err}") from err


def node_ready(node: dict[str, Any]) -> bool:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def node_ip(node: dict[str, Any]) -> str:
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP":
            return str(address.get("address", ""))
    return ""


def nodes(base: str) -> dict[str, dict[str, Any]]:
    body = request(base, "GET", "/api/v1/nodes") or {}
    return {n["metadata"]["name"]: n for n in body.get("items") or []}


def lease_holder(base: str, lease: str, namespace: str = "kube-system") -> str:
    body = request(base, "GET", f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{lease}")
    return str(((body or {}).get("spec") or {}).get("holderIdentity") or "")


def delete_node(base: str, name: str) -> bool:
    return request(base, "DELETE", f"/api/v1/nodes/{name}") is not None
