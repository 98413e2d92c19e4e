"""Pod volumes and volume mounts: defaulting (SetDefaults_Volume & co.) and validation.

A volume with no source becomes `emptyDir: {}`; secret, configMap, downwardAPI and projected
volumes get `defaultMode: 420` (0644). Validation follows ValidateVolumes/ValidateVolumeMounts:
unique DNS-label names, exactly one source, the required fields of the common sources, and
mounts that name an existing volume at a unique path.
"""

from __future__ import annotations

import posixpath
from typing import Any

from apimachinery.api.common import (
    Object,
    duplicate,
    entries,
    forbidden,
    from_messages,
    indexed,
    invalid,
    not_found,
    not_supported,
    number,
    required,
    sub,
    text,
)
from apimachinery.errors import FieldError
from apimachinery.names import is_dns1123_label

DEFAULT_MODE = 0o644
FILE_MODE_MESSAGE = "must be a number between 0 and 0777 (octal), both inclusive"

# VolumeSource members, in the order Kubernetes checks them.
SOURCES = ("emptyDir", "hostPath", "gitRepo", "gcePersistentDisk", "awsElasticBlockStore", "secret", "nfs",
           "iscsi", "glusterfs", "flocker", "persistentVolumeClaim", "rbd", "cinder", "cephfs", "quobyte",
           "downwardAPI", "fc", "flexVolume", "configMap", "azureFile", "vsphereVolume",
           "photonPersistentDisk", "portworxVolume", "azureDisk", "storageos", "projected", "scaleIO",
           "csi", "ephemeral", "image")
_MODED = ("secret", "configMap", "downwardAPI", "projected")
HOST_PATH_TYPES = ("", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File",
                   "FileOrCreate", "Socket")


# -- defaulting -----------------------------------------------------------------------------


def default_volume(volume: Object) -> None:
    if not any(volume.get(source) is not None for source in SOURCES):
        volume["emptyDir"] = {}
    for source in _MODED:
        if isinstance(volume.get(source), dict):
            volume[source].setdefault("defaultMode", DEFAULT_MODE)
    host_path = volume.get("hostPath")
    if isinstance(host_path, dict):
        host_path.setdefault("type", "")
    for _, item in entries(volume.get("downwardAPI"), "items"):
        default_field_ref(item)
    for _, projection in entries(volume.get("projected"), "sources"):
        _default_projection(projection)
    template = sub(sub(volume.get("ephemeral"), "volumeClaimTemplate"), "spec")
    if template:
        template.setdefault("volumeMode", "Filesystem")


def _default_projection(projection: Object) -> None:
    token = projection.get("serviceAccountToken")
    if isinstance(token, dict):
        token.setdefault("expirationSeconds", 3600)
    for _, item in entries(projection.get("downwardAPI"), "items"):
        default_field_ref(item)


def default_field_ref(holder: Object) -> None:
    """ObjectFieldSelector.apiVersion defaults to v1; ResourceFieldSelector.divisor shows as "0"."""
    field_ref = holder.get("fieldRef")
    if isinstance(field_ref, dict):
        field_ref.setdefault("apiVersion", "v1")
    resource_ref = holder.get("resourceFieldRef")
    if isinstance(resource_ref, dict):
        resource_ref.setdefault("divisor", "0")


# -- volumes --------------------------------------------------------------------------------


def validate_volumes(volumes: Any, path: str) -> tuple[set[str], list[FieldError]]:
    """The names of the valid volumes (mounts may refer to those) and every error."""
    names: set[str] = set()
    found: list[FieldError] = []
    for i, volume in indexed(volumes):
        at = f"{path}[{i}]"
        name = text(volume.get("name"))
        errs = _validate_source(volume, at)
        if not name:
            errs.append(required(f"{at}.name"))
        else:
            errs += from_messages(f"{at}.name", name, is_dns1123_label(name))
        if name in names:
            errs.append(duplicate(f"{at}.name", name))
        if errs:
            found += errs
        else:
            names.add(name)
    return names, found


def _validate_source(volume: Object, path: str) -> list[FieldError]:
    present = [source for source in SOURCES if volume.get(source) is not None]
    if not present:
        return [required(path, "must specify a volume type")]
    found = [forbidden(f"{path}.{extra}", "may not specify more than 1 volume type") for extra in present[1:]]
    source = present[0]
    checker = _SOURCE_CHECKS.get(source)
    if checker is not None:
        found += checker(sub(volume, source), f"{path}.{source}")
    return found


def _check_secret(source: Object, path: str) -> list[FieldError]:
    found = [] if text(source.get("secretName")) else [required(f"{path}.secretName")]
    return found + _check_mode(source.get("defaultMode"), f"{path}.defaultMode") + _check_items(source, path)


def _check_config_map(source: Object, path: str) -> list[FieldError]:
    found = [] if text(source.get("name")) else [required(f"{path}.name")]
    return found + _check_mode(source.get("defaultMode"), f"{path}.defaultMode") + _check_items(source, path)


