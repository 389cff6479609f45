"""The private-address policy: which hosts the crawler may connect to, and where it actually connects.

A checked page controls where its redirects point and its owner controls what its name resolves to, so
"is this URL safe to fetch?" can only be answered after DNS resolution, for every hop. The policy
resolves a host, refuses it if any of its addresses is loopback, private, link-local (cloud metadata
services live at 169.254.169.254), unique-local, unspecified, multicast, reserved or otherwise not
globally routable, including those same addresses dressed as IPv6 (IPv4-mapped ``::ffff:a.b.c.d``,
NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``). A host named in ``Settings.allow_hosts`` skips the check
(tests allow ``127.0.0.1``); allowing a name never allows other names that resolve to the same address.

DNS rebinding: a name may resolve to a public address when it is checked and to 127.0.0.1 a moment later
when the connection is made. ``PinnedBackend`` closes that gap: it is the httpcore network backend, so
every TCP connection the client opens goes through it, and it connects to an address that the policy
checked (the policy remembers each host's checked addresses for the run), never to the name.

Why a network backend rather than rewriting each URL to its IP with the Host header and SNI kept: httpcore
pools connections by URL origin, so with rewritten URLs two names served from one IP (any CDN) would
share a TLS connection negotiated for the first name's SNI, and the second site would be asked over a
connection whose certificate was verified for another host. With the backend, URLs keep their names:
the pool is keyed by name, TLS sends the name as SNI and verifies the certificate against it, and only
the TCP connect step uses the pinned address.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence

import httpcore
import idna

from monitor.netstream import AsyncioBackend

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# (host, port) -> the addresses the host resolves to, as strings. Raises OSError (socket.gaierror) or
# returns nothing when the name does not resolve.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

_UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT: private in practice


class AddressBlocked(Exception):
    """The host resolves to an address the crawler must never connect to."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        self.host = host
        self.address = address
        self.reason = reason
        where = host if host == address else f"{host} ({address})"
        super().__init__(f"{where} is a {reason} address; hub-monitor never fetches such addresses")


class UnresolvableHost(Exception):
    """DNS gave no address for the host."""

    def __init__(self, host: str, detail: str) -> None:
        self.host = host
        self.detail = detail
        super().__init__(f"{host} does not resolve: {detail}")


class InvalidHost(Exception):
    """The URL names a host or port no connection can be made to (reported like a blocked address)."""

    def __init__(self, host: str, reason: str) -> None:
        self.host = host
        self.reason = reason
        super().__init__(f"the host {host[:100]!r} {reason}; hub-monitor cannot fetch it")


# RFC 1035 2.3.4: 63 octets per label, 253 for the name as written.
_MAX_LABEL = 63
_MAX_NAME = 253


@functools.lru_cache(maxsize=4096)
def host_problem(host: str, port: int | None = None) -> str | None:
    """Why no connection can be made to ``host``/``port``, or None.

    The resolver and the socket layer raise UnicodeError (an empty or over-long label), IDNAError (an
    ``xn--`` label that does not decode) or OverflowError (port 65536) instead of a network error, so these
    are judged here, before any of them is asked. Cached: the crawler asks it twice per request, and a run
    has a few hosts for thousands of requests (an IP address costs ipaddress's parser each time).
    """
    if port is not None and not 0 < port < 65536:
        return f"has port {port}, outside 1-65535"
    name = normalise_host(host)
    if parse_ip(name) is not None:
        return None
    if not name:
        return "is empty"
    if len(name) > _MAX_NAME:
        return f"is {len(name)} characters long, over the {_MAX_NAME} a domain name may have"
    for label in name.split("."):
        if not label:
            return "has an empty label (two dots in a row)"
        try:
            ascii_label = idna.encode(label, uts46=True).decode("ascii") if not label.isascii() else label
            if ascii_label.startswith("xn--"):
                idna.decode(ascii_label)
        except (idna.IDNAError, UnicodeError, ValueError) as exc:
            return f"is not a valid internationalised domain name (IDNA: {exc})"
        if len(ascii_label) > _MAX_LABEL:
            return f"has a label of {len(ascii_label)} characters, over the {_MAX_LABEL} DNS allows"
    return None


async def system_resolver(host: str, port: int) -> Sequence[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def blocked_reason(address: IPAddress) -> str | None:
    """Why the crawler must not connect to ``address``, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = blocked_reason(embedded)
            return f"{inner} (IPv4 inside IPv6)" if inner else None
        if address in _UNIQUE_LOCAL:
            return "unique-local"
        if address in _SITE_LOCAL:
            return "site-local"
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED:
        return "shared (carrier-grade NAT)"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "not globally routable"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    # These forms reach an IPv4 address through IPv6; judge them by the IPv4 address they carry.
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def parse_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def normalise_host(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


class AddressPolicy:
    """Resolves hosts once per run and decides whether each may be contacted."""

    def __init__(self, allow_hosts: Iterable[str] = (), resolver: Resolver | None = None) -> None:
        self._allowed = {normalise_host(h) for h in allow_hosts}
        self._allowed_ips = {ip for ip in map(parse_ip, self._allowed) if ip is not None}
        self._resolve = resolver or system_resolver
        # Successful resolutions only: a DNS failure is retried later (the second pass may succeed).
        self._resolved: dict[str, tuple[IPAddress, ...]] = {}
        # (host, port) that passed the check, and their addresses. Everything the check reads is fixed for
        # the run once the name has resolved, so the verdict is too; a refusal is judged again each time.
        self._passed: dict[tuple[str, int], tuple[IPAddress, ...]] = {}

    def is_allowed(self, host: str) -> bool:
        name = normalise_host(host)
        ip = parse_ip(name)
        return name in self._allowed or (ip is not None and ip in self._allowed_ips)

    async def check(self, host: str, port: int) -> tuple[IPAddress, ...]:
        """The addresses to connect to for ``host``. Raises AddressBlocked, InvalidHost or UnresolvableHost."""
        passed = self._passed.get((host, port))
        if passed is not None:
            return passed
        problem = host_problem(host, port)
        if problem is not None:
            raise InvalidHost(host, problem)
        name = normalise_host(host)
        addresses = self._resolved.get(name)
        if addresses is None:
            addresses = await self._lookup(name, port)
            self._resolved[name] = addresses
        if not self.is_allowed(name):
            # Every address must pass: a name that also resolves to 10.x is not a public site.
            for address in addresses:
                reason = blocked_reason(address)
                if reason:
                    raise AddressBlocked(name, str(address), reason)
        self._passed[host, port] = addresses
        return addresses

    async def _lookup(self, name: str, port: int) -> tuple[IPAddress, ...]:
        literal = parse_ip(name)
        if literal is not None:
            return (literal,)
        try:
            found = await self._resolve(name, port)
        except OSError as exc:
            raise UnresolvableHost(name, exc.strerror or str(exc)) from exc
        addresses = tuple(dict.fromkeys(ip for ip in map(parse_ip, found) if ip is not None))
        if not addresses:
            raise UnresolvableHost(name, "no address records")
        return addresses


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses the policy has checked."""

    def __init__(self, policy: AddressPolicy, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._policy = policy
        self._inner = inner or AsyncioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._policy.check(host, port)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # check() never returns an empty tuple
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("hub-monitor never connects to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
