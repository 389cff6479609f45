"""A synthetic resource hub on 127.0.0.1 for the benchmark, generated from a seed.

N entries are spread over H hosts (one port each). Every page is realistic HTML (20-80 KB: navigation,
headings, a status sentence, paragraphs, links) built from per-host pools of pre-rendered fragments, so
the server spends microseconds per page and the measurement is of the checker, not of this server.

Outcomes (exact shares of N, shuffled by the seed), and what a correct checker reports, in the ``calm`` mix
(the default):

=============  =====  ===================================================  ===================
outcome        share  what the server does                                 expected finding
=============  =====  ===================================================  ===================
ok             ~80%   200 with a normal page                               none
dead            5%    404 with a styled "not found" page                   dead-link
moved           5%    301 to another page of the same host (serves 200)    moved-permanently
soft404         3%    200 whose title and heading say "Page not found"     soft-404
ratelimited     2%    429 with Retry-After on the first request, then 200  none (no false alarm)
slow            5%    200 after an extra delay (--slow-ms)                 none
=============  =====  ===================================================  ===================

The ``cross`` mix (``--mix cross``) is issue 15's: 12% dead, 10% ``moved`` as redirect chains of 1-3 hops,
each hop to the next host (301s throughout, ending on a 200 page), 5% 429 with ``Retry-After`` on the first
request, 3% soft-404, 3% slow, and 5% ``head405`` pages that answer HEAD with 405 and GET with 200 (a good link:
a checker that trusts a HEAD alone calls it broken).

Every answer is delayed by --latency-ms (asyncio.sleep, so the server is concurrent like a real one).
Run as a script, it writes into --out: ``hub.yaml`` (the catalog; the checker is run with ``--allow-host 127.0.0.1``),
``truth.json`` (entry id -> outcome and URL), ``links.md`` (the URLs as a Markdown list, for lychee) and
``index.html`` (the same list, also served at ``/index.html`` on the first host, for LinkChecker and
linkinator). It prints one JSON line ``{"ports": [...]}`` when it is listening, and stops by itself after
--lifetime seconds or as soon as its standard input closes (the benchmark that started it has gone).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

OUTCOME_SHARES: tuple[tuple[str, float], ...] = (
    ("dead", 0.05),
    ("moved", 0.05),
    ("soft404", 0.03),
    ("ratelimited", 0.02),
    ("slow", 0.05),
)
MIXES: dict[str, tuple[tuple[str, float], ...]] = {
    "calm": OUTCOME_SHARES,
    "cross": (
        ("dead", 0.12),
        ("moved", 0.10),
        ("soft404", 0.03),
        ("ratelimited", 0.05),
        ("slow", 0.03),
        ("head405", 0.05),
    ),
}
EXPECTED_CODE = {"dead": "dead-link", "moved": "moved-permanently", "soft404": "soft-404"}
STATUS_SENTENCE = "Applications are accepted on a rolling basis."
MIN_PAGE = 20_000
MAX_PAGE = 80_000
# --pages lean: a bare page (title, heading, status sentence, a few paragraphs; no navigation, style or
# script), 1-4 KB, like a small docs or landing page; the checker's cost is then mostly its own per-request work.
LEAN_MIN_PAGE = 1_000
LEAN_MAX_PAGE = 4_000
_WORDS = (  # noqa: SIM905  (a sentence of words reads better than a list of 52 strings)
    "interpretability circuits features attention heads residual stream superposition probing sparse "
    "autoencoders transformer neurons activation patching causal tracing ablation logit lens induction "
    "polysemantic monosemantic dictionary learning steering vectors alignment evaluation benchmark model "
    "training gradient representation embedding layer token sequence dataset research paper tutorial "
    "notebook library tooling visualisation analysis mechanism hypothesis experiment result replication"
).split()
_REASONS = {200: "OK", 301: "Moved Permanently", 404: "Not Found", 405: "Method Not Allowed",
            429: "Too Many Requests", 400: "Bad Request"}


@dataclass(frozen=True)
class Planned:
    id: str
    host: int
    path: str
    outcome: str
    seed: int
    hops: int = 0  # a cross-host redirect chain's length (0: a same-host move, when the outcome is "moved")

    @property
    def moved_to(self) -> str:
        return self.path.replace("/docs/", "/library/", 1) + "-2"

    def chain(self, hosts: int) -> list[tuple[int, str]]:
        """(host, path) of each redirect target in order; the last one serves the page."""
        if not self.hops:
            return [(self.host, self.moved_to)]
        return [((self.host + i) % hosts, f"/moved/{self.id}-{i}") for i in range(1, self.hops + 1)]


def plan(entries: int, hosts: int, seed: int, ratelimited_share: float | None = None,
         mix: str = "calm") -> list[Planned]:
    """Exact outcome shares, shuffled by the seed; entries dealt round-robin over the hosts."""
    rng = random.Random(seed)
    outcomes: list[str] = []
    for name, share in MIXES[mix]:
        if name == "ratelimited" and ratelimited_share is not None:
            share = ratelimited_share
        outcomes += [name] * round(entries * share)
    outcomes += ["ok"] * (entries - len(outcomes))
    rng.shuffle(outcomes)
    return [
        Planned(
            id=f"e{i:05d}",
            host=i % hosts,
            path=f"/docs/{rng.choice(_WORDS)}-{i:05d}",
            outcome=outcome,
            seed=rng.getrandbits(32),
            hops=rng.randint(1, 3) if mix == "cross" and outcome == "moved" else 0,
        )
        for i, outcome in enumerate(outcomes)
    ]


# --- pages -------------------------------------------------------------------------------------------------


class Pages:
    """Renders pages from per-host fragment pools: deterministic, cheap, and 20-80 KB each."""

    def __init__(self, hosts: int, seed: int, lean: bool = False) -> None:
        self.lean = lean
        chrome = self._lean_chrome if lean else self._host_chrome
        self._chrome = [chrome(h, random.Random(seed * 1000 + h)) for h in range(hosts)]
        self._sizes = (LEAN_MIN_PAGE, LEAN_MAX_PAGE) if lean else (MIN_PAGE, MAX_PAGE)
        rng = random.Random(seed)
        self._paragraphs = [self._paragraph(rng, i).encode() for i in range(400)]

    @staticmethod
    def _sentence(rng: random.Random, words: int) -> str:
        return " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "."

    def _paragraph(self, rng: random.Random, i: int) -> str:
        links = "".join(
            f' See <a href="/docs/{rng.choice(_WORDS)}-{rng.randrange(99999):05d}">{rng.choice(_WORDS)}</a>.'
            for _ in range(rng.randrange(1, 4))
        )
        text = " ".join(self._sentence(rng, rng.randrange(8, 20)) for _ in range(rng.randrange(3, 7)))
        if i % 5 == 0:
            return f'<h2 id="s{i}">{self._sentence(rng, 4)[:-1]}</h2>\n<p>{text}{links}</p>\n'
        if i % 7 == 0:
            items = "".join(f"<li>{self._sentence(rng, 6)}</li>" for _ in range(5))
            return f"<ul>{items}</ul>\n<p>{text}</p>\n"
        return f"<p>{text}{links}</p>\n"

    def _host_chrome(self, host: int, rng: random.Random) -> tuple[bytes, bytes]:
        name = f"Research Hub {host}"
        nav = "".join(f'<li><a href="/section/{w}">{w.title()}</a></li>' for w in rng.sample(_WORDS, 30))
        css = "".join(f".c{i}{{margin:{i}px;padding:{i % 7}px}}" for i in range(150))
        head = (
            f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{css}</style><script>window.__HUB__={{host:{host},build:'{rng.getrandbits(64):x}'}};</script>"
            f"<title>{{title}} | {name}</title></head>\n<body>"
            f'<header class="site-header"><a href="/">{name}</a><nav><ul>{nav}</ul></nav></header>\n'
            f'<div class="layout"><aside class="toc"><ul>{nav}</ul></aside><main id="content">\n'
        )
        foot = (
            '</main></div>\n<footer class="site-footer"><p>© 2026 ' + name + " · Privacy · Terms · Contact</p>"
            "<ul>" + nav + "</ul></footer></body></html>\n"
        )
        return head.encode(), foot.encode()

    @staticmethod
    def _lean_chrome(host: int, rng: random.Random) -> tuple[bytes, bytes]:
        head = (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{{title}} | Research Hub {host}</title></head>\n<body><main>\n"
        )
        return head.encode(), b"</main></body></html>\n"

    def _frame(self, host: int, title: str, inner: list[bytes]) -> bytes:
        head, foot = self._chrome[host]
        return b"".join([head.replace(b"{title}", title.encode()), *inner, foot])

    def ok(self, host: int, item_seed: int, slug: str) -> bytes:
        rng = random.Random(item_seed)
        size = rng.randrange(*self._sizes)
        title = f"{slug.rsplit('/', 1)[-1].replace('-', ' ').title()}"
        inner = [
            f'<article><h1 id="top">{title}</h1>\n<p class="byline">Updated 3 March 2026</p>\n'
            f"<p>{STATUS_SENTENCE} Read the guide below before you start.</p>\n".encode()
        ]
        used = len(inner[0]) + len(self._chrome[host][0]) + len(self._chrome[host][1])
        while used < size:
            paragraph = self._paragraphs[rng.randrange(len(self._paragraphs))]
            inner.append(paragraph)
            used += len(paragraph)
        inner.append(b"</article>\n")
        return self._frame(host, title, inner)

    def not_found(self, host: int) -> bytes:
        inner = [
            b'<h1>Page not found</h1>\n<p>Sorry, the page you were looking for does not exist or has been moved.</p>\n',
            *self._paragraphs[: 2 if self.lean else 12],
        ]
        return self._frame(host, "Page not found", inner)


# --- the server --------------------------------------------------------------------------------------------


class Site:
    """Answers for every host: routes by (port index, path); keeps which 429s were already sent."""

    def __init__(self, planned: list[Planned], hosts: int, seed: int, latency: float, slow: float,
                 retry_after: int, lean: bool = False) -> None:
        self.pages = Pages(hosts, seed, lean)
        self.latency = latency
        self.slow = slow
        self.retry_after = retry_after
        # (host, path) -> (outcome, entry, where it redirects to: (host, path) or None)
        self.routes: dict[tuple[int, str], tuple[str, Planned, tuple[int, str] | None]] = {}
        for p in planned:
            if p.outcome != "moved":
                self.routes[(p.host, p.path)] = (p.outcome, p, None)
                continue
            here = (p.host, p.path)
            for there in p.chain(hosts):
                self.routes[here] = ("moved", p, there)
                here = there
            self.routes[here] = ("ok", p, None)
        self.ports: list[int] = []
        self.index = b""
        self.limited: dict[str, float] = {}  # entry id -> when its 429 was sent
        self.retried: set[str] = set()
        self.retry_delays: list[float] = []  # seconds from each 429 to the same URL's next request
        self.requests = 0

    async def answer(self, host: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
        self.requests += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        if host == 0 and path == "/index.html":
            return 200, {}, self.index
        outcome, item, there = self.routes.get((host, path), ("dead", None, None))
        if outcome == "ratelimited" and item is not None and item.id in self.limited and item.id not in self.retried:
            self.retried.add(item.id)
            self.retry_delays.append(time.monotonic() - self.limited[item.id])
        if outcome == "dead":
            return 404, {}, self.pages.not_found(host)
        assert item is not None
        if there is not None:
            # Same host: a relative Location, as most sites send; another host: an absolute one.
            location = there[1] if there[0] == host else entry_url(self.ports[there[0]], there[1])
            return 301, {"Location": location}, b""
        if outcome == "head405" and method == "HEAD":
            return 405, {"Allow": "GET"}, b""
        if outcome == "ratelimited" and item.id not in self.limited:
            self.limited[item.id] = time.monotonic()
            return 429, {"Retry-After": str(self.retry_after)}, b"<html><body>Too many requests</body></html>"
        if outcome == "soft404":
            return 200, {}, self.pages.not_found(host)
        if outcome == "slow":
            await asyncio.sleep(self.slow)
        return 200, {}, self.pages.ok(host, item.seed, path)

    async def serve_connection(self, host: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # HTTP/1.1 keep-alive, GET/HEAD only, no request bodies: all the checkers send.
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, _, rest = head.partition(b"\r\n")
                parts = request_line.split()
                if len(parts) != 3:
                    break
                method, target = parts[0].decode("latin-1"), parts[1].decode("latin-1")
                path = target.split("?", 1)[0].split("#", 1)[0]
                status, headers, body = await self.answer(host, path, method)
                close = b"connection: close" in rest.lower()
                lines = [
                    f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}",
                    "Content-Type: text/html; charset=utf-8",
                    f"Content-Length: {len(body)}",
                    *(f"{k}: {v}" for k, v in headers.items()),
                ]
                if close:
                    lines.append("Connection: close")
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
                if method != "HEAD":
                    writer.write(body)
                await writer.drain()
                if close:
                    break
        writer.close()


def entry_url(port: int, path: str) -> str:
    return f"http://127.0.0.1:{port}{path}"


def write_files(out: Path, planned: list[Planned], ports: list[int]) -> bytes:
    """Catalog, ground truth, Markdown list and index page; returns the index page's bytes."""
    out.mkdir(parents=True, exist_ok=True)
    urls = [entry_url(ports[p.host], p.path) for p in planned]
    lines = [
        "version: 1",
        "hub:",
        "  title: Synthetic benchmark hub",
        "entries:",
    ]
    for i, (p, url) in enumerate(zip(planned, urls, strict=True)):
        lines += [f"  - id: {p.id}", "    section: Benchmark", f"    title: Resource {p.id}", f"    url: {url}"]
        if i % 4 == 0:
            # A quarter of the entries carry a status line, so the status rules read those pages too.
            lines.append(f'    status: "{STATUS_SENTENCE}"')
    (out / "hub.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    truth = {p.id: {"outcome": p.outcome, "url": url, "hops": str(p.hops or 1) if p.outcome == "moved" else "0"}
             for p, url in zip(planned, urls, strict=True)}
    (out / "truth.json").write_text(json.dumps(truth, indent=0), encoding="utf-8")
    (out / "links.md").write_text(
        "# Benchmark hub\n\n" + "".join(f"- [{p.id}]({u})\n" for p, u in zip(planned, urls, strict=True)),
        encoding="utf-8",
    )
    index = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Benchmark hub</title></head><body><ul>"
        + "".join(f'<li><a href="{u}">{p.id}</a></li>' for p, u in zip(planned, urls, strict=True))
        + "</ul></body></html>"
    ).encode()
    (out / "index.html").write_bytes(index)
    return index


