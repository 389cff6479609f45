"""An asyncio network backend for httpcore.

httpcore's default backend goes through anyio, whose stream layer costs CPU on every call: its socket stream
rebuilds a dict of attribute getters for each ``get_extra_info("is_readable")`` (httpcore asks it of every idle
connection on every pool scan) and it pauses and resumes the transport around every read. The crawler is
CPU-bound at low latency, so this backend talks to asyncio's transports directly: a small ``asyncio.Protocol``
buffers what arrives and ``AsyncioStream`` serves httpcore's read/write/start_tls calls from it. Measured with
the synthetic site (tests/perf/bench.py at 0 ms latency), see the commit that made it the default.

Safety: the crawler stops reading hostile bodies (endless, dripping, oversized) at its caps, so what the
network may push into memory must be bounded no matter how slowly the crawler reads. The protocol pauses the
transport once ``READ_BUFFER_HIGH`` bytes wait unread and resumes it when ``read()`` has drained the buffer to
``READ_BUFFER_LOW``; the kernel's receive window then holds the sender back. The buffer can overshoot the high
mark by at most one delivery from the transport (asyncio reads at most 256 KiB at a time).

Errors are httpcore's, mapped as its anyio and sync backends map them: connect and TLS failures become
``ConnectError``/``ConnectTimeout``, reads ``ReadError``/``ReadTimeout``, writes ``WriteError``/``WriteTimeout``.
A clean end of stream is ``b""``, never an error.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
import threading
from collections.abc import Iterable
from typing import Any

import httpcore

READ_BUFFER_HIGH = 256 * 1024
READ_BUFFER_LOW = 64 * 1024
# What one receive may take, as asyncio's own transports read (256 KiB).
_RECEIVE_SIZE = 256 * 1024


class _Scratch(threading.local):
    """Every connection of a thread receives into this one buffer and copies what came into its own at once:
    the transport calls get_buffer, recv_into and buffer_updated in one go, with nothing else between. One per
    thread, as recv_into releases the GIL and another thread's event loop may receive meanwhile."""

    def __init__(self) -> None:
        self.view = memoryview(bytearray(_RECEIVE_SIZE))


_scratch = _Scratch()


