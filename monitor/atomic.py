"""The one place files are written: temp files in the same folder, one sync, then renames.

A crash or kill at any moment leaves either the previous complete file or the new complete file.
A run's files (thousands of snapshots on a first night) are synced to disk together, once, before the
first rename: one fsync per file cost a journal commit each, 15% of a 10,000-entry run on a quiet disk
and far more on a busy one. On Linux the sync is ``syncfs`` of each file system written to; elsewhere
each temp file is fsynced as before.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import itertools
import os
import queue
import re
import signal
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

TEMP_SUFFIX = ".tmp"
# Our temp files' names: ".<file name>.hub-monitor.", eight characters, ".tmp". The tool's mark in the name is
# what lets a later run delete a leftover: a ".x.abcdefgh.tmp" of another program is never touched.
TEMP_MARK = "hub-monitor"
_TEMP_NAME = re.compile(rf"\..+\.{TEMP_MARK}\.[A-Za-z0-9_]{{8}}\.tmp")

_PIECES_PER_WRITE = 4096

# The eight characters: four drawn at random once per process (again in a forked child, and whenever a name
# is taken), then a counter. mkstemp drew eight for every file, and made it 0600 to be changed by a second
# call; a first night makes thousands. Any name of the tool's form is safe to try: O_EXCL refuses one that
# exists (another process's, or a file of this one 65,536 names ago), and the next try has new characters.
_NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"
_NAME_TRIES = 100
_counter = itertools.count()
_prefix = ""


def _new_prefix() -> None:
    global _prefix
    _prefix = "".join(_NAME_CHARS[byte % len(_NAME_CHARS)] for byte in os.urandom(4))


_new_prefix()
os.register_at_fork(after_in_child=_new_prefix)  # a crawl shard names its files apart from the run's

# O_NOFOLLOW and O_EXCL as mkstemp: never through a symlink, never an existing file. 0o666 as any program
# creates a file: the kernel applies the user's umask (or the folder's default ACL).
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _create_temp(folder: str, name: str) -> tuple[int, str]:
    """A new temp file for ``name`` in ``folder``, open for writing: its descriptor and its path."""
    for _ in range(_NAME_TRIES):
        temp = f"{folder}/.{name}.{TEMP_MARK}.{_prefix}{next(_counter) & 0xFFFF:04x}{TEMP_SUFFIX}"
        try:
            return os.open(temp, _CREATE, 0o666), temp
        except FileExistsError:
            _new_prefix()
    raise FileExistsError(errno.EEXIST, "no free temp file name", folder)


class WriteError(Exception):
    """A report or state file could not be written; the previous version is intact."""


def write_atomic(path: Path, data: FileData) -> None:
    write_all_atomic([(path, data)])


def write_all_atomic(files: Sequence[tuple[Path, FileData]]) -> None:
    """Write several files as nearly at once as a file system allows.

    Every file is first written to a temp file beside it (or was, by a ``Staging``); all of them are synced
    at once, and only when all are on disk are they renamed into place, in the order given (the state file
    last, so it never names a snapshot that is not on disk). So a full disk or a read-only folder leaves
    every previous file as it was, and a kill during the renames leaves each file either old or new, never
    partial.
    """
    staged: list[tuple[str, Path, StagedFile | None]] = []
    made: list[str] = []  # every temp file created, registered the moment it exists
    # Each file's folder once (thousands of snapshots share one): Path.parent and its comparisons were a
    # third of this function's own time.
    parents = [path.parent for path, _ in files]
    folders = list(dict.fromkeys(parents))
    folder_of = {folder: folder for folder in folders}
    done = False
    try:
        _make_folders(folders)
        for (path, data), parent in zip(files, parents, strict=True):
            parent = folder_of[parent]
            ahead = data if isinstance(data, StagedFile) and (data.folder is parent or data.folder == parent) else None
            staged.append((_stage(path, data, made, ahead), path, ahead))
        # A folder where a file should go would fail its rename after the others had landed. One listing of
        # each folder, not a stat of each file.
        subfolders = {folder: _subfolders(folder) for folder in folders}
        for (_, path, _), parent in zip(staged, parents, strict=True):
            if path.name in subfolders[folder_of[parent]]:
                raise WriteError(f"cannot write {path}: it is a folder; the previous files are intact")
        _sync_staged([(tmp, path) for tmp, path, _ in staged], folders)
        for n, (tmp, path, ahead) in enumerate(staged):
            try:
                os.replace(tmp, path)
            except OSError as exc:
                del staged[:n]
                raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from exc
            if ahead is not None:
                ahead.committed(path)
        done = True
    finally:
        # Also on KeyboardInterrupt: no temp file is left behind for the nightly commit to pick up. (Those
        # renamed into place are gone already, and unlinking them fails quietly.)
        if not done:
            with interrupts_deferred():
                for tmp in made:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
    # The renames themselves must reach the disk, or a power cut could bring back the old names.
    if not _syncfs_each(folders):
        for folder in folders:
            _fsync_dir(folder)


def _subfolders(folder: Path) -> set[str]:
    try:
        with os.scandir(folder) as found:
            return {item.name for item in found if item.is_dir()}
    except OSError:
        return set()


def _make_folders(folders: list[Path]) -> None:
    # Once per folder, not once per file: a first night writes thousands of files into one folder.
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WriteError(f"cannot write {folder}: {exc.strerror or exc}; the previous files are intact") from exc


def _stage(path: Path, data: FileData, made: list[str], ahead: StagedFile | None) -> str:
    """A temp file beside ``path`` holding ``data`` (written, not yet synced); its name, also appended to
    ``made`` at once. A file a ``Staging`` wrote ahead in the same folder (``ahead``) is taken as it is."""
    if isinstance(data, StagedFile):
        if data is ahead:
            try:
                tmp = data.temp()
            except OSError as exc:
                raise WriteError(f"cannot write {path}: {_reason(exc)}; the previous files are intact") from exc
            made.append(tmp)
            return tmp
        data = data.content()
    try:
        with interrupts_deferred():  # a Ctrl-C between the two would leave the file unknown, so never deleted
            fd, tmp = _create_temp(os.path.abspath(path.parent), path.name)
            made.append(tmp)
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {exc.strerror or exc}; the previous files are intact") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            _write(handle, data() if callable(data) else data)
            handle.flush()
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if not isinstance(exc, OSError):
            raise
        raise WriteError(f"cannot write {path}: {_reason(exc)}; the previous files are intact") from exc
    return tmp


def _reason(exc: OSError) -> str:
    hint = " (disk full)" if exc.errno == errno.ENOSPC else ""
    return f"{exc.strerror or exc}{hint}"


class StagedFile:
    """A file's content written to a temp file by a ``Staging`` thread, ahead of ``write_all_atomic``."""

    def __init__(self, folder: Path, data: bytes) -> None:
        self.folder = folder
        self._data: bytes | None = data  # dropped once on disk
        self._written = threading.Event()
        self._temp: str | None = None
        self._error: OSError | None = None
        self._final: Path | None = None

    @classmethod
    def on_disk(cls, folder: Path, temp: str) -> StagedFile:
        """A temp file in ``folder`` that another process (a crawl shard) staged for this run's commit."""
        staged = cls.__new__(cls)
        staged.folder, staged._data, staged._temp = folder, None, temp
        staged._written = _ALREADY  # never set again: shared (an Event each was a third of a shard's merge)
        staged._error, staged._final = None, None
        return staged

    def temp(self) -> str:
        """The temp file's name, once written; the error that stopped it, raised."""
        if self._temp is not None:
            return self._temp  # written (set only on success): no lock to take
        self._written.wait()
        if self._error is not None:
            raise self._error
        assert self._temp is not None
        return self._temp

    def content(self) -> bytes:
        """The content: from memory while the file is queued, else from the file (OSError if unreadable)."""
        data = self._data
        if data is not None:
            return data
        self._written.wait()
        with open(self._final or self.temp(), "rb") as handle:
            return handle.read()

    def committed(self, path: Path) -> None:
        self._final = path

    def _write(self, where: str, made: list[str]) -> None:
        """Write the file in ``where`` (the folder's path as text), made first if it is missing."""
        assert self._data is not None
        fd = -1
        try:
            try:
                fd, tmp = _create_temp(where, "staged")
            except FileNotFoundError:  # the folder is new tonight, or was deleted during the run: made again
                self.folder.mkdir(parents=True, exist_ok=True)
                fd, tmp = _create_temp(where, "staged")
            made.append(tmp)
            view = memoryview(self._data)
            while view:
                view = view[os.write(fd, view):]
            self._temp = tmp
            self._data = None
        except Exception as exc:  # anything at all: the commit must learn of it, never wait for the file
            self._error = exc if isinstance(exc, OSError) else OSError(errno.EIO, f"{type(exc).__name__}: {exc}")
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        finally:
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._written.set()

    def _cancel(self) -> None:
        self._error = OSError(errno.ECANCELED, "the run ended before the file was written")
        self._written.set()


