"""Pages are read off the event loop, each within its time budget (issue 12, principle 2).

The work functions below are module-level so that the spawned worker processes can import them by name. The
"heavy" page burns CPU for far longer than its budget: it must cost its own entry a `too-complex` finding and
nothing else, and the worker it held is killed and replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from monitor import analysis, pipeline
from monitor.analysis import Analyser, EntryJob, PageJob, Verdict, analyse_page
from monitor.catalog import load_catalog
from monitor.fetch import Crawler
from monitor.findings import Code
from monitor.models import Entry, FetchResult
from monitor.report import to_json
from monitor.settings import Settings
from monitor.state import State
from tests.catalogs import write_catalog
from tests.server import TestServer, html

TODAY = date(2026, 11, 25)
BUDGET = 1.5  # seconds of analysis per page in these tests: ample for a small page on a loaded machine


def heavy_or_real(job: PageJob) -> list[Verdict]:
    """A page marked "heavy" takes a minute of CPU (it is killed long before); a "crash" page kills its worker."""
    if job.fetched.body and b"heavy" in job.fetched.body:
        end = time.monotonic() + 60
        while time.monotonic() < end:
            pass
    if job.fetched.body and b"crash" in job.fetched.body:
        os.kill(os.getpid(), signal.SIGKILL)
    return analyse_page(job)


def _job(name: str, body: bytes) -> PageJob:
    url = f"https://site.example/{name}"
    got = FetchResult(url, url, 200, headers={"content-type": "text/html"}, body=body)
    return PageJob(got, (EntryJob(Entry(name, "S", name, url), None),), TODAY)


def test_a_page_past_its_budget_is_too_complex_and_its_worker_is_replaced() -> None:
    async def go() -> list[list[Verdict]]:
        async with Analyser(2, BUDGET, heavy_or_real) as analyser:
            heavy = analyser.run(_job("heavy", b"<title>heavy</title>"))
            fine = analyser.run(_job("fine", b"<title>Fine</title><p>text</p>"))
            crashed = analyser.run(_job("crash", b"<title>crash</title>"))
            first = await asyncio.gather(heavy, fine, crashed)
            # Both workers were replaced: pages are read as before.
            after = await asyncio.gather(*(analyser.run(_job(f"p{n}", b"<title>P</title>")) for n in range(4)))
            return [*first, *after]

    heavy, fine, crashed, *after = asyncio.run(go())
    assert heavy[0].failure is Code.TOO_COMPLEX and "1.5 s budget" in heavy[0].failure_detail
    assert fine[0].failure is None and fine[0].page is not None
    assert crashed[0].failure is Code.CHECK_FAILED
    assert crashed[0].failure_detail == "WorkerDied: the analysis worker was killed by SIGKILL"
    assert all(v[0].failure is None and v[0].page is not None for v in after)


def test_pages_waiting_behind_a_heavy_or_crashing_page_are_read_on_their_own_budget() -> None:
    """Each worker holds the page it reads and the next one, so it never waits between two; a page held behind
    one that is killed is read by another worker, and its budget starts when its reading does."""

    async def go() -> list[list[Verdict]]:
        async with Analyser(2, BUDGET, heavy_or_real) as analyser:
            pages = [_job("heavy", b"<title>heavy</title>"), _job("crash", b"<title>crash</title>")]
            pages += [_job(f"p{n}", b"<title>P</title><p>text</p>") for n in range(6)]
            return await asyncio.gather(*(analyser.run(page) for page in pages))

    heavy, crashed, *fine = asyncio.run(go())
    assert heavy[0].failure is Code.TOO_COMPLEX
    assert crashed[0].failure is Code.CHECK_FAILED
    assert [v[0].failure for v in fine] == [None] * 6  # none charged with the heavy page's time, none lost


def test_a_cpu_heavy_page_leaves_another_hosts_timing_and_verdict_untouched(
    tmp_path: Path, server: TestServer, server2: TestServer
) -> None:
    """At b48677a the heavy page's analysis held the event loop, and the other host's answer came out a timeout."""

    def later(title: str) -> Any:
        page = html(title, "<p>An honest page on another host.</p>")

        def handler(h: Any) -> None:
            time.sleep(0.3)  # answers after the heavy page has arrived and its reading has begun
            page(h)

        return handler

    urls = {
        "heavy": server.route("/heavy", html("heavy", "<p>heavy</p>")),
        "other": server2.route("/other", later("Other")),
    }
    catalog = load_catalog(write_catalog(tmp_path / "hub.yaml", urls))
    settings = Settings(allow_hosts=frozenset({"127.0.0.1"}), host_request_interval=0.0, timeout=2.0,
                        max_retries=0, check_hub=False, workers=2, analysis_timeout=BUDGET)  # fmt: skip
    started = time.monotonic()
    outcome = pipeline.check(catalog, settings, State(), today=TODAY, crawler_factory=Crawler,
                             analyse_page=heavy_or_real)  # fmt: skip
    seconds = time.monotonic() - started
    entries = {e["id"]: e for e in to_json(outcome.run)["entries"]}
    assert [f["code"] for f in entries["heavy"]["findings"]] == ["too-complex"]
    assert (entries["other"]["http_status"], entries["other"]["findings"]) == (200, [])
    assert entries["other"]["elapsed_ms"] < 2000  # well within its timeout: nothing held its answer
    assert seconds < 30  # the minute of CPU was cut at the budget


def through_a_worker(job: PageJob) -> list[Verdict]:
    """analyse_page under another name: the Analyser hands it to its worker whatever the page's size."""
    return analyse_page(job)


