"""JSON text of the reports and the state: exactly ``json.dumps(value, indent=2, ensure_ascii=False)``, faster.

With ``indent`` the standard library encodes in pure Python, one generator per container and one resumption
per piece: a 2,000-entry state and report took about 0.7 s of a run's last second. Here each container's
text is built with plain loops, strings quoted by the same C function the standard encoder calls
(``encode_basestring``), and numbers written by the same ``repr``; the bytes are the same (a test compares
the two on random documents and on real reports). The text is still handed over in pieces, an entry of the
top-level mappings at a time, so a state of ten thousand entries is never one string in memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from json.encoder import encode_basestring as _quote
from typing import Any

__all__ = ["json_pieces", "may_hold_surrogates", "without_lone_surrogates"]

# Containers this deep (the document is 0) are handed over item by item; deeper ones are built whole.
_STREAMED_DEPTH = 2
_STEP = "  "


def json_pieces(value: object) -> Iterator[str]:
    """The text of ``json.dumps(value, indent=2, ensure_ascii=False)`` and a newline, piece by piece."""
    yield from _pieces(value, "\n", _STREAMED_DEPTH)
    yield "\n"


def _pieces(value: object, indent: str, depth: int) -> Iterator[str]:
    if depth == 0 or not value or not isinstance(value, dict | list | tuple):
        out: list[str] = []
        _put(value, out, indent)
        yield "".join(out)
        return
    inner = indent + _STEP
    if isinstance(value, dict):
        yield "{"
        for n, (key, item) in enumerate(value.items()):
            yield f"{',' if n else ''}{inner}{_key(key)}: "
            yield from _pieces(item, inner, depth - 1)
        yield indent + "}"
    else:
        yield "["
        for n, item in enumerate(value):
            yield f"{',' if n else ''}{inner}"
            yield from _pieces(item, inner, depth - 1)
        yield indent + "]"


def _put(value: object, out: list[str], indent: str) -> None:
    """Append the text of ``value`` at the nesting whose line break and indent is ``indent``."""
    kind = type(value)
    if kind is str:
        out.append(_quote(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is dict or (kind is not list and kind is not tuple and isinstance(value, dict)):
        if not value:
            out.append("{}")
            return
        inner = indent + _STEP
        separator = "," + inner
        out.append("{" + inner)
        first = True
        for key, item in value.items():  # type: ignore[attr-defined]
            if not first:
                out.append(separator)
            first = False
            out.append((_quote(key) if type(key) is str else _key(key)) + ": ")
            if type(item) is str:  # the common case, without a call
                out.append(_quote(item))
            else:
                _put(item, out, inner)
        out.append(indent + "}")
    elif kind is list or kind is tuple or isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        inner = indent + _STEP
        separator = "," + inner
        out.append("[" + inner)
        first = True
        for item in value:  # type: ignore[attr-defined]
            if not first:
                out.append(separator)
            first = False
            _put(item, out, inner)
        out.append(indent + "]")
    else:
        out.append(_scalar(value))


def _scalar(value: object) -> str:
    # The standard encoder's order: text, then numbers (an IntEnum is its number, a StrEnum its text).
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == -float("inf"):
        return "-Infinity"
    return float.__repr__(value)


def _key(key: object) -> str:
    # Keys as the standard encoder converts them; any other kind of key is an error there too.
    if isinstance(key, str):
        return _quote(key)
    if key is True:
        return '"true"'
    if key is False:
        return '"false"'
    if key is None:
        return '"null"'
    if isinstance(key, int):
        return _quote(int.__repr__(key))
    if isinstance(key, float):
        return _quote(_float(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")


# A lone surrogate ("\ud800"), which UTF-8 cannot hold, can only come into parsed JSON through a "\u" escape
# of D800-DFFF: text decoded from UTF-8 holds none. (An escaped backslash before "ud8.." matches too, which
# only costs the reader a needless clean-up.)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def may_hold_surrogates(text: str) -> bool:
    """Whether JSON ``text`` (decoded from UTF-8) may parse into strings holding lone surrogates."""
    return _SURROGATE_ESCAPE.search(text) is not None


def without_lone_surrogates(value: Any) -> Any:
    """Parsed JSON ``value`` with lone surrogates made U+FFFD: JSON allows them, UTF-8 does not, so a text
    holding one could never be written back (to the state, or to the Markdown rendered from a report)."""
    if isinstance(value, str):
        if value.isascii():
            return value  # no surrogate in it: most values, kept without the round trip
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {without_lone_surrogates(k): without_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_lone_surrogates(v) for v in value]
    return value
