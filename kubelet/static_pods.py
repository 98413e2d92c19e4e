"""Static pods: pods the kubelet runs from manifest files in ``--manifest-dir``, with no apiserver involved.

This is how Kubernetes bootstraps its own control plane. The kubelet reads every ``*.yaml``/``*.yml``/``*.json``
file of the directory (re-read every ``check_period`` seconds), and for each Pod in it:

* names it ``<name>-<node name>`` (namespace ``default`` if none), binds it to this node, applies the API's
  defaults, and gives it a uid that is a hash of the node name and the manifest, so an unchanged file keeps its pod
  and a changed file replaces it (``kubernetes.io/config.hash``, ``config.source: file``);
* the pod workers run it like any other pod;
* a *mirror pod* (annotation ``kubernetes.io/config.mirror``, owned by the Node) is kept in the apiserver so
  ``kubectl get pods`` shows it and its status; deleting the mirror pod does not stop the static pod (the kubelet
  recreates the mirror), removing the file does.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

from apimachinery import errors
from apimachinery.kinds import default_registry
from apimachinery.manifest import load_manifests
from client.client import Client

log = logging.getLogger(__name__)
Object = dict[str, Any]

ANNOTATION_HASH = "kubernetes.io/config.hash"
ANNOTATION_SOURCE = "kubernetes.io/config.source"
ANNOTATION_MIRROR = "kubernetes.io/config.mirror"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def is_static_pod(pod: Mapping[str, Any]) -> bool:
    return ((pod.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_SOURCE) == "file"


def is_mirror_pod(pod: Mapping[str, Any]) -> bool:
    return ANNOTATION_MIRROR in ((pod.get("metadata") or {}).get("annotations") or {})


def compute_static_pod(manifest: Mapping[str, Any], node_name: str) -> Object:
    """The pod the kubelet runs for one manifest (pure)."""
    pod = copy.deepcopy(dict(manifest))
    meta = pod.setdefault("metadata", {})
    meta["name"] = f"{meta.get('name', '')}-{node_name}"
    meta["namespace"] = meta.get("namespace") or "default"
    spec = pod.setdefault("spec", {})
    spec["nodeName"] = node_name
    default_registry().for_object(pod).default(pod)
    digest = hashlib.md5(node_name.encode() + orjson.dumps(pod, option=orjson.OPT_SORT_KEYS)).hexdigest()
    meta["uid"] = digest
    meta["annotations"] = {**(meta.get("annotations") or {}), ANNOTATION_HASH: digest, ANNOTATION_SOURCE: "file"}
    pod.pop("status", None)
    return pod


def compute_mirror_pod(static_pod: Mapping[str, Any], node: Mapping[str, Any]) -> Object:
    """The API object that mirrors a static pod (pure)."""
    pod = copy.deepcopy(dict(static_pod))
    meta = pod["metadata"]
    annotations = dict(meta.get("annotations") or {})
    annotations[ANNOTATION_MIRROR] = annotations[ANNOTATION_HASH]
    node_meta = node.get("metadata") or {}
    pod["metadata"] = {
        "name": meta["name"], "namespace": meta["namespace"], "labels": meta.get("labels") or {},
        "annotations": annotations,
        "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": node_meta.get("name", ""),
                             "uid": node_meta.get("uid", ""), "controller": True}],
    }
    pod.pop("status", None)
    return pod


def read_manifest_dir(directory: Path, node_name: str) -> dict[str, Object]:
    """Static pods by uid; files that cannot be parsed, or hold no Pod, are logged and skipped."""
    pods: dict[str, Object] = {}
    if not directory.is_dir():
        return pods
    for path in sorted(directory.iterdir()):
        if path.suffix not in MANIFEST_SUFFIXES or path.name.startswith("."):
            continue
        try:
            manifests = load_manifests(path.read_text(), str(path))
        except (OSError, errors.ApiError, ValueError) as e:
            log.warning("static pod manifest %s skipped: %s", path, e)
            continue
        for manifest in manifests:
            if manifest.get("kind") != "Pod":
                log.warning("static pod manifest %s: kind %r is not Pod; skipped", path, manifest.get("kind"))
                continue
            pod = compute_static_pod(manifest, node_name)
            pods[pod["metadata"]["uid"]] = pod
    return pods


class StaticPodSource:
    """Polls the manifest directory; reports added/changed and removed static pods."""

    def __init__(self, directory: Path, node_name: str, *, on_update: Callable[[Object], None],
                 on_remove: Callable[[Object], None], check_period: float = 20.0) -> None:
        self.directory = directory
        self.node_name = node_name
        self.on_update = on_update
        self.on_remove = on_remove
        self.check_period = check_period
        self.pods: dict[str, Object] = {}
        self.loaded = asyncio.Event()

    def check(self) -> None:
        pods = read_manifest_dir(self.directory, self.node_name)
        for uid in self.pods.keys() - pods.keys():
            self.on_remove(self.pods[uid])
        for uid in pods.keys() - self.pods.keys():
            self.on_update(pods[uid])
        self.pods = pods
        self.loaded.set()

    def by_name(self, namespace: str, name: str) -> Object | None:
        for pod in self.pods.values():
            if pod["metadata"]["namespace"] == namespace and pod["metadata"]["name"] == name:
                return pod
        return None

    async def run(self) -> None:
        while True:
            try:
                self.check()
            except OSError as e:
                log.warning("reading static pods from %s failed: %s", self.directory, e)
            await asyncio.sleep(self.check_period)


class MirrorPods:
    """Keeps one mirror pod in the apiserver per static pod, and none for static pods that are gone."""

    def __init__(self, client: Client, node_name: str) -> None:
        self.client = client
        self.node_name = node_name

    async def sync(self, static_pods: Mapping[str, Object], mirrors: list[Object]) -> None:
        wanted = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in static_pods.values()}
        present = {(m["metadata"]["namespace"], m["metadata"]["name"]): m for m in mirrors}
        for key, mirror in present.items():
            pod = wanted.get(key)
            stale = pod is None or mirror["metadata"]["annotations"].get(ANNOTATION_MIRROR) != pod["metadata"]["uid"]
            if stale or mirror["metadata"].get("deletionTimestamp"):
                await self._delete(mirror)
        for key, pod in wanted.items():
            if key not in present:
                await self._create(pod)

    async def _create(self, pod: Object) -> None:
        try:
            node = await self.client.get("nodes", self.node_name)
            await self.client.create(compute_mirror_pod(pod, node))
        except (errors.AlreadyExists, errors.NotFound):
            pass  # raced with ourselves or the node is not registered yet: the next sync settles it
        except errors.ApiError as e:
            log.warning("mirror pod for %s not created: %s", pod["metadata"]["name"], e)

    async def _delete(self, mirror: Object) -> None:
        meta = mirror["metadata"]
        with contextlib.suppress(errors.NotFound, errors.Conflict):
            await self.client.delete("pods", meta["name"], meta["namespace"], grace_period_seconds=0,
                                     preconditions={"uid": meta["uid"]})
