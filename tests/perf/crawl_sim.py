"""The crawl's critical path in virtual time: its waits, measured where the machine's load cannot move them.

    python tests/perf/crawl_sim.py --mix cross --entries 2000 --seeds 8       # lean cross mix, 2 shards
    python tests/perf/crawl_sim.py --mix cross --entries 2000 --thread        # pages read in a thread

The real `Crawler` (``fetch_all``, the per-host queues, slots, Retry-After, the second pass) and the real
`shards.partition` run against ``site.py``'s `Site` in this process, through a fake transport, on an event
loop whose clock jumps over every wait. CPU is modelled, not spent: each request costs ``--http-ms`` of the
loop's time and each reported page ``--page-ms``, during which nothing else runs (as real CPU work blocks a
shard's loop). Each shard runs on its own clock from 0, so shard starts and the run's start-up and end are
left out. The figures are deterministic for a seed: a change to the crawl's order or waits shows as it is,
on a busy machine too. The defaults model the lean cross mix (2,000 entries, 2 shards: about 4.6 s of CPU per
shard, as measured). What it cannot show is CPU itself: that is ``crawl.py``'s and ``bench.py``'s.

Printed per seed: when the crawl ends (the later shard), how far apart the shards end, and per shard (with
one seed) the drain (the last first try started), the first pass's end, the second tries and their gaps.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import importlib.util
import selectors
import statistics
import sys
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # run as a script from any folder: the monitor of this tree

from monitor import shards  # noqa: E402
from monitor.fetch import Crawler  # noqa: E402
from monitor.models import FetchResult  # noqa: E402
from monitor.settings import Settings  # noqa: E402

_spec = importlib.util.spec_from_file_location("perf_site", HERE / "site.py")
assert _spec is not None and _spec.loader is not None
site = importlib.util.module_from_spec(_spec)
sys.modules["perf_site"] = site
_spec.loader.exec_module(site)


class VirtualLoop(asyncio.SelectorEventLoop):
    """An event loop on a virtual clock: a wait with nothing ready moves the clock instead of sleeping.

    With ``--thread``, pages are read by a modelled analysis thread: a queue of CPU jobs that runs while the
    loop waits, and takes ``share`` of the CPU while the loop works (the GIL passed back and forth).
    """

    def __init__(self, share: float) -> None:
        self.now = 0.0
        self.share = share
        self.jobs: collections.deque[list[Any]] = collections.deque()  # [CPU seconds left, future]
        loop = self

        class Selector(selectors.DefaultSelector):
            def select(self, timeout: float | None = None) -> list[Any]:
                events = super().select(0)
                if not events and timeout != 0:
                    if loop.jobs:
                        loop.analyse(loop.jobs[0][0] if timeout is None else timeout, idle=True)
                    elif timeout:
                        loop.now += timeout
                return events

        super().__init__(Selector())

    def time(self) -> float:
        return self.now

    def work(self, seconds: float) -> None:
        """The loop's own CPU; with pages waiting for the thread, the two share the CPU."""
        if self.jobs and self.share:
            self.now += seconds / (1 - self.share)
            self.analyse(seconds * self.share / (1 - self.share), idle=False)
        else:
            self.now += seconds

    def submit(self, seconds: float) -> asyncio.Future[None]:
        future: asyncio.Future[None] = self.create_future()
        self.jobs.append([seconds, future])
        return future

    def analyse(self, seconds: float, idle: bool) -> None:
        """The thread runs for ``seconds`` of CPU; ``idle``: the loop waits meanwhile (until a job ends)."""
        while seconds > 1e-12 and self.jobs:
            job = self.jobs[0]
            step = min(seconds, job[0])
            job[0] -= step
            seconds -= step
            if idle:
                self.now += step
            if job[0] <= 1e-12:
                self.jobs.popleft()
                self.call_soon(lambda f=job[1]: f.done() or f.set_result(None))
                if idle:
                    return


class _Transport:
    def __init__(self, shard: Shard, port: int) -> None:
        self.shard, self.host = shard, shard.port_index[port]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        status, headers, body = await self.shard.site.answer(self.host, request.url.path)
        self.shard.loop.work(self.shard.http_s)
        headers = {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(body)), **headers}
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))


class _Pools:
    def __init__(self, shard: Shard) -> None:
        self.shard = shard

    def take(self, origin: tuple[str, str, int]) -> _Transport:
        return _Transport(self.shard, origin[2])

    async def give_back(self, origin: tuple[str, str, int]) -> None:
        return None

    async def aclose(self) -> None:
        return None


