"""Crawl only: the crawler over the synthetic site, with no analysis, report or files.

    python tests/perf/crawl.py --mix cross --entries 2000            # wall, CPU and the 429s' retry delays
    python tests/perf/crawl.py --mix cross --entries 2000 --latency-ms 0 --ratelimited-share 0   # CPU/request

What ``bench.py`` measures is the whole check, whose CPU (analysis on the event loop) sets the pace on a
busy machine; this measures the politeness and the HTTP path alone. The site runs in its own process;
CPU is this process's own (``ru_utime + ru_stime`` of RUSAGE_SELF, start-up and site excluded).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # run as a script from any folder: the monitor of this tree

from monitor.fetch import Crawler  # noqa: E402
from monitor.settings import Settings  # noqa: E402

_spec = importlib.util.spec_from_file_location("perf_bench", HERE / "bench.py")
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
sys.modules["perf_bench"] = bench
_spec.loader.exec_module(bench)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def crawl(urls: list[str], args: argparse.Namespace) -> tuple[float, float, int, int]:
    settings = Settings(
        allow_hosts=frozenset({"127.0.0.1"}), host_concurrency=args.host_concurrency,
        max_concurrency=args.max_concurrency, host_request_interval=0.0,
    )  # fmt: skip
    async with Crawler(settings) as crawler:
        started, cpu = time.perf_counter(), _cpu()
        results = await crawler.fetch_all(urls)
        wall, cpu = time.perf_counter() - started, _cpu() - cpu
    ok = sum(1 for r in results.values() if r.status == 200)
    return wall, cpu, crawler.requests, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Crawl the synthetic site only; print wall, CPU and 429 delays.")
    parser.add_argument("--rounds", type=int, default=1)
    args = bench.parse_args(argv, parser)
    import tempfile

    print("| N | wall s | CPU s | requests | CPU ms/request | 200 answers | 429 to retry s median (max) |")
    print("|---|---|---|---|---|---|---|")
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="hub-crawl-") as tmp:
            site = bench.SiteProcess(Path(tmp) / "site", args.entries, args)
            try:
                urls = [item["url"] for item in site.truth.values()]
                wall, cpu, requests, ok = asyncio.run(crawl(urls, args))
            finally:
                delays = site.close()
        print(f"| {args.entries:,} | {wall:.2f} | {cpu:.2f} | {requests:,} | {1000 * cpu / requests:.3f} | {ok:,} | "
              f"{bench._delays(delays)} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
