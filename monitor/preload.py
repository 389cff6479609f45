"""Start-up side by side: the catalog read in a helper process while the main process readies the crawl.

Before its first request `check` needs two things that do not depend on each other: the catalog, read and
validated (about a quarter of a second of CPU at 2,000 entries, libyaml's and ours), and the crawl's code,
imported. On two CPUs or more, `read_catalog_aside` forks a helper that reads the catalog and sends it back
pickled while the main process imports the crawl, so the crawl starts after the longer of the two, not after
both. If the main process is done first, it fills the wait with work of the crawl shards: the page readers
imported and their regexes compiled once here, so that every shard forked from it has them without paying for
them again (monitor/shards.py). It checks before each step whether the catalog is in, so that this work delays
the crawl by one step at most (a tenth of a second), even on a busy machine where the helper gets no CPU of
its own; the steps not taken are each shard's, as before.

The helper only ever hands over a good catalog. Anything else (a catalog with problems, a file that cannot
be read, a helper that dies or is killed) and the main process reads the catalog itself, by the same code as
without a helper: every problem is found and worded as before, the exit code is the same, and nothing is
fetched. A helper is forked only where that is safe and worth it: on Linux, in a process with a single thread
(the command line; a program that runs checks one after another may hold worker threads), with two CPUs or
more.
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import select
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NoReturn

from monitor.catalog import Catalog, load_catalog
from monitor.settings import available_cpus
from monitor.workers import tie_to_parent

__all__ = ["read_catalog_aside"]


def read_catalog_aside(path: Path, meanwhile: Callable[[], object],
                       while_waiting: Iterable[Callable[[], object]] = ()) -> Catalog:
    """`load_catalog(path)`, with ``meanwhile()`` run beside it (once, before the catalog is returned), then the
    steps of ``while_waiting`` one by one for as long as the catalog is not read yet: they are worth doing only
    where they cost no time (on a busy machine the helper may be done first).

    Raises CatalogError exactly as `load_catalog` does; ``meanwhile`` may then have run or not.
    """
    if not _helper_possible():
        catalog = load_catalog(path)
        meanwhile()
        return catalog
    reader, writer = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the helper
        os.close(reader)
        _read_and_send(path, writer, parent)
    os.close(writer)
    # Nor here until the catalog is in: the imports and the catalog's unpickling would collect for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        catalog = _received(_beside(pid, reader, meanwhile, while_waiting))
    finally:
        if collecting:
            gc.enable()
    return catalog or load_catalog(path)


def _beside(pid: int, reader: int, meanwhile: Callable[[], object],
            while_waiting: Iterable[Callable[[], object]]) -> bytes:
    """The main process's work beside the helper, then what the helper sent (when it has ended)."""
    try:
        meanwhile()
        for step in while_waiting:
            if _readable(reader):  # the helper has written the catalog, or ended
                break
            step()
        return _read_all(reader)
    except BaseException:  # Ctrl-C, or a failure getting ready: the helper's work is not wanted any more
        _kill(pid)
        raise
    finally:
        os.close(reader)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _helper_possible() -> bool:
    # Linux only: elsewhere a bare fork may copy a system framework's state it cannot use (macOS spawns).
    return sys.platform == "linux" and threading.active_count() == 1 and available_cpus() >= 2


def _read_and_send(path: Path, fd: int, parent: int) -> NoReturn:
    code = 1
    try:
        tie_to_parent(parent)
        # No collections in this short life: one walked every object inherited from the main process, and
        # the catalog's nodes, then freed, hold no cycles (a quarter of the reading's CPU at 2,000 entries).
        gc.disable()
        data = pickle.dumps(load_catalog(path), protocol=pickle.HIGHEST_PROTOCOL)
        with open(fd, "wb") as out:
            out.write(data)
        code = 0
    except BaseException:  # a bad catalog or a failure here: the main process reads it and says why
        pass
    finally:
        # Never the main process's exit handlers or its buffered output, copied at the fork.
        os._exit(code)


def _readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _received(data: bytes) -> Catalog | None:
    if not data:
        return None
    try:
        catalog = pickle.loads(data)  # written by our own helper a moment ago
    except Exception:
        return None
    return catalog if isinstance(catalog, Catalog) else None