_ALREADY = threading.Event()
_ALREADY.set()

# A file's content, or a function that gives it (whole, or as pieces of text) when the file is written:
# thousands of snapshots are then read one at a time, and a JSON document of ten thousand entries is
# encoded straight into its file instead of being built as one string (and a million pieces) first;
# or a file a ``Staging`` wrote ahead.
FileData = str | bytes | Callable[[], str | bytes | Iterable[str]] | StagedFile


class Staging:
    """Temp files for a later ``write_all_atomic``, written by one thread while the run goes on.

    A first night writes a snapshot file for every page. Written at the end, thousands of them kept the run
    waiting (each new file a journal operation, about 1 ms on a busy disk, and 60 MB to copy); written here
    as each page is analysed, the work overlaps the crawl, and ``write_all_atomic`` only syncs and renames
    them. Nothing changes about what is committed, or when: the temp files carry the tool's mark, so a run
    killed with SIGKILL leaves them to ``remove_stale_temps`` of the next run; leaving the ``with`` block
    deletes every one not renamed into place (also on Ctrl-C).
    """

    def __init__(self, folder: Path, backlog: int = 256) -> None:
        self.folder = folder
        self._where = os.path.abspath(folder)  # as mkstemp gave: a shard's file names the same file in the run
        self._backlog = backlog  # files queued at most; past it, `stage` says no and the caller keeps its data
        self._queue: queue.SimpleQueue[StagedFile | None] = queue.SimpleQueue()
        self._made: list[str] = []
        self._all: list[StagedFile] = []
        self._thread: threading.Thread | None = None
        self._closing = False
        self._lent = False

    def lend(self) -> Path:
        """The folder, for other processes of this run (crawl shards) to stage files in with their own
        ``Staging``, which they never close: ``close`` then also deletes every temp file of the tool's left
        in the folder (a shard's file the run did not commit, or one of a shard that died), as
        `remove_stale_temps` does. Only under `run_lock`, and once those processes have ended."""
        self._lent = True
        return self.folder

    def stage(self, data: bytes) -> StagedFile | None:
        """``data`` queued to be written to a temp file; None when too many are queued already."""
        if self._closing or self._queue.qsize() >= self._backlog:
            return None
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="hub-monitor staging", daemon=True)
            self._thread.start()
        item = StagedFile(self.folder, data)
        self._all.append(item)
        self._queue.put(item)
        return item

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._closing:
                item._cancel()
            else:
                item._write(self._where, self._made)

    def close(self) -> None:
        """Stop the thread (files still queued are not written) and delete every temp file not committed."""
        with interrupts_deferred():
            self._closing = True
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join()
                self._thread = None
            committed = {item._temp for item in self._all if item._final is not None}
            for tmp in self._made:
                if tmp not in committed:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
            self._made.clear()
            self._all.clear()
            if self._lent:
                remove_stale_temps(self.folder)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sync_staged(staged: list[tuple[str, Path]], folders: list[Path]) -> None:
    """Every staged temp file's data on disk, before any is renamed: one syncfs per file system written
    to (``folders``), or (without syncfs) one fsync per file. A failure here is a WriteError like a failed
    write."""
    if not staged:
        return
    try:
        if _syncfs_each(folders, strict=True):
            return
        for tmp, _ in staged:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    except OSError as exc:
        where = ", ".join(str(path) for _, path in staged[:3]) + (" and others" if len(staged) > 3 else "")
        raise WriteError(
            f"cannot write {where}: {_reason(exc)}; the previous files are intact"
        ) from exc


