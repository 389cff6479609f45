"""Reading and judging pages off the event loop: extract -> rules -> fingerprint, with a time budget per page.

The event loop drives every host's requests; a page that costs seconds of CPU to read must not stall it,
or other hosts' honest answers would arrive late and come out as false timeouts. So each page's analysis
(``analyse_page``, a pure function) runs in a worker: ``Settings.workers`` processes started with the
*spawn* method (never forked from a process holding locks), or one thread when ``workers`` is 1 or
processes cannot be started. Each page gets ``Settings.analysis_timeout`` of wall time in its worker;
past it the entry is ``too-complex`` and the worker is killed (a thread is abandoned to finish on its own)
and replaced, so nothing else waits. A worker that dies (out of memory, a crash in a C library) costs
the entries of the page it held a ``check-failed`` finding, never the run.

The processes are kept for the life of the program and reused by later runs in it (tests run hundreds):
starting one costs about half a second of CPU. They ignore SIGINT, so Ctrl-C reaches the main process
alone, which ends the run (exit 130) and kills them.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import date

from monitor.findings import Code
from monitor.models import Entry, FetchResult, PageText, Remembered

log = logging.getLogger(__name__)

__all__ = ["Analyser", "EntryJob", "PageJob", "Verdict", "analyse_page"]


# --- the work: pure, picklable --------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryJob:
    entry: Entry
    previous: Remembered | None  # last run's view of the page (its snapshot must be picklable)
    page: PageText | None = None  # the page from memory, for a 304 answer; None: read the body


@dataclass(frozen=True)
class PageJob:
    fetched: FetchResult  # with its body
    entries: tuple[EntryJob, ...]
    today: date


@dataclass(frozen=True)
class Verdict:
    """One entry's findings and what the state keeps of its page, or why there are none."""

    entry_id: str
    findings: tuple = ()  # tuple[Finding, ...]
    page: PageText | None = None  # texts dropped; of the ids only the URL's own fragment
    watched_hash: str | None = None
    status_line: str | None = None
    # The watched text when last night's snapshot cannot be kept (it changed, or there is none), else None.
    watched: str | None = None
    # Set when no verdict was reached: CHECK_FAILED or TOO_COMPLEX, with a message for the finding.
    failure: Code | None = None
    failure_detail: str = ""
    trace: str = ""  # the traceback of an unforeseen exception, for --verbose


def analyse_page(job: PageJob) -> list[Verdict]:
    """Every entry of one URL, judged; an exception costs its own entry a check-failed verdict, no more."""
    pages: dict[str | None, PageText] = {}
    verdicts: list[Verdict] = []
    for item in job.entries:
        try:
            verdicts.append(_judge(job, item, pages))
        except Exception as exc:  # the edge of one entry's analysis: anything becomes data
            verdicts.append(failed(item.entry.id, exc, traceback.format_exc()))
    return verdicts


def failed(entry_id: str, exc: BaseException, trace: str = "") -> Verdict:
    text = str(exc).strip()[:200]
    return Verdict(entry_id, failure=Code.CHECK_FAILED,
                   failure_detail=f"{type(exc).__name__}: {text}" if text else type(exc).__name__, trace=trace)


