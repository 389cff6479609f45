"""Reading and judging pages off the event loop: extract -> rules -> fingerprint, with a time budget per page.

The event loop drives every host's requests; a page that costs seconds of CPU to read must not stall it,
or other hosts' honest answers would arrive late and come out as false timeouts. So each page's analysis
(``analyse_page``, a pure function) runs in a worker (monitor/workers.py): ``Settings.workers`` processes,
each started with fork and exec (never a bare fork of a process holding locks), or one thread when
``workers`` is 1 or processes cannot be started. Each page gets ``Settings.analysis_timeout`` of wall time
in its worker, from the moment its worker starts it; past it the entry is ``too-complex`` and the worker
is killed (a thread is abandoned to finish on its own) and replaced, so nothing else waits. With one
worker, a page of up to ``INLINE_MAX`` is read on the event loop itself (see there why that is safe). A
worker that dies (out of memory, a crash in a C library) costs the entries of the page it was reading a
``check-failed`` finding, never the run, nor the page it held next.

The processes are kept for the life of the program and reused by later runs in it (tests run hundreds):
starting one costs about half a second of CPU. They ignore SIGINT and have a process group of their own,
so Ctrl-C reaches the main process alone, which ends the run (exit 130) and kills them; the kernel kills
them when the main process dies.
"""

from __future__ import annotations

import atexit
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from monitor.findings import Code
from monitor.models import Entry, FetchResult, PageText, Remembered
from monitor.workers import BudgetSpent, Pool, Raised, WorkerDied

if TYPE_CHECKING:
    from monitor.hub import HubPage

__all__ = ["Analyser", "EntryJob", "HubJob", "HubUnread", "PageJob", "Verdict", "analyse_page", "read_hub"]


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


@dataclass(frozen=True, eq=False)
class HubJob:
    body: bytes
    headers: dict[str, str]
    base_url: str  # the hub's final URL, that its relative links are read against


def read_hub(job: HubJob) -> HubPage:
    """The hub page's own reading (for drift), in a worker like any page: it is the largest page of the run."""
    from monitor.hub import parse_hub  # here, not at the top: only the worker that reads the hub imports bs4

    return parse_hub(job.body, job.headers, job.base_url)


class HubUnread(Exception):
    """Why the hub page could not be read (its exception, the budget, a worker's death)."""

    def __init__(self, reason: str, trace: str = "") -> None:
        super().__init__(reason)
        self.trace = trace


def _first_status_sentence(text: str) -> str | None:
    from monitor.status import find_status_sentences

    sentences = find_status_sentences(text)
    return sentences[0] if sentences else None


# --- the workers ----------------------------------------------------------------------------------------


def _warm(work: Callable[[PageJob], list[Verdict]]) -> None:
    """Receiving ``work`` has imported its module; reading a small page pays every first-use cost (regexes
    compiled on demand, parsers set up) before any page's clock starts."""
    del work
    url = "https://warm.example/"
    page = b"<title>Warm</title><main><h1>Warm</h1><p>Applications are open until 1 March 2026.</p></main>"
    got = FetchResult(url, url, 200, headers={"content-type": "text/html"}, body=page)
    entry = Entry("warm", "Warm", "Warm", url, status="Applications are open.")
    analyse_page(PageJob(got, (EntryJob(entry, None),), date(2026, 1, 1)))


_shared: Pool | None = None


def _pool(count: int) -> Pool:
    global _shared
    if _shared is None or _shared.count != count:
        if _shared is not None:
            _shared.close()
        # One worker is a thread: a process would only add its start-up and the trips to it (one core).
        _shared = Pool(count, threads=count == 1, warm=_warm)
    return _shared


def shutdown() -> None:
    """Kill every worker (at exit, and when a run is interrupted)."""
    global _shared
    if _shared is not None:
        _shared.close()
        _shared = None


def _forsake() -> None:
    global _shared
    if _shared is not None:
        _shared.forsake()
        _shared = None


atexit.register(shutdown)
# A crawl shard forked from a process that has run checks before (a program that runs several) starts its own.
os.register_at_fork(after_in_child=_forsake)


