"""What counts as news for the nightly commit (monitor/substance.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from monitor.substance import main, same_substance


def report(**changes: Any) -> dict[str, Any]:
    finding = {"code": "dead-link", "severity": "error", "message": "404", "confirmed": True,
               "first_seen": "2026-11-20", "evidence": {"failing_runs": "3", "status": "404 Not Found"}}  # fmt: skip
    data = {
        "schema": 1, "tool": "hub-monitor", "version": "0.1.0", "started_at": "2026-11-28T03:17:05Z",
        "finished_at": "2026-11-28T03:17:09Z", "duration_ms": 4012, "today": "2026-11-28",
        "summary": {"entries": 1, "error": 1, "requests": 14, "hosts": 3},
        "changes": {"new": [{"id": "a", "code": "dead-link"}], "resolved": []},
        "entries": [{"id": "a", "elapsed_ms": 130, "severity": "error", "findings": [finding]}],
        "links": {"run": "https://github.com/o/r/actions/runs/1"},
    }  # fmt: skip
    for path, value in changes.items():
        target: Any = data
        *parents, last = path.split("__")
        for key in parents:
            target = target[int(key) if key.isdigit() else key]
        target[int(last) if last.isdigit() else last] = value
    return data


@pytest.mark.parametrize(
    ("change", "same"),
    [
        ({"started_at": "2026-11-29T03:18:00Z", "today": "2026-11-29", "duration_ms": 5100}, True),
        ({"summary__requests": 15, "entries__0__elapsed_ms": 99, "links": {}}, True),
        ({"changes": {"new": [], "resolved": []}}, True),  # relative to the night before: not news in itself
        ({"entries__0__findings__0__evidence": {"failing_runs": "4", "status": "404 Not Found"}}, True),
        ({"entries__0__findings__0__evidence": {"failing_runs": "3", "status": "410 Gone"}}, False),
        ({"entries__0__severity": "warning"}, False),
        ({"summary__error": 0}, False),
    ],
)
def test_only_news_is_substance(change: dict[str, Any], same: bool) -> None:
    assert same_substance(report(), report(**change)) is same


def test_an_unconfirmed_failures_count_is_substance() -> None:
    # It is what confirms the failure on a later night: not committing it would never confirm anything.
    old = report()
    old["entries"][0]["findings"][0]["confirmed"] = False
    new = copy.deepcopy(old)
    new["entries"][0]["findings"][0]["evidence"]["failing_runs"] = "4"
    assert not same_substance(old, new)


def test_the_command_line(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    a.write_text(json.dumps(report()))
    b.write_text(json.dumps(report(started_at="2026-11-30T03:17:00Z")))
    c.write_text(json.dumps(report(entries__0__severity="ok")))
    assert main([str(a), str(b)]) == 0
    assert main([str(a), str(c)]) == 1
    assert main([str(a), str(tmp_path / "missing.json")]) == 3
    assert main([str(a)]) == 3
