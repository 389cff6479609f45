"""The one place files are written: temp file in the same folder, fsync, then rename.

A crash or kill at any moment leaves either the previous complete file or the new complete file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


class WriteError(Exception):
    """A report or state file could not be written; the previous version is intact."""


def write_atomic(path: Path, data: str | bytes) -> None:
    payload = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        hint = " (disk full)" if exc.errno == errno.ENOSPC else ""
        raise WriteError(f"cannot write {path}: {exc.strerror or exc}{hint}; the previous file is intact") from exc
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    # The rename itself must reach the disk, or a power cut could bring back the old name.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class LockedError(Exception):
    """Another run holds the lock on the reports folder."""


@contextlib.contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` for one run, so two runs never interleave their writes.

    flock is released by the kernel when the process dies, so a killed run never leaves a stale lock.
    """
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    lock_path = folder / ".lock"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise WriteError(f"cannot create lock file {lock_path}: {exc.strerror or exc}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise LockedError(
                f"another hub-monitor run is using {folder} (lock {lock_path}); wait for it to finish"
            ) from exc
        yield
    finally:
        os.close(fd)
