"""A plain http(s) URL read into an ``httpx.URL`` without httpx's general parser.

The crawler parses every catalog URL once per attempt (``fetch._parse_url``). httpx's ``urlparse`` checks
every character in Python, quotes each component and matches four regular expressions: about 65 µs per URL,
a tenth of a request's CPU. Almost every URL a hub lists is plain: a lower-case http or https scheme, an ASCII
host name, maybe a port, and a path, query and fragment made only of characters httpx leaves as they are.
For those, one regular expression gives every component exactly as httpx would, and the ``httpx.URL`` is
made from them directly; anything else (a user name, an IPv6 address, a non-ASCII or upper-case character in
the host, a character httpx would quote, a control character) goes to httpx's own parser.

The result is httpx's own ``URL`` object with the components httpx would have produced
(tests/test_plainurl.py checks that against httpx on generated URLs). It relies on two of httpx's internals,
``URL._uri_reference`` and ``_urlparse.ParseResult``; if a sample URL read both ways ever differs (another
httpx), the shortcut turns itself off.
"""

from __future__ import annotations

import re

import httpx

try:
    from httpx._urlparse import ParseResult, normalize_path
except ImportError:  # another httpx: every URL goes to its own parser
    ParseResult = None  # type: ignore[assignment,misc]

__all__ = ["parse_url"]

# The characters httpx keeps unquoted in each component (its PATH_SAFE, QUERY_SAFE and FRAG_SAFE with the
# unreserved ones). No space, no control character, nothing beyond ASCII. A "%" is kept only as the start of
# a complete escape (where httpx's quoting gets subtle, a URL goes to httpx: _LONE_PERCENT).
_PATH = r"[A-Za-z0-9\-._~!$&'()*+,;=:@/\[\]\\^|%]*"
_QUERY = r"[A-Za-z0-9\-._~!$&'()*+,;=:@/\[\]\\^|%?`{}]*"
_FRAGMENT = r"[A-Za-z0-9\-._~!$&'()*+,;=:@/\[\]\\^|%?{}#]*"
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_PLAIN = re.compile(
    rf"(https?)://([a-z0-9_-][a-z0-9._-]*)(?::([0-9]{{1,5}}))?(/{_PATH})?(?:\?({_QUERY}))?(?:#({_FRAGMENT}))?",
    re.ASCII,
)
# A host of four numbers is an IPv4 address to httpx, which checks it (ipaddress.IPv4Address: each number at
# most 255, no leading zero). One that passes the same checks here is kept as it is, as httpx keeps it; any
# other goes to httpx's parser, which refuses it.
_IPV4_STYLE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")
_DEFAULT_PORT = {"http": 80, "https": 443}
_MAX_LENGTH = 65536  # httpx refuses a longer URL


def parse_url(text: str) -> httpx.URL:
    """``httpx.URL(text)``, read by one regular expression when the URL is plain."""
    match = _PLAIN.fullmatch(text) if _enabled and len(text) <= _MAX_LENGTH else None
    if match is None:
        return httpx.URL(text)
    scheme, host, port_text, path, query, fragment = match.groups()
    if (_IPV4_STYLE.fullmatch(host) and not _IPV4.fullmatch(host)) or ("%" in text and _LONE_PERCENT.search(text)):
        return httpx.URL(text)
    port = int(port_text) if port_text else None
    if port == _DEFAULT_PORT[scheme]:
        port = None
    url = httpx.URL.__new__(httpx.URL)
    url._uri_reference = ParseResult(scheme, "", host, port, normalize_path(path or ""), query, fragment)
    return url


_SAMPLES = (
    "http://example.org",
    "https://example.org:443/a/./b/../c?x=1&y=%20#frag",
    "http://sub.example.org:8080/path;p=1/?q=a?b#f#g",
    "https://a-b.example/%7Euser/[x]?{y}=`z`",
    "http://127.0.0.1:8080/x",
)
_enabled = ParseResult is not None
try:
    _enabled = _enabled and all(parse_url(s)._uri_reference == httpx.URL(s)._uri_reference for s in _SAMPLES)
except Exception:
    _enabled = False
