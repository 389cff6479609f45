"""The crawler's connections: one small pool per origin, HTTP/1.1 over the pinned network backend.

httpx stays the client: each request goes through ``httpx.AsyncHTTPTransport.handle_async_request`` (its
httpcore models, its exception mapping, and what test doubles such as pytest-httpx replace), and each
connection is httpcore's own ``AsyncHTTP11Connection`` on h11. What is ours is the pool under the transport.

Why not httpcore's ``AsyncConnectionPool``: it is built for many tasks racing for a shared set of
connections, so every request (and every response closed) takes an anyio lock, queues a ``PoolRequest`` and
scans every connection of the pool twice, asking each idle one whether its socket is readable. That was about
0.3 ms of CPU per request (tests/perf/http_cpu.py), a sixth of the crawler's. The crawler needs none of it:
the host's slot (``fetch._HostState``) already bounds the requests in flight to an origin, so a request never
waits for a connection here. It takes the most recently used idle one, or opens a new one, and the connection
comes back when its response is closed. An idle connection is checked only when it is taken (expired, or
closed by the server: ``has_expired``).

Idle pools beyond ``keep`` are closed, least recently used first, so a catalog of thousands of hosts never
holds thousands of idle sockets.
"""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import AsyncIterator
from typing import Any

import h11
import httpcore
import httpx
from httpcore._async.http11 import AsyncHTTP11UpgradeStream, HTTPConnectionState
from httpcore._synchronization import AsyncShieldCancellation

Origin = tuple[str, str, int]  # scheme, host (lower case, no trailing dot), port

# httpx's default: a connection idle longer than this is closed rather than reused.
KEEPALIVE_EXPIRY = 5.0

_HTTP11_LOG = logging.getLogger("httpcore.http11")  # httpcore traces a request when this is at DEBUG
_NEW, _ACTIVE, _IDLE = HTTPConnectionState.NEW, HTTPConnectionState.ACTIVE, HTTPConnectionState.IDLE
_END_OF_BODY = (h11.EndOfMessage, h11.PAUSED)


