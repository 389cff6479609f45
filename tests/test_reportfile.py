"""`hub-monitor report` and `issues` on a JSON report of the right tool and schema but the wrong shape: exit 3,
naming the key that is wrong (B33: each variant below was a KeyError, TypeError or RecursionError, exit 1)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.cli import main
from monitor.report import render_markdown, to_json
from monitor.reportfile import ReportFileError, load_report
from tests.test_report import make_run, sample_entries


def good() -> dict[str, Any]:
    return json.loads(json.dumps(to_json(make_run(sample_entries()))))


def _set(path: str, value: Any) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        *parents, last = path.split("/")
        target: Any = data
        for key in parents:
            target = target[int(key) if key.isdigit() else key]
        if value is _DELETE:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return change


_DELETE = object()
DEEP = "@deep@"  # replaced by an array 3,000 deep in the file's text: json.dumps cannot write one
DEEP980 = "@deep980@"  # 980 deep: json reads it, but a walk over the report from deeper in the stack may not
BIG = "@big@"  # replaced by a number of 5,000 digits

# (change to a good report, the key the message must name, what it must say)
WRONG_SHAPES = [
    (_set("entries", {"a": 1}), "entries:", "expected a list, got an object"),
    (_set("entries/0", "x"), "entries[0]:", "expected an object"),
    (_set("entries/0/title", _DELETE), "entries[0].title:", "missing"),
    (_set("entries/0/findings", None), "entries[0].findings:", "expected a list, got null"),
    (_set("entries/1/findings/0/severity", "fatal"), "entries[1].findings[0].severity:", "expected one of ok"),
    (_set("entries/1/findings/0/evidence", {"chain": 3}), "entries[1].findings[0].evidence.chain:",
     "expected text, got the number 3"),
    (_set("entries/0/severity", None), "entries[0].severity:", "expected one of ok, info, warning, error"),
    (_set("summary", []), "summary:", "expected an object, got a list"),
    (_set("summary/ok", "3"), "summary.ok:", "expected a whole number, got the text '3'"),
    (_set("hub", None), "hub:", "expected an object, got null"),
    (_set("changes/new", [{"id": 1}]), "changes.new[0].id:", "expected text, got the number 1"),
    (_set("hub_drift", "x"), "hub_drift:", "expected a list"),
    (_set("entries/0/checked", "yes"), "entries[0].checked:", "expected true or false"),
    (_set("entries/0/findings", DEEP), "not a hub-monitor JSON report:", "nested too deeply"),
    # Found by the re-run of the battery (exit 1, ValueError): valid JSON, a number json will not convert.
    (_set("summary/ok", BIG), "not a hub-monitor JSON report:", "Exceeds the limit (4300 digits)"),
    (_set("x_unknown", BIG), "not a hub-monitor JSON report:", "Exceeds the limit (4300 digits)"),
    (_set("x_unknown", DEEP980), "not a hub-monitor JSON report:", "nested too deeply"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "key", "message"), WRONG_SHAPES)
def test_a_report_of_the_wrong_shape_names_the_wrong_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Callable[[dict], None], key: str, message: str
) -> None:
    data = good()
    change(data)
    path = tmp_path / "latest.json"
    text = json.dumps(data).replace(json.dumps(DEEP), "[" * 3000 + "]" * 3000).replace(json.dumps(BIG), "1" * 5000)
    path.write_text(text.replace(json.dumps(DEEP980), "[" * 980 + "]" * 980))
    for command in (["report", str(path)], ["issues", "--repo", "o/r", "--json", str(path), "--dry-run"]):
        assert main(command) == 3
        err = capsys.readouterr().err
        assert f"{path}: {key} {message}" in err, err


def test_unknown_keys_are_accepted_and_kept(tmp_path: Path) -> None:
    data = good()
    data["hub_proposals"] = [{"action": "add-entry", "id": "x", "entry": None, "why": "listed on the hub"}]
    data["entries"][0]["proposals"] = []
    data["entries"][0]["carried_over"] = True
    path = tmp_path / "latest.json"
    path.write_text(json.dumps(data))
    assert load_report(path) == data


# A report as another version may write it: any key may be dropped, or take another JSON value.
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=8)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.tuples(st.integers(0, 10_000), JSON | st.just(_DELETE)), min_size=1, max_size=3))
def test_any_changed_report_renders_or_is_refused_with_exit_3(tmp_path: Path, picks: list[tuple[int, Any]]) -> None:
    data = good()
    for index, value in picks:
        spots = list(_spots(data))
        holder, key = spots[index % len(spots)]
        if value is _DELETE and isinstance(holder, dict):
            del holder[key]
        elif value is not _DELETE:
            holder[key] = copy.deepcopy(value)
    path = tmp_path / "latest.json"
    path.write_text(json.dumps(data))
    try:
        report = load_report(path)
    except ReportFileError:
        return
    render_markdown(report)  # a report that passed the check renders


def _spots(value: Any) -> Any:
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield value, key
        yield from _spots(child)


def test_a_lone_surrogate_in_a_report_renders_as_a_replacement_character(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Found by the re-run of the battery: "\\ud800" in a title is valid JSON but not UTF-8 (exit 1 on writing).
    data = good()
    data["entries"][0]["title"] = "@title@"
    path = tmp_path / "latest.json"
    path.write_text(json.dumps(data).replace('"@title@"', '"Guide \\ud800 one"'))
    assert main(["report", str(path)]) == 0
    assert "Guide \ufffd one" in capsys.readouterr().out
