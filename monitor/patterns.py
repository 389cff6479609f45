"""User regular expressions (`exclude`, `include`), compiled for an engine that cannot backtrack forever.

A URL is page input: a redirect target or a catalog URL meets the user's patterns, and with Python's `re` a
pattern such as ``(a|aa)+$`` takes exponential time on a URL of 50 ``a``s and a ``!`` (issue 12, B8). RE2
(google-re2) matches in time linear in the URL. It has no lookarounds and no backreferences; a pattern that
needs them is refused with the reason, where the pattern is read (exit 3).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

import re2


class Pattern(Protocol):
    pattern: str

    def search(self, text: str) -> object: ...


_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print its own message to stderr besides the one we raise


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Pattern:
    """``pattern`` compiled with RE2; ValueError saying why when RE2 cannot run it."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise ValueError(
            f"{pattern!r} is not a valid regular expression: {reason} (patterns are run by RE2, which "
            "matches in linear time: no lookarounds like (?=...) or (?<=...), no backreferences like \\1)"
        ) from None
    except TypeError as exc:  # not text
        raise ValueError(f"{pattern!r} is not a regular expression: {exc}") from None