class OriginPool:
    """Keep-alive HTTP/1.1 connections to one origin, as httpcore's request interface.

    It never queues: the caller bounds the requests in flight (the host's slot), and each one without an idle
    connection opens its own.
    """

    def __init__(self, backend: httpcore.AsyncNetworkBackend, ssl_context: ssl.SSLContext) -> None:
        self._backend = backend
        self._ssl_context = ssl_context
        self._idle: list[_Connection] = []  # most recently used last
        self._busy: set[_Connection] = set()

    @property
    def connections(self) -> int:
        return len(self._idle) + len(self._busy)

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        connection = await self._idle_connection() or await self._connect(request)
        self._busy.add(connection)
        try:
            # Its body comes back to _returned when closed (see _Connection.handle_async_request).
            return await connection.handle_async_request(request)
        except BaseException:
            # httpcore has closed the connection already (its _response_closed on any failure).
            self._busy.discard(connection)
            await connection.aclose()
            raise

    async def _idle_connection(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if not connection.has_expired():
                return connection
            await connection.aclose()
        return None

    async def _connect(self, request: httpcore.Request) -> _Connection:
        # What httpcore.AsyncHTTPConnection._connect does for HTTP/1.1 (no retries: the crawler retries).
        origin = request.url.origin
        host = origin.host.decode("ascii")
        timeout = request.extensions.get("timeout", {}).get("connect")
        stream = await self._backend.connect_tcp(host, origin.port, timeout=timeout)
        if origin.scheme == b"https":
            server_name = request.extensions.get("sni_hostname") or host
            stream = await stream.start_tls(self._ssl_context, server_hostname=server_name, timeout=timeout)
        return _Connection(origin=origin, stream=stream, keepalive_expiry=KEEPALIVE_EXPIRY, pool=self)

    def _returned(self, connection: _Connection) -> None:
        self._busy.discard(connection)
        # After its response is closed a connection is idle (the answer was read to its end and may be
        # followed by another) or closed (anything else: a capped body, an error, "Connection: close").
        if connection.is_idle():
            self._idle.append(connection)

    async def __aenter__(self) -> OriginPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        connections = [*self._idle, *self._busy]
        self._idle, self._busy = [], set()
        for connection in connections:
            await connection.aclose()


class _Connection(httpcore.AsyncHTTP11Connection):
    """httpcore's HTTP/1.1 connection, without the lock around its state, its traces when nobody traces, and
    with a body that gives the connection back to its pool when closed.

    The lock serves a pool whose tasks race for connections; here one request at a time has the connection,
    from the moment the pool hands it out until its response is closed. httpcore's lock is anyio's, which
    yields to the event loop on every acquisition (twice per request): about 7% of a request's CPU.
    """

    # httpcore reads 64 KB at a time, and h11 makes an event of each read: a page of 80 KB was two rounds of
    # h11's and httpcore's per-event code. The stream hands over what it holds, at most its 256 KB buffer.
    READ_NUM_BYTES = 256 * 1024

    def __init__(
        self, origin: httpcore.Origin, stream: httpcore.AsyncNetworkStream, keepalive_expiry: float, pool: OriginPool
    ) -> None:
        super().__init__(origin=origin, stream=stream, keepalive_expiry=keepalive_expiry)
        self._state_lock = _NoLock()  # type: ignore[assignment]
        self._pool = pool

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        """httpcore's ``handle_async_request``, step for step, without its five ``Trace`` objects (each
        asks the logger and the request whether to trace) and with one body object instead of three nested
        generators. When someone traces (a "trace" extension, httpcore's log at DEBUG), httpcore's own."""
        if "trace" in request.extensions or _HTTP11_LOG.isEnabledFor(logging.DEBUG):
            response = await super().handle_async_request(request)
            response.stream = _Returned(response.stream, self)
            return response
        if not self.can_handle_request(request.url.origin):
            raise RuntimeError(f"Attempted to send request to {request.url.origin} on connection to {self._origin}")
        if self._state not in (_NEW, _IDLE):
            raise httpcore.ConnectionNotAvailable()
        self._request_count += 1
        self._state = _ACTIVE
        self._expire_at = None
        try:
            try:
                await self._send_request_headers(request)
                await self._send_request_body(request)
            except httpcore.WriteError:
                # As httpcore: a server may close its end early and still answer (413, say); read it.
                pass
            timeout = request.extensions.get("timeout", {}).get("read")
            while True:
                event = await self._receive_event(timeout=timeout)
                if isinstance(event, h11.Response):
                    break
                if isinstance(event, h11.InformationalResponse) and event.status_code == 101:
                    break
            network_stream = self._network_stream
            if event.status_code == 101:  # the crawler sends GETs only, never CONNECT
                trailing_data, _ = self._h11_state.trailing_data
                network_stream = AsyncHTTP11UpgradeStream(network_stream, trailing_data)
            response = httpcore.Response.__new__(httpcore.Response)
            # As httpcore.Response(...) makes it; h11's headers are (bytes, bytes) already.
            response.status = event.status_code
            response.headers = event.headers.raw_items()
            response.stream = _Body(self, timeout)
            response.extensions = {"http_version": b"HTTP/" + event.http_version, "reason_phrase": event.reason,
                                   "network_stream": network_stream}  # fmt: skip
            response._stream_consumed = False
            return response
        except BaseException:
            with AsyncShieldCancellation():
                await self._response_closed()
            raise

    async def _receive_event(self, timeout: float | None = None) -> h11.Event | type[h11.PAUSED]:
        # As httpcore's, with a plain try instead of its map_exceptions context manager (a generator).
        h11_state = self._h11_state
        while True:
            try:
                event = h11_state.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpcore.RemoteProtocolError(exc) from exc
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]
            data = await self._network_stream.read(self.READ_NUM_BYTES, timeout=timeout)
            if data == b"" and h11_state.their_state == h11.SEND_RESPONSE:
                raise httpcore.RemoteProtocolError("Server disconnected without sending a response.")
            h11_state.receive_data(data)

    async def _send_request_headers(self, request: httpcore.Request) -> None:
        # As httpcore's, with the headers checked once per distinct set rather than once per request.
        timeout = request.extensions.get("timeout", {}).get("write")
        try:
            event = h11.Request(method=request.method, target=request.url.target,
                                headers=_checked_headers(tuple(request.headers)))  # fmt: skip
        except h11.LocalProtocolError as exc:
            raise httpcore.LocalProtocolError(exc) from exc
        await self._send_event(event, timeout=timeout)

    async def _send_request_body(self, request: httpcore.Request) -> None:
        stream = request.stream
        if not isinstance(stream, httpx.ByteStream):
            await super()._send_request_body(request)
            return
        # A body held whole (the crawler's GETs have none): read as it is, not through an async generator, and
        # no empty Data event sent through h11 for an empty body.
        timeout = request.extensions.get("timeout", {}).get("write")
        for chunk in stream:
            if chunk:
                await self._send_event(h11.Data(data=chunk), timeout=timeout)
        await self._send_event(h11.EndOfMessage(), timeout=timeout)


@functools.lru_cache(maxsize=1024)
def _checked_headers(headers: tuple[tuple[bytes, bytes], ...]) -> h11._headers.Headers:
    """The request headers as h11 checks and keeps them. h11 runs two regexes over every header of every
    request; all but Host are the same for every request to a host, so each distinct set is checked once
    (an h11 ``Headers`` given to an event is taken as it is). A set that fails raises each time: not cached."""
    return h11.Request(method=b"GET", target=b"/", headers=list(headers)).headers


