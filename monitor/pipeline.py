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
from monitor.models import EntryResult, FetchError, FetchResult, Network, PageText, RunResult
from monitor.rules import RuleInput, analyse
from monitor.rules.content import fingerprint
from monitor.settings import Settings, settings_diff, show_duration
from monitor.state import State, page_from_state, remember, remembered, validators
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


async def _crawl(
    urls: list[str],
    settings: Settings,
    prior: State,
    entry_urls: dict[str, str | None],
    watch_of: dict[str, str | None],
    progress: Progress | None,
    crawler_factory: Callable[..., Crawler],
    hub_url: str | None,
) -> Crawl:
    results: dict[str, FetchResult] = {}
    pages: dict[str, PageText] = {}
    hub_page: list[HubPage] = []
    failures = 0

    def on_result(url: str, fetched: FetchResult) -> None:
        nonlocal failures
        # Extract at once and drop the body: only the small PageText is kept per entry.
        if fetched.body is not None:
            if url == hub_url and fetched.ok:
                hub_page.append(parse_hub(fetched.body, fetched.headers, fetched.final_url))
            pages[url] = extract(fetched.body, fetched.headers, watch_of.get(url))
            fetched.body = None
        results[url] = fetched
        if not fetched.ok and fetched.status != 304:
            failures += 1
        if progress is not None:
            host = fetched.url.split("/")[2] if "://" in fetched.url else fetched.url
            progress(len(results), len(urls), failures, host)

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
        return Crawl(results, pages, crawler.requests, tuple(sorted(crawler.hosts)), hub_page[0] if hub_page else None)


@dataclass
class Crawl:
    fetched: dict[str, FetchResult]
    pages: dict[str, PageText]
    requests: int
    hosts: tuple[str, ...]
    hub_page: HubPage | None


def _not_checked(url: str, reason: str) -> FetchResult:
    return FetchResult(url=url, final_url=url, error=FetchError.NOT_CHECKED, error_detail=reason)


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
    entry_urls = {e.id: e.url for e in entries}
    urls = list(dict.fromkeys(e.url for e in entries if e.url))
    watch_of = {e.url: e.watch for e in entries if e.url}
    hub_url = catalog.hub.url if settings.check_hub else None
    entry_urls_only = list(urls)
    if hub_url and hub_url not in urls and not settings.is_excluded(hub_url):
        urls.append(hub_url)
    crawl = asyncio.run(_crawl(urls, settings, prior, entry_urls, watch_of, progress, crawler_factory, hub_url))
    fetched, pages = crawl.fetched, crawl.pages
    network = network_state([fetched[u] for u in entry_urls_only if u in fetched]) if fetched else Network.OK
    drift = _drift(catalog, crawl, hub_url)
    results: list[EntryResult] = []
    for entry in entries:
        if entry.url is None:
            results.append(EntryResult(entry, analyse(RuleInput(entry, None, None, today)) + drift.pop(entry.id, [])))
            continue
        got = fetched.get(entry.url) or _not_checked(entry.url, "the run's time budget ran out first")
        if got.error is FetchError.NOT_CHECKED:
            results.append(EntryResult(entry, [], checked=False))
            continue
        page = pages.get(entry.url)
        if got.not_modified and page is None:
            fragment = entry.url.split("#", 1)[1] if "#" in entry.url else None
            page = page_from_state(prior, entry.id, fragment)
        inp = RuleInput(entry, got, page, today, remembered(prior, entry.id, entry.url))
        results.append(
            EntryResult(
                entry,
                analyse(inp) + drift.pop(entry.id, []),
                final_url=got.final_url,
                http_status=got.status,
                elapsed_ms=got.elapsed_ms,
                page=page,
            )
        )
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
        status_sentence=_first_status_sentence,
    )
    run.entries = _with_archive_links(memo.results, settings) if suggest else memo.results
    run.new_findings = memo.new
    run.resolved_findings = memo.resolved
    return CheckOutcome(run, memo.state)




def _with_archive_links(results: list[EntryResult], settings: Settings) -> list[EntryResult]:
    dead = [r.entry.url for r in results if r.entry.url and any(f.code in WORTH_A_SUGGESTION for f in r.findings)]
    found = asyncio.run(find_archived(dead, user_agent=settings.user_agent)) if dead else {}
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