class Shard:
    """One shard's crawl on its own virtual clock; ``log`` holds (url, start, end) of every fetch()."""

    def __init__(self, urls: list[str], settings: Settings, sim: Any, port_index: dict[int, int],
                 args: argparse.Namespace) -> None:
        self.urls, self.settings, self.site, self.port_index = urls, settings, sim, port_index
        self.http_s, self.page_s = args.http_ms / 1000, args.page_ms / 1000
        self.threaded = args.thread
        self.loop = VirtualLoop(args.share if args.thread else 0.0)
        self.log: list[tuple[str, float, float]] = []
        self.requests = 0
        self.finished = 0.0

    def run(self) -> dict[str, FetchResult]:
        try:
            return self.loop.run_until_complete(self._crawl())
        finally:
            self.loop.close()

    async def _crawl(self) -> dict[str, FetchResult]:
        shard = self

        class Timed(Crawler):
            async def fetch(self, url: str) -> FetchResult:
                started = shard.loop.time()
                result = await super().fetch(url)
                shard.log.append((url, started, shard.loop.time()))
                return result

        def analyse(url: str, result: FetchResult) -> asyncio.Future[None] | None:
            if self.threaded:
                return self.loop.submit(self.page_s)
            self.loop.work(self.page_s)
            return None

        async with Timed(self.settings, clock=self.loop.time, random=lambda: 0.5) as crawler:
            crawler._pools = _Pools(self)  # type: ignore[assignment]
            results = await crawler.fetch_all(self.urls, analyse)
            self.requests = crawler.requests
        self.finished = self.loop.time()
        return results


def one_seed(seed: int, args: argparse.Namespace, verbose: bool) -> tuple[float, float]:
    planned = site.plan(args.entries, args.hosts, seed, None, args.mix)
    sim = site.Site(planned, args.hosts, seed, args.latency_ms / 1000, args.slow_ms / 1000, 1, True)
    sim.ports = [20000 + i for i in range(args.hosts)]  # never opened: the transport is fake
    port_index = {port: i for i, port in enumerate(sim.ports)}
    urls = [site.entry_url(sim.ports[p.host], p.path) for p in planned]
    dead = {site.entry_url(sim.ports[p.host], p.path) for p in planned if p.outcome == "dead"}
    settings = Settings(allow_hosts=frozenset({"127.0.0.1"}), host_concurrency=args.host_concurrency,
                        max_concurrency=args.max_concurrency, host_request_interval=0.0)  # fmt: skip
    groups = shards.partition(urls, args.shards)
    ends = []
    for index, group in enumerate(groups):
        own = shards._shard_settings(settings, group, index, len(groups)) if len(groups) > 1 else settings
        shard = Shard(group, own, sim, port_index, args)
        results = shard.run()
        wrong = sum(1 for url, r in results.items() if (r.status == 404) != (url in dead))
        assert not wrong, f"{wrong} URL(s) judged wrongly"
        first_end: dict[str, float] = {}
        first_start: dict[str, float] = {}
        gaps = []
        for url, started, ended in shard.log:
            if url in first_end:
                gaps.append(started - first_end[url])
            else:
                first_start[url], first_end[url] = started, ended
        ends.append(shard.finished)
        if verbose:
            print(f"  shard {index}: {len(group)} URLs, {shard.requests} requests; drain "
                  f"{max(first_start.values()):.2f} s, first pass ends {max(first_end.values()):.2f} s, crawl "
                  f"ends {shard.finished:.2f} s; {len(gaps)} second tries, gap min {min(gaps, default=0):.2f} "
                  f"median {statistics.median(gaps) if gaps else 0:.2f} s")
    return max(ends), max(ends) - min(ends)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The crawl in virtual time, with modelled CPU.")
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--mix", choices=sorted(site.MIXES), default="cross")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--seeds", type=int, default=1, help="run this many seeds from --seed on")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--slow-ms", type=float, default=500.0)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--host-concurrency", type=int, default=32)
    parser.add_argument("--max-concurrency", type=int, default=32)
    parser.add_argument("--http-ms", type=float, default=1.5, help="the crawler's CPU per request")
    parser.add_argument("--page-ms", type=float, default=2.5, help="CPU to read one page")
    parser.add_argument("--thread", action="store_true", help="pages read in a thread, as a shard does")
    parser.add_argument("--share", type=float, default=0.5, help="with --thread: its CPU share while the loop works")
    args = parser.parse_args(argv)
    print("| seed | crawl ends s | shards apart s |")
    print("|---|---|---|")
    ends = []
    for seed in range(args.seed, args.seed + args.seeds):
        end, apart = one_seed(seed, args, verbose=args.seeds == 1)
        ends.append(end)
        print(f"| {seed} | {end:.2f} | {apart:.2f} |", flush=True)
    if args.seeds > 1:
        print(f"median crawl end {statistics.median(ends):.2f} s (min {min(ends):.2f}, max {max(ends):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
