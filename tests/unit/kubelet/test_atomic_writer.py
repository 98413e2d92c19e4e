"""Kubernetes' AtomicWriter: timestamped payload dirs, an atomically swapped ``..data`` link, per-file links."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from kubelet.atomic_writer import DATA_DIR_NAME, AtomicWriter, FileProjection, PayloadError


def ts_dirs(target: Path) -> list[str]:
    return sorted(e.name for e in target.iterdir() if e.name.startswith("..2") and e.is_dir() and not e.is_symlink())


def test_first_write_creates_ts_dir_data_link_and_file_links(tmp_path: Path) -> None:
    target = tmp_path / "vol"
    assert AtomicWriter(target).write({"a": FileProjection(b"A"), "b": FileProjection(b"B")}) is True
    [ts] = ts_dirs(target)
    assert os.readlink(target / DATA_DIR_NAME) == ts
    assert os.readlink(target / "a") == "..data/a"
    assert (target / "a").read_bytes() == b"A"
    assert (target / "b").read_bytes() == b"B"
    assert stat.S_IMODE((target / ts).stat().st_mode) == 0o755


def test_update_changes_content_and_removes_stale_files_and_old_dir(tmp_path: Path) -> None:
    writer = AtomicWriter(tmp_path)
    writer.write({"a": FileProjection(b"1"), "gone": FileProjection(b"x"), "dir/f": FileProjection(b"f")})
    [old] = ts_dirs(tmp_path)
    assert writer.write({"a": FileProjection(b"2"), "new": FileProjection(b"n")}) is True
    [new] = ts_dirs(tmp_path)
    assert new != old
    assert (tmp_path / "a").read_bytes() == b"2"
    assert (tmp_path / "new").read_bytes() == b"n"
    assert not os.path.lexists(tmp_path / "gone")
    assert not os.path.lexists(tmp_path / "dir")
    assert sorted(os.listdir(tmp_path)) == sorted([DATA_DIR_NAME, new, "a", "new"])


def test_unchanged_payload_is_a_no_op(tmp_path: Path) -> None:
    writer = AtomicWriter(tmp_path)
    files = {"a": FileProjection(b"1", 0o600), "d/e": FileProjection(b"2")}
    assert writer.write(files) is True
    before = ts_dirs(tmp_path)
    assert writer.write(dict(files)) is False
    assert ts_dirs(tmp_path) == before


def test_a_mode_change_alone_is_a_change(tmp_path: Path) -> None:
    writer = AtomicWriter(tmp_path)
    writer.write({"a": FileProjection(b"1", 0o644)})
    assert writer.write({"a": FileProjection(b"1", 0o400)}) is True
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o400


def test_modes_are_exact_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        AtomicWriter(tmp_path).write({"r": FileProjection(b"", 0o444), "x": FileProjection(b"", 0o755),
                                      "w": FileProjection(b"", 0o666)})
    finally:
        os.umask(old)
    modes = {name: stat.S_IMODE((tmp_path / name).stat().st_mode) for name in ("r", "x", "w")}
    assert modes == {"r": 0o444, "x": 0o755, "w": 0o666}


def test_nested_paths_link_the_top_level_directory(tmp_path: Path) -> None:
    AtomicWriter(tmp_path).write({"conf/app/settings.ini": FileProjection(b"s"), "conf/b": FileProjection(b"b")})
    assert os.readlink(tmp_path / "conf") == "..data/conf"
    assert (tmp_path / "conf" / "app" / "settings.ini").read_bytes() == b"s"
    assert (tmp_path / "conf" / "b").read_bytes() == b"b"


def test_empty_payload_leaves_only_the_data_link(tmp_path: Path) -> None:
    writer = AtomicWriter(tmp_path)
    writer.write({"a": FileProjection(b"1")})
    assert writer.write({}) is True
    assert not os.path.lexists(tmp_path / "a")
    assert os.listdir(tmp_path / DATA_DIR_NAME) == []


def test_stale_ts_dirs_left_by_a_crash_are_removed(tmp_path: Path) -> None:
    (tmp_path / "..2020_01_01_00_00_00.123").mkdir()
    AtomicWriter(tmp_path).write({"a": FileProjection(b"1")})
    assert len(ts_dirs(tmp_path)) == 1


def test_a_removed_file_link_is_repaired_without_a_change(tmp_path: Path) -> None:
    writer = AtomicWriter(tmp_path)
    writer.write({"a": FileProjection(b"1")})
    (tmp_path / "a").unlink()
    assert writer.write({"a": FileProjection(b"1")}) is False
    assert (tmp_path / "a").read_bytes() == b"1"


def test_current_files_reads_back_the_payload(tmp_path: Path) -> None:
    writer = AtomicWriter(tmp_path)
    assert writer.current_files() == {}
    writer.write({"x/y": FileProjection(b"1", 0o600)})
    assert writer.current_files() == {"x/y": FileProjection(b"1", 0o600)}


@pytest.mark.parametrize("path", ["../x", "/abs", "a/../../b", "..x", ""])
def test_invalid_paths_are_rejected_and_nothing_is_written(tmp_path: Path, path: str) -> None:
    with pytest.raises(PayloadError):
        AtomicWriter(tmp_path / "vol").write({path: FileProjection(b"evil")})
    assert not (tmp_path / "vol").exists()


def test_readers_through_data_never_see_a_mix(tmp_path: Path) -> None:
    """A reader that resolves ``..data`` once sees one version in every file, while a writer keeps updating."""
    writer = AtomicWriter(tmp_path)
    names = [f"f{i}" for i in range(5)] + ["sub/g"]
    writer.write({name: FileProjection(b"0") for name in names})
    stop = threading.Event()
    mixes: list[set[bytes]] = []
    reads = 0

    def reader() -> None:
        nonlocal reads
        while not stop.is_set():
            try:
                snapshot = tmp_path / os.readlink(tmp_path / DATA_DIR_NAME)
                seen = {(snapshot / name).read_bytes() for name in names}
            except FileNotFoundError:
                continue  # that version was already cleaned up: retry on the new one
            reads += 1
            if len(seen) != 1:
                mixes.append(seen)
            try:  # a read through the per-file link is never partial...
                single = (tmp_path / "f0").read_bytes()
            except FileNotFoundError:
                continue  # ...but, as in Kubernetes, its version may be deleted while the path is resolved
            if single != b"0" and single != single[: len(single) // 50] * 50:
                mixes.append({single})

    failures: list[BaseException] = []

    def guarded_reader() -> None:
        try:
            reader()
        except BaseException as err:  # surfaced by the assertion below, not lost in the thread
            failures.append(err)

    thread = threading.Thread(target=guarded_reader)
    thread.start()
    try:
        for version in range(1, 200):
            writer.write({name: FileProjection(str(version).encode() * 50) for name in names})
    finally:
        stop.set()
        thread.join()
    assert failures == []
    assert mixes == []
    assert reads > 0