def _corpus_jobs() -> list[PageJob]:
    from tests.corpus.pages import score as corpus

    jobs = []
    for page in corpus.load():
        body = (corpus.HERE / page.file).read_bytes()
        got = FetchResult(page.url, page.url, page.status, headers=dict(page.headers), body=body)
        entry = Entry(page.name.replace("/", "-"), "Corpus", page.name, page.url, status="Applications are open.")
        jobs.append(PageJob(got, (EntryJob(entry, None),), TODAY))
    return jobs


def test_small_pages_read_on_the_event_loop_get_the_verdicts_a_worker_gives() -> None:
    """With one worker (a crawl shard) a page up to INLINE_MAX is read on the loop, not handed to the thread."""
    jobs = _corpus_jobs()
    padding = b"<!--" + b"-" * analysis.INLINE_MAX + b"-->"
    big = [replace(job, fetched=replace(job.fetched, body=(job.fetched.body or b"") + padding)) for job in jobs[:5]]
    assert sum(len(job.fetched.body or b"") <= analysis.INLINE_MAX for job in jobs) >= 5  # read on the loop
    jobs += big  # read in the thread

    async def go(work: Any) -> list[list[Verdict]]:
        async with Analyser(1, 30.0, work) as analyser:
            return list(await asyncio.gather(*(analyser.run(job) for job in jobs)))

    assert asyncio.run(go(analyse_page)) == asyncio.run(go(through_a_worker))


def test_a_small_page_read_on_the_event_loop_past_its_budget_is_too_complex() -> None:
    """Its reading cannot be cut short there, but the verdict is a worker's: past the budget, too-complex."""
    job = _job("small", b"<title>Small</title><p>Applications are open.</p>")

    async def go(budget: float) -> list[Verdict]:
        async with Analyser(1, budget) as analyser:
            return await analyser.run(job)

    spent = asyncio.run(go(1e-9))  # no reading takes less than a nanosecond
    assert [v.failure for v in spent] == [Code.TOO_COMPLEX]
    assert "1e-09 s budget" in spent[0].failure_detail
    assert asyncio.run(go(30.0)) == analyse_page(job)


@pytest.mark.parametrize("workers", [1, 2])
def test_pages_read_in_a_thread_or_in_processes_give_the_same_verdicts(tmp_path: Path, workers: int) -> None:
    from tests.test_isolation import FakeCrawler

    urls = {name: f"https://site.example/{name}" for name in ("first", "dead", "last")}
    catalog = load_catalog(write_catalog(tmp_path / "hub.yaml", urls))
    outcome = pipeline.check(catalog, Settings(workers=workers, check_hub=False), State(), today=TODAY,
                             crawler_factory=FakeCrawler)  # fmt: skip
    codes = {r.entry.id: [f.code.value for f in r.findings] for r in outcome.run.entries}
    assert codes == {"first": [], "dead": ["dead-link"], "last": []}
    assert outcome.state is not None and set(outcome.state.snapshots) == {"first", "last"}


class HubCrawler:
    """A hub page listing one entry of the catalog and one the catalog lacks, and the entries' pages."""

    HUB = (b"<title>Test Hub</title><main><h2>Test</h2><ul>"
           b"<li><a href='https://site.example/first'>first</a></li>"
           b"<li><a href='https://site.example/new'>A new resource</a></li></ul></main>")  # fmt: skip

    def __init__(self, settings: Settings, **_: object) -> None:
        self.requests = 0
        self.hosts: tuple[str, ...] = ("site.example",)

    async def __aenter__(self) -> HubCrawler:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    async def fetch_all(self, urls: list[str], on_result: Any) -> None:
        for url in urls:
            body = self.HUB if url.endswith("/hub") else f"<title>{url}</title><p>Some text.</p>".encode()
            analysis = on_result(url, FetchResult(url, url, 200, headers={"content-type": "text/html"}, body=body))
            if analysis is not None:
                await analysis


def _hub_catalog(tmp_path: Path) -> Path:
    path = tmp_path / "hub.yaml"
    path.write_text("version: 1\nhub:\n  title: Test Hub\n  url: https://site.example/hub\nentries:\n"
                    "  - id: first\n    section: Test\n    title: first\n"
                    "    url: https://site.example/first\n")
    return path


@pytest.mark.parametrize("workers", [1, 2])
def test_the_hub_page_is_read_off_the_event_loop_and_its_drift_found(tmp_path: Path, workers: int) -> None:
    catalog = load_catalog(_hub_catalog(tmp_path))
    outcome = pipeline.check(catalog, Settings(workers=workers), State(), today=TODAY, crawler_factory=HubCrawler)
    drift = [f.evidence.get("drift") for f in outcome.run.hub_findings]
    assert drift == ["new-on-hub"], outcome.run.hub_findings


