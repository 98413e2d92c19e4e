"""Offline base images for the docker-compose lab (``kubeling images build --base``); no container registry needed.

- ``kubeling/python-base:bookworm``: Debian bookworm with python3 and python3-venv, made by ``debootstrap
  --variant=minbase`` from the host's Debian mirror and ``docker import``-ed (40-70 s, ~122 MB after removing docs,
  locales and apt lists). Skipped when the image exists (``--force`` rebuilds it). ``deploy/Dockerfile`` builds the
  kubeling image on it (or on ``python:3.11-slim`` where a registry is reachable).
- ``kubeling/etcd:local``: the host's ``/usr/bin/etcd`` (Debian's etcd-server) and the shared libraries ``ldd``
  lists, nothing else (~25 MB); rebuilt when the binary changes.
- the wheelhouse ``deploy/compose/wheelhouse``: ``pip wheel`` of the project (``project/``) and all its dependencies
  (``deps/``), made on the host (containers reaching PyPI see a TLS-intercepting proxy); the Dockerfile installs
  from it with ``pip install --no-index``. Refreshed on every call (the pip cache makes that quick).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from rich.console import Console

from kubeling.images import LABEL_HASH

REPO = Path(__file__).resolve().parent.parent
WHEELHOUSE = REPO / "deploy" / "compose" / "wheelhouse"
PYTHON_BASE = "kubeling/python-base:bookworm"
ETCD_IMAGE = "kubeling/etcd:local"
SUITE = "bookworm"
INCLUDE = ("python3", "python3-venv")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
ETCD = Path("/usr/bin/etcd")
PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# What a container never needs: docs, man pages, locales, apt's package lists and caches, logs.
CLEANUP = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian",
           "var/lib/apt/lists", "var/cache/apt", "var/cache/debconf", "var/log", "tmp")


@dataclass
class BaseResult:
    ref: str
    built: bool
    seconds: float
    size_mb: float


def apt_mirror(sources: tuple[Path, ...] = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))) -> str:
    """The Debian mirror apt uses here (first ``deb`` URI that is not a security mirror), else deb.debian.org."""
    files: list[Path] = []
    for src in sources:
        files.extend(sorted(src.glob("*")) if src.is_dir() else [src] if src.exists() else [])
    for path in files:
        for line in path.read_text(errors="replace").splitlines():
            line = line.strip()
            uris = re.findall(r"https?://\S+", line) if not line.startswith("#") else []
            for uri in uris:
                if "security" not in uri and (line.startswith(("deb ", "URIs:"))):
                    return uri.rstrip("/")
    return DEFAULT_MIRROR


def _image(client: docker.DockerClient, ref: str) -> tuple[str | None, str | None, float]:
    """(image id, content-hash label, size in MB) of ``ref``, or (None, None, 0)."""
    try:
        image = client.images.get(ref)
    except docker.errors.ImageNotFound:
        return None, None, 0.0
    labels = (image.attrs.get("Config") or {}).get("Labels") or {}
    return image.id, labels.get(LABEL_HASH), image.attrs.get("Size", 0) / 1e6


def _replace(client: docker.DockerClient, old_id: str | None, ref: str) -> None:
    """Drop the untagged predecessor of ``ref`` unless a container still uses it."""
    new_id, _, _ = _image(client, ref)
    if old_id and old_id != new_id:
        with contextlib.suppress(docker.errors.APIError):
            client.api.remove_image(old_id)


def build_python_base(client: docker.DockerClient, force: bool = False, mirror: str | None = None,
                      log: Callable[[str], None] = print) -> BaseResult:
    """debootstrap a minimal bookworm with python3 into a temporary directory and ``docker import`` it."""
    start = time.monotonic()
    spec = {"suite": SUITE, "include": INCLUDE, "cleanup": CLEANUP, "format": 1}
    content_hash = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    old_id, _, size = _image(client, PYTHON_BASE)
    if old_id and not force:  # the base image is a cache: any existing one will do (delete it to rebuild)
        return BaseResult(PYTHON_BASE, False, time.monotonic() - start, size)
    if shutil.which("debootstrap") is None:
        raise FileNotFoundError("debootstrap not found: install Debian's debootstrap (make deps)")
    if os.geteuid() != 0:
        raise PermissionError("debootstrap needs root: run `sudo kubeling images build --base`")
    mirror = mirror or apt_mirror()
    with tempfile.TemporaryDirectory(prefix="kubeling-base-") as tmp:
        root = Path(tmp) / "rootfs"
        log(f"debootstrap --variant=minbase --include={','.join(INCLUDE)} {SUITE} from {mirror}")
        subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(INCLUDE)}", SUITE, str(root),
                        mirror], check=True, stdout=subprocess.DEVNULL)
        for rel in CLEANUP:
            target = root / rel
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True, exist_ok=True)
        (root / "tmp").chmod(0o1777)
        tarball = Path(tmp) / "rootfs.tar"
        subprocess.run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(tarball), "."], check=True)
        repository, _, tag = PYTHON_BASE.rpartition(":")
        changes = [f"ENV PATH={PATH_ENV}", "ENV LANG=C.UTF-8", 'CMD ["python3"]', f"LABEL {LABEL_HASH}={content_hash}"]
        client.api.import_image_from_file(str(tarball), repository=repository, tag=tag, changes=changes)
    _replace(client, old_id, PYTHON_BASE)
    _, _, size = _image(client, PYTHON_BASE)
    return BaseResult(PYTHON_BASE, True, time.monotonic() - start, size)


def shared_libraries(binary: Path) -> list[Path]:
    """The files ``ldd`` says ``binary`` loads (empty for a static binary)."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
    return sorted({Path(p) for p in re.findall(r"(/\S+)\s+\(0x", out)})


