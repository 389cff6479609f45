"""Did anything change in substance between two JSON reports? The nightly workflow commits only if so.

Every run has new timestamps, durations and request counts, and "changes" compares a run with the one
before it; none of that is news. What is news: a finding that came, went, was confirmed or says something
else; an entry checked or not; an issue number. `same_substance(old, new)` compares the reports with the
run-to-run keys removed.

    python -m monitor.substance OLD.json NEW.json   exit 0: same substance, 1: it changed, 3: unreadable
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Keys that differ on every run without anything having happened.
_RUN_KEYS = frozenset({"started_at", "finished_at", "duration_ms", "today", "links", "changes", "version"})
_SUMMARY_RUN_KEYS = frozenset({"requests", "hosts"})
_ENTRY_RUN_KEYS = frozenset({"elapsed_ms"})
# Evidence that moves while a confirmed problem stays the same problem. Before confirmation, failing_runs
# is substance: it is the count that confirms the failure on a later night.
_CONFIRMED_RUN_EVIDENCE = frozenset({"failing_runs", "attempts"})


def substance(report: Mapping[str, Any]) -> dict[str, Any]:
    """The report without what changes from run to run."""
    out = {k: v for k, v in report.items() if k not in _RUN_KEYS}
    if isinstance(out.get("summary"), Mapping):
        out["summary"] = {k: v for k, v in out["summary"].items() if k not in _SUMMARY_RUN_KEYS}
    out["entries"] = [_entry(e) for e in report.get("entries") or [] if isinstance(e, Mapping)]
    return out


def _entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in entry.items() if k not in _ENTRY_RUN_KEYS}
    for key in ("findings", "accepted_findings"):
        out[key] = [_finding(f) for f in entry.get(key) or [] if isinstance(f, Mapping)]
    return out


def _finding(finding: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(finding)
    evidence = finding.get("evidence")
    if finding.get("confirmed") and isinstance(evidence, Mapping):
        out["evidence"] = {k: v for k, v in evidence.items() if k not in _CONFIRMED_RUN_EVIDENCE}
    return out


def same_substance(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    return substance(old) == substance(new)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m monitor.substance OLD.json NEW.json", file=sys.stderr)
        return 3
    try:
        old, new = (json.loads(Path(p).read_text(encoding="utf-8")) for p in argv)
    except (OSError, ValueError) as exc:
        print(f"cannot compare the reports: {exc}", file=sys.stderr)
        return 3
    if not isinstance(old, dict) or not isinstance(new, dict):
        print("cannot compare the reports: not JSON reports", file=sys.stderr)
        return 3
    return 0 if same_substance(old, new) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
