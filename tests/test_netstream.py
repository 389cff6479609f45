"""The asyncio network backend (monitor/netstream.py) against real servers on 127.0.0.1.

The servers run inside each test's own event loop (asyncio.start_server), so a test decides exactly when a
server answers, stalls or hangs up. Requests go through httpcore's connection pool, as the crawler's do.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import httpcore
import pytest
import trustme

from monitor import netstream
from monitor.addresses import AddressPolicy, PinnedBackend
from monitor.netstream import READ_BUFFER_HIGH, AsyncioBackend

T = TypeVar("T")
# Every request has a deadline, so a stream that stops delivering fails its test instead of hanging it.
FIVE_SECONDS = {"timeout": {"connect": 5, "read": 5, "write": 5, "pool": 5}}
# asyncio's socket transport hands the protocol at most this much per delivery: the buffer's worst overshoot.
TRANSPORT_READ_SIZE = 256 * 1024

Answer = Callable[["Site", asyncio.StreamWriter], Awaitable[bool]]  # False: close the connection after it


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def ok(body: bytes) -> Answer:
    async def answer(site: Site, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        return True

    return answer


class Site:
    """An HTTP/1.1 server that answers every GET with ``answer``; counts connections and requests."""

    def __init__(self, answer: Answer, ssl_context: ssl.SSLContext | None = None) -> None:
        self.answer = answer
        self.ssl_context = ssl_context
        self.connections = 0
        self.requests = 0
        self.hung_up = asyncio.Event()  # set each time the server closes a connection itself
        self.port = 0

    async def __aenter__(self) -> Site:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()

    def url(self, path: str = "/") -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                if not await self.answer(self, writer):
                    writer.close()
                    await writer.wait_closed()
                    self.hung_up.set()
                    return
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            writer.close()


def pool(**kwargs: Any) -> httpcore.AsyncConnectionPool:
    return httpcore.AsyncConnectionPool(network_backend=AsyncioBackend(), **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- plain HTTP through httpcore's pool -------------------------------------------------------------------


def test_keep_alive_sends_every_request_over_one_connection() -> None:
    async def scenario() -> None:
        async with Site(ok(b"hello")) as site, pool() as http:
            responses = [await http.request("GET", site.url(f"/{n}"), extensions=FIVE_SECONDS) for n in range(3)]
            bodies = [response.content for response in responses]
        assert bodies == [b"hello"] * 3
        assert (site.connections, site.requests) == (1, 3)

    run(scenario())


def test_a_server_closing_an_idle_connection_costs_a_new_connection_not_a_failure() -> None:
    async def answer_then_hang_up(site: Site, writer: asyncio.StreamWriter) -> bool:
        await ok(b"first")(site, writer)
        return False  # keep-alive was not refused: the client believes the connection reusable

    async def scenario() -> None:
        async with Site(answer_then_hang_up) as site, pool() as http:
            assert (await http.request("GET", site.url(), extensions=FIVE_SECONDS)).content == b"first"
            await site.hung_up.wait()
            assert (await http.request("GET", site.url(), extensions=FIVE_SECONDS)).status == 200
        assert (site.connections, site.requests) == (2, 2)

    run(scenario())


def test_a_fin_the_event_loop_has_not_seen_yet_still_makes_the_connection_unusable() -> None:
    # httpcore asks is_readable of an idle connection right before reusing it. The server's FIN may be in the
    # kernel while the loop is busy elsewhere; the stream must still say so, or the next request fails.
    async def scenario() -> None:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", listener.getsockname()[1], timeout=5)
            accepted, _ = listener.accept()
            assert stream.get_extra_info("is_readable") is False
            accepted.close()
            deadline = time.monotonic() + 2
            while not stream.get_extra_info("is_readable") and time.monotonic() < deadline:
                time.sleep(0.01)  # blocking on purpose: the event loop must not run meanwhile
            assert stream.get_extra_info("is_readable") is True
            await stream.aclose()

    run(scenario())


def test_a_silent_server_is_a_read_timeout() -> None:
    async def never(site: Site, writer: asyncio.StreamWriter) -> bool:
        await asyncio.Event().wait()
        return True

    async def scenario() -> None:
        async with Site(never) as site, pool() as http:
            started = time.monotonic()
            with pytest.raises(httpcore.ReadTimeout):
                await http.request("GET", site.url(), extensions={"timeout": {"read": 0.1}})
            assert 0.1 <= time.monotonic() - started < 2

    run(scenario())


def test_connection_refused_is_a_connect_error() -> None:
    with pytest.raises(httpcore.ConnectError):
        run(AsyncioBackend().connect_tcp("127.0.0.1", free_port(), timeout=5))


def test_a_connect_that_does_not_finish_in_time_is_a_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    # No address is guaranteed to swallow a SYN without touching the real network, so the loop's connect hangs.
    async def scenario() -> None:
        async def hang(*args: Any, **kwargs: Any) -> Any:
            await asyncio.Event().wait()

        monkeypatch.setattr(asyncio.get_running_loop(), "create_connection", hang)
        with pytest.raises(httpcore.ConnectTimeout):
            await AsyncioBackend().connect_tcp("127.0.0.1", 80, timeout=0.05)

    run(scenario())


def test_socket_options_and_nodelay_are_set() -> None:
    async def scenario() -> None:
        async with Site(ok(b"")) as site:
            options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", site.port, socket_options=options)
            sock = stream.get_extra_info("socket")
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
            assert stream.get_extra_info("server_addr") == ("127.0.0.1", site.port)
            assert stream.get_extra_info("client_addr")[0] == "127.0.0.1"
            assert stream.get_extra_info("ssl_object") is None
            await stream.aclose()
            with pytest.raises(httpcore.ReadError):
                await stream.read(10)

    run(scenario())


# --- flow control: what a hostile server can push into memory -------------------------------------------


@pytest.fixture
def peak(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The largest unread buffer any stream held, recorded after each delivery from the transport."""
    seen = [0]
    # A delivery is buffer_updated (the transports receive into the protocol's buffer), or data_received.
    for name in ("buffer_updated", "data_received"):
        original = getattr(netstream._StreamProtocol, name)

        def recording(self: netstream._StreamProtocol, got: object, original: Any = original) -> None:
            original(self, got)
            seen[0] = max(seen[0], len(self.buffer))

        monkeypatch.setattr(netstream._StreamProtocol, name, recording)
    return seen


