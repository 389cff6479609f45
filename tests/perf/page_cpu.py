"""CPU per page of the analysis (``analyse_page``) and of its stages, on synthetic and on real saved pages.

    python tests/perf/page_cpu.py                 # 200 synthetic pages + every page of tests/corpus/pages
    python tests/perf/page_cpu.py --pages 100 --rounds 7 --profile   # and a cProfile of analyse_page
    python tests/perf/page_cpu.py --lean --only synthetic            # site.py --pages lean (1-4 KB)

(a) pages from tests/perf/site.py's page builder (the ``ok`` pages the benchmark serves, 20-80 KB, a quarter
of the entries claiming a status, as in its hub), built in memory, no server; (b) every saved page of
tests/corpus/pages with the status and headers of its manifest. Each stage runs over all the pages of a set
once per round; the figure is the median over rounds of the set's CPU time (``time.process_time``) divided by
its pages. Stages: decode (bytes -> str), extract (decode + parse + read), rules (``analyse`` on an extracted
page), fingerprint (of the watched text), status (the first status sentence of the text), and analyse_page
(all of it, as a worker runs it). CPU time, not wall: the machine is shared.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

# Loaded by path, as bench.py does: the stdlib's `site` module is already imported under that name.
_spec = importlib.util.spec_from_file_location("perf_site", HERE / "site.py")
assert _spec is not None and _spec.loader is not None
perf_site = importlib.util.module_from_spec(_spec)
sys.modules["perf_site"] = perf_site  # dataclasses look their module up there
_spec.loader.exec_module(perf_site)

from monitor.analysis import EntryJob, PageJob, analyse_page  # noqa: E402
from monitor.challenge import challenge_in  # noqa: E402
from monitor.extract import decode, extract  # noqa: E402
from monitor.models import Entry, FetchResult  # noqa: E402
from monitor.rules import RuleInput, analyse  # noqa: E402
from monitor.rules.content import fingerprint  # noqa: E402
from monitor.status import find_status_sentences  # noqa: E402
from tests.corpus.pages import score as corpus  # noqa: E402

TODAY = date(2026, 11, 30)
HEADERS = {"content-type": "text/html; charset=utf-8"}


def synthetic_jobs(count: int, seed: int = 6, hosts: int = 8, lean: bool = False) -> list[PageJob]:
    """The benchmark's ``ok`` pages, with its hub's entries (every fourth one claims the status sentence)."""
    pages = perf_site.Pages(hosts, seed, lean)
    planned = perf_site.plan(count * 2, hosts, seed, mix="cross")
    jobs: list[PageJob] = []
    for i, p in enumerate(q for q in planned if q.outcome == "ok"):
        if len(jobs) == count:
            break
        body = pages.ok(p.host, p.seed, p.path)
        url = perf_site.entry_url(8000 + p.host, p.path)
        entry = Entry(id=p.id, section="Benchmark", title=f"Resource {p.id}", url=url,
                      status=perf_site.STATUS_SENTENCE if i % 4 == 0 else None)
        fetched = FetchResult(url=url, final_url=url, status=200, headers=dict(HEADERS), body=body)
        jobs.append(PageJob(fetched, (EntryJob(entry, None),), TODAY))
    return jobs


def corpus_jobs() -> list[PageJob]:
    """Every saved real page, served as its manifest says, for an entry without a status claim."""
    jobs: list[PageJob] = []
    for page in corpus.load():
        body = (corpus.HERE / page.file).read_bytes()
        fetched = FetchResult(url=page.url, final_url=page.url, status=page.status, headers=dict(page.headers),
                              body=body)
        fetched.challenge = challenge_in(fetched.status, fetched.headers, body)
        entry = Entry(id=page.name.replace("/", "-"), section="Corpus", title=page.name, url=page.url)
        jobs.append(PageJob(fetched, (EntryJob(entry, None),), TODAY))
    return jobs


def stages(jobs: list[PageJob]) -> dict[str, Callable[[], object]]:
    bodies = [(job.fetched.body or b"", job.fetched.headers) for job in jobs]
    texts = [extract(body, headers) for body, headers in bodies]
    inputs = [RuleInput(job.entries[0].entry, replace(job.fetched, body=None), page, TODAY)
              for job, page in zip(jobs, texts, strict=True)]
    return {
        "decode": lambda: [decode(body, headers.get("content-type", "")) for body, headers in bodies],
        "extract": lambda: [extract(body, headers) for body, headers in bodies],
        "rules": lambda: [analyse(inp) for inp in inputs],
        "fingerprint": lambda: [fingerprint(page.watched) for page in texts],
        "status": lambda: [find_status_sentences(page.text)[:1] for page in texts],
        "analyse_page": lambda: [analyse_page(job) for job in jobs],
    }


def measure(work: Callable[[], object], count: int, rounds: int) -> float:
    """Median CPU milliseconds per page over the rounds."""
    work()  # first-use costs (regex compilation, caches) are not a page's
    times: list[float] = []
    for _ in range(rounds):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return statistics.median(times) * 1000 / count


def report(name: str, jobs: list[PageJob], rounds: int) -> None:
    sizes = [len(job.fetched.body or b"") for job in jobs]
    print(f"{name}: {len(jobs)} pages, median {statistics.median(sizes) / 1024:.0f} KB "
          f"(min {min(sizes) / 1024:.0f}, max {max(sizes) / 1024:.0f}); ms CPU per page, median of {rounds} rounds")
    for stage, work in stages(jobs).items():
        print(f"  {stage:<13} {measure(work, len(jobs), rounds):7.3f}")


def profile(jobs: list[PageJob], top: int = 30) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for job in jobs:
        analyse_page(job)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200, help="synthetic pages (default 200)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per stage; the median is printed")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of analyse_page by own time")
    parser.add_argument("--lean", action="store_true", help="the synthetic pages of site.py --pages lean (1-4 KB)")
    parser.add_argument("--only", choices=("synthetic", "corpus"), help="one set of pages only")
    args = parser.parse_args(argv)
    sets = {"synthetic": synthetic_jobs(args.pages, lean=args.lean), "corpus": corpus_jobs()}
    for name, jobs in sets.items():
        if args.only in (None, name):
            report(name, jobs, args.rounds)
            if args.profile:
                profile(jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
