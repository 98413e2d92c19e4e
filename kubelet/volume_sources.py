"""The files of API-backed volumes: configMap, secret, downwardAPI and projected.

Modelled on Kubernetes' volume plugins (``pkg/volume/configmap``, ``secret``, ``downwardapi``, ``projected``): each
turns its source into a *payload* -- relative path -> :class:`FileProjection` (bytes + mode) -- that the
:class:`~kubelet.atomic_writer.AtomicWriter` then writes into the volume's directory. This module is pure: the
caller passes the ConfigMaps and Secrets of the pod's namespace (``None`` for one that does not exist).

Rules, as in Kubernetes:

* without ``items`` every key becomes a file (configMap: ``data`` and ``binaryData``; secret: base64 ``data``);
  with ``items`` only the listed keys, at ``path``, with the item's ``mode`` or the volume's ``defaultMode``;
* ``defaultMode`` is 0644 for all four kinds (the apiserver's defaulting sets it; we apply it when absent);
* a missing source fails unless ``optional: true`` (then it contributes no files);
* downwardAPI files hold one pod field (labels/annotations as sorted ``key="value"`` lines) or one resource;
* every path is validated (relative, no ``..``) before anything is written.

Errors raise :class:`VolumeError` whose message has Kubernetes' FailedMount shape,
``MountVolume.SetUp failed for volume "v" : configmap "x" not found``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

from kubelet.atomic_writer import FileProjection, PayloadError, clean_payload
from kubelet.container_env import (
    ContainerConfigError,
    config_map_data,
    pod_field_value,
    resource_field_value,
    secret_data,
)

__all__ = ["DEFAULT_MODE", "FileProjection", "VolumeError", "compute_volume_payload"]

DEFAULT_MODE = 0o644  # ConfigMap/Secret/DownwardAPI/ProjectedVolumeSourceDefaultMode
Objects = Mapping[str, Mapping[str, Any] | None]


class VolumeError(Exception):
    """A volume could not be set up; ``str`` is the FailedMount event message, ``reason`` the bare cause."""

    def __init__(self, volume: str, reason: str) -> None:
        super().__init__(f'MountVolume.SetUp failed for volume "{volume}" : {reason}')
        self.volume = volume
        self.reason = reason


class _SourceError(Exception):
    """One source failed; collected so a projected volume reports all of them (Kubernetes' aggregate error)."""


def compute_volume_payload(
    volume: Mapping[str, Any],
    pod: Mapping[str, Any],
    *,
    config_maps: Objects,
    secrets: Objects,
    pod_ip: str = "",
    host_ip: str = "",
    node_name: str = "",
    node_allocatable: Mapping[str, Any] | None = None,
    warnings: list[str] | None = None,
) -> dict[str, FileProjection]:
    """The files of a configMap, secret, downwardAPI or projected ``volume`` of ``pod``.

    ``pod_ip``, ``host_ip`` and ``node_name`` are accepted for symmetry with the environment; a downwardAPI
    volume only exposes metadata fields and resources, as in Kubernetes. ``warnings`` collects notes about
    sources kubeling skips (serviceAccountToken). Raises :class:`VolumeError`.
    """
    name = str(volume.get("name") or "")
    try:
        payload = _payload(volume, pod, config_maps, secrets, node_allocatable or {}, warnings)
        return clean_payload(payload)
    except (_SourceError, PayloadError, ContainerConfigError) as err:
        raise VolumeError(name, str(err)) from err


def _payload(
    volume: Mapping[str, Any],
    pod: Mapping[str, Any],
    config_maps: Objects,
    secrets: Objects,
    allocatable: Mapping[str, Any],
    warnings: list[str] | None,
) -> dict[str, FileProjection]:
    if volume.get("configMap") is not None:
        source = volume["configMap"]
        return _config_map_files(source, config_maps, _mode(source))
    if volume.get("secret") is not None:
        source = volume["secret"]
        return _secret_files({**source, "name": source.get("secretName")}, secrets, _mode(source))
    if volume.get("downwardAPI") is not None:
        source = volume["downwardAPI"]
        return _downward_files(source.get("items") or [], pod, allocatable, _mode(source))
    if volume.get("projected") is not None:
        return _projected_files(volume["projected"], pod, config_maps, secrets, allocatable, warnings)
    raise _SourceError("not a configMap, secret, downwardAPI or projected volume")


def _mode(source: Mapping[str, Any]) -> int:
    mode = source.get("defaultMode")
    return DEFAULT_MODE if mode is None else int(mode)


def _config_map_files(source: Mapping[str, Any], config_maps: Objects, default_mode: int) -> dict[str, FileProjection]:
    """configmap ``MakePayload``: ``data`` and ``binaryData`` keys, or the listed ``items``."""
    config_map = _lookup(source, config_maps, "configmap")
    values: dict[str, bytes] = {key: value.encode() for key, value in config_map_data(config_map).items()}
    for key, value in (config_map.get("binaryData") or {}).items():
        values[str(key)] = _b64(str(value))
    return _key_files(source, values, default_mode, "configmap references non-existent config key: {}")


def _secret_files(source: Mapping[str, Any], secrets: Objects, default_mode: int) -> dict[str, FileProjection]:
    """secret ``MakePayload``: every decoded ``data`` key, or the listed ``items``."""
    secret = _lookup(source, secrets, "secret")
    return _key_files(source, secret_data(secret), default_mode, "references non-existent secret key: {}")


def _lookup(source: Mapping[str, Any], objects: Objects, kind: str) -> Mapping[str, Any]:
    """The named object; an empty one when it is missing but optional; raises when missing and required."""
    name = str(source.get("name") or "")
    obj = objects.get(name)
    if obj is None:
        if not source.get("optional"):
            raise _SourceError(f'{kind} "{name}" not found')
        return {}
    return obj


def _key_files(
    source: Mapping[str, Any], values: Mapping[str, bytes], default_mode: int, missing: str
) -> dict[str, FileProjection]:
    items = source.get("items") or []
    if not items:
        return {key: FileProjection(data, default_mode) for key, data in values.items()}
    files = {}
    for item in items:
        key = str(item.get("key") or "")
        if key not in values:
            if source.get("optional"):
                continue
            raise _SourceError(missing.format(key))
        mode = item.get("mode")
        files[str(item.get("path") or "")] = FileProjection(values[key], default_mode if mode is None else int(mode))
    return files


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as err:
        raise _SourceError(f"illegal base64 data: {err}") from err


def _downward_files(
    items: list[Mapping[str, Any]], pod: Mapping[str, Any], allocatable: Mapping[str, Any], default_mode: int
) -> dict[str, FileProjection]:
    """downwardapi ``CollectData``: one file per item; every failing item is reported together."""
    files, errors = {}, []
    for item in items:
        mode = item.get("mode")
        try:
            data = _downward_value(item, pod, allocatable)
        except ContainerConfigError as err:
            errors.append(str(err))
            continue
        files[str(item.get("path") or "")] = FileProjection(data.encode(), default_mode if mode is None else int(mode))
    if errors:
        raise _SourceError(_aggregate(errors))
    return files


def _downward_value(item: Mapping[str, Any], pod: Mapping[str, Any], allocatable: Mapping[str, Any]) -> str:
    if item.get("fieldRef") is not None:
        return pod_field_value(str(item["fieldRef"].get("fieldPath") or ""), pod)
    if item.get("resourceFieldRef") is not None:
        return resource_field_value(item["resourceFieldRef"], pod, None, allocatable)
    return ""


def _projected_files(
    projected: Mapping[str, Any],
    pod: Mapping[str, Any],
    config_maps: Objects,
    secrets: Objects,
    allocatable: Mapping[str, Any],
    warnings: list[str] | None,
) -> dict[str, FileProjection]:
    """projected ``collectData``: the sources in order, later files overriding earlier ones at the same path."""
    default_mode = _mode(projected)
    builders: dict[str, Callable[[Mapping[str, Any]], dict[str, FileProjection]]] = {
        "configMap": lambda s: _config_map_files(s, config_maps, default_mode),
        "secret": lambda s: _secret_files(s, secrets, default_mode),
        "downwardAPI": lambda s: _downward_files(s.get("items") or [], pod, allocatable, default_mode),
    }
    files: dict[str, FileProjection] = {}
    errors: list[str] = []
    for source in projected.get("sources") or []:
        if source.get("serviceAccountToken") is not None:
            if warnings is not None:
                path = source["serviceAccountToken"].get("path")
                warnings.append(f"serviceAccountToken projection {path!r} skipped: kubeling has no token issuer yet")
            continue
        for kind, build in builders.items():
            if source.get(kind) is not None:
                try:
                    files.update(build(source[kind]))
                except (_SourceError, ContainerConfigError) as err:
                    errors.append(str(err))
    if errors:
        raise _SourceError(_aggregate(errors))
    return files


def _aggregate(errors: list[str]) -> str:
    """``utilerrors.NewAggregate(...).Error()``: one message alone, several as ``[a, b]``."""
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