def test_an_endless_body_read_slowly_stays_bounded_in_memory(peak: list[int]) -> None:
    chunk = b"x" * 65536

    async def endless(site: Site, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        while True:  # until the client hangs up (drain then raises ConnectionError)
            writer.write(chunk)
            await writer.drain()

    async def scenario() -> None:
        async with Site(endless) as site:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", site.port, timeout=5)
            await stream.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
            received = 0
            for _ in range(5):
                received += len(await stream.read(65536, timeout=5))
                await asyncio.sleep(0.05)  # a slow reader: the server could push hundreds of MB meanwhile
            while received < 8 * READ_BUFFER_HIGH:  # reading resumes once the buffer drains
                received += len(await stream.read(65536, timeout=5))
            await stream.aclose()

    run(scenario())
    assert READ_BUFFER_HIGH <= peak[0] <= READ_BUFFER_HIGH + TRANSPORT_READ_SIZE


def test_a_large_body_read_slowly_arrives_complete_and_in_order(peak: list[int]) -> None:
    body = bytes(range(256)) * (12 * 1024)  # 3 MiB, a pattern so a lost or repeated chunk shows

    async def scenario() -> bytes:
        async with (
            Site(ok(body)) as site,
            pool() as http,
            http.stream("GET", site.url(), extensions=FIVE_SECONDS) as response,
        ):
            parts = []
            async for part in response.aiter_stream():
                parts.append(part)
                if len(parts) % 8 == 0:
                    await asyncio.sleep(0.01)
            return b"".join(parts)

    assert run(scenario()) == body
    assert peak[0] <= READ_BUFFER_HIGH + TRANSPORT_READ_SIZE


# --- writes ---------------------------------------------------------------------------------------------


def test_a_server_that_never_reads_is_a_write_timeout() -> None:
    async def scenario() -> None:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", listener.getsockname()[1], timeout=5)
            accepted, _ = listener.accept()  # accepted, never read: the kernel buffers fill, then writes wait
            with accepted, pytest.raises(httpcore.WriteTimeout):
                for _ in range(1024):  # up to 1 GiB, far more than any loopback buffer holds
                    await stream.write(b"x" * (1024 * 1024), timeout=0.1)
            await stream.aclose()

    run(scenario())


def test_writing_to_a_connection_the_server_closed_is_a_write_error() -> None:
    async def scenario() -> None:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", listener.getsockname()[1], timeout=5)
            accepted, _ = listener.accept()
            accepted.close()
            assert await stream.read(10, timeout=5) == b""  # a clean end of stream is not an error
            with pytest.raises(httpcore.WriteError):
                await stream.write(b"GET / HTTP/1.1\r\n\r\n", timeout=5)
            await stream.aclose()

    run(scenario())


def test_aclose_hangs_up_at_once() -> None:
    async def scenario() -> None:
        with socket.create_server(("127.0.0.1", 0)) as listener:
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", listener.getsockname()[1], timeout=5)
            accepted, _ = listener.accept()
            with accepted:
                await stream.aclose()
                await asyncio.sleep(0)  # the transport lets go of the socket on the loop's next turn
                accepted.settimeout(2)
                # An abort may end the connection with a reset instead of a FIN: hung up all the same.
                with contextlib.suppress(ConnectionResetError):
                    assert accepted.recv(10) == b""

    run(scenario())


# --- TLS ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def test_https_get_over_tls_reuses_the_connection(ca: trustme.CA) -> None:
    async def scenario() -> None:
        async with Site(ok(b"secret"), server_context(ca, "127.0.0.1")) as site, pool(ssl_context=trusting(ca)) as http:
            first = await http.request("GET", site.url(), extensions=FIVE_SECONDS)
            second = await http.request("GET", site.url(), extensions=FIVE_SECONDS)
            stream = first.extensions["network_stream"]
            assert stream.get_extra_info("ssl_object").version().startswith("TLS")
        assert (first.status, first.content, second.content) == (200, b"secret", b"secret")
        assert (site.connections, site.requests) == (1, 2)

    run(scenario())


@pytest.mark.parametrize("case", ["wrong name", "untrusted"])
def test_a_certificate_that_does_not_verify_is_a_connect_error(ca: trustme.CA, case: str) -> None:
    names = ("other.example",) if case == "wrong name" else ("127.0.0.1",)
    client = trusting(ca) if case == "wrong name" else trusting(trustme.CA())

    async def scenario() -> None:
        async with Site(ok(b"secret"), server_context(ca, *names)) as site, pool(ssl_context=client) as http:
            with pytest.raises(httpcore.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await http.request("GET", site.url(), extensions=FIVE_SECONDS)
        assert site.requests == 0

    run(scenario())


def test_a_server_that_never_completes_the_handshake_is_a_connect_timeout(ca: trustme.CA) -> None:
    async def scenario() -> None:
        with socket.create_server(("127.0.0.1", 0)) as listener:  # accepts TCP, never speaks TLS
            stream = await AsyncioBackend().connect_tcp("127.0.0.1", listener.getsockname()[1], timeout=5)
            started = time.monotonic()
            with pytest.raises(httpcore.ConnectTimeout):
                await stream.start_tls(trusting(ca), server_hostname="127.0.0.1", timeout=0.1)
            assert time.monotonic() - started < 2
            with pytest.raises(httpcore.ReadError):  # the failed stream was closed, not left open
                await stream.read(10)

    run(scenario())


def test_the_crawlers_pinned_backend_verifies_tls_by_name_while_connecting_to_the_checked_address(
    ca: trustme.CA,
) -> None:
    # The production path: PinnedBackend's default inner backend is this one; the URL keeps its name (SNI and
    # certificate check use it) while the TCP connection goes to the address the policy resolved.
    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"] if host == "site.test" else []

    async def scenario() -> None:
        backend = PinnedBackend(AddressPolicy({"site.test"}, resolver=resolve))
        async with (
            Site(ok(b"pinned"), server_context(ca, "site.test")) as site,
            httpcore.AsyncConnectionPool(ssl_context=trusting(ca), network_backend=backend) as http,
        ):
            response = await http.request("GET", f"https://site.test:{site.port}/", extensions=FIVE_SECONDS)
        assert (response.status, response.content) == (200, b"pinned")

    run(scenario())
