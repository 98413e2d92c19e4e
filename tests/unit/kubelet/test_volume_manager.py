"""The kubelet's volume manager: emptyDir, hostPath type checks, API volumes, container mounts, tmpfs, teardown."""

from __future__ import annotations

import base64
import os
import socket
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kubelet.container_env import ContainerConfigError
from kubelet.runtime.interface import Mount
from kubelet.volume_manager import VolumeManager, container_mounts
from kubelet.volume_sources import VolumeError

IS_ROOT = os.geteuid() == 0


def make_pod(volumes: list[dict[str, Any]], uid: str = "uid-1") -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "default", "uid": uid, "labels": {"app": "web"}},
            "spec": {"volumes": volumes, "containers": [{"name": "app"}]}}


async def setup(manager: VolumeManager, pod: dict[str, Any], **objects: Any) -> dict[str, Path]:
    return await manager.setup_pod_volumes(pod, config_maps=objects.get("config_maps", {}),
                                           secrets=objects.get("secrets", {}), pod_ip="10.0.0.5",
                                           host_ip="192.168.1.10", node_name="node-1")


def mounted(path: Path) -> bool:
    real = os.path.realpath(path)
    return any(line.split()[1] == real for line in Path("/proc/mounts").read_text().splitlines())


@pytest.fixture
async def manager(tmp_path: Path) -> AsyncIterator[VolumeManager]:
    manager = VolumeManager(tmp_path / "kubelet")
    yield manager
    for uid in manager.pod_dirs():  # never leak a tmpfs on the machine, even when a test fails
        await manager.teardown_pod_volumes(uid)


# -- emptyDir ------------------------------------------------------------------------------------------------------

async def test_empty_dir_is_a_0777_directory_under_the_pod_dir(manager: VolumeManager) -> None:
    paths = await setup(manager, make_pod([{"name": "scratch", "emptyDir": {}}]))
    expected = manager.root_dir / "pods/uid-1/volumes/kubernetes.io~empty-dir/scratch"
    assert paths == {"scratch": expected}
    assert expected.is_dir()
    assert stat.S_IMODE(expected.stat().st_mode) == 0o777


async def test_setup_is_idempotent_and_keeps_empty_dir_content(manager: VolumeManager) -> None:
    pod = make_pod([{"name": "scratch", "emptyDir": {}}])
    paths = await setup(manager, pod)
    (paths["scratch"] / "data").write_text("kept")
    assert await setup(manager, pod) == paths
    assert (paths["scratch"] / "data").read_text() == "kept"


