"""The `check` job from end to end: catalog -> fetch -> extract -> rules -> state -> run record.

This module wires the stages together and owns the run's clock and time budget; it writes no files
(cli.py does, through atomic.py) and decides nothing about links or text (the rules do).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from monitor.archive import WORTH_A_SUGGESTION, find_archived
from monitor.catalog import Catalog
from monitor.extract import extract
from monitor.fetch import Crawler, network_state
from monitor.findings import Code, Finding
from monitor.hub import HubPage, hub_drift, parse_hub
from monitor.models import Entry, EntryResult, FetchError, FetchResult, Network, PageText, RunResult
from monitor.rules import RuleInput, analyse
from monitor.rules.content import fingerprint
from monitor.settings import Settings, settings_diff, show_duration
from monitor.state import (
    PageFacts,
    SnapshotSpool,
    State,
    page_from_state,
    remember,
    remembered,
    validators,
)
from monitor.status import find_status_sentences

log = logging.getLogger(__name__)

Progress = Callable[[int, int, int, str], None]  # checked, total, failures so far, current host


@dataclass
class CheckOutcome:
    run: RunResult
    state: State | None  # None when nothing may be remembered (network unavailable)


def _utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _first_status_sentence(text: str) -> str | None:
    sentences = find_status_sentences(text)
    return sentences[0] if sentences else None


@dataclass
class _Analysed:
    result: EntryResult
    facts: PageFacts | None


def _analysed(entry: Entry, got: FetchResult, page: PageText | None, prior: State, today: date,
              spool: SnapshotSpool) -> _Analysed:
    """The entry's findings and what the state keeps of its page, while the page is at hand."""
    fragment = entry.url.split("#", 1)[1] if entry.url and "#" in entry.url else None
    if got.not_modified and page is None:
        page = page_from_state(prior, entry.id, fragment)
    before = remembered(prior, entry.id, entry.url)
    findings = analyse(RuleInput(entry, got, page, today, before))
    facts = None
    if page is not None:
        watched_hash = fingerprint(page.watched)
        # Text that changed only in noise keeps last night's snapshot file: no rewrite, no churn in git.
        kept = before.snapshot if before is not None and before.watched_hash == watched_hash else None
        snapshot = kept or spool.put(page.watched)
        # Only for an entry that claims a status: its rules have just read the page's status sentences (still
        # remembered by status.py); for the others the search would cost a twentieth of the run for nothing.
        status_line = _first_status_sentence(page.text) if entry.status else None
        facts = PageFacts(watched_hash, status_line, snapshot)
        # The texts are now spooled or on disk, and of the page's ids the state needs only the URL's own.
        page = replace(page, text="", watched="", ids=page.ids & {fragment} if fragment else frozenset())
    result = EntryResult(entry, findings, final_url=got.final_url, http_status=got.status,
                         elapsed_ms=got.elapsed_ms, page=page)
    return _Analysed(result, facts)


async def _crawl(
    urls: list[str],
    settings: Settings,
    prior: State,
    entries_of: dict[str, list[Entry]],
    progress: Progress | None,
    crawler_factory: Callable[..., Crawler],
    hub_url: str | None,
    today: date,
) -> Crawl:
    results: dict[str, FetchResult] = {}
    analysed: dict[str, _Analysed] = {}
    excluded: dict[str, str] = {}  # entry id -> why
    hub_page: list[HubPage] = []
    failures = 0
    spool = SnapshotSpool()

    def on_result(url: str, fetched: FetchResult) -> None:
        nonlocal failures
        # Analyse at once and drop the body and the page: only findings and small facts are kept per entry.
        body = fetched.body
        if body is not None and url == hub_url and fetched.ok:
            hub_page.append(parse_hub(body, fetched.headers, fetched.final_url))
        fetched.body = None
        # Entries sharing a URL may watch different regions of it: one reading of the page per region.
        pages: dict[str | None, PageText] = {}
        # An excluded URL is not checked: its entries are listed as such, with the reason and no finding.
        if fetched.error is FetchError.NOT_CHECKED:
            excluded.update((entry.id, fetched.error_detail) for entry in entries_of.get(url, []))
        else:
            for entry in entries_of.get(url, []):
                if body is not None and entry.watch not in pages:
                    pages[entry.watch] = extract(body, fetched.headers, entry.watch)
                analysed[entry.id] = _analysed(entry, fetched, pages.get(entry.watch), prior, today, spool)
        results[url] = fetched
        if not fetched.ok and fetched.status != 304:
            failures += 1
        if progress is not None:
            host = fetched.url.split("/")[2] if "://" in fetched.url else fetched.url
            progress(len(results), len(urls), failures, host)

    entry_urls = {e.id: e.url for entries in entries_of.values() for e in entries}
    crawler = crawler_factory(settings, validators=validators(prior, entry_urls))
    async with crawler:
        # Whatever finished within the budget is reported; the rest is listed as not checked.
        try:
            await asyncio.wait_for(crawler.fetch_all(urls, on_result=on_result), timeout=settings.max_runtime)
        except TimeoutError:
            log.warning(
                "the run's time budget (max_runtime %s) ran out: %d of %d URLs not checked",
                show_duration(settings.max_runtime), len(urls) - len(results), len(urls),
            )
        return Crawl(results, analysed, excluded, crawler.requests, tuple(sorted(crawler.hosts)),
                     hub_page[0] if hub_page else None)


@dataclass(repr=False)
class Crawl:
    fetched: dict[str, FetchResult]
    analysed: dict[str, _Analysed]  # by entry id
    excluded: dict[str, str]  # entry id -> the exclude pattern that matched its URL
    requests: int
    hosts: tuple[str, ...]
    hub_page: HubPage | None

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
) -> CheckOutcome:
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
    crawl = asyncio.run(
        _crawl(urls, settings, prior, entries_of, progress, crawler_factory, hub_url, today)
    )
    fetched = crawl.fetched
    network = network_state([fetched[u] for u in entry_urls_only if u in fetched]) if fetched else Network.OK
    drift = _drift(catalog, crawl, hub_url)
    results: list[EntryResult] = []
    facts: dict[str, PageFacts] = {}
    out_of_time = f"the run's time budget (max_runtime {show_duration(settings.max_runtime)}) ran out first"
    for entry in entries:
        if entry.url is None:
            results.append(EntryResult(entry, analyse(RuleInput(entry, None, None, today)) + drift.pop(entry.id, [])))
            continue
        done = crawl.analysed.get(entry.id)
        if done is None:
            reason = crawl.excluded.get(entry.id) or out_of_time
            results.append(EntryResult(entry, [], checked=False, not_checked_reason=reason))
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
        # Nothing was concluded: no counters move, no verdicts change.
        return CheckOutcome(run, None)
    memo = remember(
        prior,
        results,
        fetched,
        today=today.isoformat(),
        now=finished,
        confirm_after=settings.confirm_after,
        fingerprint=fingerprint,
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


def _drift(catalog: Catalog, crawl: Crawl, hub_url: str | None) -> dict[str, list[Finding]]:
    """Hub-drift findings by catalog entry id; ids the catalog lacks are the hub's new entries."""
    if hub_url is None:
        return {}
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