def _judge(job: PageJob, item: EntryJob, pages: dict[str | None, PageText]) -> Verdict:
    # Imported where pages are read (a worker, warmed up at its start), not by the main process, whose
    # start-up they would cost a third of a second of regexes compiled for nothing.
    from monitor.extract import extract
    from monitor.rules import RuleInput, analyse
    from monitor.rules.content import fingerprint

    entry, got = item.entry, job.fetched
    fragment = entry.url.split("#", 1)[1] if entry.url and "#" in entry.url else None
    page = item.page
    if page is None and got.body is not None:
        if entry.watch not in pages:
            # Entries sharing a URL may watch different regions of it: one reading per region.
            pages[entry.watch] = extract(got.body, got.headers, entry.watch)
        page = pages[entry.watch]
    before = item.previous
    findings = analyse(RuleInput(entry, replace(got, body=None), page, job.today, before))
    if page is None:
        return Verdict(entry.id, tuple(findings))
    watched_hash = fingerprint(page.watched)
    # Text that changed only in noise keeps last night's snapshot file: no rewrite, no churn in git.
    keep = before is not None and before.watched_hash == watched_hash and before.snapshot is not None
    # Only for an entry that claims a status: its rules have just read the page's status sentences (still
    # remembered by status.py); for the others the search would cost a twentieth of the run for nothing.
    status_line = _first_status_sentence(page.text) if entry.status else None
    # Of the page's ids the state needs only the URL's own; the texts go to the snapshot spool.
    small = replace(page, text="", watched="", ids=page.ids & {fragment} if fragment else frozenset())
    return Verdict(entry.id, tuple(findings), small, watched_hash, status_line, None if keep else page.watched)


def _first_status_sentence(text: str) -> str | None:
    from monitor.status import find_status_sentences

    sentences = find_status_sentences(text)
    return sentences[0] if sentences else None


# --- the workers ----------------------------------------------------------------------------------------


_PR_SET_PDEATHSIG = 1


def _start_worker(parent: int) -> None:
    """Set up a worker process: it must never outlive the run, and never hold the run's output open."""
    # Ctrl-C is the main process's to handle: it ends the run and kills the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A run killed with SIGKILL cannot kill its workers, and an orphaned pool worker waits forever (it holds
    # both ends of its own queue): on Linux the kernel kills it with its parent (prctl PDEATHSIG). A parent
    # that died while this worker was starting is caught by the check after.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)
    # The workers print nothing; holding the run's stdout and stderr would keep a caller waiting for their end.
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)


def _warm(work: Callable[[PageJob], list[Verdict]]) -> int:
    """Receiving ``work`` has imported its module; reading a small page pays every first-use cost (regexes
    compiled on demand, parsers set up) before any page's clock starts. The worker's process id."""
    del work
    url = "https://warm.example/"
    page = b"<title>Warm</title><main><h1>Warm</h1><p>Applications are open until 1 March 2026.</p></main>"
    got = FetchResult(url, url, 200, headers={"content-type": "text/html"}, body=page)
    entry = Entry("warm", "Warm", "Warm", url, status="Applications are open.")
    analyse_page(PageJob(got, (EntryJob(entry, None),), date(2026, 1, 1)))
    return os.getpid()


class _Slot:
    """One worker: a single-process pool (so one stuck page can be killed alone) or a single thread."""

    def __init__(self, processes: bool) -> None:
        self.processes = processes
        self.executor: Executor
        if processes:
            self.executor = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
                initargs=(os.getpid(),),
            )
        else:
            self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="analysis")
        # Started at once and waited for before a page's clock starts: a cold start (a process importing
        # lxml and the rules, half a second or more) is not the page's cost.
        self.ready: Future[int] = self.executor.submit(_warm, analyse_page)
        self.warmed: set[Callable[[PageJob], list[Verdict]]] = {analyse_page}

    def kill(self) -> None:
        if self.processes and self.ready.done() and self.ready.exception() is None:
            with contextlib.suppress(OSError):  # already gone
                os.kill(self.ready.result(), signal.SIGKILL)
        # A thread cannot be killed: it is abandoned and ends when its page is done (every step is bounded).
        self.executor.shutdown(wait=False, cancel_futures=True)


