from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence

import httpcore
import pytest

from monitor.addresses import (
    AddressBlocked,
    AddressPolicy,
    InvalidHost,
    PinnedBackend,
    UnresolvableHost,
    blocked_reason,
    host_problem,
)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fc00::1", "unique-local"),
        ("fd12:3456::1", "unique-local"),
        ("fec0::1", "site-local"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("100.64.0.1", "shared (carrier-grade NAT)"),
        ("192.0.2.10", "private"),  # documentation range
        ("::ffff:127.0.0.1", "loopback (IPv4 inside IPv6)"),
        ("::ffff:169.254.169.254", "link-local (IPv4 inside IPv6)"),
        ("64:ff9b::a00:1", "private (IPv4 inside IPv6)"),  # NAT64 of 10.0.0.1
        ("2002:7f00:1::", "loopback (IPv4 inside IPv6)"),  # 6to4 of 127.0.0.1
        ("2001:db8::1", "private"),
    ],
)
def test_blocked_addresses(address: str, reason: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::6810:85e5", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) is None


def _resolver(table: dict[str, list[str]]):
    calls: list[str] = []

    async def resolve(host: str, port: int) -> Sequence[str]:
        calls.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve, calls


def run(coro):
    return asyncio.run(coro)


def test_name_resolving_to_loopback_is_blocked() -> None:
    resolve, _ = _resolver({"sneaky.example": ["127.0.0.1"]})
    policy = AddressPolicy(resolver=resolve)
    with pytest.raises(AddressBlocked) as info:
        run(policy.check("sneaky.example", 80))
    assert info.value.address == "127.0.0.1"
    assert "sneaky.example (127.0.0.1) is a loopback address" in str(info.value)


def test_one_private_address_among_public_ones_blocks_the_name() -> None:
    resolve, _ = _resolver({"mixed.example": ["93.184.216.34", "10.0.0.5"]})
    with pytest.raises(AddressBlocked):
        run(AddressPolicy(resolver=resolve).check("mixed.example", 443))


def test_literal_addresses_are_judged_without_dns() -> None:
    resolve, calls = _resolver({})
    policy = AddressPolicy(resolver=resolve)
    with pytest.raises(AddressBlocked):
        run(policy.check("169.254.169.254", 80))
    with pytest.raises(AddressBlocked):
        run(policy.check("[::1]", 80))
    assert calls == []


def test_allowed_host_is_not_blocked_but_allowing_an_ip_does_not_allow_names() -> None:
    resolve, _ = _resolver({"localtest.example": ["127.0.0.1"]})
    policy = AddressPolicy(allow_hosts={"127.0.0.1"}, resolver=resolve)
    assert run(policy.check("127.0.0.1", 80)) == (ipaddress.ip_address("127.0.0.1"),)
    with pytest.raises(AddressBlocked):
        run(policy.check("localtest.example", 80))
    allowed = AddressPolicy(allow_hosts={"LocalTest.Example."}, resolver=resolve)
    assert run(allowed.check("localtest.example", 80)) == (ipaddress.ip_address("127.0.0.1"),)


def test_unresolvable_host() -> None:
    resolve, _ = _resolver({"empty.example": []})
    policy = AddressPolicy(resolver=resolve)
    with pytest.raises(UnresolvableHost, match="Name or service not known"):
        run(policy.check("gone.example", 80))
    with pytest.raises(UnresolvableHost, match="no address records"):
        run(policy.check("empty.example", 80))


def test_a_checked_resolution_is_reused_so_a_rebinding_name_cannot_switch_address() -> None:
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])

    async def rebinding(host: str, port: int) -> Sequence[str]:
        return next(answers)

    policy = AddressPolicy(resolver=rebinding)

    async def twice() -> tuple[object, object]:
        return await policy.check("rebind.example", 80), await policy.check("rebind.example", 80)

    first, second = run(twice())
    assert first == second == (ipaddress.ip_address("93.184.216.34"),)


class _RecordingBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self.connected: list[str] = []

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):  # type: ignore[no-untyped-def]
        self.connected.append(host)
        raise httpcore.ConnectError("recorded, not connected")


def test_pinned_backend_connects_to_the_checked_address_not_the_name() -> None:
    resolve, _ = _resolver({"site.example": ["93.184.216.34"]})
    inner = _RecordingBackend()
    backend = PinnedBackend(AddressPolicy(resolver=resolve), inner)
    with pytest.raises(httpcore.ConnectError):
        run(backend.connect_tcp("site.example", 443))
    assert inner.connected == ["93.184.216.34"]


def test_pinned_backend_refuses_blocked_names_before_connecting() -> None:
    resolve, _ = _resolver({"internal.example": ["10.0.0.7"]})
    inner = _RecordingBackend()
    backend = PinnedBackend(AddressPolicy(resolver=resolve), inner)
    with pytest.raises(AddressBlocked):
        run(backend.connect_tcp("internal.example", 80))
    with pytest.raises(httpcore.ConnectError):
        run(backend.connect_unix_socket("/var/run/docker.sock"))
    assert inner.connected == []


# Issue 12, B1-B3: these hosts reached the resolver or the socket and raised IDNAError, UnicodeError or
# OverflowError, which ended the whole run. Each is now a reason, given before anything is asked.
@pytest.mark.parametrize(
    ("host", "port", "reason"),
    [
        ("xn--zz.example", 80, "is not a valid internationalised domain name (IDNA: Invalid A-label)"),
        ("xn--ls8h.la", 80, "is not a valid internationalised domain name (IDNA: Codepoint U+1F4A9"),
        ("a..b", 80, "has an empty label (two dots in a row)"),
        ("a" * 64 + ".example", 443, "has a label of 64 characters, over the 63 DNS allows"),
        ("a." * 127 + "example", 443, "characters long, over the 253 a domain name may have"),
        ("8.8.8.8", 65536, "has port 65536, outside 1-65535"),
        ("8.8.8.8", 0, "has port 0, outside 1-65535"),
    ],
)
def test_hosts_no_connection_can_be_made_to_are_refused_first(host: str, port: int, reason: str) -> None:
    problem = host_problem(host, port)
    assert problem is not None and reason in problem

    async def resolve(name: str, port: int) -> list[str]:
        raise AssertionError(f"the resolver was asked for {name!r}")

    with pytest.raises(InvalidHost, match="hub-monitor cannot fetch it"):
        run(AddressPolicy(resolver=resolve).check(host, port))


@pytest.mark.parametrize(
    "host", ["example.com", "bücher.de", "xn--bcher-kva.de", "a" * 63 + ".example", "[::1]", "localhost", "a.b."]
)
def test_valid_hosts_have_no_problem(host: str) -> None:
    assert host_problem(host, 443) is None
