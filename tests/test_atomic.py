import os

import pytest

from monitor.atomic import LockedError, WriteError, run_lock, write_atomic


def test_write_atomic_replaces_whole_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "reports" / "latest.md"
    write_atomic(target, "first")
    write_atomic(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["latest.md"]


def test_read_only_folder_gives_clear_error_and_keeps_previous(tmp_path, monkeypatch):
    target = tmp_path / "latest.json"
    target.write_text("previous")

    def read_only(*_args, **_kwargs):
        # What mkstemp raises in a read-only folder (simulated: tests run as root, which ignores modes).
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", read_only)
    with pytest.raises(WriteError, match=r"cannot write .*Permission denied"):
        write_atomic(target, "new")
    assert target.read_text() == "previous"


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "state.json"
    target.write_text("previous")

    def full_disk(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(WriteError, match="disk full"):
        write_atomic(target, "new")
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_second_run_on_same_folder_is_refused(tmp_path):
    with run_lock(tmp_path), pytest.raises(LockedError, match="another hub-monitor run"), run_lock(tmp_path):
        pass
    with run_lock(tmp_path):  # released after the first run ends
        pass