class _NoLock:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        return None


class _GivenBack:
    """A response body whose closing (once) ends the answer and gives its connection back to the pool."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection
        self._closed = False

    async def _end(self) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._end()
        finally:
            self._connection._pool._returned(self._connection)


class _Body(_GivenBack):
    """A response's body as httpcore's ``HTTP11ConnectionByteStream`` reads it, in one generator; closing it
    ends the answer on the connection (kept for the next request, or closed)."""

    def __init__(self, connection: _Connection, timeout: float | None) -> None:
        super().__init__(connection)
        self._timeout = timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection, timeout = self._connection, self._timeout
        try:
            while True:
                event = await connection._receive_event(timeout=timeout)
                if isinstance(event, h11.Data):
                    yield bytes(event.data)
                elif isinstance(event, _END_OF_BODY):
                    break
        except BaseException:
            # As httpcore: the answer is ended (the connection closed) before the error goes on.
            with AsyncShieldCancellation():
                await self.aclose()
            raise

    async def _end(self) -> None:
        await self._connection._response_closed()


class _Returned(_GivenBack):
    """httpcore's own body (when traced), given back to the pool when closed."""

    def __init__(self, stream: Any, connection: _Connection) -> None:
        super().__init__(connection)
        self._stream = stream

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()  # type: ignore[no-any-return]

    async def _end(self) -> None:
        await self._stream.aclose()


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport for one origin, sending through an ``OriginPool`` on the given network backend."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        # httpx offers no public way to give its transport a pool of our own, so the one it built is replaced
        # (tests/test_fetch_integration.py proves the connections go through our backend).
        self.origin_pool = OriginPool(backend, ssl_context)
        self._pool = self.origin_pool  # type: ignore[assignment]


class Pools:
    """One transport per origin (scheme, host, port); idle ones beyond ``keep`` closed, oldest first."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend, keep: int, ssl_context: ssl.SSLContext) -> None:
        self._backend = backend
        # httpcore sets this on every TLS connection it opens; once is enough for a context of our own.
        ssl_context.set_alpn_protocols(["http/1.1"])
        self._ssl_context = ssl_context
        self._keep = max(1, keep)
        self._pools: dict[Origin, PinnedTransport] = {}  # in order of last use
        self._users: dict[Origin, int] = {}

    def take(self, origin: Origin) -> PinnedTransport:
        """The origin's transport, for one request; ``give_back(origin)`` once its response is closed."""
        pool = self._pools.pop(origin, None)
        if pool is None:
            pool = PinnedTransport(self._backend, self._ssl_context)
        self._pools[origin] = pool
        self._users[origin] = self._users.get(origin, 0) + 1
        return pool

    async def give_back(self, origin: Origin) -> None:
        self._users[origin] -= 1
        if len(self._pools) > self._keep:
            await self._trim()

    async def _trim(self) -> None:
        while len(self._pools) > self._keep:
            idle = next((origin for origin in self._pools if not self._users.get(origin)), None)
            if idle is None:
                return
            self._users.pop(idle, None)
            await self._pools.pop(idle).aclose()

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


def raw_body(response: httpx.Response) -> AsyncIterator[bytes]:
    """The answer's body as it arrives: what ``Response.aiter_raw()`` yields, without re-chunking it."""
    if response.is_stream_consumed:
        raise httpx.StreamConsumed()
    if response.is_closed:
        raise httpx.StreamClosed()
    response.is_stream_consumed = True
    return response.stream.__aiter__()  # type: ignore[union-attr]


def answer_headers(raw: list[tuple[bytes, bytes]], names: frozenset[str]) -> dict[str, str]:
    """The answer's headers of those ``names`` (lower case), each as ``httpx.Headers`` would give it.

    One pass over the raw headers instead of a case-insensitive scan of all of them per name: repeated
    headers joined with ", ", and every value decoded as ASCII, else UTF-8, else ISO-8859-1, the encoding
    chosen for the whole set as httpx chooses it.
    """
    wanted = _encoded(names)
    found: dict[bytes, list[bytes]] = {}
    for name, value in raw:
        lower = name.lower()
        if lower in wanted:
            found.setdefault(lower, []).append(value)
    if not found:
        return {}
    encoding = _encoding(raw)
    return {name.decode(encoding): ", ".join(v.decode(encoding) for v in values) for name, values in found.items()}


def _encoding(raw: list[tuple[bytes, bytes]]) -> str:
    if all(name.isascii() and value.isascii() for name, value in raw):
        return "ascii"
    try:
        for name, value in raw:
            name.decode("utf-8")
            value.decode("utf-8")
    except UnicodeDecodeError:
        return "iso-8859-1"
    return "utf-8"


@functools.cache
def _encoded(names: frozenset[str]) -> frozenset[bytes]:
    return frozenset(name.encode("ascii") for name in names)
