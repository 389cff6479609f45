"""The `check` job from end to end: catalog -> fetch -> extract -> rules -> state -> run record.

This module wires the stages together and owns the run's clock and time budget; it writes no files
(cli.py does, through atomic.py) and decides nothing about links or text (the rules do).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from monitor.analysis import Analyser, EntryJob, HubJob, HubUnread, PageJob, Verdict, analyse_page
from monitor.archive import WORTH_A_SUGGESTION, find_archived
from monitor.catalog import Catalog
from monitor.fetch import Crawler, network_state
from monitor.findings import NEEDS_CONFIRMATION, Code, Finding
from monitor.models import Entry, EntryResult, FetchError, FetchResult, Network, RunResult, TextSnapshot
from monitor.settings import Settings, settings_diff, show_duration
from monitor.state import (
    FileSnapshot,
    PageFacts,
    SnapshotSpool,
    State,
    page_from_state,
    remember,
    remembered,
    validators,
)

if TYPE_CHECKING:
    from monitor.hub import HubPage

log = logging.getLogger(__name__)

Progress = Callable[[int, int, int, str], None]  # checked, total, failures so far, current host


@dataclass
class CheckOutcome:
    run: RunResult
    state: State | None  # None when nothing may be remembered (network unavailable)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for a stretch that builds what the run keeps to its end.

    Receiving the shards' results, judging them and rendering the reports allocate hundreds of thousands of
    objects that all stay alive; each time the allocations pass a threshold the collector walked them, and
    every tenth time the whole heap (a full collection in the middle of unpickling a shard's result took
    0.1 s): 0.2-0.3 s of the main process's CPU after the crawl, which found nothing to free. The collector's
    previous state is restored when the stretch ends (a test process goes on collecting). What the stretch
    made is then moved to the oldest generation as it is: left young, it was all walked by the first young
    collection after (0.03-0.09 s); garbage among it waits for the next full collection.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.freeze()  # every tracked object to the permanent generation, the young count reset...
            gc.unfreeze()  # ...and from there to the oldest generation: no object walked
            gc.enable()


def _utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class _Analysed:
    result: EntryResult
    facts: PageFacts | None


def _entry_job(entry: Entry, got: FetchResult, prior: State) -> EntryJob:
    """What a worker needs to judge ``entry``: last night's view of the page, and the page itself on a 304."""
    before = remembered(prior, entry.id, entry.url)
    if before is not None and before.snapshot is not None and not isinstance(
        before.snapshot, FileSnapshot | TextSnapshot
    ):
        # Only snapshots that can cross to a worker process: a file's path, or the text itself.
        before = replace(before, snapshot=TextSnapshot(before.snapshot.text() or ""))
    page = None
    if got.not_modified and got.body is None:
        fragment = entry.url.split("#", 1)[1] if entry.url and "#" in entry.url else None
        page = page_from_state(prior, entry.id, fragment)
    return EntryJob(entry, before, page)


def _analysed(entry: Entry, got: FetchResult, verdict: Verdict, prior: State, spool: SnapshotSpool) -> _Analysed:
    """The entry's result, and what the state keeps of its page (its watched text spooled to disk)."""
    result = EntryResult(entry, list(verdict.findings), final_url=got.final_url, http_status=got.status,
                         elapsed_ms=got.elapsed_ms, page=verdict.page)
    facts = None
    if verdict.page is not None and verdict.watched_hash is not None:
        before = remembered(prior, entry.id, entry.url)
        kept = before.snapshot if verdict.watched is None and before is not None else None
        # A failing page's text is never kept (remember() keeps last night's snapshot for it): it is not
        # spooled, so a first night does not write, and then delete, a file for each dead or soft-404 page.
        failing = any(f.code in NEEDS_CONFIRMATION for f in verdict.findings)
        snapshot = kept or (_NOT_KEPT if failing else spool.put(verdict.watched or ""))
        facts = PageFacts(verdict.watched_hash, verdict.status_line, snapshot)
    return _Analysed(result, facts)