class _StreamProtocol(asyncio.BufferedProtocol):
    """Receives for one AsyncioStream: a bounded buffer, the end-of-stream state and write flow control.

    A buffered protocol, not a plain one: a plain protocol's transport makes a new 256 KiB bytes object for
    every receive, which the allocator maps and unmaps (mmap, mremap, munmap: three system calls and fresh
    pages to fault in, per answer); here each receive lands in one reused buffer.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False  # the peer will send nothing more (FIN, or the connection is gone)
        self.error: Exception | None = None  # why the connection was lost, when it was not a clean close
        self.reading_paused = False
        self.writing_paused = False
        self.reader: asyncio.Future[bool] | None = None  # httpcore reads one at a time on a connection
        self.drainer: asyncio.Future[bool] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.attach(transport)

    def attach(self, transport: asyncio.Transport) -> None:
        # loop.start_tls() never calls connection_made, and the first decrypted bytes may arrive before it
        # returns the transport, so a pause owed to them is applied here.
        self.transport = transport
        self._limit()

    def get_buffer(self, sizehint: int) -> memoryview:
        return _scratch.view

    def buffer_updated(self, nbytes: int) -> None:
        self.buffer += _scratch.view[:nbytes]
        self._limit()
        self.reader = _wake(self.reader)

    def data_received(self, data: bytes) -> None:
        # What a transport that cannot receive into a buffer hands over instead.
        self.buffer += data
        self._limit()
        self.reader = _wake(self.reader)

    def eof_received(self) -> bool:
        self.eof = True
        self.reader = _wake(self.reader)
        return False  # half-open is no use to HTTP: let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self.reader = _wake(self.reader)
        self.drainer = _wake(self.drainer)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        self.drainer = _wake(self.drainer)

    def take(self, max_bytes: int) -> bytes:
        buffer = self.buffer
        if len(buffer) <= max_bytes:
            data = bytes(buffer)
            buffer.clear()
        else:
            data = bytes(buffer[:max_bytes])
            del buffer[:max_bytes]
        if self.reading_paused and len(buffer) <= READ_BUFFER_LOW and self.transport is not None:
            self.reading_paused = False
            self.transport.resume_reading()
        return data

    def _limit(self) -> None:
        if not self.reading_paused and len(self.buffer) >= READ_BUFFER_HIGH and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()


def _wake(waiter: asyncio.Future[bool] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(True)


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


async def _wait(waiter: asyncio.Future[bool], timeout: float | None) -> bool:
    """Whether ``waiter`` was woken before ``timeout`` passed. A bare timer rather than asyncio.timeout():
    this runs for every read that finds the buffer empty, and cancelling the task is the costlier way."""
    if timeout is None:
        return await waiter
    handle = waiter.get_loop().call_later(max(timeout, 0.0), _expire, waiter)
    try:
        return await waiter
    finally:
        handle.cancel()


def _socket_readable(sock: Any) -> bool:
    # What httpcore's own backends do: poll without reading. An idle connection that is readable has been
    # closed by the server (or sent something unasked), so httpcore must not send the next request on it.
    try:
        fd = sock.fileno()
    except (AttributeError, OSError):
        return True
    if fd < 0:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One TCP (or TLS) connection, as httpcore sees it."""

    def __init__(self, transport: asyncio.Transport, protocol: _StreamProtocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self._closed = False  # by aclose(): further use is an error, as with anyio's ClosedResourceError
        self._socket = transport.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if self._closed:
            raise httpcore.ReadError("the connection was closed")
        if not protocol.buffer and not protocol.eof:
            waiter = protocol.reader = asyncio.get_running_loop().create_future()
            if not await _wait(waiter, timeout):
                protocol.reader = None
                raise httpcore.ReadTimeout(f"no data within {timeout} s")
            if self._closed:  # aclose() from another task while this one waited
                raise httpcore.ReadError("the connection was closed")
        if protocol.buffer:
            return protocol.take(max_bytes)
        if protocol.error is not None:
            raise httpcore.ReadError(str(protocol.error) or type(protocol.error).__name__) from protocol.error
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        protocol = self._protocol
        if self._closed or self._transport.is_closing():
            raise httpcore.WriteError(self._lost_reason())
        self._transport.write(buffer)
        # Like a blocking send: return once the transport has taken the data below its high-water mark.
        while protocol.writing_paused:
            waiter = protocol.drainer = asyncio.get_running_loop().create_future()
            if not await _wait(waiter, timeout):
                protocol.drainer = None
                raise httpcore.WriteTimeout(f"could not send within {timeout} s")
            if self._closed or self._transport.is_closing():
                raise httpcore.WriteError(self._lost_reason())

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        # Abort, never a graceful close: nothing unsent matters once httpcore drops a connection, and a TLS
        # close waits for the server's close_notify (up to 30 s) while holding the socket open.
        self._transport.abort()
        self._protocol.reader = _wake(self._protocol.reader)
        self._protocol.drainer = _wake(self._protocol.drainer)

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self._closed or self._transport.is_closing() or self._protocol.eof:
            await self.aclose()
            raise httpcore.ConnectError(f"the connection closed before TLS could start: {self._lost_reason()}")
        protocol = _StreamProtocol()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport, protocol, ssl_context, server_hostname=server_hostname,
                    # asyncio's own handshake limit (60 s by default) ends in ConnectionAbortedError, which
                    # would read as ConnectError; it is set past ours so a slow handshake is a ConnectTimeout.
                    ssl_handshake_timeout=None if timeout is None else max(timeout, 0.0) + 1.0,
                )  # fmt: skip
        except TimeoutError as exc:
            await self.aclose()
            raise httpcore.ConnectTimeout(f"TLS handshake took longer than {timeout} s") from exc
        except (OSError, EOFError) as exc:  # ssl.SSLError (certificate failures included) is an OSError
            await self.aclose()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        except BaseException:
            await self.aclose()
            raise
        if transport is None:  # only when the loop is shutting down
            await self.aclose()
            raise httpcore.ConnectError("the event loop closed the connection during the TLS handshake")
        protocol.attach(transport)
        return AsyncioStream(transport, protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            protocol = self._protocol
            # The buffer and eof flag know what the loop has seen; the poll catches a FIN the loop has not
            # processed yet, so a connection the server just closed is never picked for the next request.
            return bool(protocol.buffer) or protocol.eof or self._closed or _socket_readable(self._socket)
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._socket
        return None

    def _lost_reason(self) -> str:
        if self._closed:
            return "the connection was closed"
        error = self._protocol.error
        return str(error) if error is not None else "the server closed the connection"


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend on asyncio transports. TCP only: unix sockets are not implemented."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = None if local_address is None else (local_address, 0)
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(_StreamProtocol, host, port, local_addr=local)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"could not connect to {host}:{port} within {timeout} s") from exc
        except OSError as exc:  # refused, unreachable, and socket.gaierror for a name
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        sock = transport.get_extra_info("socket")
        try:
            # asyncio sets TCP_NODELAY itself today; httpcore's sync backend sets it explicitly, and so do we,
            # so a request's small writes never wait for an ACK whatever asyncio does.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for option in socket_options or ():
                sock.setsockopt(*option)
        except OSError as exc:
            transport.abort()
            raise httpcore.ConnectError(f"could not set a socket option: {exc}") from exc
        return AsyncioStream(transport, protocol)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
