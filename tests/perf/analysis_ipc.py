"""What handing a page to an analysis worker and getting its verdicts back costs the main process.

    python tests/perf/analysis_ipc.py --pages 400 --rounds 3
    python tests/perf/analysis_ipc.py --work real --in-flight 32
    python tests/perf/analysis_ipc.py --work real --workers 1 --lean   # a crawl shard's one thread, lean pages

Through ``monitor.analysis.Analyser`` with two worker processes (as a run on two cores has), on the synthetic
site's pages (tests/perf/site.py, 20-80 KB, ~50 KB on average), each with one entry that claims a status:

- *handover*: ``--in-flight`` pages awaited at once, as the crawler's slots do; the main process's CPU
  (``time.process_time``: every thread of this process, none of the workers) per page, the pages per second of
  wall time, and how busy the workers were (their CPU over the wall time, from /proc). Work ``trivial`` returns
  an empty verdict at once: what is left is the IPC alone. Work ``real`` is ``analyse_page``.
- *round trip*: one page at a time, the wall time from handing it over to its verdicts, median; with the trivial
  work it is the latency the IPC adds to every page.

The workers are started and warmed before anything is measured. Medians over ``--rounds`` are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from monitor.analysis import Analyser, EntryJob, PageJob, Verdict, analyse_page  # noqa: E402
from monitor.models import Entry, FetchResult  # noqa: E402

TODAY = date(2026, 11, 25)


def trivial(job: PageJob) -> list[Verdict]:
    """No analysis at all: what a page costs is then the trip alone."""
    return [Verdict(item.entry.id) for item in job.entries]


def _pages(count: int, lean: bool = False) -> list[PageJob]:
    spec = importlib.util.spec_from_file_location("perf_site", HERE / "site.py")
    assert spec is not None and spec.loader is not None
    site = importlib.util.module_from_spec(spec)
    sys.modules["perf_site"] = site
    spec.loader.exec_module(site)
    pages = site.Pages(8, 6, lean)
    jobs = []
    for i in range(count):
        url = f"http://127.0.0.1:{9000 + i % 8}/docs/page-{i}"
        body = pages.ok(i % 8, i, f"docs/page-{i}")
        got = FetchResult(url, url, 200, headers={"content-type": "text/html; charset=utf-8"}, body=body)
        entry = Entry(f"e{i}", "Section", f"Page {i}", url, status=site.STATUS_SENTENCE)
        jobs.append(PageJob(got, (EntryJob(entry, None),), TODAY))
    return jobs


def _worker_cpu() -> float:
    """CPU seconds of this process's children that are alive (the workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == os.getpid():  # field 4, the parent
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


async def _handover(analyser: Analyser, jobs: list[PageJob], in_flight: int) -> tuple[float, float, float]:
    queue = list(reversed(jobs))

    async def slot() -> None:
        while queue:
            verdicts = await analyser.run(queue.pop())
            assert verdicts and verdicts[0].failure is None, verdicts

    workers0, cpu0, wall0 = _worker_cpu(), time.process_time(), time.perf_counter()
    await asyncio.gather(*(slot() for _ in range(in_flight)))
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    busy = (_worker_cpu() - workers0) / wall
    return cpu / len(jobs), len(jobs) / wall, busy


async def _round_trip(analyser: Analyser, jobs: list[PageJob]) -> float:
    times = []
    for job in jobs:
        started = time.perf_counter()
        await analyser.run(job)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def _measure(work: str, pages: int, in_flight: int, rounds: int, workers: int, lean: bool) -> None:
    function = analyse_page if work == "real" else trivial
    jobs = _pages(pages, lean)
    async with Analyser(workers, 30.0, function) as analyser:
        await asyncio.gather(*(analyser.run(job) for job in jobs[: 4 * workers]))  # started and warmed
        handed, trips = [], []
        for _ in range(rounds):
            handed.append(await _handover(analyser, jobs, in_flight))
            trips.append(await _round_trip(analyser, jobs[:50]))
    cpu = statistics.median(h[0] for h in handed)
    rate = statistics.median(h[1] for h in handed)
    busy = statistics.median(h[2] for h in handed)
    print(f"work={work} workers={workers} pages={pages}{' lean' if lean else ''} in-flight={in_flight} rounds={rounds}")
    print(f"  main-process CPU per page handed over: {cpu * 1e3:.3f} ms "
          f"(rounds: {', '.join(f'{h[0] * 1e3:.3f}' for h in handed)})")
    print(f"  pages per wall second: {rate:.0f}; workers busy: {busy:.2f} of {workers} cores")
    print(f"  round trip, one page at a time (median): {statistics.median(trips) * 1e3:.3f} ms "
          f"(rounds: {', '.join(f'{t * 1e3:.3f}' for t in trips)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", choices=["trivial", "real", "both"], default="both")
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--in-flight", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lean", action="store_true", help="the pages of site.py --pages lean (1-4 KB)")
    args = parser.parse_args()
    for work in ("trivial", "real") if args.work == "both" else (args.work,):
        asyncio.run(_measure(work, args.pages, args.in_flight, args.rounds, args.workers, args.lean))


if __name__ == "__main__":
    # The workers import the work function by its module's name, which __main__ is not.
    from tests.perf import analysis_ipc

    analysis_ipc.main()