@dataclass(frozen=True)
class _NotKept:
    """The snapshot of a page with a failing verdict, which the state never keeps (nor reads)."""

    def text(self) -> str | None:
        return None


_NOT_KEPT = _NotKept()


def _no_verdict(entry: Entry, code: Code, detail: str) -> Finding:
    """The finding of an entry the monitor could not judge tonight: check-failed or too-complex."""
    if code is Code.TOO_COMPLEX:
        return Finding(
            code,
            f"{entry.url} was fetched, but reading the page took too long: {detail}. It was not analysed tonight.",
            {"error": detail},
            "A page that needs this long is unusual (a huge or machine-made page): open it to check it is what "
            f"{entry.where} means to link to; a legitimate one can be given more time with --analysis-timeout.",
        )
    return Finding(
        Code.CHECK_FAILED,
        f"hub-monitor failed to check {entry.url}: {detail}. This is a fault of the monitor, not a verdict "
        "on the link.",
        {"error": detail},
        "Please report it to the hub-monitor maintainers with this message and the traceback that "
        "`hub-monitor check --verbose` prints. The entry keeps its previous verdicts meanwhile.",
    )


def _carried_over(prior: State, entry: Entry, confirm_after: int) -> list[Finding]:
    """Last run's open findings of an entry not judged tonight, so a failure never vanishes unseen."""
    prev = prior.entries.get(entry.id)
    if prev is None or prev.url != entry.url:
        return []
    carried: list[Finding] = []
    for value, first_seen in sorted(prev.findings.items()):
        try:
            code = Code(value)
        except ValueError:
            continue  # a code from a newer version of the tool
        confirmed = code not in NEEDS_CONFIRMATION or prev.consecutive_failures >= confirm_after
        when = prev.last_checked or "the last run"
        carried.append(Finding(
            code,
            f"Not checked tonight; the verdict of the last check ({when}) stands: {code.value}.",
            {"carried_over": "true", "last_checked": when},
            confirmed=confirmed,
            first_seen=first_seen,
        ))
    return carried


