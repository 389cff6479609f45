"""The crawler against a real HTTP server on 127.0.0.1.

No byte may leave 127.0.0.0/8: an autouse fixture fails any connection to another address, and names are
resolved by an injected resolver, never by DNS. Waits that a clock can fake are faked (or time is
dilated a hundredfold); only the drip test spends real time, a fraction of a second.
"""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import logging
import socket
import time
from collections.abc import Coroutine, Iterator, Sequence
from http.server import BaseHTTPRequestHandler
from typing import Any, TypeVar

import pytest

from monitor import fetch as fetch_module
from monitor.fetch import Crawler, network_state
from monitor.models import FetchError, FetchResult, Network
from monitor.netstream import AsyncioBackend
from monitor.settings import Settings
from tests.server import TestServer, bomb, drip, endless, hang, html, redirect, respond, sequence

T = TypeVar("T")
LOCAL = Settings(allow_hosts=frozenset({"127.0.0.1"}), host_request_interval=0)


@pytest.fixture(autouse=True)
def connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every address the crawler opens a TCP connection to; anything off loopback fails the test."""
    opened: list[str] = []
    real = AsyncioBackend.connect_tcp

    async def guarded(self: AsyncioBackend, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        opened.append(host)
        assert ipaddress.ip_address(host).is_loopback, f"attempted a connection to {host}"
        return await real(self, host, port, *args, **kwargs)

    monkeypatch.setattr(AsyncioBackend, "connect_tcp", guarded)
    yield opened


def resolver(table: dict[str, str]) -> Any:
    async def resolve(host: str, port: int) -> Sequence[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [table[host]]

    return resolve


async def no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def fetch(url: str, settings: Settings = LOCAL, **kwargs: Any) -> FetchResult:
    kwargs.setdefault("sleep", no_wait)

    async def go() -> FetchResult:
        async with Crawler(settings, **kwargs) as crawler:
            return await crawler.fetch(url)

    return run(go())


# --- the address policy, end to end ---------------------------------------------------------------------


def test_connects_to_the_checked_address_of_an_allowed_name(server: TestServer, connections: list[str]) -> None:
    # app.test exists only in the injected resolver: the connection can only go where the policy checked.
    server.route("/ok", html("Hello", "<p>hi</p>"))
    settings = Settings(allow_hosts=frozenset({"app.test"}), host_request_interval=0)
    result = fetch(f"http://app.test:{server.port}/ok", settings, resolver=resolver({"app.test": "127.0.0.1"}))
    assert result.ok and b"<title>Hello</title>" in (result.body or b"")
    assert connections == ["127.0.0.1"]
    assert server.requests[0].headers["host"] == f"app.test:{server.port}"


def test_a_name_resolving_to_loopback_is_blocked_unless_allowed(server: TestServer, connections: list[str]) -> None:
    server.route("/admin", html("Admin", "secret"))
    result = fetch(f"http://internal.test:{server.port}/admin", resolver=resolver({"internal.test": "127.0.0.1"}))
    assert result.error is FetchError.BLOCKED_ADDRESS
    assert "internal.test (127.0.0.1) is a loopback address" in result.error_detail
    assert connections == [] and server.requests == []


def test_redirect_to_the_metadata_service_is_blocked_before_any_connection(
    server: TestServer, connections: list[str]
) -> None:
    server.route("/go", redirect("http://169.254.169.254/latest/meta-data/", 302))
    result = fetch(server.url("/go"))
    assert result.error is FetchError.BLOCKED_ADDRESS
    assert "169.254.169.254 is a link-local address" in result.error_detail
    assert [h.location for h in result.hops] == ["http://169.254.169.254/latest/meta-data/"]
    assert connections == ["127.0.0.1"]


@pytest.mark.parametrize("location", ["http://[::1]/", "http://localhost.test/", "http://10.0.0.1/"])
def test_redirects_to_other_private_targets_are_blocked(server: TestServer, location: str) -> None:
    server.route("/go", redirect(location, 302))
    result = fetch(server.url("/go"), resolver=resolver({"localhost.test": "127.0.0.1"}))
    assert result.error is FetchError.BLOCKED_ADDRESS


def test_network_unavailable_when_no_host_resolves(connections: list[str]) -> None:
    urls = [f"https://site{i}.example/page" for i in range(4)]

    async def go() -> dict[str, FetchResult]:
        async with Crawler(LOCAL, resolver=resolver({}), sleep=no_wait) as crawler:
            return await crawler.fetch_all(urls)

    results = run(go())
    assert all(r.error is FetchError.DNS for r in results.values())
    assert network_state(results) is Network.UNAVAILABLE
    assert connections == []


def test_connection_refused(connections: list[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = fetch(f"http://127.0.0.1:{port}/", Settings(allow_hosts=frozenset({"127.0.0.1"}), max_retries=1))
    assert (result.error, result.error_detail, result.attempts) == (FetchError.CONNECT, "connection refused", 2)


# --- politeness -----------------------------------------------------------------------------------------

SCALE = 100.0  # dilated time: a politeness second lasts 10 ms


async def dilated_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds / SCALE)


def dilated_clock() -> float:
    return time.monotonic() * SCALE


def test_a_rare_429_holds_back_only_its_own_url(server: TestServer, server2: TestServer) -> None:
    limited = server.route("/limited", sequence(respond(429, "busy", {"Retry-After": "50"}), html("OK", "fine")))
    sibling = server.route("/sibling", html("Sibling", "same host"))
    others = [server2.route(f"/p{i}", html(f"P{i}", "other host")) for i in range(3)]
    done: dict[str, float] = {}
    start = time.monotonic()

    async def go() -> dict[str, FetchResult]:
        deferred = asyncio.Event()

        async def sleep(seconds: float) -> None:
            deferred.set()  # the 429 has arrived and its retry waits
            await dilated_sleep(seconds)

        async with Crawler(LOCAL, sleep=sleep, clock=dilated_clock) as crawler:
            first = asyncio.create_task(crawler.fetch(limited))
            # Not a fixed real-time pause: on a busy machine the 429 could arrive after it.
            await asyncio.wait_for(deferred.wait(), timeout=10)
            rest = await crawler.fetch_all(
                [sibling, *others], lambda url, _: done.setdefault(url, time.monotonic() - start)
            )
            late = await first
            done[limited] = time.monotonic() - start
            return {limited: late, **rest}

    results = run(go())
    wait = 50 / SCALE  # Retry-After: 50 "seconds" of dilated time
    assert results[limited].status == 200 and results[limited].attempts == 2
    assert done[limited] >= wait  # the URL that got the 429 waited its Retry-After
    assert done[sibling] < wait and all(done[url] < wait for url in others), done  # nothing else did
    assert all(results[url].ok for url in [sibling, *others])


def test_frequent_429s_hold_back_the_whole_host(server: TestServer, server2: TestServer) -> None:
    # FREQUENT_429 of the host's recent answers are 429s: the host is rate-limiting the crawler, so the
    # whole host waits out the Retry-After, not only the URLs that got it.
    busy = [
        server.route(f"/busy{i}", sequence(respond(429, "busy", {"Retry-After": "50"}), html("OK", "fine")))
        for i in range(fetch_module.FREQUENT_429)
    ]
    sibling = server.route("/sibling", html("Sibling", "same host"))
    other = server2.route("/other", html("Other", "other host"))
    done: dict[str, float] = {}
    held_at: list[float] = []

    class Held(logging.Handler):
        # Which 429 finds the host "pressed" depends on the order its answers are read; the log says when.
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("slowing down") and not held_at:
                held_at.append(time.monotonic())

    async def go() -> dict[str, FetchResult]:
        async with Crawler(LOCAL, sleep=dilated_sleep, clock=dilated_clock) as crawler:
            first = asyncio.create_task(crawler.fetch_all(busy))

            async def hold() -> None:
                while not held_at:
                    await asyncio.sleep(0.001)

            await asyncio.wait_for(hold(), timeout=10)
            rest = await crawler.fetch_all([sibling, other], lambda url, _: done.setdefault(url, time.monotonic()))
            return {**await first, **rest}

    handler = Held()
    fetch_module.log.addHandler(handler)
    previous = fetch_module.log.level
    fetch_module.log.setLevel(logging.INFO)
    try:
        results = run(go())
    finally:
        fetch_module.log.removeHandler(handler)
        fetch_module.log.setLevel(previous)
    hold = 50 / SCALE  # Retry-After: 50 "seconds" of dilated time, under the 60 s cap
    assert all(results[url].status == 200 and results[url].attempts == 2 for url in busy)
    assert done[sibling] - held_at[0] >= 0.95 * hold  # the same host's other URL waited out the hold
    assert done[other] - held_at[0] < hold, done  # the other host did not
    assert server.hits("/sibling") == 1


def test_second_pass_gets_a_failure_right(server: TestServer) -> None:
    url = server.route("/flaky", sequence(respond(502, "bad gateway"), html("Back", "up again")))

    async def go() -> dict[str, FetchResult]:
        settings = Settings(allow_hosts=frozenset({"127.0.0.1"}), host_request_interval=0, max_retries=0)
        async with Crawler(settings, sleep=no_wait) as crawler:
            return await crawler.fetch_all([url])

    result = run(go())[url]
    assert (result.status, result.attempts) == (200, 2)
    assert server.hits("/flaky") == 2


def test_a_failure_is_tried_again_without_waiting_for_another_hosts_retry_after(
    server: TestServer, server2: TestServer
) -> None:
    # A momentary 404 and a dead link on one host; a 429 asking for 50 s on another. Each failure is tried
    # once more, no sooner than retry_wait_time (5 s) after its first answer, and without waiting for the
    # other host's URL to finish its Retry-After: a second pass after the whole first pass waited for it.
    asked: dict[str, list[float]] = {"/flaky": [], "/gone": []}

    def timed(path: str, route: Any) -> str:
        def handler(h: BaseHTTPRequestHandler) -> None:
            asked[path].append(time.monotonic())
            route(h)

        return server.route(path, handler)

    flaky = timed("/flaky", sequence(respond(404, "not yet"), html("Back", "deployed")))
    gone = timed("/gone", respond(404, "gone"))
    limited = server2.route("/limited", sequence(respond(429, "busy", {"Retry-After": "50"}), html("OK", "fine")))
    done: dict[str, float] = {}
    settings = Settings(allow_hosts=frozenset({"127.0.0.1"}), host_request_interval=0, retry_wait_time=5.0)

    async def go() -> dict[str, FetchResult]:
        async with Crawler(settings, sleep=dilated_sleep, clock=dilated_clock) as crawler:
            return await crawler.fetch_all(
                [limited, flaky, gone], lambda url, _: done.setdefault(url, time.monotonic())
            )

    results = run(go())
    assert (results[flaky].status, results[flaky].attempts) == (200, 2)  # the later answer is kept
    assert (results[gone].status, results[gone].attempts) == (404, 2)
    assert results[limited].status == 200
    assert [len(asked["/flaky"]), len(asked["/gone"])] == [2, 2]  # once more, and only once
    gap = 5 / SCALE
    assert all(second - first >= gap for first, second in asked.values()), asked
    assert done[flaky] < done[limited] and done[gone] < done[limited], done


def test_conditional_request_against_a_server(server: TestServer) -> None:
    def handler(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == '"v1"':
            respond(304, b"", {"ETag": '"v1"'})(h)
        else:
            respond(200, "<title>T</title>", {"ETag": '"v1"'})(h)

    url = server.route("/doc", handler)
    assert fetch(url).headers["etag"] == '"v1"'
    again = fetch(url, validators={url: ('"v1"', None)})
    assert (again.status, again.not_modified, again.body) == (304, True, None)


def test_no_cookie_survives_from_one_entry_to_the_next(server: TestServer) -> None:
    a = server.route("/a", respond(200, "<title>A</title>", {"Set-Cookie": "session=abc; Path=/"}))
    b = server.route("/b", html("B", "b"))

    async def go() -> None:
        async with Crawler(LOCAL) as crawler:
            await crawler.fetch(a)
            await crawler.fetch(b)

    run(go())
    assert "cookie" not in server.requests[-1].headers


# --- redirects ------------------------------------------------------------------------------------------


def test_redirect_chain_of_each_kind(server: TestServer) -> None:
    server.route("/old", redirect("/older", 301))
    server.route("/older", redirect(server.url("/temp"), 302))
    server.route("/temp", redirect("/see", 303))
    server.route("/see", redirect("/keep", 307))
    server.route("/keep", redirect("/new", 308))
    server.route("/new", html("New", "here"))
    result = fetch(server.url("/old"))
    assert [h.status for h in result.hops] == [301, 302, 303, 307, 308]
    assert (result.status, result.final_url) == (200, server.url("/new"))


def test_meta_refresh_is_followed_as_a_hop(server: TestServer) -> None:
    server.route("/page", respond(200, '<html><head><meta http-equiv="refresh" content="0; url=/moved"></head></html>'))
    server.route("/moved", html("Moved", "here"))
    result = fetch(server.url("/page"))
    assert [(h.status, h.via) for h in result.hops] == [(200, "meta-refresh")]
    assert result.final_url == server.url("/moved") and result.status == 200


def test_redirect_loop_and_a_fifty_hop_chain(server: TestServer) -> None:
    server.route("/ping", redirect("/pong", 302))
    server.route("/pong", redirect("/ping", 302))
    for n in range(50):
        server.route(f"/hop{n}", redirect(f"/hop{n + 1}", 301))
    assert fetch(server.url("/ping")).error is FetchError.REDIRECT_LOOP
    long = fetch(server.url("/hop0"))
    assert long.error is FetchError.TOO_MANY_REDIRECTS and len(long.hops) == 11
    assert server.hits("/hop11") == 0


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://example.org/x", "javascript:alert(1)"])
def test_redirects_to_other_schemes_are_not_followed(server: TestServer, location: str) -> None:
    server.route("/go", redirect(location, 302))
    result = fetch(server.url("/go"))
    assert result.error is FetchError.UNSUPPORTED_SCHEME and result.hops[0].status == 302


# --- hostile bodies -------------------------------------------------------------------------------------


def test_a_gzip_bomb_stops_at_the_cap(server: TestServer) -> None:
    server.route("/bomb", bomb(64 * 1024 * 1024))
    started = time.monotonic()
    result = fetch(server.url("/bomb"), Settings(allow_hosts=frozenset({"127.0.0.1"}), max_body=1024 * 1024))
    assert result.status == 200 and result.truncated
    assert len(result.body or b"") == 1024 * 1024
    assert time.monotonic() - started < 5


def test_an_endless_body_stops_at_the_cap(server: TestServer) -> None:
    server.route("/forever", endless())
    result = fetch(server.url("/forever"), Settings(allow_hosts=frozenset({"127.0.0.1"}), max_body=256 * 1024))
    assert result.status == 200 and result.truncated and len(result.body or b"") == 256 * 1024


def test_a_drip_server_ends_within_the_deadline(server: TestServer) -> None:
    server.route("/drip", drip(0.05))
    settings = Settings(allow_hosts=frozenset({"127.0.0.1"}), timeout=0.3, max_retries=1)
    started = time.monotonic()
    result = fetch(server.url("/drip"), settings)
    elapsed = time.monotonic() - started
    assert (result.error, result.status, result.attempts) == (FetchError.TIMEOUT, 200, 2)
    assert "within 0.3 s" in result.error_detail
    assert elapsed < 1.5  # two attempts of 0.3 s, and nothing else


@pytest.mark.parametrize("answer", ["silent", "drip"])
def test_a_deadline_armed_late_by_the_watch_still_ends_the_attempt(
    server: TestServer, monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    # A budget longer than two of the watch's periods gets its timer from the watch's tick, not at once; reads
    # have no timeout of their own, so a server that never finishes its answer must still be cut off.
    monkeypatch.setattr(fetch_module._DeadlineWatch, "PERIOD", 0.05)
    server.route("/slow", hang(server) if answer == "silent" else drip(0.05))
    settings = Settings(allow_hosts=frozenset({"127.0.0.1"}), timeout=0.3, max_retries=0)
    result = fetch(server.url("/slow"), settings)
    assert result.error is FetchError.TIMEOUT and "within 0.3 s" in result.error_detail


def test_a_corrupt_gzip_body_is_a_protocol_error(server: TestServer) -> None:
    server.route("/bad", respond(200, b"this is not gzip", {"Content-Encoding": "gzip"}))
    result = fetch(server.url("/bad"), Settings(allow_hosts=frozenset({"127.0.0.1"}), max_retries=0))
    assert (result.status, result.error) == (200, FetchError.PROTOCOL)


def test_a_content_length_longer_than_the_body(server: TestServer) -> None:
    def liar(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", "5000")
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(b"<title>short</title>")
        h.close_connection = True

    server.route("/liar", liar)
    result = fetch(server.url("/liar"), Settings(allow_hosts=frozenset({"127.0.0.1"}), max_retries=0))
    assert (result.status, result.error) == (200, FetchError.PROTOCOL)


def test_gzip_pages_are_decoded_and_pdfs_are_not_read(server: TestServer) -> None:
    server.route("/z", respond(200, gzip.compress(b"<title>Zipped</title>"), {"Content-Encoding": "gzip"}))
    server.route("/paper.pdf", respond(200, b"%PDF-1.7" + b"\0" * 100_000, content_type="application/pdf"))
    assert fetch(server.url("/z")).body == b"<title>Zipped</title>"
    pdf = fetch(server.url("/paper.pdf"))
    assert pdf.ok and pdf.body is None


def test_a_long_host_interval_is_waited_not_taken_for_a_retry_after(server: TestServer) -> None:
    """Issue 12, B13: with an interval of 61 s (over the 60 s Retry-After cap) every URL after a host's first
    was reported "rate-limited" though the host never sent a 429. Time is faked: the 61 s pass in a moment."""
    urls = [server.route(f"/p{i}", html(f"P{i}", "polite")) for i in range(3)]
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds
        await asyncio.sleep(0)

    settings = Settings(allow_hosts=frozenset({"127.0.0.1"}), host_request_interval=61.0, host_concurrency=1)

    async def go() -> dict[str, FetchResult]:
        async with Crawler(settings, sleep=sleep, clock=lambda: now[0]) as crawler:
            return await crawler.fetch_all(urls)

    results = run(go())
    assert [(r.status, r.error) for r in results.values()] == [(200, None)] * 3
    assert now[0] >= 2 * 61  # the interval was honoured, in full


def test_a_sprinkle_of_429s_does_not_press_a_host_but_a_run_of_them_does() -> None:
    # The synthetic site's worst stretch at 5% 429s: five in twenty answers. That is bad luck, not a
    # host rate-limiting the crawler, and must not halve the host's concurrency for everyone.
    host = fetch_module._HostState("example.org", ceiling=32, interval=0.0)
    pressed = []
    for status in [429, 200, 200, 429, 200, 200, 200, 429, 200, 200, 200, 200, 429, 200, 200, 200, 429] + [200] * 23:
        host.answered(status)
        pressed.append(host.pressed)
    assert not any(pressed)
    # A host that answers 429 to everything is pressed by its tenth 429.
    for _ in range(40):
        host.answered(200)
    for _ in range(9):
        host.answered(429)
    assert not host.pressed
    host.answered(429)
    assert host.pressed
