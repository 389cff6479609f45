"""`hub-monitor demo` runs offline and its report holds every kind of finding the demo promises."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.demo import PROMISED


def test_demo_shows_every_promised_finding_confirmed_with_its_issue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "demo"
    assert main(["demo", str(folder)]) == 0
    data = json.loads((folder / "reports" / "latest.json").read_text(encoding="utf-8"))
    assert data["today"] == "2026-11-25" and data["network"] == "ok"
    found = {f["code"]: (e["id"], f["confirmed"]) for e in data["entries"] for f in e["findings"]}
    assert set(PROMISED) <= set(found), sorted(found)
    # The second night confirms the failures (soft-404, parked domain), so each is a real alarm.
    assert all(found[code][1] for code in PROMISED)
    markdown = (folder / "reports" / "latest.md").read_text(encoding="utf-8")
    assert "6 entries need attention" in markdown
    issues = sorted((folder / "issues").glob("*.md"))
    assert len(issues) == len(data["entries"]) == 6
    assert all("<!-- hub-monitor:entry=" in p.read_text(encoding="utf-8") for p in issues)
    # The catalog diff of `hub-monitor fix` is written exactly when the report proposes changes.
    proposed = [p for e in data["entries"] for p in e.get("proposals") or [] if p["sure"]]
    assert (folder / "catalog.diff").exists() == bool(proposed)
    for p in proposed:
        assert p["new"] in (folder / "catalog.diff").read_text(encoding="utf-8")
    out = capsys.readouterr().out
    assert "summer-fellowship  status-changed" in out and str(folder / "reports" / "latest.md") in out
    # The demo's server is gone: nothing is left listening or running.
    assert not any(t.name == "hub-monitor-demo-site" for t in threading.enumerate())


def test_demo_promises_what_the_readme_says() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "hub-monitor demo" in readme
    for code in PROMISED:
        assert f"`{code}`" in readme


def test_a_second_run_starts_again_from_the_first_night_and_foreign_folders_are_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "demo"
    assert main(["demo", str(folder)]) == 0
    (folder / "reports" / "extra.txt").write_text("left by the first run")
    assert main(["demo", str(folder)]) == 0
    data = json.loads((folder / "reports" / "latest.json").read_text(encoding="utf-8"))
    assert {f["first_seen"] for e in data["entries"] for f in e["findings"]} == {"2026-11-24"}
    assert not (folder / "reports" / "extra.txt").exists()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert main(["demo", str(other)]) == 3
    assert "already holds other files" in capsys.readouterr().err
    assert [p.name for p in other.iterdir()] == ["notes.txt"]