def build_etcd_image(client: docker.DockerClient, force: bool = False, etcd: Path = ETCD) -> BaseResult:
    """``kubeling/etcd:local``: the host's etcd binary and its shared libraries, ``docker import``-ed."""
    start = time.monotonic()
    if not etcd.exists():
        raise FileNotFoundError(f"{etcd} not found: install Debian's etcd-server (make deps)")
    libs = shared_libraries(etcd)
    h = hashlib.sha256(b"format 1\0" + etcd.read_bytes())
    for lib in libs:
        h.update(str(lib).encode() + b"\0" + lib.resolve().read_bytes())
    content_hash = h.hexdigest()[:16]
    old_id, old_hash, size = _image(client, ETCD_IMAGE)
    if old_hash == content_hash and not force:
        return BaseResult(ETCD_IMAGE, False, time.monotonic() - start, size)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d, mode in (("etc", 0o755), ("tmp", 0o1777), ("var", 0o755), ("var/lib", 0o755), ("var/lib/etcd", 0o700),
                        ("usr", 0o755), ("usr/bin", 0o755)):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        files = {"usr/bin/etcd": etcd, **{str(lib).lstrip("/"): lib.resolve() for lib in libs}}
        for target, source in files.items():
            tar.add(str(source), arcname=target, recursive=False)
        data = b"hosts: files dns\n"
        info = tarfile.TarInfo("etc/nsswitch.conf")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    repository, _, tag = ETCD_IMAGE.rpartition(":")
    changes = [f"ENV PATH={PATH_ENV}", 'ENTRYPOINT ["/usr/bin/etcd"]', "EXPOSE 2379",
               f"LABEL {LABEL_HASH}={content_hash}"]
    client.api.import_image_from_data(buf.getvalue(), repository=repository, tag=tag, changes=changes)
    _replace(client, old_id, ETCD_IMAGE)
    _, _, size = _image(client, ETCD_IMAGE)
    return BaseResult(ETCD_IMAGE, True, time.monotonic() - start, size)


def build_wheelhouse(dest: Path = WHEELHOUSE, repo: Path = REPO) -> tuple[int, float]:
    """``pip wheel`` the project and its dependencies: the project's wheel into ``dest/project``, the others into
    ``dest/deps`` (so the image layer installing the dependencies stays cached while the project changes).
    Returns (wheel count, seconds)."""
    start = time.monotonic()
    deps, project = dest / "deps", dest / "project"
    shutil.rmtree(project, ignore_errors=True)  # the project's version never changes: always rebuild its wheel
    project.mkdir(parents=True)
    deps.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(deps), str(repo)],
                   check=True, capture_output=True, text=True)  # stderr is in the CalledProcessError
    for wheel in deps.glob("kubeling-*.whl"):
        wheel.rename(project / wheel.name)
    return len(list(dest.glob("*/*.whl"))), time.monotonic() - start


def build_base(force: bool = False, log: Callable[[str], None] = print) -> list[BaseResult]:
    """Everything the compose lab's image build needs offline: the Python base, etcd's image, the wheelhouse."""
    client = docker.from_env()
    try:
        results = [build_python_base(client, force=force, log=log), build_etcd_image(client, force=force)]
    finally:
        client.close()
    count, seconds = build_wheelhouse()
    results.append(BaseResult(f"wheelhouse {WHEELHOUSE.relative_to(REPO)} ({count} wheels)", True, seconds, 0.0))
    return results


def cli_build_base(console: Console, force: bool = False) -> int:
    """``kubeling images build --base``: build, print what was built or kept, return the exit status."""
    try:
        results = build_base(force=force, log=lambda line: console.print(f"[dim]{line}[/dim]"))
    except (docker.errors.DockerException, OSError, subprocess.CalledProcessError) as err:
        detail = getattr(err, "stderr", None) or ""
        console.print(f"[red]base image build failed:[/red] {err}\n{detail}".rstrip())
        return 1
    for r in results:
        size = f", {r.size_mb:.0f} MB" if r.size_mb else ""
        console.print(f"[green]built[/green] {r.ref} ({r.seconds:.1f}s{size})" if r.built
                      else f"[dim]up to date[/dim] {r.ref}{size} (`--force` rebuilds it)")
    return 0
