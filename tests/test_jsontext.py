"""The reports' and the state's JSON text is byte for byte what json.dumps(indent=2, ensure_ascii=False) writes."""

from __future__ import annotations

import json
from enum import IntEnum, StrEnum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.jsontext import json_pieces, may_hold_surrogates


class Colour(StrEnum):
    RED = "red"


class Rank(IntEnum):
    HIGH = 3


def _stdlib(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def _ours(value: object) -> str:
    return "".join(json_pieces(value))


_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text()
    | st.sampled_from([Colour.RED, Rank.HIGH, "\ud800", "line\nbreak \"quoted\" \\ \x00 \u2028 é 😀"])
)  # fmt: skip
_keys = st.text() | st.integers() | st.floats() | st.booleans() | st.none()
_documents = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.lists(inner, max_size=3).map(tuple)
    | st.dictionaries(_keys, inner, max_size=5),
    max_leaves=40,
)


@settings(max_examples=600, deadline=None)
@given(_documents)
def test_same_text_as_json_dumps(value: object) -> None:
    assert _ours(value) == _stdlib(value)


def test_same_text_for_a_report_shaped_document() -> None:
    entry = {"url": "https://example.org/a", "first_seen": "2026-11-25", "consecutive_failures": 0,
             "fragment_found": None, "js_rendered": False, "findings": {"dead-link": "2026-11-25"},
             "evidence": {}, "proposals": [], "lines": [[1, 2], []]}  # fmt: skip
    document = {"schema": 1, "entries": {f"e{n}": dict(entry) for n in range(3)}, "list": [entry, [], {}]}
    assert _ours(document) == _stdlib(document)


@pytest.mark.parametrize("value", [{"a": object()}, [{1j: 1}], {(1, 2): 3}])
def test_what_json_cannot_hold_is_a_type_error(value: object) -> None:
    with pytest.raises(TypeError):
        _stdlib(value)
    with pytest.raises(TypeError):
        _ours(value)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec=None, min_codepoint=0xD7F0, max_codepoint=0xE010) | st.characters()))
def test_text_that_parses_into_a_lone_surrogate_is_always_noticed(value: str) -> None:
    for text in (json.dumps(value), json.dumps(value).upper().replace("\\U", "\\u")):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            continue
        try:
            parsed.encode("utf-8")
        except UnicodeEncodeError:
            assert may_hold_surrogates(text)