class _Workers:
    """The program's workers, shared by every run in it."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.processes = count > 1
        self.slots: list[_Slot] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            while len(self.slots) < self.count:
                self.slots.append(self._new())

    def _new(self) -> _Slot:
        if self.processes:
            try:
                return _Slot(processes=True)
            except (OSError, RuntimeError, ValueError) as exc:  # no /dev/shm, a sandbox without fork/exec
                log.warning("cannot start analysis worker processes (%s): reading pages in a thread", exc)
                self.processes = False
        return _Slot(processes=False)

    def replace(self, slot: _Slot) -> _Slot:
        slot.kill()
        fresh = self._new()
        with self._lock:
            self.slots = [fresh if s is slot else s for s in self.slots]
        return fresh

    def close(self) -> None:
        with self._lock:
            slots, self.slots = self.slots, []
        for slot in slots:
            slot.kill()


_shared: _Workers | None = None


def _workers(count: int) -> _Workers:
    global _shared
    if _shared is None or _shared.count != count:
        if _shared is not None:
            _shared.close()
        _shared = _Workers(count)
    _shared.start()
    return _shared


def shutdown() -> None:
    """Kill every worker (at exit, and when a run is interrupted)."""
    global _shared
    if _shared is not None:
        _shared.close()
        _shared = None


atexit.register(shutdown)


class Analyser:
    """Runs ``analyse_page`` for one run: at most ``workers`` pages at once, each within ``timeout`` seconds."""

    def __init__(self, workers: int, timeout: float, work: Callable[[PageJob], list[Verdict]] = analyse_page) -> None:
        self._count = max(1, workers)
        self._timeout = timeout
        self._work = work
        self._free: asyncio.Queue[_Slot] | None = None
        self._pool: _Workers | None = None

    async def __aenter__(self) -> Analyser:
        return self

    def _start(self) -> tuple[_Workers, asyncio.Queue[_Slot]]:
        # On the first page, not before: a run whose pages all fail (offline, a dead catalog) starts no process.
        if self._pool is None or self._free is None:
            self._pool = _workers(self._count)
            self._free = asyncio.Queue()
            for slot in self._pool.slots:
                self._free.put_nowait(slot)
        return self._pool, self._free

    async def __aexit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is not None and not issubclass(exc_type, Exception):
            # Interrupted (Ctrl-C, the run cancelled): no worker may outlive the run's files being written.
            shutdown()

    async def run(self, job: PageJob) -> list[Verdict]:
        """The verdicts for the job's entries; never raises but for cancellation."""
        if job.fetched.body is None and all(item.page is None for item in job.entries):
            # No page to read (an error, a redirect loop, a PDF): the rules judge the answer alone, in
            # microseconds, so the job is not worth a trip to a worker; a run of failures starts no process.
            return self._work(job)
        pool, free = self._start()
        slot = await free.get()
        try:
            slot = await self._ready(pool, slot)
            if self._work not in slot.warmed:  # another work function (tests): its module is imported first
                await asyncio.wrap_future(slot.executor.submit(_warm, self._work))
                slot.warmed.add(self._work)
            future = asyncio.wrap_future(slot.executor.submit(self._work, job))
            try:
                return await asyncio.wait_for(future, self._timeout)
            except TimeoutError:
                slot = pool.replace(slot)
                return [self._too_complex(item.entry) for item in job.entries]
            except asyncio.CancelledError:
                slot = pool.replace(slot)  # its page may still be running: the next run starts clean
                raise
            except BrokenProcessPool as exc:
                slot = pool.replace(slot)
                return [failed(item.entry.id, exc) for item in job.entries]
            except Exception as exc:  # a result that cannot be unpickled, and the like
                return [failed(item.entry.id, exc, traceback.format_exc()) for item in job.entries]
        finally:
            free.put_nowait(slot)

    async def _ready(self, pool: _Workers, slot: _Slot) -> _Slot:
        try:
            await asyncio.wrap_future(slot.ready)
        except Exception as exc:  # a worker that could not start is replaced, once
            log.warning("an analysis worker failed to start (%s); starting another", exc)
            slot = pool.replace(slot)
            await asyncio.wrap_future(slot.ready)
        return slot

    def _too_complex(self, entry: Entry) -> Verdict:
        return Verdict(
            entry.id, failure=Code.TOO_COMPLEX,
            failure_detail=f"reading the page took longer than its {self._timeout:g} s budget (--analysis-timeout)",
        )
