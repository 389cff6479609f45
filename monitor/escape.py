"""Markdown that page text cannot break out of, and text meant to be pasted, exactly as it is.

Everything that came from a page (titles, status quotes, URLs, messages, diffs) goes through `escape_md`
or a fenced block whose fence is longer than any backtick run inside it: page text can never add HTML, a
link, an image, a heading, a mention, a table cell, math or an emoji to the report or to an issue.
Text meant to be pasted (a status line, a URL, a YAML line) goes through `copyable`: a code span holding
exactly its bytes, with no escape and no joiner inside.
"""

from __future__ import annotations

import functools
import re

QUOTE_LIMIT = 300
URL_LIMIT = 300
DIFF_LIMIT = 4000


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACE = re.compile(r"\s+")
# Characters that start Markdown or HTML constructs anywhere in a line.
# "$" too: GitHub reads $…$ as math.
_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~!$])")
# URLs and e-mail addresses in page text become code spans: GitHub links neither inside code, and a
# maintainer can still copy the new URL from a fix exactly as it is.
# No \b before "www.": GitHub autolinks "www." after "_", "*", "~" or "(" too, and "_www" has no word boundary.
_URLISH = re.compile(r"(?i)(?:(?<![a-z0-9])[a-z][a-z0-9+.-]*://|(?<![a-z0-9])www\.)[^\s<>]*|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Curly quotes too: “url: https://…” must not end the copied URL in ”.
_TRAILING = ".,;:!?)]}'\"”’»"
# A word joiner (invisible) after "@" or before digits after "#" stops @mentions and #123 references,
# which GitHub recognises after Markdown parsing, so a backslash alone would not stop them.
WORD_JOINER = "\u2060"
_REFERENCE = re.compile(r"(@|#(?=\d)|://)")
# GitHub turns :name: into an emoji after Markdown parsing, in text only: a joiner after the colon stops it.
_EMOJI = re.compile(r":(?=[a-z0-9_+-]+:)", re.IGNORECASE)
# Markers that start a block only at the start of a line: a list item, an ordered item, a setext underline.
_LEADING = re.compile(r"^([-+](?=\s|$)|\d+[.)](?=\s|$)|=+$)")


def escape_md(text: str | None, limit: int | None = QUOTE_LIMIT) -> str:
    """Page text as inert Markdown on one line: it renders as the same words and nothing more.

    Newlines become spaces, so the text cannot start a block or end a table row; long text is cut
    with "…" (before escaping, so no escape is cut in half). URLs come out as code spans.
    """
    if type(text) is str and len(text) <= _CACHED_LENGTH:
        return _escape_md_cached(text, limit)
    return _escape_md(text, limit)


# A report repeats most of its short texts (a section name per entry, "200", dates, finding names): of the
# 17,000 texts a 2,000-entry report escapes, 4,000 differ. Only short ones are kept, so the cache stays small.
_CACHED_LENGTH = 512


@functools.lru_cache(maxsize=8192)
def _escape_md_cached(text: str, limit: int | None) -> str:
    return _escape_md(text, limit)


def _escape_md(text: str | None, limit: int | None) -> str:
    if type(text) is str and (limit is None or len(text) <= limit) and _inert(text):
        return text  # most of a report's texts ("Resource 12", dates, section names): nothing to do
    return _escape_each_step(text, limit)


def _escape_each_step(text: str | None, limit: int | None) -> str:
    flat = _flatten(text, limit)
    parts: list[str] = []
    pos = 0
    for m in _URLISH.finditer(flat):
        token = _trim_url(m.group(0))
        if not token:
            continue
        parts += [_escape_text(flat[pos : m.start()]), _inert_url(token)]
        pos = m.start() + len(token)
    parts.append(_escape_text(flat[pos:]))
    return _LEADING.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], "".join(parts))


# Text that `_escape_each_step` leaves as it is: words of characters none of the steps touch, one space
# apart, no space at either end. Without ":", "@" and "&" there is no URL, address, emoji, reference or
# entity; "www." and a line's leading markers are checked apart.
_QUIET = r"[^\s\\`*_\[\]<>#|~!$&@:\x00-\x08\x0b-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]"
_INERT = re.compile(rf"{_QUIET}+(?: {_QUIET}+)*")


