"""The kubelet's volumes: set them up on the host before containers start, and turn them into bind mounts.

A lab-sized version of Kubernetes' volume manager and in-tree plugins (``pkg/volume/emptydir``, ``hostpath``,
``configmap``, ``secret``, ``downwardapi``, ``projected``) and of ``makeMounts`` (``pkg/kubelet/kubelet_pods.go``).
Every volume of a pod gets a host path; containers bind-mount those paths (or a ``subPath`` below them)::

    <root>/pods/<uid>/volumes/kubernetes.io~empty-dir/<name>     emptyDir (tmpfs for medium: Memory)
    <root>/pods/<uid>/volumes/kubernetes.io~configmap/<name>     configMap   \\
    <root>/pods/<uid>/volumes/kubernetes.io~secret/<name>        secret       | written by the AtomicWriter,
    <root>/pods/<uid>/volumes/kubernetes.io~downward-api/<name>  downwardAPI  | rewritten on every sync
    <root>/pods/<uid>/volumes/kubernetes.io~projected/<name>     projected   /
    hostPath volumes are the host path itself, after the ``type`` check.

:meth:`VolumeManager.setup_pod_volumes` is idempotent and runs on every pod sync, so a changed ConfigMap or
Secret reaches running containers (through the ``..data`` symlink swap). Secret and projected volumes live on
tmpfs, as in Kubernetes, so secrets never touch the disk; mounting needs root: without it, a plain directory is
used and a warning logged. :meth:`teardown_pod_volumes` unmounts and removes everything of a pod once its
containers are gone.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from apimachinery.quantity import Quantity
from kubelet.atomic_writer import AtomicWriter
from kubelet.container_env import ContainerConfigError, expand_subpath
from kubelet.runtime.interface import Mount
from kubelet.volume_sources import VolumeError, compute_volume_payload

log = logging.getLogger(__name__)
_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")

PLUGIN_DIRS = {
    "emptyDir": "kubernetes.io~empty-dir",
    "configMap": "kubernetes.io~configmap",
    "secret": "kubernetes.io~secret",
    "downwardAPI": "kubernetes.io~downward-api",
    "projected": "kubernetes.io~projected",
}
API_VOLUMES = ("configMap", "secret", "downwardAPI", "projected")  # always mounted read-only
_MEMORY_BACKED = ("secret", "projected")  # Kubernetes wraps these in a Memory emptyDir
_HOST_PATH_CHECKS = {
    "Directory": (stat.S_ISDIR, "is not a directory"),
    "File": (stat.S_ISREG, "is not a file"),
    "Socket": (stat.S_ISSOCK, "is not a socket file"),
    "CharDevice": (stat.S_ISCHR, "is not a character device"),
    "BlockDevice": (stat.S_ISBLK, "is not a block device"),
}


class VolumeManager:
    """Owns ``<root>/pods``: one directory per pod uid that has (or had) volumes."""

    def __init__(self, root_dir: Path) -> None:
        self.root_dir = Path(root_dir)
        self.pods_dir = self.root_dir / "pods"

    def pod_dir(self, pod_uid: str) -> Path:
        return self.pods_dir / pod_uid

    def volume_dir(self, pod_uid: str, plugin: str, name: str) -> Path:
        return self.pod_dir(pod_uid) / "volumes" / PLUGIN_DIRS[plugin] / name

    # -- set up ------------------------------------------------------------------------------------------------

    async def setup_pod_volumes(
        self,
        pod: Mapping[str, Any],
        *,
        config_maps: Mapping[str, Mapping[str, Any] | None],
        secrets: Mapping[str, Mapping[str, Any] | None],
        pod_ip: str = "",
        host_ip: str = "",
        node_name: str = "",
        node_allocatable: Mapping[str, Any] | None = None,
    ) -> dict[str, Path]:
        """Set up every volume of ``pod``; volume name -> host path. Raises :class:`VolumeError` (FailedMount)."""
        uid = str(pod["metadata"]["uid"])
        paths: dict[str, Path] = {}
        for volume in (pod.get("spec") or {}).get("volumes") or []:
            name = str(volume["name"])
            if volume.get("hostPath") is not None:
                paths[name] = _check_host_path(name, volume["hostPath"])
            elif volume.get("emptyDir") is not None:
                paths[name] = await self._setup_empty_dir(uid, name, volume["emptyDir"])
            elif any(volume.get(kind) is not None for kind in API_VOLUMES):
                notes: list[str] = []
                payload = compute_volume_payload(
                    volume, pod, config_maps=config_maps, secrets=secrets, pod_ip=pod_ip, host_ip=host_ip,
                    node_name=node_name, node_allocatable=node_allocatable, warnings=notes)
                for note in notes:
                    log.warning("pod %s volume %s: %s", uid, name, note)
                paths[name] = await self._setup_api_volume(uid, volume, payload)
            else:
                kinds = [key for key in volume if key != "name"]
                raise VolumeError(name, f"volume type {', '.join(kinds) or '(none)'} is not supported by kubeling")
        return paths

    async def _setup_empty_dir(self, uid: str, name: str, source: Mapping[str, Any]) -> Path:
        """An empty directory (mode 0777, as Kubernetes), on tmpfs for ``medium: Memory``."""
        path = self.volume_dir(uid, "emptyDir", name)
        _make_dir(path, 0o777)
        if source.get("medium") == "Memory":
            size = source.get("sizeLimit")
            await _mount_tmpfs(path, 0o777, None if size is None else Quantity.parse(size).value())
        return path

    async def _setup_api_volume(self, uid: str, volume: Mapping[str, Any], payload: Mapping[str, Any]) -> Path:
        """Write the payload with the AtomicWriter (a no-op when nothing changed)."""
        plugin = next(kind for kind in API_VOLUMES if volume.get(kind) is not None)
        path = self.volume_dir(uid, plugin, str(volume["name"]))
        _make_dir(path, 0o755)
        if plugin in _MEMORY_BACKED:
            await _mount_tmpfs(path, 0o755, None)
        try:
            if AtomicWriter(path).write(payload):
                log.info("volume %s of pod %s updated", volume["name"], uid)
        except (OSError, ValueError) as err:
            raise VolumeError(str(volume["name"]), str(err)) from err
        return path

    # -- mounts for one container ------------------------------------------------------------------------------

    def container_mounts(
        self,
        pod: Mapping[str, Any],
        container: Mapping[str, Any],
        volume_paths: Mapping[str, Path],
        env: tuple[tuple[str, str], ...] = (),
    ) -> tuple[Mount, ...]:
        """See the module function :func:`container_mounts`."""
        return container_mounts(pod, container, volume_paths, env)

    # -- tear down ---------------------------------------------------------------------------------------------

    async def teardown_pod_volumes(self, pod_uid: str) -> None:
        """Unmount every tmpfs of the pod, then remove its directory. Call only once its containers are gone."""
        pod_dir = self.pod_dir(pod_uid)
        for mount_point in sorted(_mounts_under(pod_dir), key=len, reverse=True):
            try:
                await _run("umount", mount_point)
            except OSError as err:
                raise VolumeError(Path(mount_point).name, f"UnmountVolume.TearDown failed: {err}") from err
        if pod_dir.exists():
            shutil.rmtree(pod_dir)

    def pod_dirs(self) -> set[str]:
        """Uids that have a directory here (to find orphans: pods deleted while the kubelet was down)."""
        if not self.pods_dir.is_dir():
            return set()
        return {entry.name for entry in self.pods_dir.iterdir() if entry.is_dir()}


def container_mounts(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    volume_paths: Mapping[str, Path],
    env: tuple[tuple[str, str], ...] = (),
) -> tuple[Mount, ...]:
    """The bind mounts of ``container`` (Kubernetes' ``makeMounts``). Raises :class:`ContainerConfigError`.

    ``subPath`` (or ``subPathExpr``, expanded against ``env``) must stay inside the volume; a missing subPath is
    created as a directory (the one side effect). configMap/secret/downwardAPI/projected volumes are always
    read-only, as in Kubernetes.
    """
    volumes = {str(v["name"]): v for v in (pod.get("spec") or {}).get("volumes") or []}
    mounts = []
    for volume_mount in container.get("volumeMounts") or []:
        name = str(volume_mount.get("name"))
        if name not in volume_paths:
            raise ContainerConfigError(f'cannot find volume "{name}" to mount into container "{container.get("name")}"')
        host_path = _sub_path(Path(volume_paths[name]), volume_mount, container, env)
        volume = volumes.get(name) or {}
        read_only = bool(volume_mount.get("readOnly")) or any(volume.get(k) is not None for k in API_VOLUMES)
        mounts.append(Mount(str(host_path), str(volume_mount["mountPath"]), read_only))
    return tuple(mounts)


# -- helpers -------------------------------------------------------------------------------------------------------


def _make_dir(path: Path, mode: int) -> None:
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, mode)


def _check_host_path(name: str, source: Mapping[str, Any]) -> Path:
    """hostPath ``checkType``: create for ``DirectoryOrCreate`` / ``FileOrCreate``, else check the file type."""
    path, kind = Path(str(source.get("path") or "")), str(source.get("type") or "")
    try:
        if kind == "":
            return path  # no check, as in Kubernetes
        if kind == "DirectoryOrCreate" and not path.exists():
            path.mkdir(mode=0o755, parents=True)
            os.chmod(path, 0o755)
        elif kind == "FileOrCreate" and not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
            os.close(fd)
        kind = kind.removesuffix("OrCreate")
    except OSError as err:
        raise VolumeError(name, f"hostPath type check failed: {err}") from err
    if kind not in _HOST_PATH_CHECKS:
        raise VolumeError(name, f"{source.get('type')} is an invalid volume type")
    check, complaint = _HOST_PATH_CHECKS[kind]
    try:
        ok = check(path.stat().st_mode)
    except OSError:
        ok = False
    if not ok:
        raise VolumeError(name, f"hostPath type check failed: {path} {complaint}")
    return path


def _sub_path(
    volume_path: Path, volume_mount: Mapping[str, Any], container: Mapping[str, Any], env: tuple[tuple[str, str], ...]
) -> Path:
    """The host path of one volumeMount: the volume itself, or a checked (and created) ``subPath`` below it."""
    sub = str(volume_mount.get("subPath") or "")
    if volume_mount.get("subPathExpr"):
        sub = expand_subpath(str(volume_mount["subPathExpr"]), env)
    if not sub:
        return volume_path
    if sub.startswith("/"):
        raise ContainerConfigError(f"error SubPath `{sub}` must not be an absolute path")
    if ".." in sub.split("/"):
        raise ContainerConfigError(f"unable to provision SubPath `{sub}`: must not contain '..'")
    host_path = volume_path / sub
    if not os.path.lexists(host_path):
        try:
            host_path.mkdir(parents=True, mode=stat.S_IMODE(volume_path.stat().st_mode))
        except OSError as err:
            raise ContainerConfigError(f'failed to create subPath directory for volumeMount '
                                       f'"{volume_mount.get("name")}" of container "{container.get("name")}"') from err
    real, root = os.path.realpath(host_path), os.path.realpath(volume_path)
    if real != root and not real.startswith(root + os.sep):
        raise ContainerConfigError(f'subpath "{real}" not within volume path "{root}"')
    return host_path


async def _mount_tmpfs(path: Path, mode: int, size_bytes: int | None) -> None:
    """Mount a tmpfs on ``path`` unless one is there; without root, keep the plain directory and warn.

    Without ``size_bytes`` the kernel's default applies (half of the RAM), as for a Kubernetes Memory emptyDir
    without ``sizeLimit``.
    """
    if os.path.ismount(path):
        return
    if os.geteuid() != 0:
        log.warning("not root: %s is a plain directory instead of a tmpfs", path)
        return
    options = f"mode={mode:04o}" + ("" if size_bytes is None else f",size={size_bytes}")
    try:
        await _run("mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path))
    except OSError as err:
        log.warning("cannot mount a tmpfs on %s, using a plain directory: %s", path, err)


async def _run(*argv: str) -> None:
    """Run a command; OSError with its output if it fails."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise OSError(f"{' '.join(argv)} failed: {output.decode(errors='replace').strip()}")


def _mounts_under(directory: Path) -> list[str]:
    """Mount points at or below ``directory``, from /proc/mounts (which escapes spaces as ``\\040``)."""
    root = os.path.realpath(directory)
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        fields = line.split()
        if len(fields) < 2:
            continue
        point = _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), fields[1])
        if point == root or point.startswith(root + os.sep):
            found.append(point)
    return found