def test_a_hub_page_that_cannot_be_read_is_a_warning_and_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from monitor import hub

    def broken(*_: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(hub, "parse_hub", broken)  # read in this process's thread: --workers 1
    catalog = load_catalog(_hub_catalog(tmp_path))
    outcome = pipeline.check(catalog, Settings(workers=1), State(), today=TODAY, crawler_factory=HubCrawler)
    assert "the hub page https://site.example/hub could not be read: RecursionError: maximum recursion" in caplog.text
    assert ["could not be read" in f.message for f in outcome.run.hub_findings] == [True]
    assert [f.code.value for f in outcome.run.entries[0].findings] == []


def _workers_of(parent: int) -> set[int]:
    """The process ids of ``parent``'s analysis workers, from /proc."""
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"monitor.workers" in command:
            found.add(int(pid))
    return found


def test_workers_ignore_sigint_and_keep_reading() -> None:
    """Ctrl-C is the main process's to handle (it ends the run and kills them); a worker that took it would die
    and cost its page a check-failed finding."""

    async def go() -> tuple[set[int], list[list[Verdict]], set[int]]:
        async with Analyser(2, BUDGET, heavy_or_real) as analyser:
            await asyncio.gather(*(analyser.run(_job(f"w{n}", b"<title>W</title>")) for n in range(4)))
            pids = _workers_of(os.getpid())
            for pid in pids:
                os.kill(pid, signal.SIGINT)
            verdicts = await asyncio.gather(*(analyser.run(_job(f"p{n}", b"<title>P</title>")) for n in range(4)))
            return pids, verdicts, _workers_of(os.getpid())

    before, verdicts, after = asyncio.run(go())
    assert len(before) == 2 and after == before
    assert all(v[0].failure is None for v in verdicts)


CHILD = """
import asyncio, sys, time
from tests.test_analysis import _job, heavy_or_real
from monitor.analysis import Analyser

async def go():
    async with Analyser(2, 30, heavy_or_real) as analyser:
        await asyncio.gather(*(analyser.run(_job(f"p{n}", b"<title>P</title>")) for n in range(4)))
        # Both workers busy for a minute: neither would notice its socket closing.
        heavy = [asyncio.ensure_future(analyser.run(_job(f"heavy{n}", b"<title>heavy</title>"))) for n in range(2)]
        await asyncio.sleep(0.2)
        print("ready", flush=True)
        await asyncio.gather(*heavy)

asyncio.run(go())
"""


def test_workers_die_with_a_run_killed_by_sigkill() -> None:
    """SIGKILL leaves no handler to kill them: the kernel does (PR_SET_PDEATHSIG), so none is left behind."""
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[1])  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
        workers = _workers_of(child.pid)
        assert len(workers) == 2
    finally:
        child.kill()
        child.wait()
    deadline = time.monotonic() + 10
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)  # the kernel's kill is asynchronous: a moment, not a measured duration
    assert not any(map(_alive, workers))


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead
    except OSError:
        return False


def test_a_worker_that_died_between_two_runs_is_replaced_before_the_next_reads_a_page() -> None:
    async def read(names: list[str]) -> list[list[Verdict]]:
        async with Analyser(2, BUDGET, heavy_or_real) as analyser:
            return await asyncio.gather(*(analyser.run(_job(name, b"<title>P</title>")) for name in names))

    asyncio.run(read(["a", "b", "c"]))
    pids = _workers_of(os.getpid())
    victim = min(pids)
    os.kill(victim, signal.SIGKILL)  # the kernel's out-of-memory killer, say, while no run was on
    while _alive(victim):
        time.sleep(0.01)
    verdicts = asyncio.run(read([f"p{n}" for n in range(6)]))
    assert [v[0].failure for v in verdicts] == [None] * 6
    assert len(_workers_of(os.getpid()) - {victim}) == 2


def test_a_process_forked_after_a_run_starts_its_own_workers_and_leaves_the_parents_alone() -> None:
    """A crawl shard is forked from a process with one thread: in a program that ran checks before, that
    process holds workers, whose sockets the shard must not read from, nor kill at its end."""

    async def read(names: list[str]) -> list[list[Verdict]]:
        async with Analyser(2, BUDGET, heavy_or_real) as analyser:
            return await asyncio.gather(*(analyser.run(_job(name, b"<title>P</title>")) for name in names))

    asyncio.run(read(["a", "b"]))
    ours = _workers_of(os.getpid())
    child = os.fork()
    if child == 0:  # pragma: no cover - the forked child reports through its exit code
        code = 1
        with contextlib.suppress(BaseException):
            fine = all(v[0].failure is None for v in asyncio.run(read(["c", "d", "e"])))
            code = 0 if fine and not _workers_of(os.getpid()) & ours else 2
        analysis.shutdown()
        os._exit(code)
    assert os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) == 0
    assert [v[0].failure for v in asyncio.run(read(["f", "g", "h"]))] == [None] * 3
    assert _workers_of(os.getpid()) == ours
