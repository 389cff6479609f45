"""The crawler: fetch every catalog URL politely and safely, and describe each answer as plain data.

Requests are httpx's, sent through ``httpx.AsyncHTTPTransport`` over one small connection pool per origin
(``exchange.py``); no ``AsyncClient``: its merging of URLs, cookies and headers is done once per host here.
For each URL the crawler follows redirects itself, hop by hop (httpx's ``follow_redirects`` stays off), so
that every hop is recorded in ``FetchResult.hops`` and its host checked against the private-address policy
(``addresses.py``) after DNS resolution. ``hops`` holds the redirecting answers only (HTTP
301/302/303/307/308 and ``<meta http-equiv="refresh">``); the final answer is ``status`` / ``final_url``.

Decisions worth knowing (the README's flags table repeats them):

* Deadline: ``Settings.timeout`` bounds the network time of one attempt, every hop and the body reads
  included, so a server that drips a byte a second cannot hold a URL longer. Waiting for a turn (host
  interval, concurrency slots, Retry-After, backoff) is not network time and is not counted: a polite
  wait must not turn into a false ``timeout``.
* Retries: connect errors, resets, timeouts, malformed answers and 408/425/429/500/502/503/504 are retried
  up to ``max_retries`` times after ``retry_wait_time`` doubling, with jitter. DNS failures are not
  retried within a pass (they are rarely momentary, and failing fast makes "network unavailable" quick);
  the second pass gives them another chance. 404/410 are never retried within a pass. A bot wall's
  challenge (monitor/challenge.py) is never retried, in the pass or the second one: it answers alike.
* Retry-After (seconds or HTTP date) on a 429 is scoped to the URL that got it: that URL waits (outside
  any slot) and is asked again, while the host's other URLs go on. A host-wide hold (no request to the
  host until the requested time) and a halved concurrency (floor 1) are kept for the answers that speak for
  the host: a 429 when 429s are frequent (at least ``FREQUENT_429`` of the host's last ``RECENT_ANSWERS``
  answers), a 429 without Retry-After (its concurrency is halved; the URL backs off as for a 5xx), and a
  503 with Retry-After (the server is unavailable, not one URL). Beyond ``retry_after_cap`` the URL is
  ``rate-limited`` at once, and so is every other URL of that host until the requested time. Calm answers
  win the concurrency back one request at a time (every two rounds of them), up to the configured ceiling.
  The interval is not stretched: one 429 among thousands of answers must not turn a run of minutes into
  hours, nor hold back every other URL of its host for the length of a Retry-After.
* Second pass: URLs that failed with connect/DNS/TLS/timeout/protocol errors, 5xx, 404/410, 408 or 425
  are fetched once more, the later answer kept: each once its host has no URL left for a first try, and
  no sooner than ``retry_wait_time`` after its first try ended (time for a momentary failure to pass).
  Another host's Retry-After waits and slow pages are not waited for.
* Bodies are read only for text types (HTML, XML, plain text, or no content type), streamed and
  decompressed here with bounded decoders (gzip, deflate, br, zstd): at most ``max_body`` bytes after
  decompression, so a bomb stops at the cap with ``truncated=True`` and bounded memory.
* Only http and https are followed: a redirect to ``file:``, ``ftp:``, ``javascript:``, ``data:`` and
  the like ends the chain with ``FetchError.UNSUPPORTED_SCHEME`` (reported as ``blocked-address``: the
  monitor refused to follow it).
* Loops: revisiting a URL within one chain is a loop, unless a cookie set along the way changed what the
  server sees (cookies live for one chain only and are never kept between entries).
* Headers: ``Settings.headers`` go to every host except those named in ``secret_headers``, which are
  never sent to a checked site from the global list; per-host headers (``Settings.hosts``) go only to
  that exact host, for a catalog URL on that host, and only while the redirect chain stays on that URL's
  origin (scheme, host and port): never to the next host of a redirect, another port or scheme of the
  same host, or back to the host after a detour through another site.
* Hosts are matched exactly (case-insensitive): settings for ``github.com`` do not apply to
  ``gist.github.com``. Politeness state (interval, slots, Retry-After) is kept per host and port.
"""

from __future__ import annotations

import asyncio
import html
import inspect
import logging
import random as random_module
import re
import socket
import ssl
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Protocol

import brotli
import httpx
import zstandard

from monitor.addresses import (
    AddressBlocked,
    AddressPolicy,
    InvalidHost,
    PinnedBackend,
    Resolver,
    UnresolvableHost,
    host_problem,
)
from monitor.challenge import challenge_in
from monitor.exchange import Pools, answer_headers, raw_body
from monitor.models import FetchError, FetchResult, Hop, Network
from monitor.patterns import compile_pattern
from monitor.plainurl import parse_url
from monitor.settings import HostSettings, Settings

log = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
RETRY_ERRORS = frozenset({FetchError.CONNECT, FetchError.TIMEOUT, FetchError.PROTOCOL})
SECOND_PASS_ERRORS = frozenset(
    {FetchError.DNS, FetchError.CONNECT, FetchError.TLS, FetchError.TIMEOUT, FetchError.PROTOCOL}
)
SECOND_PASS_STATUSES = frozenset({404, 408, 410, 425})
# What the rules read; everything else (cookies, tracking headers, header bombs) is dropped.
KEPT_HEADERS = frozenset(
    {
        "content-type", "content-length", "content-encoding", "etag", "last-modified", "retry-after",
        "server", "cf-mitigated", "cf-ray", "www-authenticate", "x-robots-tag", "location",
        "x-amzn-waf-action", "x-datadome", "x-sucuri-id",
    }
)
MAX_HEADER_VALUE = 1000
# A meta refresh belongs in <head>; looking further would mean parsing whole pages here.
META_REFRESH_WINDOW = 64 * 1024
# Decoders hand out at most this much at a time, so one compressed chunk cannot inflate all at once.
_PIECE = 64 * 1024
# Real servers apply one coding, rarely two; each one undone costs a decoder and a level of nesting.
_MAX_CODINGS = 3
# zstd has no output limit per call; feeding it small slices bounds each call's output (a few MiB).
_ZSTD_SLICE = 64
ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,text/plain;q=0.8,*/*;q=0.5"
ACCEPT_ENCODING = "gzip, deflate, br, zstd"

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


# --- errors: foreign exceptions become FetchError here and nowhere else ---------------------------------


class DeadlineExceeded(Exception):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"no complete answer within {seconds:g} s")


class UndecodableBody(Exception):
    """The answer's Content-Encoding cannot be undone within the monitor's limits."""


class HostAsksToWait(Exception):
    """The host's Retry-After reaches further than the cap: do not send, report rate-limited."""

    def __init__(self, host: str, seconds: float) -> None:
        super().__init__(f"{host} asked to wait {seconds:.0f} s (Retry-After), longer than the cap")


# Every httpx exception class, each with a decision. CHECK_FAILED marks a bug in the monitor, not a fact about
# a link: the entry gets a `check-failed` finding that says so, and the run goes on.
_HTTPX_ERRORS: dict[type[Exception], FetchError] = {
    httpx.ConnectTimeout: FetchError.CONNECT,
    httpx.ReadTimeout: FetchError.TIMEOUT,
    httpx.WriteTimeout: FetchError.TIMEOUT,
    httpx.PoolTimeout: FetchError.TIMEOUT,
    httpx.TimeoutException: FetchError.TIMEOUT,
    httpx.ConnectError: FetchError.CONNECT,
    httpx.ReadError: FetchError.CONNECT,
    httpx.WriteError: FetchError.CONNECT,
    httpx.CloseError: FetchError.CONNECT,
    httpx.NetworkError: FetchError.CONNECT,
    httpx.ProxyError: FetchError.CONNECT,
    httpx.TransportError: FetchError.CONNECT,
    httpx.UnsupportedProtocol: FetchError.UNSUPPORTED_SCHEME,
    httpx.LocalProtocolError: FetchError.PROTOCOL,
    httpx.RemoteProtocolError: FetchError.PROTOCOL,
    httpx.ProtocolError: FetchError.PROTOCOL,
    httpx.DecodingError: FetchError.PROTOCOL,
    httpx.InvalidURL: FetchError.PROTOCOL,
    httpx.TooManyRedirects: FetchError.TOO_MANY_REDIRECTS,
    httpx.RequestError: FetchError.PROTOCOL,
    httpx.HTTPStatusError: FetchError.CHECK_FAILED,
    httpx.HTTPError: FetchError.CHECK_FAILED,
    httpx.CookieConflict: FetchError.CHECK_FAILED,
    httpx.StreamError: FetchError.CHECK_FAILED,
    httpx.StreamConsumed: FetchError.CHECK_FAILED,
    httpx.StreamClosed: FetchError.CHECK_FAILED,
    httpx.ResponseNotRead: FetchError.CHECK_FAILED,
    httpx.RequestNotRead: FetchError.CHECK_FAILED,
}

# OpenSSL X509_V_ERR_* codes whose cause a maintainer can act on.
_TLS_CAUSES = {
    9: "certificate is not yet valid",
    10: "certificate has expired",
    18: "self-signed certificate",
    19: "self-signed certificate in the chain",
    20: "certificate issued by an unknown authority",
    21: "certificate issued by an unknown authority",
    62: "certificate is for another host name (hostname mismatch)",
}


def translate_error(exc: Exception) -> tuple[FetchError, str]:
    """The FetchError and a human detail for any exception raised while fetching one URL.

    This is the one edge where foreign exceptions become data. It never raises and never returns nothing:
    an exception it does not know (a bug in the monitor or a library, MemoryError, RecursionError...) is
    CHECK_FAILED, a `check-failed` finding on that entry alone, so one URL can never end the whole crawl.
    """
    try:
        return _translate(exc)
    except Exception:  # even describing the error must not escape the edge
        return FetchError.CHECK_FAILED, type(exc).__name__


def _translate(exc: Exception) -> tuple[FetchError, str]:
    if isinstance(exc, AddressBlocked | InvalidHost):
        return FetchError.BLOCKED_ADDRESS, str(exc)
    if isinstance(exc, UnresolvableHost):
        return FetchError.DNS, str(exc)
    if isinstance(exc, HostAsksToWait):
        return FetchError.RATE_LIMITED, str(exc)
    if isinstance(exc, DeadlineExceeded | TimeoutError):
        return FetchError.TIMEOUT, str(exc) or "timed out"
    if isinstance(exc, zlib.error | brotli.error | zstandard.ZstdError | UndecodableBody):
        return FetchError.PROTOCOL, f"the body could not be decompressed: {exc}"
    cause = _os_cause(exc)
    if isinstance(cause, ssl.SSLError):
        return FetchError.TLS, _tls_detail(cause)
    if isinstance(exc, httpx.HTTPError | httpx.InvalidURL | httpx.CookieConflict | httpx.StreamError):
        kind = next((_HTTPX_ERRORS[c] for c in type(exc).__mro__ if c in _HTTPX_ERRORS), FetchError.CHECK_FAILED)
        if kind is FetchError.CHECK_FAILED:
            return kind, _unforeseen(exc)
        if kind is FetchError.CONNECT and _is_dns(cause):
            return FetchError.DNS, _describe(cause or exc)
        return kind, _describe(cause or exc)
    if isinstance(exc, OSError):
        return (FetchError.DNS if _is_dns(exc) else FetchError.CONNECT), _describe(exc)
    return FetchError.CHECK_FAILED, _unforeseen(exc)


def _unforeseen(exc: BaseException) -> str:
    text = str(exc).strip()[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _os_cause(exc: BaseException) -> OSError | None:
    """The deepest OS error behind ``exc``: it names the cause best ("All connection attempts failed"
    from anyio wraps the "Connection refused" that a maintainer needs to read)."""
    found: OSError | None = None
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, BaseExceptionGroup) and current.exceptions:
            current = current.exceptions[0]
            continue
        if isinstance(current, OSError):
            found = current
        current = current.__cause__ or current.__context__
    return found


def _is_dns(exc: BaseException | None) -> bool:
    return isinstance(exc, socket.gaierror)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.RemoteProtocolError) and "Receive buffer too long" in str(exc):
        # h11's words for an answer whose headers outgrow its buffer: say what the server did.
        return "the answer's headers are too large to read (over 100 KB)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by the server"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip()
    return text or type(exc).__name__


def _tls_detail(exc: ssl.SSLError) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        cause = _TLS_CAUSES.get(exc.verify_code, exc.verify_message or "certificate not trusted")
        return f"TLS certificate rejected: {cause}"
    return f"TLS handshake failed: {exc.reason or exc}"


# --- small pure helpers ---------------------------------------------------------------------------------


def parse_retry_after(value: str, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP date); None when unreadable."""
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


# A case-blind search for "-equiv" costs a fifth of lowering the page's head to look for "http-equiv".
_EQUIV = re.compile(rb"-equiv", re.IGNORECASE)
_META_TAG = re.compile(rb"<meta\b[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([a-zA-Z_:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_REFRESH = re.compile(r"\s*[\d.]*\s*[;,]?\s*(?:url\s*=\s*)?(.*)", re.IGNORECASE | re.DOTALL)


def find_meta_refresh(body: bytes) -> str | None:
    """The target of a ``<meta http-equiv="refresh">`` near the top of an HTML page, if any."""
    head = body[:META_REFRESH_WINDOW]
    if not _EQUIV.search(head):
        return None  # most pages: no tag to read (an attribute's name cannot hide behind an entity)
    lower = head.lower()
    for match in _META_TAG.finditer(head):
        attrs = _attributes(match.group(0).decode("latin-1"))
        if attrs.get("http-equiv", "").strip().lower() != "refresh":
            continue
        # A refresh inside <noscript> is for browsers without JavaScript; in a comment it does nothing.
        if _inside(lower, match.start(), b"<noscript", b"</noscript") or _inside(
            lower, match.start(), b"<!--", b"-->"
        ):
            continue
        found = _REFRESH.match(attrs.get("content", ""))
        target = found.group(1).strip().strip("'\"").strip() if found else ""
        if target:
            return target
    return None


def _attributes(tag: str) -> dict[str, str]:
    return {
        m.group(1).lower(): html.unescape(next(g for g in m.groups()[1:] if g is not None))
        for m in _ATTRIBUTE.finditer(tag)
    }


def _inside(lower: bytes, position: int, opening: bytes, closing: bytes) -> bool:
    return lower.rfind(opening, 0, position) > lower.rfind(closing, 0, position)


def _mime(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def is_text_type(content_type: str) -> bool:
    mime = _mime(content_type)
    return (
        not mime
        or mime.startswith("text/")
        or mime in {"application/xhtml+xml", "application/xml"}
        or mime.endswith("+xml")
    )


def _is_html(content_type: str) -> bool:
    mime = _mime(content_type)
    return not mime or "html" in mime


# The answer's headers the crawler reads: those it keeps, and Set-Cookie for the chain's cookie jar.
_READ_HEADERS = KEPT_HEADERS | {"set-cookie"}
_NO_BODY = httpx.ByteStream(b"")


def _sent_headers(settings: Settings, secret: set[str], override: HostSettings | None) -> httpx.Headers:
    """A request's headers but Host and the conditional ones, as AsyncClient.build_request merged them.

    httpx.Headers replaces names case-insensitively, so "user-agent" overrides "User-Agent"; the client's
    own defaults came first, and of them only "Connection: keep-alive" is not replaced by ours.
    """
    ours = httpx.Headers({"User-Agent": settings.user_agent, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING})
    for name, value in settings.headers.items():
        if name.lower() not in secret:
            ours[name] = value
    for name, value in (override.headers if override else {}).items():
        ours[name] = value
    headers = httpx.Headers({"Connection": "keep-alive"})
    headers.update(ours)
    return headers


async def _end_of_empty_body(response: httpx.Response, status: int, headers: Mapping[str, str]) -> None:
    """Read an answer's end when it has no body to wait for (304, "Content-Length: 0"), so that its
    connection is kept for the next request: closed before its end, a connection is dropped, and a
    redirect cost a new connection (a TLS handshake on https). A body that needs reading is left unread."""
    if response.is_stream_consumed:
        return  # a test double's answer, read already
    if status == 304 or headers.get("content-length", "").strip() == "0":
        async for _ in raw_body(response):
            pass


# An http(s) URL whose host is plain ASCII (no IDNA label, no user, no IPv6 literal): the common case, whose
# host and port a regular expression reads as httpx.URL would, at a fifth of the cost of parsing the URL.
_PLAIN_ORIGIN = re.compile(r"(https?)://([a-z0-9._-]+)(?::([0-9]{0,5}))?(?:[/?#]|$)", re.IGNORECASE | re.ASCII)


def host_key(url: str) -> tuple[str, int]:
    """The key of the URL's host in Crawler._hosts, to queue it with that host's URLs (("", 0) if it does not parse)."""
    plain = _PLAIN_ORIGIN.match(url)
    if plain and url.isascii() and url.isprintable() and "xn--" not in plain[2].lower():
        default = 443 if plain[1].lower() == "https" else 80
        return plain[2].lower(), int(plain[3] or 0) or default
    try:
        return _host_port(httpx.URL(url))
    except (httpx.InvalidURL, ValueError):  # IDNAError is a ValueError; _attempt reports it for the entry
        return "", 0


def _parse_url(text: str) -> httpx.URL:
    """``text`` as a URL; a host name that is not valid IDNA raises InvalidHost, reported for its entry."""
    try:
        return parse_url(text)  # httpx.URL(text), at a tenth of the cost for a plain URL
    except UnicodeError as exc:  # idna.IDNAError: an xn-- label that does not decode, an emoji name
        host = text.split("//", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
        raise InvalidHost(host, f"is not a valid internationalised domain name (IDNA: {exc})") from exc


def _host_port(url: httpx.URL) -> tuple[str, int]:
    return url.host.lower(), _port(url)


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def _without_fragment(url: httpx.URL) -> str:
    text = str(url)
    # copy_with parses the URL again (a tenth of a millisecond); most URLs have no fragment to drop.
    return text if "#" not in text else str(url.copy_with(fragment=None))


def _check_host(url: httpx.URL) -> None:
    """Raise InvalidHost for a host or port no connection can be made to (IDNA, empty label, port 65536)."""
    host = url.raw_host.decode("ascii", "replace")
    problem = host_problem(host, url.port)
    if problem is not None:
        raise InvalidHost(host, problem)


def _join(base: httpx.URL, location: str) -> httpx.URL:
    try:
        target = base.join(location.strip())
    except UnicodeError as exc:
        problem = f"is not a valid internationalised domain name (IDNA: {exc})"
        raise InvalidHost(location.strip()[:100], problem) from exc
    # RFC 9110 10.2.2: a Location without a fragment inherits the fragment of the request URL.
    if not target.fragment and base.fragment:
        target = target.copy_with(fragment=base.fragment)
    return target


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    return url.scheme, url.host.lower().rstrip("."), _port(url)


def _stays_on_origin(target: httpx.URL, chain: _Chain) -> bool:
    """Whether the chain, ``target`` included, has stayed on the origin of the catalog's URL.

    Per-host headers (credentials) go only there: a redirect elsewhere, even to the same host on another
    port or scheme, or back to the host on a path another site chose, must not carry them, as browsers
    and httpx drop Authorization on a cross-origin redirect.
    """
    start = _origin(httpx.URL(chain.url))
    return _origin(target) == start and all(_origin(httpx.URL(hop.url)) == start for hop in chain.hops)


def _cookie_state(jar: httpx.Cookies) -> tuple[tuple[str, str, str, str], ...]:
    return tuple(sorted((c.domain, c.path, c.name, c.value or "") for c in jar.jar))


def _closed_jar() -> httpx.Cookies:
    # The client's own jar must never keep a cookie from one entry for the next.
    return httpx.Cookies(CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])))


# --- bounded decompression ----------------------------------------------------------------------------


class _Decoder(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...


class _ZlibDecoder:
    def __init__(self, wbits: int, raw_fallback: bool = False) -> None:
        self._d = zlib.decompressobj(wbits)
        # Servers send "deflate" both as zlib-wrapped and raw deflate; browsers accept both.
        self._raw_fallback = raw_fallback

    def feed(self, data: bytes) -> Iterator[bytes]:
        try:
            first = self._d.decompress(data, _PIECE)
        except zlib.error:
            if not self._raw_fallback:
                raise
            self._d = zlib.decompressobj(-zlib.MAX_WBITS)
            first = self._d.decompress(data, _PIECE)
        self._raw_fallback = False
        out = first
        while True:
            if out:
                yield out
            pending = self._d.unconsumed_tail
            if self._d.eof or (not pending and len(out) < _PIECE):
                return
            out = self._d.decompress(pending, _PIECE)


class _BrotliDecoder:
    def __init__(self) -> None:
        self._d = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._d.is_finished():
            return
        out = self._d.process(data, output_buffer_limit=_PIECE)
        # Output may stay buffered even when the decoder says it accepts more input: drain until empty.
        while out:
            yield out
            if self._d.is_finished():
                return
            out = self._d.process(b"", output_buffer_limit=_PIECE)


class _ZstdDecoder:
    def __init__(self) -> None:
        self._d = zstandard.ZstdDecompressor().decompressobj()

    def feed(self, data: bytes) -> Iterator[bytes]:
        for start in range(0, len(data), _ZSTD_SLICE):
            chunk = data[start : start + _ZSTD_SLICE]
            while chunk:
                out = self._d.decompress(chunk)
                if out:
                    yield out
                # A body may hold several frames; each frame needs a fresh decompressor.
                chunk = self._d.unused_data if self._d.eof else b""
                if self._d.eof:
                    self._d = zstandard.ZstdDecompressor().decompressobj()


def _decoders(content_encoding: str) -> list[_Decoder]:
    makers: dict[str, Callable[[], _Decoder]] = {
        "gzip": lambda: _ZlibDecoder(16 + zlib.MAX_WBITS),
        "x-gzip": lambda: _ZlibDecoder(16 + zlib.MAX_WBITS),
        "deflate": lambda: _ZlibDecoder(zlib.MAX_WBITS, raw_fallback=True),
        "br": _BrotliDecoder,
        "zstd": _ZstdDecoder,
    }
    names = [n.strip().lower() for n in content_encoding.split(",")]
    known = [n for n in names if n in makers]
    if len(known) > _MAX_CODINGS:
        raise UndecodableBody(f"{len(known)} content codings stacked, more than the {_MAX_CODINGS} undone")
    return [makers[n]() for n in known]


def _decode(decoders: list[_Decoder], data: bytes) -> Iterator[bytes]:
    if not decoders:
        yield data
        return
    # Encodings are listed in the order applied, so the last one listed is undone first.
    *rest, last = decoders
    for piece in last.feed(data):
        yield from _decode(rest, piece)


async def read_capped(chunks: AsyncIterator[bytes], content_encoding: str, cap: int) -> tuple[bytes, bool]:
    """Decompressed body up to ``cap`` bytes, and whether there was more."""
    decoders = _decoders(content_encoding)
    body = bytearray()
    async for raw in chunks:
        for piece in _decode(decoders, raw):
            room = cap - len(body)
            if len(piece) > room:
                body += piece[:room]
                return bytes(body), True
            body += piece
    return bytes(body), False


# --- the network verdict ------------------------------------------------------------------------------

NETWORK_FAILURES = frozenset({FetchError.DNS, FetchError.CONNECT, FetchError.TIMEOUT})
# With fewer hosts than this, a run cannot tell a dead network from dead sites.
NETWORK_MIN_HOSTS = 3
NETWORK_FAILED_SHARE = 0.9


def network_state(results: Mapping[str, FetchResult] | Iterable[FetchResult]) -> Network:
    """UNAVAILABLE when (nearly) every host the run tried failed before any server answered.

    A host counts as failed when none of its URLs got an HTTP answer and all failed with DNS, connect
    or timeout errors; a TLS error or any status means a server answered. URLs that were never tried
    (excluded, blocked) do not count. The network is unavailable when at least ``NETWORK_MIN_HOSTS``
    hosts were tried and at least 90% of them failed (with fewer than ten hosts: all of them).

    With one or two hosts the run cannot tell a dead network from dead sites. Calling it "network
    unavailable" there would hide a lapsed domain for good (exit 4, verdicts kept, every night), so
    such a run reports the failures as ``unreachable``; those findings need confirmation over several
    runs before they alarm anyone, which absorbs a single offline night.
    """
    values = results.values() if isinstance(results, Mapping) else results
    by_host: dict[str, list[FetchResult]] = {}
    for result in values:
        if result.error in {FetchError.NOT_CHECKED, FetchError.BLOCKED_ADDRESS, FetchError.UNSUPPORTED_SCHEME}:
            continue
        # host_key: the host as httpx reads it, by a regular expression for a plain URL (a parse each of
        # thousands of URLs was 0.05-0.1 s of the end of a run)
        by_host.setdefault(host_key(result.url)[0], []).append(result)
    if len(by_host) < NETWORK_MIN_HOSTS:
        return Network.OK
    failed = sum(
        all(r.status is None and r.error in NETWORK_FAILURES for r in rs) for rs in by_host.values()
    )
    return Network.UNAVAILABLE if failed >= NETWORK_FAILED_SHARE * len(by_host) else Network.OK


def worth_second_pass(result: FetchResult) -> bool:
    if result.accepted or result.not_modified or result.challenge:
        return False
    if result.error is not None:
        return result.error in SECOND_PASS_ERRORS
    status = result.status or 0
    return status >= 500 or status in SECOND_PASS_STATUSES


async def _settled(outcome: object) -> None:
    if inspect.isawaitable(outcome):
        await outcome


def _drop(outcome: object) -> None:
    if inspect.iscoroutine(outcome):
        outcome.close()


# A host's URLs are worked by this many workers per request the host may serve at once (see _per_host).
_WORKERS_PER_SLOT = 4


@dataclass
class _HostQueue:
    """One host's URLs in a crawl: those waiting for their first try, then the failures waiting for a second.

    A failure is tried again no sooner than ``retry_wait_time`` (1 s by default) after its first try ended,
    and only once the host has no URL left for a first try. The gap is what a second pass is for: a server
    restarting, a deploy's momentary 404, a network blip get time to pass; ``retry_wait_time`` is already
    the run's measure of that time (a retry within a pass waits as long at first). ``again`` holds the
    failures in the order their first tries ended, so its head is always the first one due.
    """

    fresh: deque[str] = field(default_factory=deque)
    again: deque[tuple[float, str]] = field(default_factory=deque)  # (clock time it is due, URL)


# --- per-host politeness ------------------------------------------------------------------------------


# A 429 with Retry-After speaks for its own URL, unless the host's recent answers hold this many 429s: a
# host that rate-limits the crawler answers 429 to a large share of its requests, while a few 429s in a
# thousand are per-URL limits (or bad luck) that must not hold back the host's other URLs. A quarter of the
# last 40 answers: simulated over 2,000 runs of 8 hosts x 250 answers with a random 5% sprinkle of 429s,
# 5 of the last 20 (the old rule) pressed some host in 56% of the runs, 10 of 40 in 0.9%; a host answering
# 429 to every request is still pressed at its tenth. At a steady 10% it is pressed in about half the runs.
RECENT_ANSWERS = 40
FREQUENT_429 = 10

# After a 429 has halved a host's ceiling, this many rounds of calm answers (each round as many answers as
# the current ceiling) win one request back: additive increase, multiplicative decrease, as TCP does.
_CALM_ROUNDS = 2


@dataclass
class _HostState:
    name: str
    ceiling: int  # the configured concurrency
    interval: float
    limit: int = 0  # the concurrency allowed now: the ceiling, less after 429s
    next_at: float = 0.0  # clock time before which no request to this host may start
    asked_until: float = 0.0  # clock time the host's last Retry-After asked to wait until
    active: int = 0
    calm: int = 0  # calm answers since the last 429 or the last step back up
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    recent: deque[bool] = field(default_factory=lambda: deque(maxlen=RECENT_ANSWERS))  # was each a 429?
    _waiting: int = 0  # requests queued for a slot

    def __post_init__(self) -> None:
        self.limit = self.limit or self.ceiling

    async def take_slot(self) -> None:
        """Wait for one of the host's ``limit`` slots; ``give_slot()`` when the request is done.

        Without waiters a free slot is taken at once: the condition's lock and predicate are what a request
        pays only when it must queue (with a waiter queued, a newcomer queues too, as before).
        """
        if self.active < self.limit and not self._waiting:
            self.active += 1
            return
        self._waiting += 1
        try:
            async with self.changed:
                await self.changed.wait_for(lambda: self.active < self.limit)
                self.active += 1
        finally:
            self._waiting -= 1

    async def give_slot(self) -> None:
        self.active -= 1
        if not self._waiting:
            return
        async with self.changed:
            # Wake only as many waiters as may start: waking all of them on every release made each
            # request cost O(waiting requests), and a 10,000-entry run quadratic per host.
            # No waiter here is cancelled on its own (the per-URL deadline starts after the slot), so
            # no wake-up is lost; the whole run's cancellation ends every waiter anyway.
            self.changed.notify(max(0, self.limit - self.active))

    def slow_down(self) -> None:
        """The host answered 429 or sent Retry-After: halve its concurrency (floor 1).

        The host's interval is left as configured: the wait it asked for is its Retry-After (``defer``),
        honoured once, not compounded into every later request.
        """
        before = self.limit
        self.limit = max(1, self.limit // 2)
        self.calm = 0
        if self.limit != before:
            log.info("slowing down %s: at most %d request(s) at a time", self.name, self.limit)

    def answered(self, status: int) -> None:
        """Count a calm answer (not 429, not 5xx) towards winning back a request of a halved ceiling.

        Without a way back, two or three 429s among thousands of answers left a host one request at a
        time for the rest of the run. The waiters a step lets start are woken when a slot is released.
        """
        self.recent.append(status == 429)
        if self.limit >= self.ceiling or status == 429 or status >= 500:
            return
        self.calm += 1
        if self.calm >= _CALM_ROUNDS * self.limit:
            self.limit += 1
            self.calm = 0
            log.debug("%s answered calmly: up to %d request(s) at a time again", self.name, self.limit)

    @property
    def pressed(self) -> bool:
        """Whether 429s are frequent: at least FREQUENT_429 of the last RECENT_ANSWERS answers."""
        return sum(self.recent) >= FREQUENT_429

    def defer(self, until: float) -> None:
        self.next_at = max(self.next_at, until)
        self.asked_until = max(self.asked_until, until)


class _Deadline:
    """The network-time budget of one attempt: ``async with deadline:`` around each hop's network time.

    A class rather than an @asynccontextmanager: this runs for every request, and a generator-based
    context manager costs several times as much.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.used = 0.0
        self._started = 0.0
        self._timeout: asyncio.Timeout | None = None

    async def __aenter__(self) -> None:
        self._started = time.monotonic()
        self._timeout = asyncio.timeout(max(0.0, self.seconds - self.used))
        await self._timeout.__aenter__()

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        try:
            assert self._timeout is not None
            await self._timeout.__aexit__(kind, exc, tb)  # type: ignore[arg-type]
        except TimeoutError as timed_out:
            raise DeadlineExceeded(self.seconds) from timed_out
        finally:
            self.used += time.monotonic() - self._started


def without_userinfo(url: str) -> str:
    """`url` without a "user:password@" part."""
    return _USERINFO.sub(r"\1", url, count=1) if "@" in url else url


_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")


@dataclass
class _Chain:
    """What one attempt has learned so far; kept when the attempt fails part-way."""

    url: str
    final_url: str
    hops: list[Hop] = field(default_factory=list)
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    truncated: bool = False
    not_modified: bool = False

    def result(self, deadline: _Deadline, error: FetchError | None = None, detail: str = "") -> FetchResult:
        # A redirect may name a user and password (http://user:pass@host/): they never reach a report or the
        # state file, which are published.
        hops = tuple(replace(h, url=without_userinfo(h.url), location=h.location and without_userinfo(h.location))
                     for h in self.hops)
        return FetchResult(
            url=self.url, final_url=without_userinfo(self.final_url), status=self.status, hops=hops,
            headers=self.headers, body=self.body, truncated=self.truncated, error=error,
            error_detail=detail, elapsed_ms=round(deadline.used * 1000), not_modified=self.not_modified,
        )


# --- the crawler ----------------------------------------------------------------------------------------


class Crawler:
    """Fetches URLs under the run's settings. Use as ``async with Crawler(settings) as crawler``.

    ``resolver``, ``sleep``, ``clock`` and ``random`` are injectable for tests: ``clock`` and ``sleep``
    drive the politeness schedule (host intervals, Retry-After, backoff), ``random`` the jitter. The
    per-attempt deadline always runs on real time. ``validators`` maps a URL to the (ETag,
    Last-Modified) remembered from the last run, sent as If-None-Match / If-Modified-Since.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        resolver: Resolver | None = None,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        random: Callable[[], float] | None = None,
        validators: dict[str, tuple[str | None, str | None]] | None = None,
    ) -> None:
        self.settings = settings
        self.requests = 0
        self._seen_hosts: set[str] = set()
        self._policy = AddressPolicy(settings.allow_hosts, resolver)
        self._sleep: Sleep = sleep or asyncio.sleep
        self._clock: Clock = clock or time.monotonic
        self._random = random or random_module.random
        self._validators = validators or {}
        # RE2: a URL is page input, and a pattern must not backtrack forever on it (issue 12, B8).
        self._include = [compile_pattern(p) for p in settings.include]
        self._exclude = [compile_pattern(p) for p in settings.exclude]
        self._overrides = {k.strip().lower(): v for k, v in settings.hosts.items()}
        self._secret = {name.lower() for name in settings.secret_headers}
        self._hosts: dict[tuple[str, int], _HostState] = {}
        self._global = asyncio.Semaphore(settings.max_concurrency)
        self._sent_headers: dict[str | None, httpx.Headers] = {}
        self._timeouts: dict[str, float | None] = {}
        self._pools: Pools | None = None

    @property
    def hosts(self) -> tuple[str, ...]:
        """Every host name a request was sent to (or refused), sorted."""
        return tuple(sorted(self._seen_hosts))

    async def __aenter__(self) -> Crawler:
        timeout = httpx.Timeout(self.settings.timeout, connect=min(10.0, self.settings.timeout))
        self._timeouts = timeout.as_dict()
        # One TLS context for every pool: each loads the whole CA bundle (about 14 ms of CPU apiece).
        tls = httpx.create_ssl_context(trust_env=False)
        self._pools = Pools(PinnedBackend(self._policy), keep=self.settings.max_concurrency, ssl_context=tls)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._pools is not None:
            await self._pools.aclose()
            self._pools = None

    # -- public API

    async def fetch_all(
        self, urls: list[str], on_result: Callable[[str, FetchResult], Awaitable[None] | None] | None = None
    ) -> dict[str, FetchResult]:
        """Fetch each distinct URL, and each failure once more (``_per_host`` says when); ``on_result`` sees
        each URL once, with its last answer.

        What ``on_result`` returns, if anything, is awaited before that worker fetches its next URL: the
        pipeline's analysis of the page, so pages never pile up in memory faster than they are read.
        """
        unique = list(dict.fromkeys(urls))
        results: dict[str, FetchResult] = {}
        reported: set[str] = set()

        def report(url: str) -> Awaitable[None] | None:
            reported.add(url)
            return on_result(url, results[url]) if on_result else None

        async def first(url: str) -> bool:
            results[url] = await self.fetch(url)
            if worth_second_pass(results[url]):
                return True
            await _settled(report(url))
            return False

        async def second(url: str) -> None:
            earlier = results[url]
            again = await self.fetch(url)
            again.attempts += earlier.attempts
            results[url] = again
            await _settled(report(url))

        try:
            tried_again = await self._per_host(unique, first, second)
        except asyncio.CancelledError:
            # The run's time budget ended the crawl (pipeline.py cancels it): a failure already seen is
            # still a fact, so it is reported rather than lost with the second try that never finished.
            for url in results.keys() - reported:
                _drop(report(url))  # the caller reads what it was handed but could not await
            raise
        if tried_again:
            log.info("second pass over %d failed URL(s)", tried_again)
        return {url: results[url] for url in unique}

    async def _per_host(
        self, urls: list[str], first: Callable[[str], Awaitable[bool]], second: Callable[[str], Awaitable[None]]
    ) -> int:
        """Run ``first`` on every URL, then ``second`` on those it asks again for; the count of second tries.

        A queue per host, drained by a few workers per request the host may serve. One task per URL made a
        run of ten thousand URLs hold ten thousand waiting tasks (a few KB each) from its start. A worker
        holds its URL for the whole chain, but the host's slot only for its own hop: a doi.org link's chain
        goes on at the publisher, and a retry waits its backoff outside any slot. So each slot gets
        _WORKERS_PER_SLOT workers, enough to keep the host's slots busy meanwhile; the slots still set the
        pace (a 429 halves a ceiling).

        The second pass is the host's own: once none of the host's URLs waits for its first try, its workers
        take the failures, each no sooner than ``retry_wait_time`` after its first try ended (see
        ``_HostQueue``). Waiting for the whole crawl's first pass kept every host's slots idle through the
        last Retry-After waits and slow pages of any host, and then ran all the second tries at once.
        """
        queues: dict[tuple[str, int], _HostQueue] = {}
        for url in urls:
            key = host_key(url)
            queue = queues.get(key)
            if queue is None:
                queue = queues[key] = _HostQueue()
            queue.fresh.append(url)
        gap = self.settings.retry_wait_time
        tried_again = 0

        async def worker(queue: _HostQueue) -> None:
            nonlocal tried_again
            while True:
                if queue.fresh:
                    url = queue.fresh.popleft()
                    if await first(url):
                        queue.again.append((self._clock() + gap, url))
                elif queue.again:
                    due, url = queue.again.popleft()
                    wait = due - self._clock()
                    if wait > 0:
                        await self._sleep(wait)
                    tried_again += 1
                    await second(url)
                else:
                    # Another worker still on a first try takes its own failure, if it fails.
                    return

        # No more workers in all than the run's shared slots can keep busy (_WORKERS_PER_SLOT each): beyond
        # that they only queue, and a URL whose retry is due (after a 429's Retry-After) queued behind them all.
        share = -(-self.settings.max_concurrency * _WORKERS_PER_SLOT // max(1, len(queues)))
        workers = {
            key: min(
                len(queue.fresh),
                max(1, self.settings.for_host(key[0]).concurrency or 1) * _WORKERS_PER_SLOT,
                max(_WORKERS_PER_SLOT, share),
            )
            for key, queue in queues.items()
        }
        async with asyncio.TaskGroup() as group:
            # Started in turns across the hosts, so the run's shared slots (max_concurrency, first come first
            # served) go round the hosts. Started host after host, each host had every shared slot in turn: 32
            # connections to one host at a time, and its pool gone stale while the seven others were served.
            for turn in range(max(workers.values(), default=0)):
                for key, queue in queues.items():
                    if turn < workers[key]:
                        group.create_task(worker(queue))
        return tried_again

    async def fetch(self, url: str) -> FetchResult:
        """Fetch one URL with retries; never raises (but for cancellation): whatever goes wrong is data."""
        try:
            return await self._fetch(url)
        except Exception as exc:
            # _attempt already translates what one request meets; this is the rest (a retry plan, a
            # pattern): it too stays on this URL rather than ending the host's queue and the crawl.
            log.debug("unforeseen error while fetching %s", url, exc_info=exc)
            error, detail = translate_error(exc)
            return FetchResult(url=url, final_url=url, error=error, error_detail=detail)

    async def _fetch(self, url: str) -> FetchResult:
        skip = self._skip_reason(url)
        if skip:
            return FetchResult(url=url, final_url=url, error=FetchError.NOT_CHECKED, error_detail=skip, attempts=0)
        attempt = 0
        while True:
            attempt += 1
            result = await self._attempt(url)
            result.attempts = attempt
            # A challenge answers the same way every time: retrying it only costs the host more requests.
            result.challenge = challenge_in(result.status, result.headers, result.body)
            delay = None if result.challenge else self._plan_retry(result, attempt)
            if delay is None:
                return self._settle(result)
            log.info("retry %d for %s in %.1f s (%s)", attempt, url, delay, result.error or result.status)
            if delay > 0:
                await self._sleep(delay)

    # -- attempts and hops

    def _skip_reason(self, url: str) -> str | None:
        # lychee's rule, as Settings.is_excluded states it: an include pattern overrides every exclude.
        if any(p.search(url) for p in self._include):
            return None
        pattern = next((p.pattern for p in self._exclude if p.search(url)), None)
        return f"excluded by the pattern {pattern!r}" if pattern is not None else None

    async def _attempt(self, url: str) -> FetchResult:
        chain = _Chain(url=url, final_url=url)
        deadline = _Deadline(self.settings.timeout)
        jar = httpx.Cookies()
        seen: set[tuple[str, tuple[tuple[str, str, str, str], ...]]] = set()
        try:
            target = _parse_url(url)
            while True:
                chain.final_url = str(target)
                if target.scheme not in ("http", "https"):
                    shown = str(target)[:80]
                    return chain.result(
                        deadline, FetchError.UNSUPPORTED_SCHEME,
                        f"points to a {target.scheme}: URL ({shown}); only http and https are followed",
                    )
                visit = (_without_fragment(target), _cookie_state(jar))
                if visit in seen:
                    return chain.result(deadline, FetchError.REDIRECT_LOOP, f"the chain returns to {visit[0]}")
                seen.add(visit)
                if len(chain.hops) > self.settings.max_redirects:
                    return chain.result(
                        deadline, FetchError.TOO_MANY_REDIRECTS,
                        f"more than {self.settings.max_redirects} redirects",
                    )
                _check_host(target)  # before target.host, which raises for a host that is not valid IDNA
                self._seen_hosts.add(target.host.lower())
                await self._policy.check(target.host, _port(target))
                following = await self._exchange(target, chain, jar, deadline)
                if following is None:
                    return chain.result(deadline)
                log.debug("hop %s -> %s", target, following)
                target = following
        except Exception as exc:
            error, detail = translate_error(exc)
            if error is FetchError.CHECK_FAILED:
                log.debug("unforeseen error while fetching %s", url, exc_info=exc)
            return chain.result(deadline, error, detail)

    async def _exchange(
        self, target: httpx.URL, chain: _Chain, jar: httpx.Cookies, deadline: _Deadline
    ) -> httpx.URL | None:
        """Send one GET; return the next hop's URL, or None when this answer ends the chain."""
        if self._pools is None:
            raise RuntimeError("use Crawler as an async context manager")
        host = self._host_state(target)
        # The fragment is never sent; it stays in the chain for final_url and the anchor check.
        sent = target if not target.fragment else target.copy_with(fragment=None)
        # What AsyncClient.build_request made, without its merging of URLs, cookies and headers: the
        # request's headers are the client's, in its order, with Host first (see _sent_headers).
        request = httpx.Request(
            "GET", sent, headers=self._headers(target, chain, sent), extensions={"timeout": self._timeouts},
            stream=_NO_BODY,
        )  # fmt: skip
        request.read()
        if jar:  # the cookie machinery costs as much as parsing the answer's headers
            jar.set_cookie_header(request)
        await host.take_slot()
        try:
            await self._take_turn(host)
            async with self._global:
                origin = _origin(target)
                transport = self._pools.take(origin)
                try:
                    self.requests += 1
                    log.debug("GET %s", target)
                    async with deadline:
                        # Straight to the transport: client.send parses Location even when not following
                        # redirects, and raises on hostile values (``javascript:``), losing the answer.
                        response = await transport.handle_async_request(request)
                        response.request = request
                        host.answered(response.status_code)
                        try:
                            return await self._read(response, target, chain, jar)
                        finally:
                            await response.aclose()
                finally:
                    await self._pools.give_back(origin)
        finally:
            await host.give_slot()

    async def _read(
        self, response: httpx.Response, target: httpx.URL, chain: _Chain, jar: httpx.Cookies
    ) -> httpx.URL | None:
        headers = answer_headers(response.headers.raw, _READ_HEADERS)
        if "set-cookie" in headers:
            jar.extract_cookies(response)
        status = response.status_code
        chain.status = status
        chain.headers = {
            name: value[:MAX_HEADER_VALUE] for name, value in sorted(headers.items()) if name in KEPT_HEADERS
        }
        chain.body, chain.truncated = None, False
        location = headers.get("location")
        if status in REDIRECT_STATUSES and location:
            following = _join(target, location)
            chain.hops.append(Hop(url=str(target), status=status, location=str(following)))
            await _end_of_empty_body(response, status, headers)
            return following
        if status == 304:
            chain.not_modified = chain.url in self._validators
            await _end_of_empty_body(response, status, headers)
            return None
        content_type = headers.get("content-type", "")
        if not is_text_type(content_type):
            return None
        chain.body, chain.truncated = await read_capped(
            raw_body(response), headers.get("content-encoding", ""), self.settings.max_body
        )
        if 200 <= status < 300 and _is_html(content_type):
            refresh = find_meta_refresh(chain.body)
            if refresh:
                following = _join(target, refresh)
                if _without_fragment(following) != _without_fragment(target):
                    chain.hops.append(Hop(url=str(target), status=status, location=str(following), via="meta-refresh"))
                    return following
        return None

    def _headers(self, target: httpx.URL, chain: _Chain, sent: httpx.URL) -> list[tuple[bytes, bytes]]:
        """The request's headers: the same for every URL of a host but Host and the conditional ones."""
        override = self._override(target.host)
        if override is not None and not _stays_on_origin(target, chain):
            override = None
        key = None if override is None else target.host.lower().rstrip(".")
        base = self._sent_headers.get(key)
        if base is None:
            base = self._sent_headers[key] = _sent_headers(self.settings, self._secret, override)
        etag, modified = self._validators.get(chain.url, (None, None))
        if etag or modified:
            headers = httpx.Headers(base)
            if etag:
                headers["If-None-Match"] = etag
            if modified:
                headers["If-Modified-Since"] = modified
            raw = headers.raw
        else:
            raw = base.raw
        # httpx.Request puts Host first unless the headers name one.
        return raw if "host" in base else [(b"Host", sent.netloc), *raw]

    # -- politeness

    def _override(self, host: str) -> HostSettings | None:
        return self._overrides.get(host.lower().rstrip("."))

    def _host_state(self, target: httpx.URL) -> _HostState:
        key = _host_port(target)
        state = self._hosts.get(key)
        if state is None:
            effective = self.settings.for_host(target.host)
            state = _HostState(
                name=target.host.lower(),
                ceiling=max(1, effective.concurrency or 1),
                interval=effective.request_interval or 0.0,
            )
            self._hosts[key] = state
        return state

    async def _take_turn(self, host: _HostState) -> None:
        now = self._clock()
        start = max(now, host.next_at)
        wait = start - now
        # Only the host's own Retry-After, reaching past the cap, makes its URLs rate-limited at once. The
        # configured interval is the user's choice and is waited however long it is: with an interval of
        # 61 s every URL after the first was reported as rate-limited though no 429 was sent (B13).
        if host.asked_until - now > self.settings.retry_after_cap:
            raise HostAsksToWait(host.name, host.asked_until - now)
        host.next_at = start + host.interval
        if wait > 0:
            await self._sleep(wait)

    def _plan_retry(self, result: FetchResult, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None to stop. Registers Retry-After with the host."""
        if self._accepted(result) or not self._retryable(result):
            return None
        retry_after = self._retry_after(result)
        if result.status == 429 or retry_after is not None:
            host = self._host_state(httpx.URL(result.final_url))
            beyond_cap = retry_after is not None and retry_after > self.settings.retry_after_cap
            if result.status == 429 and retry_after is not None and not beyond_cap and not host.pressed:
                # Only this URL waits, in fetch() and outside any slot; the host's other URLs go on.
                return None if attempt > self.settings.max_retries else retry_after
            host.slow_down()
            if retry_after is not None:
                host.defer(self._clock() + retry_after)
                if beyond_cap:
                    result.error = FetchError.RATE_LIMITED
                    result.error_detail = (
                        f"asked to wait {retry_after:.0f} s (Retry-After), longer than the "
                        f"{self.settings.retry_after_cap:g} s cap"
                    )
                    return None
                # The wait happens in the host's schedule, so other hosts go on meanwhile.
                return None if attempt > self.settings.max_retries else 0.0
        if attempt > self.settings.max_retries:
            return None
        base = self.settings.retry_wait_time * 2 ** (attempt - 1)
        return base * (0.5 + self._random())

    def _retryable(self, result: FetchResult) -> bool:
        if result.error is not None:
            return result.error in RETRY_ERRORS
        return result.status in RETRY_STATUSES

    def _retry_after(self, result: FetchResult) -> float | None:
        if result.status not in (429, 503) or "retry-after" not in result.headers:
            return None
        return parse_retry_after(result.headers["retry-after"], datetime.now(UTC))

    def _accepted(self, result: FetchResult) -> bool:
        return result.error is None and result.status is not None and result.status in self.settings.accept

    def _settle(self, result: FetchResult) -> FetchResult:
        if self._accepted(result):
            result.accepted = True
        elif result.status == 429 and result.error is None:
            result.error = FetchError.RATE_LIMITED
            result.error_detail = f"still 429 Too Many Requests after {result.attempts} attempts"
        return result
