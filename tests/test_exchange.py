"""The crawler's per-origin pools (monitor/exchange.py) against real servers on 127.0.0.1.

Requests go as the crawler sends them: an ``httpx.Request`` to ``PinnedTransport.handle_async_request``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl

import httpx
import pytest
import trustme
from hypothesis import given
from hypothesis import strategies as st

from monitor.exchange import PinnedTransport, Pools, answer_headers
from monitor.fetch import Crawler
from monitor.netstream import AsyncioBackend
from monitor.settings import Settings
from tests.test_netstream import FIVE_SECONDS, Answer, Site, ok, run, server_context, trusting


def transport(ssl_context: ssl.SSLContext | None = None) -> PinnedTransport:
    return PinnedTransport(AsyncioBackend(), ssl_context or ssl.create_default_context())


async def get(http: PinnedTransport, url: str, read: bool = True) -> tuple[int, bytes]:
    response = await http.handle_async_request(httpx.Request("GET", url, extensions=FIVE_SECONDS))
    try:
        body = b"".join([chunk async for chunk in response.aiter_raw()]) if read else b""
    finally:
        await response.aclose()
    return response.status_code, body


def test_keep_alive_sends_every_request_over_one_connection() -> None:
    async def scenario() -> None:
        async with Site(ok(b"hello")) as site, transport() as http:
            answers = [await get(http, site.url(f"/{n}")) for n in range(3)]
        assert answers == [(200, b"hello")] * 3
        assert (site.connections, site.requests) == (1, 3)

    run(scenario())


def test_a_header_that_would_smuggle_another_is_refused_though_each_set_of_headers_is_checked_once() -> None:
    async def send(http: PinnedTransport, url: str, note: str) -> int:
        request = httpx.Request("GET", url, headers={"X-Note": note}, extensions=FIVE_SECONDS)
        response = await http.handle_async_request(request)
        await response.aread()
        await response.aclose()
        return response.status_code

    async def scenario() -> None:
        async with Site(ok(b"hello")) as site, transport() as http:
            assert [await send(http, site.url(f"/{n}"), "same") for n in range(2)] == [200, 200]
            with pytest.raises(httpx.LocalProtocolError, match="Illegal header value"):
                await send(http, site.url("/2"), "same\r\nX-Smuggled: 1")
            assert await send(http, site.url("/3"), "same") == 200
        assert site.requests == 3  # the refused request never left

    run(scenario())


def test_requests_at_the_same_time_get_a_connection_each_and_keep_them() -> None:
    async def scenario() -> None:
        async with Site(ok(b"hello")) as site, transport() as http:
            for _ in range(3):
                answers = await asyncio.gather(*(get(http, site.url(f"/{n}")) for n in range(4)))
                assert answers == [(200, b"hello")] * 4
            assert http.origin_pool.connections == 4
        assert (site.connections, site.requests) == (4, 12)

    run(scenario())


def test_a_server_closing_an_idle_connection_costs_a_new_connection_not_a_failure() -> None:
    async def answer_then_hang_up(site: Site, writer: asyncio.StreamWriter) -> bool:
        await ok(b"first")(site, writer)
        return False

    async def scenario() -> None:
        async with Site(answer_then_hang_up) as site, transport() as http:
            assert await get(http, site.url()) == (200, b"first")
            await site.hung_up.wait()
            assert await get(http, site.url()) == (200, b"first")
        assert (site.connections, site.requests) == (2, 2)

    run(scenario())


def test_a_body_left_unread_closes_its_connection() -> None:
    # The rest of the body would be read as the next answer's start: such a connection is never reused.
    async def scenario() -> None:
        async with Site(ok(b"x" * 100_000)) as site, transport() as http:
            assert await get(http, site.url(), read=False) == (200, b"")
            assert await get(http, site.url()) == (200, b"x" * 100_000)
            assert http.origin_pool.connections == 1
        assert site.connections == 2

    run(scenario())


def test_a_broken_answer_is_httpx_error_and_the_connection_is_dropped() -> None:
    async def garbage(site: Site, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 abc nonsense\r\n\r\n")
        await writer.drain()
        return True

    async def scenario() -> None:
        async with Site(garbage) as site, transport() as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await get(http, site.url())
            assert http.origin_pool.connections == 0

    run(scenario())


def test_with_httpcore_tracing_on_connections_are_kept_and_given_back_alike(caplog: pytest.LogCaptureFixture) -> None:
    # httpcore's own request path (with its traces) runs when its log is at DEBUG; the pool works the same.
    caplog.set_level(logging.DEBUG, logger="httpcore.http11")

    async def scenario() -> None:
        async with Site(ok(b"x" * 100_000)) as site, transport() as http:
            assert [await get(http, site.url(f"/{n}")) for n in range(3)] == [(200, b"x" * 100_000)] * 3
            assert await get(http, site.url(), read=False) == (200, b"")
            assert await get(http, site.url()) == (200, b"x" * 100_000)
            assert http.origin_pool.connections == 1
        assert (site.connections, site.requests) == (2, 5)

    run(scenario())
    assert "receive_response_body.complete" in caplog.text


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def test_https_verifies_the_certificate_and_reuses_the_connection(ca: trustme.CA) -> None:
    async def scenario() -> None:
        async with Site(ok(b"secret"), server_context(ca, "127.0.0.1")) as site, transport(trusting(ca)) as http:
            assert [await get(http, site.url()) for _ in range(2)] == [(200, b"secret")] * 2
        assert (site.connections, site.requests) == (1, 2)

    run(scenario())


def test_a_certificate_for_another_name_is_a_connect_error(ca: trustme.CA) -> None:
    async def scenario() -> None:
        async with Site(ok(b"secret"), server_context(ca, "other.example")) as site, transport(trusting(ca)) as http:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await get(http, site.url())
        assert site.requests == 0

    run(scenario())


def test_idle_pools_beyond_the_limit_are_closed_oldest_first() -> None:
    async def scenario() -> None:
        async with Site(ok(b"a")) as a, Site(ok(b"b")) as b, Site(ok(b"c")) as c:
            pools = Pools(AsyncioBackend(), keep=2, ssl_context=ssl.create_default_context())
            leased = []
            for site, body in ((a, b"a"), (b, b"b"), (c, b"c")):
                origin = ("http", "127.0.0.1", site.port)
                http = pools.take(origin)
                assert await get(http, site.url()) == (200, body)
                await pools.give_back(origin)
                leased.append(http)
            assert [http.origin_pool.connections for http in leased] == [0, 1, 1]
            await pools.aclose()
            assert [http.origin_pool.connections for http in leased] == [0, 0, 0]

    run(scenario())


# --- the answer's headers, read in one pass ------------------------------------------------------------

_NAMES = st.sampled_from([b"Content-Type", b"content-type", b"LOCATION", b"Set-Cookie", b"ETag", b"X-Other", b"server"])
_VALUES = st.one_of(
    st.binary(max_size=12),
    st.text(max_size=8).map(lambda text: text.encode("utf-8")),
    st.sampled_from([b"text/html", b"caf\xc3\xa9", b"caf\xe9", b""]),
)


@given(st.lists(st.tuples(_NAMES, _VALUES), max_size=6))
def test_answer_headers_reads_what_httpx_headers_would(raw: list[tuple[bytes, bytes]]) -> None:
    names = frozenset({"content-type", "location", "set-cookie", "etag", "server"})
    headers = httpx.Headers(raw)
    expected = {name: headers[name] for name in names if name in headers}
    assert answer_headers(raw, names) == expected


# --- the crawler keeps its connections over answers without a body ---------------------------------------


def _answers(*raw: bytes) -> Answer:
    async def answer(site: Site, writer: asyncio.StreamWriter) -> bool:
        writer.write(raw[min(site.requests, len(raw)) - 1])
        await writer.drain()
        return True

    return answer


def test_a_redirect_and_a_304_without_a_body_keep_their_connection() -> None:
    moved = b"HTTP/1.1 301 Moved Permanently\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n"
    page = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\n<p>hi</p>"
    unchanged = b'HTTP/1.1 304 Not Modified\r\nETag: "e"\r\n\r\n'

    async def scenario() -> None:
        async with Site(_answers(moved, page, unchanged, page)) as site:
            old, known = site.url("/old"), site.url("/known")
            settings = Settings(allow_hosts=frozenset({"127.0.0.1"}), max_retries=0)
            async with Crawler(settings, validators={known: ('"e"', None)}) as crawler:
                redirected = await crawler.fetch(old)
                unchanged_page = await crawler.fetch(known)
                again = await crawler.fetch(site.url("/other"))
        assert [h.status for h in redirected.hops] == [301]
        assert (redirected.status, redirected.final_url) == (200, site.url("/new"))
        assert unchanged_page.not_modified and again.status == 200
        assert (site.connections, site.requests) == (1, 4)

    run(scenario())
