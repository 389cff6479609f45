"""Reading a JSON report back (for `hub-monitor report` and `hub-monitor issues`): the file, then its shape.

A report that is valid JSON with the right `tool` and `schema` can still hold a list where an entry should be,
or a number where a message should be; rendering it would then fail deep inside with a KeyError. Here the
shape is checked first, against `SHAPE` (what `report.to_json` writes), and the first few wrong keys are named:
`reports/latest.json: entries[3].findings[0].severity: expected one of ok, info, warning, error, got 'bad'`.

Keys not in `SHAPE` are accepted and kept: other versions and other commands add their own (`proposals`,
`hub_proposals`, ...). Keys marked optional are those older reports of schema 1 may lack.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.findings import Severity
from monitor.inputfile import REPORT_LIMIT, InputFileError, read_capped
from monitor.jsontext import may_hold_surrogates, without_lone_surrogates

SCHEMA = 1
TOOL = "hub-monitor"
_MAX_PROBLEMS = 5


class ReportFileError(ValueError):
    """The file is not a JSON report this version can read; the message names the file and the wrong key."""


@dataclass(frozen=True)
class Optional:
    """A key a report may lack."""

    shape: Any


@dataclass(frozen=True)
class OneOf:
    """Text with one of a few values."""

    values: tuple[str, ...]


@dataclass(frozen=True)
class TextMap:
    """A mapping of text to text (evidence, settings_changed)."""


# A shape is a Python type (str, int, bool), None, a tuple of alternatives, OneOf, TextMap, a one-item list
# (a list of that shape) or a dict (an object with those keys; values may be Optional).
_TEXT_OR_NONE = (str, None)
_INT_OR_NONE = (int, None)
SEVERITY = OneOf(tuple(s.value for s in Severity))
FINDING = {
    "code": str,
    "severity": SEVERITY,
    "message": str,
    "evidence": Optional(TextMap()),
    "fix": Optional(_TEXT_OR_NONE),
    "confirmed": bool,
    "first_seen": Optional(_TEXT_OR_NONE),
}
PROPOSAL = {
    "field": str,
    "action": OneOf(("set", "add")),
    "catalog_line": _INT_OR_NONE,
    "current": Optional(_TEXT_OR_NONE),
    "new": str,
    "hub_current": Optional(_TEXT_OR_NONE),
    "hub_new": Optional(_TEXT_OR_NONE),
    "codes": [str],
    "sure": bool,
    "why": Optional(str),
}
ENTRY = {
    "id": str,
    "section": str,
    "title": str,
    "kind": Optional(str),
    "url": Optional(_TEXT_OR_NONE),
    "line": Optional(_INT_OR_NONE),
    "status": Optional(_TEXT_OR_NONE),
    "final_url": Optional(_TEXT_OR_NONE),
    "http_status": _INT_OR_NONE,
    "elapsed_ms": Optional(_INT_OR_NONE),
    "checked": bool,
    "not_checked_reason": Optional(_TEXT_OR_NONE),
    "severity": SEVERITY,
    "findings": [FINDING],
    "proposals": Optional([PROPOSAL]),
    "field_lines": Optional(dict),
    "accepted_findings": Optional([FINDING]),
}
CHANGE = {"id": str, "code": str}
CHANGED = {"id": str, "code": str, "before": str, "after": str}
HUB_PROPOSAL = {"action": OneOf(("add-entry", "remove-entry")), "id": str, "entry": Optional((dict, None)),
                "why": Optional(str)}
ACCEPTED = {"id": str, "code": str, "until": Optional(_TEXT_OR_NONE), "reason": Optional(_TEXT_OR_NONE),
            "source": Optional(_TEXT_OR_NONE), "line": Optional(_INT_OR_NONE), "expired": Optional(bool)}
SHAPE = {
    "schema": int,
    "tool": str,
    "version": str,
    "started_at": _TEXT_OR_NONE,
    "finished_at": _TEXT_OR_NONE,
    "duration_ms": _INT_OR_NONE,
    "today": str,
    "network": str,
    "hub": {"title": _TEXT_OR_NONE, "url": Optional(_TEXT_OR_NONE), "maintainer": Optional(_TEXT_OR_NONE)},
    "catalog": str,
    "confirm_after": int,
    "summary": {key: int for key in ("entries", "ok", "info", "warning", "error", "checked", "requests", "hosts")},
    "settings_changed": Optional(TextMap()),
    "changes": {"new": [CHANGE], "resolved": [CHANGE], "confirmed": Optional([CHANGE]),
                "changed": Optional([CHANGED])},
    "not_planned": Optional([str]),
    "hub_drift": Optional([FINDING]),
    "entries": [ENTRY],
    "hub_proposals": Optional([HUB_PROPOSAL]),
    "issues": Optional(dict),
    "links": Optional(TextMap()),
    "accepted": Optional([ACCEPTED]),
}


def load_report(path: Path) -> dict[str, Any]:
    """The JSON report at `path`, its shape checked; ReportFileError (a ValueError) for anything else."""
    try:
        data = read_capped(path, REPORT_LIMIT)
    except InputFileError as exc:
        raise ReportFileError(str(exc)) from exc
    try:
        text = data.decode("utf-8")
        report = json.loads(text)
    except UnicodeDecodeError as exc:
        raise ReportFileError(f"{path}: not a JSON report: the file is not valid UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise ReportFileError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    except RecursionError as exc:
        raise ReportFileError(f"{path}: not a hub-monitor JSON report: nested too deeply") from exc
    except ValueError as exc:  # valid JSON that Python refuses: a number of more than 4,300 digits
        raise ReportFileError(f"{path}: not a hub-monitor JSON report: {exc}") from exc
    if not isinstance(report, dict) or report.get("tool") != TOOL:
        raise ReportFileError(f"{path}: not a hub-monitor JSON report")
    if report.get("schema") != SCHEMA:
        raise ReportFileError(f"{path}: report schema {report.get('schema')!r}; this version reads schema {SCHEMA}")
    problems = shape_problems(report)
    if problems:
        raise ReportFileError("\n".join(f"{path}: {p}" for p in problems))
    if not may_hold_surrogates(text):
        return report  # nothing to clean: the walk through every value is a fifth of the reading
    try:
        return without_lone_surrogates(report)
    except RecursionError as exc:  # an unknown key nested just under json's own limit
        raise ReportFileError(f"{path}: not a hub-monitor JSON report: nested too deeply") from exc


def shape_problems(report: object, shape: Any = None, where: str = "") -> list[str]:
    """What is wrong with `report` against `shape` (default: a whole report), at most a few problems."""
    problems: list[str] = []
    _check(report, SHAPE if shape is None else shape, where, problems)
    return problems


def _check(value: object, shape: Any, where: str, problems: list[str]) -> None:
    if len(problems) >= _MAX_PROBLEMS:
        return
    if isinstance(shape, dict):
        _check_object(value, shape, where, problems)
    elif isinstance(shape, list):
        if not isinstance(value, list):
            problems.append(f"{where or 'the report'}: expected a list, got {_describe(value)}")
            return
        for index, item in enumerate(value):
            _check(item, shape[0], f"{where}[{index}]", problems)
    elif isinstance(shape, TextMap) and isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(item, str):
                problems.append(f"{where}.{key}: expected text, got {_describe(item)}")
                return
    elif not _fits(value, shape):
        problems.append(f"{where}: expected {_expected(shape)}, got {_describe(value)}")


def _check_object(value: object, shape: Mapping[str, Any], where: str, problems: list[str]) -> None:
    if not isinstance(value, dict):
        problems.append(f"{where or 'the report'}: expected an object, got {_describe(value)}")
        return
    for key, wanted in shape.items():
        path = f"{where}.{key}" if where else key
        if key not in value:
            if not isinstance(wanted, Optional):
                problems.append(f"{path}: missing")
            continue
        _check(value[key], wanted.shape if isinstance(wanted, Optional) else wanted, path, problems)


def _fits(value: object, shape: Any) -> bool:
    if isinstance(shape, tuple):
        return any(_fits(value, part) for part in shape)
    if shape is None:
        return value is None
    if isinstance(shape, OneOf):
        return isinstance(value, str) and value in shape.values
    if isinstance(shape, TextMap):
        return isinstance(value, dict)
    if shape is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, shape)


def _expected(shape: Any) -> str:
    if isinstance(shape, tuple):
        return " or ".join(_expected(part) for part in shape)
    if isinstance(shape, OneOf):
        return "one of " + ", ".join(shape.values)
    if isinstance(shape, TextMap):
        return "an object of texts"
    if isinstance(shape, dict):
        return "an object"
    if isinstance(shape, list):
        return "a list"
    return {str: "text", int: "a whole number", bool: "true or false", None: "null"}.get(shape, str(shape))


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, list):
        return "a list"
    return "an object"