def _syncfs_each(folders: list[Path], strict: bool = False) -> bool:
    """syncfs(2) the file system of each folder once; False where syncfs is not available (not Linux).

    With ``strict`` an error is raised (the data may not be on disk); without, it is ignored as a
    failed directory fsync always was.
    """
    syncfs = _SYNCFS
    if syncfs is None:
        return False
    done: set[int] = set()
    for folder in folders:
        try:
            fd = os.open(folder, os.O_RDONLY)
        except OSError:
            if strict:
                raise
            continue
        try:
            device = os.fstat(fd).st_dev
            if device in done:
                continue
            if syncfs(fd) != 0:
                code = ctypes.get_errno()
                if strict:
                    raise OSError(code, os.strerror(code))
            done.add(device)
        finally:
            os.close(fd)
    return True


def _load_syncfs() -> Callable[[int], int] | None:
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function


_SYNCFS = _load_syncfs()


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold back Ctrl-C (SIGINT) for a few statements that must run together; raise it once they have."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are only ever delivered to the main thread
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            if callable(previous):
                previous(signal.SIGINT, None)
            elif previous != signal.SIG_IGN:
                raise KeyboardInterrupt


def _write(handle: BinaryIO, content: str | bytes | Iterable[str]) -> None:
    if isinstance(content, bytes):
        handle.write(content)
    elif isinstance(content, str):
        handle.write(content.encode("utf-8"))
    else:
        batch: list[str] = []
        for piece in content:
            batch.append(piece)
            if len(batch) >= _PIECES_PER_WRITE:
                handle.write("".join(batch).encode("utf-8"))
                batch.clear()
        handle.write("".join(batch).encode("utf-8"))


