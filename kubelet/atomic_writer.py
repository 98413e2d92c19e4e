"""Kubernetes' AtomicWriter: update a directory of files so that readers never see a half-written set.

A port of ``pkg/volume/util/atomic_writer.go``, used for configMap, secret, downwardAPI and projected volumes.
The target directory looks like this::

    <dir>/..2026_01_02_15_04_05.123456/   the current payload, written once, never modified
    <dir>/..data -> ..2026_01_02_15_04_05.123456
    <dir>/key      -> ..data/key          one symlink per top-level name of the payload
    <dir>/sub      -> ..data/sub          (a nested path ``sub/file`` links its top-level directory)

An update writes the whole new payload into a fresh timestamped directory, then swaps ``..data`` to it with a
single ``rename(2)`` -- atomic, so a reader that goes through ``..data`` sees either the old set or the new set,
never a mix. Then the symlinks of names that left the payload are removed, and the old timestamped directories
deleted. Writing an unchanged payload (same names, bytes and modes) does nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_NAME = "..data"
_DATA_DIR_TMP_NAME = "..data_tmp"
_TS_DIR_RE = re.compile(r"^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.")
MAX_FILE_NAME_LENGTH = 255
MAX_PATH_LENGTH = 4096


@dataclass(frozen=True)
class FileProjection:
    """One file of a payload: its bytes and its permission bits (e.g. ``0o644``)."""

    data: bytes
    mode: int = 0o644


class PayloadError(ValueError):
    """A payload path is not acceptable (absolute, contains ``..``, too long...)."""


def validate_path(target: str) -> None:
    """Kubernetes' ``validatePath``: a relative path without ``..`` components. Raises :class:`PayloadError`."""
    if target == "":
        raise PayloadError(f'invalid path: must not be empty: "{target}"')
    if target.startswith("/"):
        raise PayloadError(f"invalid path: must be relative path: {target}")
    if len(target) > MAX_PATH_LENGTH:
        raise PayloadError(f"invalid path: must be less than or equal to {MAX_PATH_LENGTH} characters")
    items = target.split("/")
    for item in items:
        if item == "..":
            raise PayloadError(f"invalid path: must not contain '..': {target}")
        if len(item) > MAX_FILE_NAME_LENGTH:
            raise PayloadError(f"invalid path: filenames must be less than or equal to {MAX_FILE_NAME_LENGTH} "
                               "characters")
    if items[0].startswith("..") and len(items[0]) > 2:
        raise PayloadError(f"invalid path: must not start with '..': {target}")


def clean_payload(payload: Mapping[str, FileProjection]) -> dict[str, FileProjection]:
    """Validate every path and normalise it (``a//b/./c`` -> ``a/b/c``), as ``validatePayload`` does."""
    cleaned = {}
    for path, projection in payload.items():
        validate_path(path)
        cleaned[os.path.normpath(path)] = projection
    return cleaned


class AtomicWriter:
    """Writes payloads into one target directory (created on first write)."""

    def __init__(self, target_dir: Path | str) -> None:
        self.target_dir = Path(target_dir)

    def write(self, payload: Mapping[str, FileProjection]) -> bool:
        """Make the directory hold exactly ``payload``; True if anything changed. Raises :class:`PayloadError`."""
        files = clean_payload(payload)
        self.target_dir.mkdir(parents=True, exist_ok=True)
        old_ts = self._current_ts_dir()
        if old_ts is not None and not self._differs(old_ts, files):
            self._create_user_visible_links(files)  # repair a link removed by hand; changes no content
            self._remove_stale_ts_dirs(keep=old_ts.name)
            return False
        new_ts = self._write_ts_dir(files)
        self._swap_data_link(new_ts.name)
        self._create_user_visible_links(files)
        self._remove_user_visible_links(keep={path.split("/")[0] for path in files})
        self._remove_stale_ts_dirs(keep=new_ts.name)
        return True

    def current_files(self) -> dict[str, FileProjection]:
        """The payload currently visible through ``..data`` (empty before the first write)."""
        ts_dir = self._current_ts_dir()
        return {} if ts_dir is None else _read_tree(ts_dir)

    # -- steps of write() ---------------------------------------------------------------------------------------

    def _current_ts_dir(self) -> Path | None:
        """The timestamped directory ``..data`` points to, if any."""
        try:
            name = os.readlink(self.target_dir / DATA_DIR_NAME)
        except (FileNotFoundError, OSError):
            return None
        ts_dir = self.target_dir / name
        return ts_dir if ts_dir.is_dir() else None

    def _differs(self, ts_dir: Path, files: Mapping[str, FileProjection]) -> bool:
        """Whether ``files`` differs from what ``ts_dir`` holds: a name added or removed, other bytes or mode."""
        return _read_tree(ts_dir) != dict(files)

    def _write_ts_dir(self, files: Mapping[str, FileProjection]) -> Path:
        """Write the payload into a new ``..<timestamp>.<random>`` directory (mode 0755, like Kubernetes)."""
        prefix = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime())
        ts_dir = Path(tempfile.mkdtemp(prefix=prefix, dir=self.target_dir))
        os.chmod(ts_dir, 0o755)
        for rel, projection in files.items():
            path = ts_dir / rel
            for parent in reversed(path.relative_to(ts_dir).parents[:-1]):
                (ts_dir / parent).mkdir(mode=0o755, exist_ok=True)
            path.write_bytes(projection.data)
            os.chmod(path, projection.mode)  # explicit: the umask must not change the mode
        return ts_dir

    def _swap_data_link(self, ts_name: str) -> None:
        """Point ``..data`` at ``ts_name`` atomically: a new link under a temporary name, renamed over the old."""
        tmp_link = self.target_dir / _DATA_DIR_TMP_NAME
        if tmp_link.is_symlink() or tmp_link.exists():
            tmp_link.unlink()
        os.symlink(ts_name, tmp_link)
        os.replace(tmp_link, self.target_dir / DATA_DIR_NAME)

    def _create_user_visible_links(self, files: Mapping[str, FileProjection]) -> None:
        """``<top> -> ..data/<top>`` for each top-level name of the payload, unless the link exists."""
        for top in {path.split("/")[0] for path in files}:
            link = self.target_dir / top
            if not link.is_symlink():
                if link.exists():  # a stray file or directory in the way (not written by us)
                    _remove(link)
                os.symlink(f"{DATA_DIR_NAME}/{top}", link)

    def _remove_user_visible_links(self, keep: set[str]) -> None:
        """Remove the symlinks into ``..data`` whose name is no longer in the payload."""
        for entry in self.target_dir.iterdir():
            if entry.name.startswith("..") or entry.name in keep or not entry.is_symlink():
                continue
            if os.readlink(entry).startswith(DATA_DIR_NAME + "/"):
                entry.unlink()

    def _remove_stale_ts_dirs(self, keep: str) -> None:
        """Delete every timestamped directory but ``keep`` (the previous one, and any left by a crash)."""
        for entry in self.target_dir.iterdir():
            if entry.name != keep and _TS_DIR_RE.match(entry.name) and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)


def _read_tree(root: Path) -> dict[str, FileProjection]:
    """Every regular file under ``root``: relative path -> (bytes, permission bits)."""
    files = {}
    for dirpath, _dirnames, filenames in os.walk(root):
        for filename in filenames:
            path = Path(dirpath) / filename
            mode = stat.S_IMODE(path.lstat().st_mode)
            files[path.relative_to(root).as_posix()] = FileProjection(path.read_bytes(), mode)
    return files


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
