"""The one way input files are read: a regular file only, never more than a size cap.

A FIFO would block the read forever and `/dev/zero` would fill the memory: every file the tool reads (the
catalog, a --config file, the state file and its snapshots, a JSON report, a saved hub page) goes through
`read_capped`, which refuses anything but a regular file and anything past its cap, with a message that says
which file and why.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MIB = 1024 * 1024

# Caps, each far above what a real file of its kind holds (a 100,000-entry catalog is about 20 MiB).
CATALOG_LIMIT = 64 * MIB
CONFIG_LIMIT = 1 * MIB
STATE_LIMIT = 512 * MIB
REPORT_LIMIT = 512 * MIB
SNAPSHOT_LIMIT = 64 * MIB
PAGE_LIMIT = 64 * MIB

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class InputFileError(Exception):
    """An input file cannot be read: missing, unreadable, not a regular file, or larger than its cap."""

    def __init__(self, path: Path, reason: str, *, missing: bool = False) -> None:
        self.path = path
        self.reason = reason
        self.missing = missing
        super().__init__(f"{path}: {reason}")


def not_regular(mode: int) -> str | None:
    """What a file of this `st_mode` is when it is not a regular file ("a named pipe (FIFO)"), else None."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_capped(path: Path, limit: int) -> bytes:
    """The bytes of the regular file at `path`; InputFileError when it is anything else or past `limit` bytes."""
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputFileError(path, "cannot read the file: No such file or directory", missing=True) from None
    except OSError as exc:
        raise InputFileError(path, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        kind = not_regular(info.st_mode)
        if kind is not None:
            raise InputFileError(path, f"cannot read the file: it is {kind}, not a regular file")
        if info.st_size > limit:
            raise _too_large(path, limit)
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(MIB, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # the file grew while it was read
            raise _too_large(path, limit)
        return b"".join(chunks)
    except OSError as exc:
        raise InputFileError(path, f"cannot read the file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _too_large(path: Path, limit: int) -> InputFileError:
    return InputFileError(path, f"cannot read the file: it is over {_show(limit)}, the cap for such a file")


def _show(size: int) -> str:
    return f"{size // MIB} MiB" if size >= MIB and size % MIB == 0 else f"{size} bytes"
