"""Offline image builds: kubeling's images come from the host's static busybox, never from a registry.

Each definition in ``deploy/images/*/image.toml`` (format: ``deploy/images/README.md``) becomes a root filesystem
tarball built in memory (busybox, applet symlinks, /etc/passwd and /etc/group, the definition's files) that is
``docker import``-ed with Dockerfile changes (ENTRYPOINT, CMD, ENV, EXPOSE, LABEL). No network, no Dockerfile, no
build context: an image takes a fraction of a second.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import subprocess
import tarfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors

IMAGES_DIR = Path(__file__).resolve().parent.parent / "deploy" / "images"
BUSYBOX = Path("/bin/busybox")
LABEL_HASH = "io.kubeling.image.hash"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = "root:x:0:\nnogroup:x:65534:\nnobody:x:65534:\n"


@dataclass(frozen=True)
class ImageDefinition:
    ref: str
    directory: Path
    applets: bool = True
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    env: dict[str, str] = field(default_factory=dict)
    expose: tuple[str, ...] = ()
    files: dict[str, str] = field(default_factory=dict)  # image path -> file in ``directory``

    def content_hash(self, busybox_digest: str) -> str:
        h = hashlib.sha256()
        spec = {
            "ref": self.ref, "applets": self.applets, "entrypoint": self.entrypoint, "cmd": self.cmd,
            "env": self.env, "expose": self.expose, "files": self.files, "busybox": busybox_digest,
            "passwd": PASSWD, "group": GROUP, "format": 1,
        }
        h.update(json.dumps(spec, sort_keys=True).encode())
        for target in sorted(self.files):
            h.update(target.encode() + b"\0" + (self.directory / self.files[target]).read_bytes())
        return h.hexdigest()[:16]


def load_definitions(images_dir: Path = IMAGES_DIR) -> list[ImageDefinition]:
    """Every ``[[image]]`` of every ``image.toml`` under ``images_dir``, sorted by directory."""
    out: list[ImageDefinition] = []
    for toml_path in sorted(images_dir.glob("*/image.toml")):
        data: dict[str, Any] = tomllib.loads(toml_path.read_text())
        for entry in data.get("image", []):
            out.append(
                ImageDefinition(
                    ref=entry["ref"],
                    directory=toml_path.parent,
                    applets=bool(entry.get("applets", True)),
                    entrypoint=tuple(entry["entrypoint"]) if "entrypoint" in entry else None,
                    cmd=tuple(entry["cmd"]) if "cmd" in entry else None,
                    env=dict(entry.get("env", {})),
                    expose=tuple(entry.get("expose", ())),
                    files=dict(entry.get("files", {})),
                )
            )
    return out


def busybox_applets(busybox: Path = BUSYBOX) -> list[str]:
    """The applets this busybox binary provides (``busybox --list``)."""
    result = subprocess.run([str(busybox), "--list"], check=True, capture_output=True, text=True)
    return sorted({line.strip() for line in result.stdout.splitlines() if line.strip()})


def _add_dir(tar: tarfile.TarFile, path: str, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(path)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    info.mtime = 0
    tar.addfile(info)


def _add_file(tar: tarfile.TarFile, path: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(path)
    info.size = len(data)
    info.mode = mode
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def _add_symlink(tar: tarfile.TarFile, path: str, target: str) -> None:
    info = tarfile.TarInfo(path)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    info.mtime = 0
    tar.addfile(info)


def rootfs_tarball(definition: ImageDefinition, busybox_bytes: bytes, applets: list[str]) -> bytes:
    """The image's root filesystem as an uncompressed tar (what ``docker import`` takes)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d in ("bin", "dev", "etc", "proc", "sys", "root", "home", "usr", "usr/bin", "usr/sbin", "sbin", "var",
                  "www"):
            _add_dir(tar, d, 0o700 if d == "root" else 0o755)
        _add_dir(tar, "tmp", 0o1777)
        _add_dir(tar, "var/tmp", 0o1777)
        _add_file(tar, "bin/busybox", busybox_bytes, 0o755)
        names = applets if definition.applets else ["sh"]
        for applet in names:
            if applet != "busybox":
                _add_symlink(tar, f"bin/{applet}", "busybox")
        _add_file(tar, "etc/passwd", PASSWD.encode())
        _add_file(tar, "etc/group", GROUP.encode())
        for target, source in sorted(definition.files.items()):
            data = (definition.directory / source).read_bytes()
            _add_file(tar, target.lstrip("/"), data, 0o755 if data.startswith(b"#!") else 0o644)
    return buf.getvalue()


def _changes(definition: ImageDefinition, content_hash: str) -> list[str]:
    env = {"PATH": DEFAULT_PATH, **definition.env}
    changes = [f"ENV {k}={json.dumps(v)}" for k, v in env.items()]
    if definition.entrypoint is not None:
        changes.append(f"ENTRYPOINT {json.dumps(list(definition.entrypoint))}")
    if definition.cmd is not None:
        changes.append(f"CMD {json.dumps(list(definition.cmd))}")
    changes.extend(f"EXPOSE {port}" for port in definition.expose)
    changes.append(f"LABEL {LABEL_HASH}={content_hash}")
    return changes


def _current(client: docker.DockerClient, ref: str) -> tuple[str | None, str | None]:
    """(image id, content hash label) of the image ``ref`` names now, or (None, None)."""
    try:
        image = client.images.get(ref)
    except docker.errors.ImageNotFound:
        return None, None
    labels = (image.attrs.get("Config") or {}).get("Labels") or {}
    return image.id, labels.get(LABEL_HASH)


def build_images(
    client: docker.DockerClient,
    force: bool = False,
    images_dir: Path = IMAGES_DIR,
    busybox: Path = BUSYBOX,
) -> list[str]:
    """Build every image of ``images_dir`` that is missing or out of date (or all, with ``force``).

    Returns the references built, in definition order.
    """
    if not busybox.exists():
        raise FileNotFoundError(f"{busybox} not found: install Debian's busybox-static (make deps)")
    busybox_bytes = busybox.read_bytes()
    busybox_digest = hashlib.sha256(busybox_bytes).hexdigest()
    applets: list[str] | None = None
    built: list[str] = []
    for definition in load_definitions(images_dir):
        content_hash = definition.content_hash(busybox_digest)
        old_id, old_hash = _current(client, definition.ref)
        if not force and old_hash == content_hash:
            continue
        if applets is None:
            applets = busybox_applets(busybox)
        tarball = rootfs_tarball(definition, busybox_bytes, applets)
        repository, _, tag = definition.ref.rpartition(":")
        client.api.import_image_from_data(
            tarball, repository=repository, tag=tag, changes=_changes(definition, content_hash)
        )
        built.append(definition.ref)
        new_id, _ = _current(client, definition.ref)
        if old_id and old_id != new_id:  # drop the untagged predecessor unless a container still uses it
            with contextlib.suppress(docker.errors.APIError):
                client.api.remove_image(old_id)
    return built


def main_build(force: bool = False) -> tuple[list[str], float]:
    """Build with a client from the environment; returns (built references, seconds)."""
    start = time.monotonic()
    client = docker.from_env()
    try:
        return build_images(client, force=force), time.monotonic() - start
    finally:
        client.close()