class _Deferred:
    """An awaitable whose coroutine is made only when it is awaited: a caller that drops it (a crawler cut short,
    a test's fake) leaves no "never awaited" coroutine behind, and the page waits in ``pending``."""

    def __init__(self, start: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._start = start

    def __await__(self) -> Generator[Any, None, None]:
        return self._start().__await__()


async def _both(first: Awaitable[None], second: Awaitable[None]) -> None:
    await asyncio.gather(first, second)


@dataclass(frozen=True)
class CrawlJob:
    """What one crawl fetches and reads: the run's, or one crawl shard's part of it (monitor/shards.py)."""

    urls: list[str]
    settings: Settings
    prior: State
    entries_of: dict[str, list[Entry]]  # by URL
    hub_url: str | None
    today: date
    crawler_factory: Callable[..., Crawler]
    analyse_page: Callable[[PageJob], list[Verdict]]


async def _crawl(job: CrawlJob, progress: Progress | None, spool: SnapshotSpool | None = None) -> Crawl:
    urls, settings, prior, entries_of, hub_url = job.urls, job.settings, job.prior, job.entries_of, job.hub_url
    results: dict[str, FetchResult] = {}
    analysed: dict[str, _Analysed] = {}
    unjudged: dict[str, Finding] = {}  # entry id -> why no verdict was reached (check-failed, too-complex)
    excluded: dict[str, str] = {}  # entry id -> why
    hub_page: list[HubPage] = []
    pending: dict[str, FetchResult] = {}  # fetched, not yet analysed
    hub_unread: list[HubJob] = []  # the hub's answer until it is read
    failures = 0
    spool = spool if spool is not None else SnapshotSpool()

    async def analyse_url(url: str, analyser: Analyser) -> None:
        fetched = pending[url]
        entries = entries_of.get(url, [])
        page_job = PageJob(fetched, tuple(_entry_job(e, fetched, prior) for e in entries), job.today)
        verdicts = {v.entry_id: v for v in await analyser.run(page_job)}
        pending.pop(url, None)
        fetched.body = None  # only findings and small facts are kept per entry
        for entry in entries:
            verdict = verdicts.get(entry.id)
            if verdict is None or verdict.failure is not None:
                code = verdict.failure if verdict is not None else Code.CHECK_FAILED
                detail = verdict.failure_detail if verdict is not None else "no verdict came back"
                if verdict is not None and verdict.trace:
                    log.debug("unforeseen error while analysing %s:\n%s", url, verdict.trace)
                unjudged[entry.id] = _no_verdict(entry, code, detail)
            else:
                analysed[entry.id] = _analysed(entry, fetched, verdict, prior, spool)

    async def read_hub(hub_job: HubJob, analyser: Analyser) -> None:
        try:
            hub_page.append(await analyser.read_hub(hub_job))
        except HubUnread as exc:  # the hub is one page among others: drift says it was unread
            log.warning("the hub page %s could not be read: %s", hub_url, exc)
            if exc.trace:
                log.debug("traceback:\n%s", exc.trace)
        hub_unread.remove(hub_job)

    def on_result(url: str, fetched: FetchResult) -> Awaitable[None] | None:
        """Record one URL's answer; its analysis is returned for the crawler to await (so pages never pile up)."""
        nonlocal failures
        results[url] = fetched
        if not fetched.ok and fetched.status != 304:
            failures += 1
        if progress is not None:
            host = fetched.url.split("/")[2] if "://" in fetched.url else fetched.url
            progress(len(results), len(urls), failures, host)
        hub: HubJob | None = None
        if fetched.body is not None and url == hub_url and fetched.ok:
            hub = HubJob(fetched.body, fetched.headers, fetched.final_url)  # holds the body the entries may drop
            hub_unread.append(hub)
        entries = entries_of.get(url, [])
        if fetched.error is FetchError.NOT_CHECKED:
            # An excluded URL is not checked: its entries are listed as such, with the reason and no finding.
            excluded.update((entry.id, fetched.error_detail) for entry in entries)
            entries = []
        elif fetched.error is FetchError.CHECK_FAILED:
            unjudged.update((e.id, _no_verdict(e, Code.CHECK_FAILED, fetched.error_detail)) for e in entries)
            entries = []
        if not entries:
            fetched.body = None
            return None if hub is None else _Deferred(lambda: read_hub(hub, analyser))
        pending[url] = fetched
        if hub is None:
            return _Deferred(lambda: analyse_url(url, analyser))
        return _Deferred(lambda: _both(read_hub(hub, analyser), analyse_url(url, analyser)))

    entry_urls = {e.id: e.url for entries in entries_of.values() for e in entries}
    crawler = job.crawler_factory(settings, validators=validators(prior, entry_urls))
    async with Analyser(settings.workers, settings.analysis_timeout, job.analyse_page) as analyser, crawler:
        budget_spent = False
        # Whatever finished within the budget is reported; the rest is listed as not checked.
        try:
            await asyncio.wait_for(crawler.fetch_all(urls, on_result=on_result), timeout=settings.max_runtime)
        except TimeoutError:
            budget_spent = True
            log.warning(
                "the run's time budget (max_runtime %s) ran out: %d of %d URLs not checked",
                show_duration(settings.max_runtime), len(urls) - len(results), len(urls),
            )
        if pending or hub_unread:
            # Answers whose analysis was cut short by the budget (or never awaited): read them now, within
            # one more analysis budget at most when the run's own is spent; the rest carry their verdicts over.
            jobs = asyncio.gather(*(analyse_url(url, analyser) for url in list(pending)),
                                  *(read_hub(hub_job, analyser) for hub_job in list(hub_unread)))  # fmt: skip
            try:
                await (asyncio.wait_for(jobs, settings.analysis_timeout) if budget_spent else jobs)
            except TimeoutError:
                log.warning("%d fetched page(s) not analysed before the time budget ran out", len(pending))
        return Crawl(results, analysed, excluded, crawler.requests, tuple(sorted(crawler.hosts)),
                     hub_page[0] if hub_page else None, unjudged)


@dataclass(repr=False)
class Crawl:
    fetched: dict[str, FetchResult]
    analysed: dict[str, _Analysed]  # by entry id
    excluded: dict[str, str]  # entry id -> the exclude pattern that matched its URL
    requests: int
    hosts: tuple[str, ...]
    hub_page: HubPage | None
    unjudged: dict[str, Finding]  # by entry id: check-failed or too-complex, no verdict reached

    def __repr__(self) -> str:
        # Kept short on purpose: on Python 3.11, asyncio.run formats the repr of its main task, result
        # included, when it restores the SIGINT handler; a dataclass repr of every page's text made a
        # transient string of about 140 KB per entry and set the run's peak memory.
        return f"<Crawl of {len(self.fetched)} URLs, {self.requests} requests>"


def check(
    catalog: Catalog,
    settings: Settings,
    prior: State,
    *,
    today: date,
    progress: Progress | None = None,
    crawler_factory: Callable[..., Crawler] = Crawler,
    suggest: bool = False,
    analyse_page: Callable[[PageJob], list[Verdict]] = analyse_page,
    spool: SnapshotSpool | None = None,
) -> CheckOutcome:
    """One run of `check`. ``crawler_factory`` and ``analyse_page`` (which must be importable by name, for
    the worker processes) are injectable for tests; ``spool`` keeps tonight's snapshots (by default in one
    anonymous temp file; the command's, with a ``Staging``, already in their own files beside the state)."""
    started = _utc_now()
    t0 = time.monotonic()
    entries = catalog.entries
    urls = list(dict.fromkeys(e.url for e in entries if e.url))
    entries_of: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.url:
            entries_of.setdefault(entry.url, []).append(entry)
    hub_url = catalog.hub.url if settings.check_hub else None
    entry_urls_only = list(urls)
    if hub_url and hub_url not in urls and not settings.is_excluded(hub_url):
        urls.append(hub_url)
    job = CrawlJob(urls, settings, prior, entries_of, hub_url, today, crawler_factory, analyse_page)
    crawl: Crawl | None = None
    if settings.shards > 1:  # hosts split over processes (monitor/shards.py); one core starts nothing new
        from monitor import shards

        count = shards.shard_count(settings, urls, crawler_factory, analyse_page)
        if count > 1:
            crawl = shards.crawl(job, progress, count=count, budget=settings.max_runtime - (time.monotonic() - t0),
                                 staging=spool.lend_staging() if spool is not None else None)
    if crawl is None:
        crawl = asyncio.run(_crawl(job, progress, spool))
    fetched = crawl.fetched
    network = network_state([fetched[u] for u in entry_urls_only if u in fetched]) if fetched else Network.OK
    drift = _drift(catalog, crawl, hub_url)
    results: list[EntryResult] = []
    facts: dict[str, PageFacts] = {}
    out_of_time = f"the run's time budget (max_runtime {show_duration(settings.max_runtime)}) ran out first"
    for entry in entries:
        if entry.url is None:
            from monitor.rules import RuleInput, analyse  # the pages' rules are the workers'; these few are here

            results.append(EntryResult(entry, analyse(RuleInput(entry, None, None, today)) + drift.pop(entry.id, [])))
            continue
        done = crawl.analysed.get(entry.id)
        if done is None and entry.id in crawl.excluded:
            results.append(EntryResult(entry, [], checked=False, not_checked_reason=crawl.excluded[entry.id]))
            continue
        if done is None:
            # No verdict tonight: last run's stands (the state keeps it too), marked as carried over, so an
            # entry not reached is never counted as fine and a known failure never drops out of sight.
            problem = crawl.unjudged.get(entry.id)
            got = crawl.fetched.get(entry.url)
            reason = f"{problem.code.value}: {problem.evidence['error']}" if problem else out_of_time
            findings = ([problem] if problem else []) + _carried_over(prior, entry, settings.confirm_after)
            results.append(EntryResult(
                entry, findings + drift.pop(entry.id, []), final_url=got.final_url if got else None,
                http_status=got.status if got else None, elapsed_ms=got.elapsed_ms if got else None,
                checked=False, not_checked_reason=reason, carried_over=True,
            ))
            continue
        done.result.findings += drift.pop(entry.id, [])
        if done.facts is not None:
            facts[entry.id] = done.facts
        results.append(done.result)
    finished = _utc_now()
    run = RunResult(
        hub=catalog.hub,
        catalog_path=catalog.path,
        started_at=started,
        finished_at=finished,
        today=today.isoformat(),
        network=network,
        entries=results,
        duration_ms=int((time.monotonic() - t0) * 1000),
        requests=crawl.requests,
        hosts=crawl.hosts,
        hub_findings=[f for items in drift.values() for f in items],
        settings_changed=settings_diff(settings),
        confirm_after=settings.confirm_after,
    )
    if network is Network.UNAVAILABLE:
        # Nothing was concluded: no counters move, no verdicts change, and the reports say so alike: no
        # entry carries a finding (confirmed or not) and none counts as an error or as fine.
        offline = "the network was unavailable: nothing was judged"
        run.entries = [
            EntryResult(r.entry, [], checked=False, not_checked_reason=offline) if r.entry.url else r for r in results
        ]
        run.hub_findings = []
        return CheckOutcome(run, None)
    with collector_paused():
        memo = remember(
            prior,
            results,
            fetched,
            today=today.isoformat(),
            now=finished,
            confirm_after=settings.confirm_after,
            fingerprint=_fingerprint,
            facts=facts,  # every page's facts were taken on arrival, so remember() need not read pages again
        )
    left = settings.max_runtime - (time.monotonic() - t0)
    run.entries = _with_archive_links(memo.results, settings, left) if suggest else memo.results
    run.new_findings = memo.new
    run.resolved_findings = memo.resolved
    return CheckOutcome(run, memo.state)


def _with_archive_links(results: list[EntryResult], settings: Settings, within: float) -> list[EntryResult]:
    dead = [r.entry.url for r in results if r.entry.url and any(f.code in WORTH_A_SUGGESTION for f in r.findings)]
    if dead and within <= 0:
        log.warning("the run's time budget is spent: no archived copies looked up for %d dead link(s)", len(dead))
    found = asyncio.run(find_archived(dead, user_agent=settings.user_agent, within=within)) if dead else {}
    out: list[EntryResult] = []
    for result in results:
        snapshot = found.get(result.entry.url or "")
        if snapshot:
            result.findings = [
                replace(f, evidence={**f.evidence, "archive": snapshot}) if f.code in WORTH_A_SUGGESTION else f
                for f in result.findings
            ]
        out.append(result)
    return out


def _fingerprint(text: str) -> str:
    # Imported when needed (the workers take every page's fingerprint): the main process starts without the
    # pages' rules and their regexes.
    from monitor.rules.content import fingerprint

    return fingerprint(text)


def _drift(catalog: Catalog, crawl: Crawl, hub_url: str | None) -> dict[str, list[Finding]]:
    """Hub-drift findings by catalog entry id; ids the catalog lacks are the hub's new entries."""
    if hub_url is None:
        return {}
    # Imported only for a hub to compare: monitor.hub brings bs4 and the status rules, a third of a second of
    # the main process's CPU at the end of a run that has no hub page.
    from monitor.hub import hub_drift

    if crawl.hub_page is None:
        got = crawl.fetched.get(hub_url)
        if got is None:
            return {}
        reason = got.error_detail or (f"HTTP {got.status}" if got.status else "no answer")
        note = Finding(Code.HUB_DRIFT, f"the hub page {hub_url} could not be read ({reason}): drift not checked")
        return {"": [note]}
    by_entry: dict[str, list[Finding]] = {}
    for item in hub_drift(catalog.entries, crawl.hub_page):
        by_entry.setdefault(item.entry_id, []).append(item.finding())
    return by_entry