def outcome_counts(planned: list[Planned]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for p in planned:
        counts[p.outcome] = counts.get(p.outcome, 0) + 1
    return counts


async def run(args: argparse.Namespace) -> None:
    planned = plan(args.entries, args.hosts, args.seed, args.ratelimited_share, args.mix)
    site = Site(planned, args.hosts, args.seed, args.latency_ms / 1000, args.slow_ms / 1000, args.retry_after,
                args.pages == "lean")
    servers = []
    for host in range(args.hosts):

        async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter, host: int = host) -> None:
            await site.serve_connection(host, r, w)

        servers.append(await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024, limit=1 << 16))
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    site.ports = ports
    site.index = write_files(Path(args.out), planned, ports)
    print(json.dumps({"ports": ports, "outcomes": outcome_counts(planned)}), flush=True)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_stdin_closed(), timeout=args.lifetime)
    for s in servers:
        s.close()
    print(json.dumps({"served": site.requests, "retry_delays": sorted(site.retry_delays)}), flush=True)


async def _stdin_closed() -> None:
    # Reading stdin in a thread: when the parent dies or closes the pipe, readline returns b"".
    loop = asyncio.get_running_loop()
    while await loop.run_in_executor(None, sys.stdin.buffer.readline):
        pass


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--mix", choices=sorted(MIXES), default="calm", help="the outcome mix (see above)")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--pages", choices=("rich", "lean"), default="rich",
                        help="rich: 20-80 KB pages with navigation, style and script; lean: 1-4 KB bare pages")
    parser.add_argument("--slow-ms", type=float, default=1000.0, help="extra delay of the slow pages")
    parser.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds of the 429 answers")
    parser.add_argument("--ratelimited-share", type=float, default=None,
                        help="share of entries answering 429 first (default 0.02; 0 isolates the crawler's back-off)")
    parser.add_argument("--lifetime", type=float, default=900.0, help="stop after this many seconds at most")
    parser.add_argument("--out", default="/tmp/hub-bench-site")
    return parser.parse_args(argv)


def iter_expected(truth: dict[str, dict[str, str]]) -> Iterator[tuple[str, str, str | None]]:
    """(entry id, outcome, the finding a correct checker gives) for each entry of a truth.json."""
    for entry_id, item in truth.items():
        yield entry_id, item["outcome"], EXPECTED_CODE.get(item["outcome"])


if __name__ == "__main__":
    asyncio.run(run(parse_args()))