def remove_stale_temps(folder: Path) -> None:
    """Delete temp files that a killed run left in ``folder``. Call only under ``run_lock``: then no other
    run can be writing there."""
    with contextlib.suppress(OSError):
        for leftover in folder.glob(f".*{TEMP_SUFFIX}"):
            if _TEMP_NAME.fullmatch(leftover.name):
                leftover.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    # The rename itself must reach the disk, or a power cut could bring back the old name.
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def target_problems(outputs: Mapping[str, str], inputs: Mapping[str, str]) -> list[str]:
    """Why the files a run would write cannot be written, checked before anything is fetched or written.

    `outputs` and `inputs` map how the user named each file (`--report`) to its path. An output must be a
    path, not a folder or a device, in a folder (not under a file), and neither another output nor an input:
    `--report catalog/hub.yaml` would overwrite the catalog, `--json X --report X` would lose one report.
    """
    problems: list[str] = []
    seen: dict[str, str] = {}
    for name, given in inputs.items():
        seen.setdefault(_identity(Path(given)), name)
    for name, given in outputs.items():
        if not given.strip():
            problems.append(f"{name}: the path is empty; name a file")
            continue
        path = Path(given)
        problem = _target_problem(path)
        if problem:
            problems.append(f"{name} {given}: {problem}")
            continue
        key = _identity(path)
        if key in seen:
            problems.append(f"{name} {given}: is also {seen[key]}; each file needs its own path")
        else:
            seen[key] = name
    return problems


def _identity(path: Path) -> str:
    # An existing file is known by its inode, so a hard link or a symlink to the catalog is the catalog; a new
    # one by its path with symlinks and "a/../b" resolved.
    try:
        info = path.stat()
    except OSError:
        return os.path.realpath(path)
    return f"inode {info.st_dev}:{info.st_ino}"


def _target_problem(path: Path) -> str | None:
    from monitor.inputfile import not_regular

    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        kind = not_regular(path.stat().st_mode)
        if kind is not None:
            return f"is {kind}; name a file"
        return None
    for parent in path.parents:
        try:
            mode = parent.stat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            return f"cannot use the folder {parent}: {exc.strerror or exc}"
        if not stat.S_ISDIR(mode):
            return f"{parent} is a file, not a folder"
        return None
    return None


class LockedError(Exception):
    """Another run holds the lock on the reports folder."""


@contextlib.contextmanager
def run_locks(folders: Iterable[Path]) -> Iterator[None]:
    """`run_lock` on each of `folders`: a run holds every folder it writes to, so two runs that share only
    their report folder (different --state) still never write at once."""
    with contextlib.ExitStack() as stack:
        for folder in sorted(set(folders)):
            stack.enter_context(run_lock(folder))
        yield


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
