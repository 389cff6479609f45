"""monitor/plainurl.py: a plain URL read by one regular expression is the URL httpx's parser makes of it."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from monitor import plainurl
from monitor.plainurl import parse_url

# Every printable ASCII character, a few that httpx treats specially, some non-ASCII and control characters.
_CHARS = st.sampled_from([chr(c) for c in range(0x20, 0x7F)] + ["é", "€", "\t", "\x00", "\x7f", "%41", "%zz"])
_TEXT = st.lists(_CHARS, max_size=12).map("".join)
_HOST = st.one_of(
    st.sampled_from(["example.org", "a.b-c_d.example", "EXAMPLE.org", "127.0.0.1", "999.1.1.1", "1.2.3",
                     "xn--bcher-kva.example", "01.2.3.4", "255.255.255.255", "256.1.1.1", "1.2.3.4.5", "0.0.0.0",
                     "exa mple.org", "[::1]", "user@host", "host.", ".host", ""]),
    st.lists(st.sampled_from(list("az09.-_:@[]%é")), min_size=1, max_size=10).map("".join),
)  # fmt: skip
_ANY_URL = st.builds(
    lambda scheme, host, port, path, query, fragment: f"{scheme}://{host}{port}{path}{query}{fragment}",
    st.sampled_from(["http", "https", "HTTP", "Https", "ftp"]),
    _HOST,
    st.sampled_from(["", ":", ":80", ":443", ":8080", ":080", ":99999", ":123456", ":x"]),
    st.one_of(st.just(""), _TEXT.map(lambda t: "/" + t), st.sampled_from(["/a/./b/../c", "/..", "/./", "//x"])),
    st.one_of(st.just(""), _TEXT.map(lambda t: "?" + t)),
    st.one_of(st.just(""), _TEXT.map(lambda t: "#" + t)),
)
# URLs of the characters a plain URL may hold, so that about half of them take the shortcut.
_PLAIN_CHARS = st.sampled_from([*"aZ09-._~!$&'()*+,;=:@/[]\\^|%?`{}#", "%41", "%7e", "./", "../", "%4"])
_PLAIN_URL = st.builds(
    lambda scheme, host, port, rest: f"{scheme}://{host}{port}{rest}",
    st.sampled_from(["http", "https"]),
    st.one_of(
        st.lists(st.sampled_from(list("az09.-_")), min_size=1, max_size=8).map("".join),
        st.lists(st.sampled_from(["0", "1", "00", "01", "9", "99", "199", "249", "255", "256", "300", "1000"]),
                 min_size=4, max_size=4).map(".".join),
    ),
    st.sampled_from(["", ":80", ":443", ":8080", ":0", ":00443"]),
    st.lists(_PLAIN_CHARS, max_size=15).map("".join).flatmap(lambda t: st.sampled_from([t, "/" + t])),
)
_URL = st.one_of(_ANY_URL, _PLAIN_URL)


def _httpx(url: str) -> object:
    try:
        return httpx.URL(url)._uri_reference
    except Exception as exc:  # the same kind of refusal either way
        return type(exc)


def _ours(url: str) -> object:
    try:
        return parse_url(url)._uri_reference
    except Exception as exc:
        return type(exc)


@given(_URL)
@example("https://example.org/a%20b?q=%7E#top")
@example("http://example.org:80")
@example("http://example.org/" + "a" * 70_000)
def test_a_url_reads_as_httpx_reads_it(url: str) -> None:
    assert _ours(url) == _httpx(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/papers/2024/notes-123?ref=hub#part-2",
        "http://sub.example.org:8080/",
        "https://a.b/",
        "http://127.0.0.1:41279/page/7",
    ],
)
def test_a_plain_url_is_read_without_httpx_parser(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = httpx.URL(url)
    assert plainurl._enabled

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("httpx's parser was asked")

    monkeypatch.setattr(httpx._urls, "urlparse", refuse)
    read = parse_url(url)
    assert (str(read), read.host, read.port, read.raw_path, read.fragment) == (
        str(expected), expected.host, expected.port, expected.raw_path, expected.fragment
    )