@pytest.mark.skipif(not IS_ROOT, reason="mounting a tmpfs needs root")
async def test_memory_empty_dir_is_a_tmpfs_with_the_size_limit_and_is_unmounted_at_teardown(
    manager: VolumeManager,
) -> None:
    pod = make_pod([{"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}])
    path = (await setup(manager, pod))["mem"]
    assert mounted(path)
    line = next(line for line in Path("/proc/mounts").read_text().splitlines()
                if line.split()[1] == os.path.realpath(path))
    assert line.split()[2] == "tmpfs"
    assert "size=16384k" in line
    await setup(manager, pod)  # idempotent: not mounted twice
    assert sum(1 for line in Path("/proc/mounts").read_text().splitlines()
               if line.split()[1] == os.path.realpath(path)) == 1
    await manager.teardown_pod_volumes("uid-1")
    assert not mounted(path)
    assert not manager.pod_dir("uid-1").exists()


async def test_memory_empty_dir_without_root_falls_back_to_a_directory(
    manager: VolumeManager, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    path = (await setup(manager, make_pod([{"name": "mem", "emptyDir": {"medium": "Memory"}}])))["mem"]
    assert path.is_dir()
    assert not mounted(path)
    assert "plain directory" in caplog.text


# -- hostPath ------------------------------------------------------------------------------------------------------

async def host_path(manager: VolumeManager, path: Path, kind: str) -> Path:
    return (await setup(manager, make_pod([{"name": "h", "hostPath": {"path": str(path), "type": kind}}])))["h"]


async def test_host_path_without_type_is_not_checked(manager: VolumeManager, tmp_path: Path) -> None:
    assert await host_path(manager, tmp_path / "absent", "") == tmp_path / "absent"
    assert not (tmp_path / "absent").exists()


async def test_host_path_directory_or_create_makes_a_0755_directory(manager: VolumeManager, tmp_path: Path) -> None:
    target = tmp_path / "made" / "deep"
    assert await host_path(manager, target, "DirectoryOrCreate") == target
    assert target.is_dir()
    assert stat.S_IMODE(target.stat().st_mode) == 0o755


async def test_host_path_file_or_create_makes_an_empty_file(manager: VolumeManager, tmp_path: Path) -> None:
    await host_path(manager, tmp_path / "f", "FileOrCreate")
    assert (tmp_path / "f").read_bytes() == b""


async def test_host_path_types_accept_the_right_kind(manager: VolumeManager, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock"))
    try:
        await host_path(manager, tmp_path, "Directory")
        await host_path(manager, tmp_path / "file", "File")
        await host_path(manager, tmp_path / "file", "FileOrCreate")
        await host_path(manager, tmp_path, "DirectoryOrCreate")
        await host_path(manager, tmp_path / "sock", "Socket")
        await host_path(manager, Path("/dev/null"), "CharDevice")
    finally:
        sock.close()


@pytest.mark.parametrize(("name", "kind", "complaint"), [
    ("file", "Directory", "is not a directory"),
    ("file", "DirectoryOrCreate", "is not a directory"),
    ("dir", "File", "is not a file"),
    ("dir", "FileOrCreate", "is not a file"),
    ("absent", "Directory", "is not a directory"),
    ("file", "Socket", "is not a socket file"),
    ("file", "CharDevice", "is not a character device"),
    ("file", "BlockDevice", "is not a block device"),
])
async def test_host_path_type_check_failures(
    manager: VolumeManager, tmp_path: Path, name: str, kind: str, complaint: str
) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    with pytest.raises(VolumeError) as info:
        await host_path(manager, tmp_path / name, kind)
    assert info.value.reason == f"hostPath type check failed: {tmp_path / name} {complaint}"
    assert str(info.value).startswith('MountVolume.SetUp failed for volume "h" : ')


async def test_host_path_unknown_type(manager: VolumeManager, tmp_path: Path) -> None:
    with pytest.raises(VolumeError, match="Weird is an invalid volume type"):
        await host_path(manager, tmp_path, "Weird")


# -- API volumes ---------------------------------------------------------------------------------------------------

async def test_config_map_volume_is_written_atomically_and_updated_on_resync(manager: VolumeManager) -> None:
    pod = make_pod([{"name": "cfg", "configMap": {"name": "c"}}])
    path = (await setup(manager, pod, config_maps={"c": {"data": {"k": "v1"}}}))["cfg"]
    assert path == manager.root_dir / "pods/uid-1/volumes/kubernetes.io~configmap/cfg"
    assert (path / "k").read_text() == "v1"
    await setup(manager, pod, config_maps={"c": {"data": {"k": "v2", "new": "n"}}})
    assert (path / "k").read_text() == "v2"
    assert (path / "new").read_text() == "n"


async def test_secret_downward_and_projected_volume_dirs(manager: VolumeManager) -> None:
    secret = {"data": {"pw": base64.b64encode(b"s3cret").decode()}}
    pod = make_pod([
        {"name": "s", "secret": {"secretName": "sec"}},
        {"name": "d", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
        {"name": "p", "projected": {"sources": [{"secret": {"name": "sec"}}]}},
    ])
    paths = await setup(manager, pod, secrets={"sec": secret})
    volumes = manager.root_dir / "pods/uid-1/volumes"
    assert paths == {"s": volumes / "kubernetes.io~secret/s", "d": volumes / "kubernetes.io~downward-api/d",
                     "p": volumes / "kubernetes.io~projected/p"}
    assert (paths["s"] / "pw").read_bytes() == b"s3cret"
    assert (paths["d"] / "labels").read_text() == 'app="web"'
    assert (paths["p"] / "pw").read_bytes() == b"s3cret"
    if IS_ROOT:
        assert mounted(paths["s"])  # secrets live on tmpfs, as in Kubernetes
        assert mounted(paths["p"])
    await manager.teardown_pod_volumes("uid-1")
    assert not mounted(paths["s"])
    assert not manager.pod_dir("uid-1").exists()


async def test_missing_config_map_is_a_failed_mount(manager: VolumeManager) -> None:
    with pytest.raises(VolumeError) as info:
        await setup(manager, make_pod([{"name": "cfg", "configMap": {"name": "x"}}]))
    assert str(info.value) == 'MountVolume.SetUp failed for volume "cfg" : configmap "x" not found'


async def test_unsupported_volume_type_is_a_failed_mount(manager: VolumeManager) -> None:
    with pytest.raises(VolumeError, match="persistentVolumeClaim is not supported"):
        await setup(manager, make_pod([{"name": "pvc", "persistentVolumeClaim": {"claimName": "c"}}]))


# -- container mounts ----------------------------------------------------------------------------------------------

def test_container_mounts_map_volume_mounts_and_force_read_only_for_api_volumes(tmp_path: Path) -> None:
    pod = make_pod([{"name": "scratch", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "c"}},
                    {"name": "h", "hostPath": {"path": "/srv"}}])
    container = {"name": "app", "volumeMounts": [
        {"name": "scratch", "mountPath": "/scratch"}, {"name": "cfg", "mountPath": "/etc/cfg"},
        {"name": "h", "mountPath": "/srv", "readOnly": True}]}
    paths = {"scratch": tmp_path / "s", "cfg": tmp_path / "c", "h": Path("/srv")}
    assert container_mounts(pod, container, paths) == (
        Mount(str(tmp_path / "s"), "/scratch", False), Mount(str(tmp_path / "c"), "/etc/cfg", True),
        Mount("/srv", "/srv", True))


def test_sub_path_is_created_as_a_directory_under_the_volume(tmp_path: Path) -> None:
    volume = tmp_path / "vol"
    volume.mkdir(mode=0o777)
    os.chmod(volume, 0o777)
    container = {"name": "app", "volumeMounts": [{"name": "v", "mountPath": "/data", "subPath": "a/b"}]}
    [mount] = container_mounts(make_pod([{"name": "v", "emptyDir": {}}]), container, {"v": volume})
    assert mount == Mount(str(volume / "a/b"), "/data", False)
    assert (volume / "a/b").is_dir()


def test_sub_path_to_an_existing_file_is_kept(tmp_path: Path) -> None:
    (tmp_path / "app.conf").write_text("x")
    container = {"name": "app", "volumeMounts": [{"name": "v", "mountPath": "/etc/app.conf", "subPath": "app.conf"}]}
    [mount] = container_mounts(make_pod([]), container, {"v": tmp_path})
    assert mount.host_path == str(tmp_path / "app.conf")
    assert (tmp_path / "app.conf").is_file()


def test_sub_path_expr_is_expanded_against_the_container_env(tmp_path: Path) -> None:
    container = {"name": "app", "volumeMounts": [{"name": "v", "mountPath": "/logs", "subPathExpr": "$(POD_NAME)"}]}
    [mount] = container_mounts(make_pod([]), container, {"v": tmp_path}, env=(("POD_NAME", "web-1"),))
    assert mount.host_path == str(tmp_path / "web-1")
    with pytest.raises(ContainerConfigError, match="missing value for POD_NAME"):
        container_mounts(make_pod([]), container, {"v": tmp_path})


@pytest.mark.parametrize(("sub_path", "message"), [
    ("../escape", "unable to provision SubPath `../escape`: must not contain '..'"),
    ("a/../../b", "unable to provision SubPath `a/../../b`: must not contain '..'"),
    ("/etc", "error SubPath `/etc` must not be an absolute path"),
])
def test_sub_path_escaping_the_volume_is_rejected(tmp_path: Path, sub_path: str, message: str) -> None:
    container = {"name": "app", "volumeMounts": [{"name": "v", "mountPath": "/x", "subPath": sub_path}]}
    with pytest.raises(ContainerConfigError) as info:
        container_mounts(make_pod([]), container, {"v": tmp_path / "vol"})
    assert str(info.value) == message


def test_sub_path_through_a_symlink_out_of_the_volume_is_rejected(tmp_path: Path) -> None:
    volume = tmp_path / "vol"
    volume.mkdir()
    (volume / "out").symlink_to("/etc")
    container = {"name": "app", "volumeMounts": [{"name": "v", "mountPath": "/x", "subPath": "out"}]}
    with pytest.raises(ContainerConfigError, match="not within volume path"):
        container_mounts(make_pod([]), container, {"v": volume})


def test_mount_of_an_unknown_volume_is_a_config_error(tmp_path: Path) -> None:
    container = {"name": "app", "volumeMounts": [{"name": "nope", "mountPath": "/x"}]}
    with pytest.raises(ContainerConfigError) as info:
        container_mounts(make_pod([]), container, {})
    assert str(info.value) == 'cannot find volume "nope" to mount into container "app"'


def test_manager_method_delegates_to_the_function(manager: VolumeManager, tmp_path: Path) -> None:
    container = {"name": "app", "volumeMounts": [{"name": "v", "mountPath": "/x"}]}
    assert manager.container_mounts(make_pod([]), container, {"v": tmp_path}) == (Mount(str(tmp_path), "/x"),)


# -- teardown and orphans ------------------------------------------------------------------------------------------

async def test_teardown_removes_everything_and_pod_dirs_lists_the_rest(manager: VolumeManager) -> None:
    assert manager.pod_dirs() == set()
    await setup(manager, make_pod([{"name": "a", "emptyDir": {}}], uid="u1"))
    await setup(manager, make_pod([{"name": "a", "emptyDir": {"medium": "Memory"}}], uid="u2"))
    assert manager.pod_dirs() == {"u1", "u2"}
    await manager.teardown_pod_volumes("u2")
    assert manager.pod_dirs() == {"u1"}
    assert not any("/pods/u2" in line for line in Path("/proc/mounts").read_text().splitlines())
    await manager.teardown_pod_volumes("u1")
    await manager.teardown_pod_volumes("u1")  # a second teardown is harmless
    assert manager.pod_dirs() == set()
