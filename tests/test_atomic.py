import json
import os

import pytest

from monitor import atomic
from monitor.atomic import LockedError, WriteError, run_lock, write_all_atomic, write_atomic
from monitor.jsontext import json_pieces


def test_write_atomic_replaces_whole_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "reports" / "latest.md"
    write_atomic(target, "first")
    write_atomic(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["latest.md"]


def test_json_written_in_pieces_is_the_same_text_as_json_dumps(tmp_path):
    # State files are committed nightly: the streamed encoding must not change a byte of their format.
    value = {"schema": 1, "updated_at": None, "entries": {
        f"e{i}": {"url": f"https://example.org/{i}", "title": "Überblick — “quoted” \\ \n", "findings": {},
                  "codes": ["dead-link"] * (i % 3), "count": i, "ok": i % 2 == 0}
        for i in range(3000)
    }}  # fmt: skip
    target = tmp_path / "state.json"
    write_all_atomic([(target, lambda: json_pieces(value))])
    assert target.read_text(encoding="utf-8") == json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_file_whose_content_fails_midway_leaves_the_previous_one(tmp_path):
    target = tmp_path / "latest.json"
    target.write_text("previous")

    def pieces():
        yield "{"
        raise KeyboardInterrupt  # Ctrl-C while the document is being encoded

    with pytest.raises(KeyboardInterrupt):
        write_all_atomic([(target, pieces)])
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["latest.json"]


def test_read_only_folder_gives_clear_error_and_keeps_previous(tmp_path, monkeypatch):
    target = tmp_path / "latest.json"
    target.write_text("previous")

    def read_only(*_args, **_kwargs):
        # What creating a file raises in a read-only folder (simulated: tests run as root, which ignores modes).
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic, "_create_temp", read_only)
    with pytest.raises(WriteError, match=r"cannot write .*Permission denied"):
        write_atomic(target, "new")
    assert target.read_text() == "previous"


@pytest.mark.parametrize("syncfs", [True, False], ids=["syncfs", "fsync per file"])
def test_failed_sync_keeps_previous_file(tmp_path, monkeypatch, syncfs):
    target = tmp_path / "state.json"
    target.write_text("previous")

    def full_disk(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    if syncfs:
        monkeypatch.setattr(atomic, "_SYNCFS", full_disk)
    else:  # where syncfs is missing (not Linux), each temp file is fsynced
        monkeypatch.setattr(atomic, "_SYNCFS", None)
        monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(WriteError, match="disk full"):
        write_atomic(target, "new")
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_runs_files_are_synced_once_before_the_first_rename(tmp_path, monkeypatch):
    # A first night writes thousands of snapshots: one sync for all of them, and only then the renames, so a
    # power cut can never leave a renamed file whose data had not reached the disk.
    if atomic._SYNCFS is None:
        pytest.skip("syncfs is Linux-only; elsewhere each file is fsynced")
    events: list[str] = []
    real_syncfs, real_replace = atomic._SYNCFS, os.replace

    def syncfs(fd):
        staged = [p for p in tmp_path.rglob(".*.tmp")]
        events.append(f"sync with {len(staged)} staged")
        return real_syncfs(fd)

    def replace(src, dst):
        events.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(atomic, "_SYNCFS", syncfs)
    monkeypatch.setattr(atomic.os, "replace", replace)
    files = [(tmp_path / "snapshots" / f"e{i}.txt", f"text {i}") for i in range(50)]
    write_all_atomic([*files, (tmp_path / "state.json", "{}")])
    # Two folders on one file system: one sync of the data, the renames, one sync of the renames.
    assert events == ["sync with 51 staged", *["rename"] * 51, "sync with 0 staged"]
    assert (tmp_path / "snapshots" / "e49.txt").read_text() == "text 49"


def test_second_run_on_same_folder_is_refused(tmp_path):
    with run_lock(tmp_path), pytest.raises(LockedError, match="another hub-monitor run"), run_lock(tmp_path):
        pass
    with run_lock(tmp_path):  # released after the first run ends
        pass


def test_a_file_staged_ahead_is_committed_by_rename_or_its_error_reported_then(tmp_path, monkeypatch):
    folder = tmp_path / "snapshots"
    with atomic.Staging(folder) as staging:
        staged = staging.stage(b"written ahead")
        write_all_atomic([(folder / "a.txt", staged), (tmp_path / "state.json", "{}")])
    assert (folder / "a.txt").read_bytes() == b"written ahead"
    assert sorted(p.name for p in folder.iterdir()) == ["a.txt"]

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(atomic, "_create_temp", read_only)
    with atomic.Staging(folder) as staging:
        staged = staging.stage(b"never written")
        with pytest.raises(WriteError, match=r"a\.txt: Read-only file system; the previous files are intact"):
            write_all_atomic([(folder / "a.txt", staged), (tmp_path / "state.json", "{}")])
    assert (folder / "a.txt").read_bytes() == b"written ahead"
    assert (tmp_path / "state.json").read_text() == "{}"


def test_an_unexpected_error_in_the_staging_thread_fails_the_commit_instead_of_hanging(tmp_path, monkeypatch):
    folder = tmp_path / "snapshots"

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(atomic, "_create_temp", broken)
    with atomic.Staging(folder) as staging:
        first, second = staging.stage(b"one"), staging.stage(b"two")
        with pytest.raises(WriteError, match=r"a\.txt: RuntimeError: a bug; the previous files are intact"):
            write_all_atomic([(folder / "a.txt", first), (folder / "b.txt", second)])
        with pytest.raises(OSError):
            second.temp()  # the thread went on to the next file
    assert list(folder.iterdir()) == []