def _inert(text: str) -> bool:
    return (_INERT.fullmatch(text) is not None and _LEADING.match(text) is None
            and ("." not in text or "www." not in text.lower()))


def _trim_url(token: str) -> str:
    # Sentence punctuation after a URL is not part of it, but a closing parenthesis that balances an
    # opening one is (Wikipedia's "Foo_(bar)"), as in GitHub's own autolinking.
    while token and token[-1] in _TRAILING:
        if token[-1] == ")" and token.count("(") >= token.count(")"):
            break
        token = token[:-1]
    return token


def _flatten(text: str | None, limit: int | None) -> str:
    flat = _SPACE.sub(" ", _CONTROL.sub("", "" if text is None else str(text))).strip()
    if limit is not None and len(flat) > limit:
        flat = flat[: max(limit - 1, 1)].rstrip() + "…"
    return flat


def _escape_text(text: str) -> str:
    # The emoji joiner goes in first: escaping turns "_" into "\\_", which GitHub's emoji filter never sees.
    text = _SPECIAL.sub(r"\\\1", _EMOJI.sub(":" + WORD_JOINER, text).replace("&", "&amp;"))
    return _REFERENCE.sub(lambda m: m.group(1) + WORD_JOINER if m.group(1) != "://" else ":" + WORD_JOINER + "//", text)


def _inert_url(url: str) -> str:
    # Percent-encoding "|" and "`" keeps the URL equivalent and lets one-backtick code work anywhere,
    # table cells included (GitHub splits cells on "|" even inside code).
    return "`" + url.replace("|", "%7C").replace("`", "%60") + "`"


def code_span(text: str | None, limit: int | None = URL_LIMIT, *, in_table: bool = False) -> str:
    """Text shown verbatim (URLs): a code span is never linked, and its fence outgrows any backticks inside."""
    flat = _flatten(text, limit)
    if not flat:
        return ""
    if in_table:
        # GitHub splits table cells on "|" even inside code spans; "\|" is the one escape it honours there.
        flat = flat.replace("|", "\\|")
    fence = "`" * (_longest_run(flat, "`") + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def copyable(text: str, *, in_table: bool = False) -> str:
    """Text meant to be pasted, in a code span holding exactly its bytes: no escape, no joiner, no cut.

    A code span is never linked and mentions inside it stay plain, so nothing needs to be inserted; its fence
    outgrows any backtick run inside. In a table GitHub reads "\\|" inside code as "|", the one escape needed.
    """
    if _CONTROL.search(text) or any(c in text for c in "\n\r\t") or not text.strip():
        # Not one line of text: nothing that could be pasted as a field value; shown inert, flattened.
        return code_span(text, None, in_table=in_table) or "nothing"
    body = text.replace("|", "\\|") if in_table else text
    fence = "`" * (_longest_run(text, "`") + 1)
    pad = " " if text[:1] in ("`", " ") or text[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def fenced_block(text: str, info: str = "", limit: int = DIFF_LIMIT) -> str:
    """A fenced code block that its content cannot close: the fence is longer than any backtick run."""
    body = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).rstrip("\n")
    if len(body) > limit:
        body = body[:limit].rsplit("\n", 1)[0] + "\n…"
    fence = "`" * max(3, _longest_run(body, "`") + 1)
    return f"{fence}{info}\n{body}\n{fence}"


def _longest_run(text: str, char: str) -> int:
    runs = re.findall(re.escape(char) + "+", text)
    return max((len(r) for r in runs), default=0)


_SAFE_URL = re.compile(r"^https?://[^\s<>\\`\"']+$")


def link(url: str | None, limit: int | None = URL_LIMIT) -> str:
    """A catalog URL as a clickable autolink when it is a plain http(s) URL; anything else stays inert."""
    if url and _SAFE_URL.match(url) and (limit is None or len(url) <= limit):
        return f"<{url}>"
    return code_span(url, limit)
