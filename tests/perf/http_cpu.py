"""CPU per request of the HTTP path: the crawler, bare httpx, and an aiohttp-class client when one is at hand.

    python tests/perf/http_cpu.py --requests 3000 --rounds 5
    python tests/perf/http_cpu.py --aiohttp-python /tmp/aio/bin/python    # a venv with aiohttp (not ours)

A server in its own process answers every GET at once with the same 50 KB HTML page (keep-alive), on
``--hosts`` ports. Each client runs in its own process and reports the CPU (``ru_utime + ru_stime``) of
its request loop only (imports and start-up excluded): N GETs of distinct paths, 32 in flight, each body
read whole. Rounds are interleaved, so the clients share the machine's noise; medians and the spread are
printed. aiohttp is measured only as a yardstick (issue 15): it is not a dependency of the monitor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAGE = (
    b"<!DOCTYPE html><html><head><meta charset='utf-8'><title>A page</title></head><body><main>"
    + b"<p>Interpretability research notes, one paragraph after another, as a hub's pages are.</p>\n" * 560
    + b"</main></body></html>\n"
)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the server ------------------------------------------------------------------------------------------


async def _serve(hosts: int) -> None:
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: "
        + str(len(PAGE)).encode()
        + b"\r\n\r\n"
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(head + PAGE)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        writer.close()

    servers = [await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024) for _ in range(hosts)]
    print(json.dumps([s.sockets[0].getsockname()[1] for s in servers]), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # until the parent closes the pipe


# --- the clients -----------------------------------------------------------------------------------------


def _urls(ports: list[int], n: int) -> list[str]:
    return [f"http://127.0.0.1:{ports[i % len(ports)]}/page/{i}" for i in range(n)]


async def _bounded(urls: list[str], concurrency: int, get: object) -> int:
    queue = list(reversed(urls))
    got = 0

    async def worker() -> None:
        nonlocal got
        while queue:
            got += await get(queue.pop())  # type: ignore[operator]

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return got


async def _crawler(urls: list[str], concurrency: int) -> float:
    sys.path.insert(0, str(HERE.parents[1]))
    from monitor.fetch import Crawler
    from monitor.settings import Settings

    settings = Settings(allow_hosts=frozenset({"127.0.0.1"}), host_concurrency=concurrency,
                        max_concurrency=concurrency, host_request_interval=0.0)  # fmt: skip
    async with Crawler(settings) as crawler:
        started = _cpu()
        results = await crawler.fetch_all(urls)
        spent = _cpu() - started
    assert all(r.status == 200 and r.body == PAGE for r in results.values())
    return spent


async def _httpx(urls: list[str], concurrency: int) -> float:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, trust_env=False) as client:

        async def get(url: str) -> int:
            response = await client.get(url)
            assert len(response.content) == len(PAGE)
            return 1

        started = _cpu()
        await _bounded(urls, concurrency, get)
        return _cpu() - started


async def _aiohttp(urls: list[str], concurrency: int) -> float:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:

        async def get(url: str) -> int:
            async with session.get(url) as response:
                assert len(await response.read()) == len(PAGE)
            return 1

        started = _cpu()
        await _bounded(urls, concurrency, get)
        return _cpu() - started


CLIENTS = {"crawler": _crawler, "httpx": _httpx, "aiohttp": _aiohttp}


def _client(name: str, ports: list[int], n: int, concurrency: int) -> None:
    spent = asyncio.run(CLIENTS[name](_urls(ports, n), concurrency))
    print(json.dumps({"cpu": spent}), flush=True)


# --- the driver ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="CPU per request of the HTTP path.")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--aiohttp-python", default=None, help="a Python with aiohttp installed (for the yardstick)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--client", choices=sorted(CLIENTS), help=argparse.SUPPRESS)
    parser.add_argument("--ports", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(_serve(args.hosts))
        return 0
    if args.client:
        _client(args.client, json.loads(args.ports), args.requests, args.concurrency)
        return 0
    server = subprocess.Popen([sys.executable, __file__, "--serve", "--hosts", str(args.hosts)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert server.stdout is not None and server.stdin is not None
    ports = server.stdout.readline().strip()
    pythons = {"crawler": sys.executable, "httpx": sys.executable}
    if args.aiohttp_python:
        pythons["aiohttp"] = args.aiohttp_python
    spent: dict[str, list[float]] = {name: [] for name in pythons}
    try:
        for _ in range(args.rounds):
            for name, python in pythons.items():
                out = subprocess.run(
                    [python, __file__, "--client", name, "--ports", ports, "--requests", str(args.requests),
                     "--concurrency", str(args.concurrency)],
                    capture_output=True, text=True, check=True, timeout=600,
                )  # fmt: skip
                spent[name].append(json.loads(out.stdout.strip().splitlines()[-1])["cpu"])
    finally:
        server.stdin.close()
        server.wait(timeout=10)
    print(f"{args.requests:,} GETs of a {len(PAGE) // 1000} KB page over {args.hosts} ports, {args.concurrency} "
          f"in flight, {args.rounds} rounds, {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC\n")
    print("| client | ms CPU per request, median | min-max |")
    print("|---|---|---|")
    for name, values in spent.items():
        per = [1000 * v / args.requests for v in values]
        print(f"| {name} | {statistics.median(per):.3f} | {min(per):.3f}-{max(per):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