# Pages up to this size are read on the event loop itself when the pool would be one thread (``workers`` 1:
# a crawl shard, or one core): with one thread nothing runs in parallel anyway (the GIL), and the trip to it
# is saved: a queue, a timer for the budget, a wake-up of the loop through its self-pipe, and above all the
# two threads trading the GIL (strace of a 1,000-URL run on lean pages: 55,000 futex calls -> 15,000, 1,540
# epoll_wait -> 240). analyse_page's CPU grows with the page: about 0.1 ms per KB on the benchmark's pages,
# 2.7 ms per KB at worst on pages built to be slow (numeric character references, digits, dates), so at this
# size it holds the loop for 0.17 s at most, far below the budget. Bigger pages, and every page of another
# work function, whose cost nothing bounds, keep the budgeted thread.
INLINE_MAX = 64 * 1024


def _size(job: PageJob) -> int:
    """What reading the job costs grows with: its body, or the page kept from last night for a 304."""
    if job.fetched.body is not None:
        return len(job.fetched.body)
    return max((len(item.page.text) for item in job.entries if item.page is not None), default=0)


class Analyser:
    """Runs ``analyse_page`` for one run: at most ``workers`` pages at once, each within ``timeout`` seconds."""

    def __init__(self, workers: int, timeout: float, work: Callable[[PageJob], list[Verdict]] = analyse_page) -> None:
        self._count = max(1, workers)
        self._timeout = timeout
        self._work = work
        self._pool: Pool | None = None
        self._warmed = False

    async def __aenter__(self) -> Analyser:
        return self

    def _start(self) -> Pool:
        # On the first page, not before: a run whose pages all fail (offline, a dead catalog) starts no process.
        if self._pool is None:
            self._pool = _pool(self._count)
            self._pool.attach()
        return self._pool

    async def __aexit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is not None and not issubclass(exc_type, Exception):
            # Interrupted (Ctrl-C, the run cancelled): no worker may outlive the run's files being written.
            shutdown()
        elif self._pool is not None:
            self._pool.detach()  # a worker still holding a page is killed: the next run starts clean

    async def run(self, job: PageJob) -> list[Verdict]:
        """The verdicts for the job's entries; never raises but for cancellation."""
        if job.fetched.body is None and all(item.page is None for item in job.entries):
            # No page to read (an error, a redirect loop, a PDF): the rules judge the answer alone, in
            # microseconds, so the job is not worth a trip to a worker; a run of failures starts no process.
            return self._work(job)
        if self._count == 1 and self._work is analyse_page and _size(job) <= INLINE_MAX:
            return self._inline(job)
        try:
            return await self._start().call(self._work, job, self._timeout)
        except BudgetSpent:
            return [self._too_complex(item.entry) for item in job.entries]
        except WorkerDied as exc:
            return [failed(item.entry.id, exc) for item in job.entries]
        except Raised as exc:  # not from analyse_page (it keeps its exceptions): an answer that did not unpickle
            return [Verdict(item.entry.id, failure=Code.CHECK_FAILED, failure_detail=str(exc), trace=exc.trace)
                    for item in job.entries]  # fmt: skip

    def _inline(self, job: PageJob) -> list[Verdict]:
        """A small page read here, on the event loop; past its budget it is too complex, as in a worker."""
        if not self._warmed:
            _warm(self._work)  # first-use costs, as a worker pays them before its first page's clock starts
            self._warmed = True
        started = time.monotonic()
        verdicts = self._work(job)
        if time.monotonic() - started > self._timeout:
            return [self._too_complex(item.entry) for item in job.entries]
        return verdicts

    async def read_hub(self, job: HubJob) -> HubPage:
        """The hub page read in a worker, within the same budget as any page; else ``HubUnread`` says why."""
        try:
            return await self._start().call(read_hub, job, self._timeout)
        except BudgetSpent:
            budget = f"reading it took longer than its {self._timeout:g} s budget (--analysis-timeout)"
            raise HubUnread(budget) from None
        except WorkerDied as exc:
            raise HubUnread(f"WorkerDied: {exc}") from None
        except Raised as exc:
            raise HubUnread(str(exc), exc.trace) from None

    def _too_complex(self, entry: Entry) -> Verdict:
        return Verdict(
            entry.id, failure=Code.TOO_COMPLEX,
            failure_detail=f"reading the page took longer than its {self._timeout:g} s budget (--analysis-timeout)",
        )
