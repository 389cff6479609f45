"""Crawl shards: a run's hosts split over processes, each crawling and reading its own, merged into one crawl.

One process runs one event loop, and an event loop runs on one core: at a few thousand URLs the main
process's HTTP work alone (about 2 ms of CPU per request) outlasts every network wait. With ``shards``
(``--shards``) above 1, `pipeline.check` hands the crawl to this module, which runs it in that many processes
and gives back one `Crawl`, as a single process would have made it; everything after the crawl (the hub's
drift, the state, the reports) is the same code on the same data.

**Partition.** URLs are grouped by host and port (the unit of the crawler's politeness: its concurrency, its
request interval, Retry-After holds and connection reuse); a host is never split. The groups go to
``K = min(shards, number of hosts)`` shards, the largest first onto the shard with the fewest URLs so far
(ties by host name, so a catalog is split the same way every night). ``K <= 1`` starts nothing: the crawl
runs in the main process exactly as without this module, so one core, or one host, costs nothing.

**A shard** is a process that runs `pipeline._crawl` for its URLs with its own `Crawler` and `Analyser`. It is
forked when the main process has a single thread (the command line: a fork costs milliseconds where a spawned
process imports the package again, 0.5-1 s of CPU), spawned otherwise, as the analysis workers are (a fork
must never copy a lock another thread holds). Its settings
are the run's with three shares: ``max_concurrency`` split evenly over the shards (so the run never has more
requests in flight than configured), ``workers // K`` analysis workers (at least 1; 1 reads pages in a thread
of the shard, so K shards on K cores are K busy processes, not 2K), and ``max_runtime`` whatever is left of
the run's budget when it starts.

**Redirect hops to another shard's host.** A chain that leaves its host (doi.org -> a publisher) is followed
by the shard that owns the chain's first URL, through its own per-host state for the new host: asking the
owner would serialise chains across processes for a few percent of requests. So a host can be reached from
K crawlers. To bound that, a shard gives a host name none of its own URLs has (a *foreign* host) ``ceil(c /
K)`` of its concurrency ``c`` and K times its request interval: the owner plus the K - 1 others then keep at
most ``c + (K - 1) * ceil(c / K)`` requests (under ``2c + K``) in flight to it, and at most about twice its
request rate, and only while other hosts redirect to it. Retry-After and 429 slow-downs that a shard meets
hold in that shard only. A host name shared by several ports (127.0.0.1 in the benchmarks) is owned by
every shard that has one of its ports, and keeps its full concurrency there.

**Results.** A shard sends one message when it is done: its `Crawl` with the pages' bodies dropped (the
answers, the entries' results and facts, the excluded and unjudged entries, its request count and hosts, the
hub page if it owned the hub). Snapshot texts do not cross the pipe. When the run stages its snapshot files
during the crawl (the command does, with an `atomic.Staging`), each shard stages its own with a thread of its
own, into the same folder, as its pages are read: the thousands of new files of a first night are made on
every core while the crawl waits on the network, and the main process only syncs and renames them; the
shard sends each file's name. A text a shard could not stage (a full backlog, a failed write) goes, like
every text of a run without staging, to one anonymous temp file per shard, which the main process opens and
hands over: the shard appends the text to it, and the state reads it from there when it is written.
Progress and log records come through the same pipe as they happen, so the progress line counts all shards
and ``--verbose`` shows every shard's lines.
The merge is a union (the shards' URLs and entries are disjoint), the request counts a sum, the hosts a
sorted union: the JSON report and the state of a sharded run equal a single process's, apart from timings
(``tests/test_shards.py`` checks it on a local server with several ports).

**Failures.** A shard that exits without its result (killed, out of memory, a crash in a C library) costs
the entries of its URLs a ``check-failed`` finding naming its exit code, never the run. The temp files it
staged are the run's to delete, as are those of any shard when the run commits nothing (a failed write,
Ctrl-C): the main process's ``Staging`` deletes every temp file of the tool's left in the folder when it
closes, after the shards have ended (the run holds the folder's lock); a run killed outright leaves them to
the next run's `atomic.remove_stale_temps`, as it leaves its own. A shard still running
``analysis_timeout`` + 5 s past the run's budget is killed, and its entries are not checked tonight (out of
time), as in a single process. Shards ignore SIGINT: Ctrl-C reaches the main process, which kills them (their
analysis workers die with them) and ends the run; a main process killed outright takes them along (Linux
PDEATHSIG).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import multiprocessing
import os
import pickle
import resource
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from multiprocessing import reduction
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import IO, Any

from monitor import analysis
from monitor.atomic import StagedFile, Staging
from monitor.fetch import host_key
from monitor.findings import Code
from monitor.models import Entry, TextSnapshot
from monitor.pipeline import Crawl, CrawlJob, Progress, _crawl, _no_verdict, collector_paused
from monitor.settings import HostSettings, Settings
from monitor.state import FileSnapshot, PageFacts, SnapshotSpool, StagedSnapshot, State
from monitor.workers import tie_to_parent

log = logging.getLogger(__name__)

__all__ = ["crawl", "partition", "shard_count", "warm_up"]

_GRACE = 5.0  # seconds past the budget for a shard to send what it has (its analysis budget comes on top)


# --- the plan -------------------------------------------------------------------------------------------


def partition(urls: list[str], count: int) -> list[list[str]]:
    """``urls`` in at most ``count`` groups, whole hosts each, balanced by URL count; order kept within each."""
    keys = [host_key(url) for url in urls]
    by_host: dict[tuple[str, int], list[str]] = {}
    for key, url in zip(keys, urls, strict=True):
        by_host.setdefault(key, []).append(url)
    loads = [0] * max(1, min(count, len(by_host)))
    owner: dict[tuple[str, int], int] = {}
    for key in sorted(by_host, key=lambda k: (-len(by_host[k]), k)):
        shard = min(range(len(loads)), key=lambda i: (loads[i], i))
        owner[key] = shard
        loads[shard] += len(by_host[key])
    groups: list[list[str]] = [[] for _ in loads]
    for key, url in zip(keys, urls, strict=True):
        groups[owner[key]].append(url)
    return [group for group in groups if group]


def shard_count(settings: Settings, urls: list[str], *work: object) -> int:
    """How many shards this crawl gets: 1 (the main process alone) unless there are hosts to split and the
    injected work (tests' fakes) can reach another process."""
    if settings.shards <= 1 or len({host_key(u) for u in urls}) <= 1:
        return 1
    try:
        pickle.dumps(work)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        log.debug("the crawl runs in one process: %s cannot go to a shard (%s)", work, exc)
        return 1
    return settings.shards


@dataclass(frozen=True)
class ShardSettings(Settings):
    """The run's settings as one of ``share`` shards sees them: hosts it does not own get a 1/share part."""

    own_hosts: frozenset[str] = frozenset()
    share: int = 1

    def for_host(self, host: str) -> HostSettings:
        effective = super().for_host(host)
        if self.share <= 1 or host.lower().rstrip(".") in self.own_hosts:
            return effective
        return replace(
            effective,
            concurrency=-(-(effective.concurrency or 1) // self.share),
            request_interval=(effective.request_interval or 0.0) * self.share,
        )


def _shard_settings(settings: Settings, urls: list[str], index: int, count: int) -> ShardSettings:
    base = {name: getattr(settings, name) for name in Settings.__dataclass_fields__}
    total = settings.max_concurrency
    base["max_concurrency"] = max(1, total // count + (1 if index < total % count else 0))
    base["workers"] = max(1, settings.workers // count)
    base["shards"] = 1
    own = frozenset(host_key(u)[0].rstrip(".") for u in urls)
    return ShardSettings(**base, own_hosts=own, share=count)


def _prior_for(prior: State, entry_ids: set[str]) -> State:
    """The part of last night's state a shard needs, in a form that can cross to its process."""
    snapshots: dict[str, Any] = {}
    for entry_id in entry_ids & prior.snapshots.keys():
        snapshot = prior.snapshots[entry_id]
        if not isinstance(snapshot, FileSnapshot | TextSnapshot):
            # Only a test hands over last run's state in memory (a spool of this process): read it now.
            snapshot = TextSnapshot(snapshot.text() or "")
        snapshots[entry_id] = snapshot
    entries = {k: v for k, v in prior.entries.items() if k in entry_ids}
    return State(entries=entries, updated_at=prior.updated_at, snapshots=snapshots)


# --- snapshot texts through a file both processes hold --------------------------------------------------


class _Inherited:
    """An open file descriptor handed to a spawned process with its arguments (pickled while it starts)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self) -> tuple[Callable[[Any], _Inherited], tuple[Any]]:
        return (_received, (reduction.DupFd(self.fd),))


def _received(dup: Any) -> _Inherited:
    return _Inherited(dup.detach())


@dataclass(frozen=True)
class _SpoolRef:
    """Where a shard put a snapshot in its file; made a `ShardSnapshot` by the main process."""

    offset: int
    length: int

    def text(self) -> str | None:
        raise RuntimeError("a shard's snapshot is read in the main process")


@dataclass(frozen=True)
class _StagedRef:
    """A snapshot a shard staged in its own temp file (a name in the run's snapshot folder)."""

    temp: str

    def text(self) -> str | None:
        raise RuntimeError("a shard's snapshot is read in the main process")


class _SharedSpool(SnapshotSpool):
    """The shard's side: each text staged in its own temp file if the run stages them, else appended to the
    shared file; `handed_over` says where it went, in a form that crosses to the main process."""

    def __init__(self, fd: int, staging: Staging | None) -> None:
        super().__init__(staging)
        self._fd = fd
        self._at = 0

    def put(self, text: str) -> Any:
        staged = self._stage(text)
        return StagedSnapshot(staged) if staged is not None else self._append(text)

    def handed_over(self, snapshot: Any) -> Any:
        """``snapshot`` as the main process gets it: a staged file by its name once written (waiting for the
        staging thread if need be); a file that could not be written, as its text in the shared file."""
        if not isinstance(snapshot, StagedSnapshot):
            return snapshot
        try:
            return _StagedRef(snapshot.staged.temp())
        except OSError as exc:  # the commit would fail on it: the main process writes it instead
            log.debug("a snapshot could not be staged (%s); it goes through the shared file", exc)
            return self._append(snapshot.staged.content().decode("utf-8"))

    def _append(self, text: str) -> Any:
        data = text.encode("utf-8", "surrogatepass")
        try:
            view = memoryview(data)
            while view:
                written = os.pwrite(self._fd, view, self._at + len(data) - len(view))
                view = view[written:]
        except OSError as exc:  # a full /tmp: this text crosses in the message instead
            log.debug("cannot spool a snapshot to the shared file (%s)", exc)
            return TextSnapshot(text)
        ref = _SpoolRef(self._at, len(data))
        self._at += len(data)
        return ref


@dataclass(frozen=True)
class ShardSnapshot:
    """A snapshot a shard wrote to its file, read when the state is written."""

    file: IO[bytes]
    offset: int
    length: int

    def text(self) -> str | None:
        return os.pread(self.file.fileno(), self.length, self.offset).decode("utf-8", "surrogatepass")


# --- the shard process ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    parent: int
    crawl: CrawlJob  # the shard's own URLs, entries, prior state and settings (ShardSettings)
    deadline: float  # time.monotonic() (system-wide on Linux) at which the run's budget ends
    spool: _Inherited
    staging: Path | None  # where to stage snapshot files, or None to send every text through ``spool``
    progress: bool
    log_level: int


class _Outbox:
    """The shard's end of the pipe; the event loop and an analysis thread may both send."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def send(self, message: tuple[Any, ...]) -> None:
        with self._lock:
            self._conn.send(message)

    def progress(self, checked: int, total: int, failures: int, host: str) -> None:
        del total
        self.send(("progress", checked, failures, host))


class _PipeHandler(logging.Handler):
    def __init__(self, outbox: _Outbox) -> None:
        super().__init__()
        self._outbox = outbox

    def emit(self, record: logging.LogRecord) -> None:
        try:
            # As logging.handlers.QueueHandler does: the message made here, the traceback as text.
            record.msg = record.getMessage()
            if record.exc_info:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.args, record.exc_info = None, None
            self._outbox.send(("log", record))
        except Exception:
            self.handleError(record)


def _usage() -> tuple[float, float, float]:
    """The shard's own CPU seconds and peak RSS in MB (analysis threads included, worker processes not), and
    the seconds its event loop's thread spent ready to run but waiting for a CPU (Linux; else 0)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    waited = 0.0
    schedstat = f"/proc/self/task/{threading.get_native_id()}/schedstat"
    with contextlib.suppress(OSError, ValueError, IndexError), open(schedstat) as stat:
        waited = int(stat.read().split()[1]) / 1e9
    return own.ru_utime + own.ru_stime, own.ru_maxrss / 1024, waited


def _run_shard(job: _Job, conn: Connection) -> None:
    """A shard's whole life: crawl and read its URLs, send the crawl, exit."""
    # Ctrl-C is the main process's to handle: it kills the shards and ends the run.
    tie_to_parent(job.parent)
    outbox = _Outbox(conn)
    logger = logging.getLogger("monitor")
    logger.setLevel(job.log_level)
    logger.propagate = False
    logger.addHandler(_PipeHandler(outbox))
    try:
        settings = replace(job.crawl.settings, max_runtime=max(0.001, job.deadline - time.monotonic()))
        # Never closed: its files are the main process's to commit or delete.
        spool = _SharedSpool(job.spool.fd, Staging(job.staging) if job.staging is not None else None)
        crawled = asyncio.run(_crawl(replace(job.crawl, settings=settings),
                                     outbox.progress if job.progress else None, spool))
        for got in crawled.fetched.values():
            got.body = None  # a page cut short by the budget: the main process reads no page
        for done in crawled.analysed.values():
            if done.facts is not None:
                done.facts = replace(done.facts, snapshot=spool.handed_over(done.facts.snapshot))
        outbox.send(("done", crawled, *_usage()))
        code = 0
    except BaseException as exc:  # the edge of the shard: its failure goes to the main process as data
        with contextlib.suppress(Exception):  # no traceback on the run's stderr: --verbose shows it, once
            outbox.send(("failed", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        code = 1
    finally:
        analysis.shutdown()
    # Now, not at the interpreter's exit: that would wait for a page abandoned at its budget in an analysis
    # thread (a minute of CPU in a test), and the run for the shard.
    os._exit(code)


# --- the main process's side ----------------------------------------------------------------------------


@dataclass
class _Shard:
    urls: list[str]
    process: Any  # multiprocessing's SpawnProcess
    conn: Connection
    spool: IO[bytes]
    result: Crawl | None = None
    failure: str = ""
    checked: int = 0
    failures: int = 0
    started: float = field(default_factory=time.monotonic)


def crawl(
    job: CrawlJob,
    progress: Progress | None,
    *,
    count: int,
    budget: float,
    staging: Path | None = None,
) -> Crawl:
    """`pipeline._crawl`'s crawl, run in ``count`` shard processes within ``budget`` seconds, merged. With
    ``staging`` (a folder lent by the run's `atomic.Staging`) the shards stage their snapshot files there."""
    deadline = time.monotonic() + budget
    groups = partition(job.urls, count)
    method = _start_method()
    context = multiprocessing.get_context(method)
    shards: list[_Shard] = []
    try:
        # A forked shard's collections never walk the objects it was born with (the catalog, the modules), so
        # they are never copied into it for nothing; this process's collections walk them again after.
        frozen = method == "fork"
        if frozen:
            gc.freeze()
        try:
            for index, group in enumerate(groups):
                shards.append(_start(context, job, group, index, len(groups), deadline, progress is not None,
                                     staging))
        finally:
            if frozen:
                gc.unfreeze()
        log.debug("%d crawl shards started", len(shards))
        # Only now, not before the shards are forked: they must not inherit a paused collector.
        with collector_paused():
            _gather(shards, progress, len(job.urls), deadline + job.settings.analysis_timeout + _GRACE)
    finally:
        for shard in shards:
            _stop(shard)
    with collector_paused():
        return _merge(shards, job.entries_of, staging)


# The page readers' modules, each a step of the warm-up: most of its cost is their regexes, compiled as they
# are imported (monitor.dates and monitor.status, a tenth of a second each).
_READERS = ("monitor.extract", "monitor.dates", "monitor.status", "monitor.rules.content", "monitor.rules.links")


def warm_up() -> list[Callable[[], object]]:
    """What every forked shard would otherwise do at its first page, in steps, for this process to do before
    the shards are forked (they then share it): the page readers imported, then a small page read, which pays
    the first-use costs left. Any steps not taken are taken by each shard, as without this."""
    steps: list[Callable[[], object]] = [partial(importlib.import_module, name) for name in _READERS]
    return [*steps, partial(analysis._warm, analysis.analyse_page)]


def _start_method() -> str:
    """*fork* from a process with one thread, else *spawn*.

    A forked shard starts in milliseconds with the catalog and every module at hand, where a spawned one
    imports the package again (about 0.5-1 s of CPU, each). Forking is safe only where no other thread can
    hold a lock at that moment: the command line's main process has none during a crawl; a program that
    runs checks after others (the tests) keeps analysis worker threads alive, and gets spawn.
    """
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def _start(
    context: Any, run: CrawlJob, urls: list[str], index: int, count: int, deadline: float, progress: bool,
    staging: Path | None,
) -> _Shard:
    own_entries = {url: run.entries_of[url] for url in urls if url in run.entries_of}
    ids = {entry.id for entries in own_entries.values() for entry in entries}
    own = replace(run, urls=urls, settings=_shard_settings(run.settings, urls, index, count),
                  prior=_prior_for(run.prior, ids), entries_of=own_entries,
                  hub_url=run.hub_url if run.hub_url in urls else None)
    # Anonymous, as the single process's spool: a killed run leaves nothing behind.
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the snapshots that point into it
    job = _Job(os.getpid(), own, deadline, _Inherited(spool.fileno()), staging, progress,
               logging.getLogger("monitor").getEffectiveLevel())
    receiver, sender = context.Pipe(duplex=False)
    # Not a daemon: a daemon may not start children, and a shard with 2 workers or more starts its own. It
    # cannot outlive the run: stopped in crawl()'s finally, killed with the main process (PDEATHSIG).
    process = context.Process(target=_run_shard, args=(job, sender), name=f"hub-monitor shard {index + 1}")
    process.start()
    sender.close()  # the shard holds the only sending end: its death is an end of file here
    return _Shard(urls, process, receiver, spool)


def _gather(shards: list[_Shard], progress: Progress | None, total: int, kill_at: float) -> None:
    """Read every shard's messages until each has sent its crawl or ended, or until ``kill_at``."""
    open_ = {shard.conn: shard for shard in shards}
    while open_:
        left = kill_at - time.monotonic()
        if left <= 0:
            for shard in open_.values():
                log.warning("a crawl shard (%d URLs) was still running past the time budget: stopped",
                            len(shard.urls))
            return
        for conn in wait(list(open_), timeout=left):
            shard = open_[conn]  # type: ignore[index]
            try:
                message = shard.conn.recv()
            except (EOFError, OSError):
                del open_[shard.conn]
                if shard.result is None and not shard.failure:
                    shard.process.join(timeout=1)
                    shard.failure = f"its crawl process ended with exit code {shard.process.exitcode}"
                continue
            except Exception as exc:  # a message that cannot be unpickled
                shard.failure = f"its result could not be read: {type(exc).__name__}: {exc}"
                del open_[shard.conn]
                continue
            _receive(shard, message, shards, progress, total)
            if shard.result is not None or shard.failure:
                del open_[shard.conn]  # its last message: stopped in crawl()'s finally if it lingers


def _receive(shard: _Shard, message: tuple[Any, ...], shards: list[_Shard], progress: Progress | None,
             total: int) -> None:
    kind = message[0]
    if kind == "progress":
        shard.checked, shard.failures = message[1], message[2]
        if progress is not None:
            progress(sum(s.checked for s in shards), total, sum(s.failures for s in shards), message[3])
    elif kind == "log":
        record: logging.LogRecord = message[1]
        logging.getLogger(record.name).handle(record)
    elif kind == "done":
        shard.result = message[1]
        log.debug("a crawl shard of %d URL(s) is done after %.1f s: %.2f s of its own CPU, %.1f s waiting for a "
                  "CPU, peak RSS %.0f MB", len(shard.urls), time.monotonic() - shard.started, message[2], message[4],
                  message[3])
    elif kind == "failed":
        shard.failure = f"its crawl process failed: {message[1]}"
        log.debug("a crawl shard failed:\n%s", message[2])


def _stop(shard: _Shard) -> None:
    if shard.process.is_alive():
        shard.process.kill()  # its analysis workers die with it (PDEATHSIG)
    shard.process.join(timeout=5)
    shard.conn.close()


def _merge(shards: list[_Shard], entries_of: dict[str, list[Entry]], staging: Path | None) -> Crawl:
    merged = Crawl(fetched={}, analysed={}, excluded={}, requests=0, hosts=(), hub_page=None, unjudged={})
    hosts: set[str] = set()
    for shard in shards:
        got = shard.result
        if got is None:
            if shard.failure:
                log.warning("a crawl shard of %d URL(s) stopped: %s", len(shard.urls), shard.failure)
                for url in shard.urls:
                    for entry in entries_of.get(url, []):
                        merged.unjudged[entry.id] = _no_verdict(entry, Code.CHECK_FAILED, shard.failure)
            continue
        merged.fetched.update(got.fetched)
        merged.excluded.update(got.excluded)
        merged.unjudged.update(got.unjudged)
        merged.requests += got.requests
        hosts.update(got.hosts)
        merged.hub_page = merged.hub_page or got.hub_page
        for entry_id, done in got.analysed.items():
            if done.facts is not None and isinstance(done.facts.snapshot, _SpoolRef):
                ref = done.facts.snapshot
                done.facts = replace(done.facts, snapshot=ShardSnapshot(shard.spool, ref.offset, ref.length))
            elif done.facts is not None and isinstance(done.facts.snapshot, _StagedRef):
                assert staging is not None, "a shard staged a file without a folder to stage in"
                facts, staged = done.facts, StagedFile.on_disk(staging, done.facts.snapshot.temp)
                done.facts = PageFacts(facts.watched_hash, facts.status_sentence, StagedSnapshot(staged))
            merged.analysed[entry_id] = done
    # The results name the catalog's own entries again, not copies that crossed the pipe.
    by_id = {entry.id: entry for entries in entries_of.values() for entry in entries}
    for done in merged.analysed.values():
        done.result.entry = by_id.get(done.result.entry.id, done.result.entry)
    merged.hosts = tuple(sorted(hosts))
    return merged