def _check_host_path(source: Object, path: str) -> list[FieldError]:
    host = text(source.get("path"))
    found = [required(f"{path}.path")] if not host else _no_backsteps(host, f"{path}.path")
    kind = source.get("type")
    if isinstance(kind, str) and kind not in HOST_PATH_TYPES:
        found.append(not_supported(f"{path}.type", kind, HOST_PATH_TYPES))
    return found


def _check_pvc(source: Object, path: str) -> list[FieldError]:
    return [] if text(source.get("claimName")) else [required(f"{path}.claimName")]


def _check_nfs(source: Object, path: str) -> list[FieldError]:
    found = [] if text(source.get("server")) else [required(f"{path}.server")]
    export = text(source.get("path"))
    if not export:
        found.append(required(f"{path}.path"))
    elif not export.startswith("/"):
        found.append(invalid(f"{path}.path", export, "must be an absolute path"))
    return found


def _check_downward_api(source: Object, path: str) -> list[FieldError]:
    found = _check_mode(source.get("defaultMode"), f"{path}.defaultMode")
    for i, item in entries(source, "items"):
        at = f"{path}.items[{i}]"
        item_path = text(item.get("path"))
        found += [required(f"{at}.path")] if not item_path else local_path(item_path, f"{at}.path")
        found += _check_mode(item.get("mode"), f"{at}.mode")
        refs = [ref for ref in ("fieldRef", "resourceFieldRef") if item.get(ref) is not None]
        if len(refs) != 1:
            found.append(invalid(at, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously")
                         if refs else required(at, "one of fieldRef and resourceFieldRef is required"))
    return found


def _check_projected(source: Object, path: str) -> list[FieldError]:
    found = _check_mode(source.get("defaultMode"), f"{path}.defaultMode")
    for i, projection in entries(source, "sources"):
        kinds = [k for k in ("secret", "configMap", "downwardAPI", "serviceAccountToken", "clusterTrustBundle")
                 if projection.get(k) is not None]
        at = f"{path}.sources[{i}]"
        found += [forbidden(f"{at}.{extra}", "may not specify more than 1 volume type") for extra in kinds[1:]]
        if not kinds:
            found.append(required(at, "must specify exactly 1 volume type"))
    return found


def _check_items(source: Object, path: str) -> list[FieldError]:
    found: list[FieldError] = []
    for i, item in entries(source, "items"):
        at = f"{path}.items[{i}]"
        if not text(item.get("key")):
            found.append(required(f"{at}.key"))
        item_path = text(item.get("path"))
        if not item_path:
            found.append(required(f"{at}.path"))
        found += local_path(item_path, f"{at}.path")
        found += _check_mode(item.get("mode"), f"{at}.mode")
    return found


def _check_mode(mode: Any, path: str) -> list[FieldError]:
    n = number(mode)
    return [invalid(path, n, FILE_MODE_MESSAGE)] if n is not None and not 0 <= n <= 0o777 else []


_SOURCE_CHECKS = {
    "secret": _check_secret,
    "configMap": _check_config_map,
    "hostPath": _check_host_path,
    "persistentVolumeClaim": _check_pvc,
    "nfs": _check_nfs,
    "downwardAPI": _check_downward_api,
    "projected": _check_projected,
}


# -- paths ----------------------------------------------------------------------------------


def _no_backsteps(target: str, path: str) -> list[FieldError]:
    if ".." in target.split("/"):
        return [invalid(path, target, "must not contain '..'")]
    return []


def local_path(target: str, path: str) -> list[FieldError]:
    """ValidateLocalNonReservedPath: relative, no `..` element, not starting with `..`."""
    found = [invalid(path, target, "must be a relative path")] if posixpath.isabs(target) else []
    found += _no_backsteps(target, path)
    if target.startswith("..") and not target.startswith("../"):
        found.append(invalid(path, target, "must not start with '..'"))
    return found


# -- volume mounts --------------------------------------------------------------------------


def validate_volume_mounts(container: Object, volumes: set[str], path: str) -> list[FieldError]:
    found: list[FieldError] = []
    mount_paths: set[str] = set()
    for i, mount in entries(container, "volumeMounts"):
        at = f"{path}[{i}]"
        name, mount_path = text(mount.get("name")), text(mount.get("mountPath"))
        if not name:
            found.append(required(f"{at}.name"))
        if name not in volumes:
            found.append(not_found(f"{at}.name", name))
        if not mount_path:
            found.append(required(f"{at}.mountPath"))
        if mount_path in mount_paths:
            found.append(invalid(f"{at}.mountPath", mount_path, "must be unique"))
        mount_paths.add(mount_path)
        sub_path = text(mount.get("subPath"))
        if sub_path:
            found += local_path(sub_path, f"{path}.subPath")
    return found
