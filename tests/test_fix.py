"""`hub-monitor fix`: the report's proposals become catalog edits that leave every other byte alone.

The reports here are written by hand in the shape the JSON report's `proposals` / `hub_proposals` keys take
(BRIEF "Shared contract"), as a maintainer's report would hold them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.catalog import load_catalog
from monitor.cli import main
from monitor.fix import plan_fixes

FIXTURES = Path(__file__).parent / "fixtures" / "catalogs"
UNUSUAL = FIXTURES / "unusual.yaml"
BUNDLED = Path(__file__).resolve().parents[1] / "catalog" / "hub.yaml"


def proposal(field: str, current: str | None, new: str, *, action: str = "set", codes: tuple[str, ...] = (),
             sure: bool = True, why: str = "", line: int | None = None) -> dict[str, Any]:  # fmt: skip
    return {"field": field, "action": action, "catalog_line": line, "current": current, "new": new,
            "hub_current": current, "hub_new": new, "codes": list(codes), "sure": sure, "why": why}  # fmt: skip


def report(catalog: str, proposals: dict[str, list[dict[str, Any]]],
           hub_proposals: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    entries = [{"id": entry_id, "section": "Test", "title": entry_id, "http_status": 200, "checked": True,
                "severity": "warning", "findings": [], "proposals": props}
               for entry_id, props in proposals.items()]  # fmt: skip
    return {
        "schema": 1, "tool": "hub-monitor", "version": "0.2.0", "started_at": "2026-11-25T03:17:00Z",
        "finished_at": "2026-11-25T03:17:04Z", "duration_ms": 4000, "today": "2026-11-25", "network": "ok",
        "hub": {"title": "Reading List Hub"}, "catalog": catalog, "confirm_after": 2,
        "summary": {"entries": len(entries), "ok": 0, "info": 0, "warning": len(entries), "error": 0,
                    "checked": len(entries), "requests": len(entries), "hosts": 1},
        "changes": {"new": [], "resolved": []}, "entries": entries, "hub_proposals": hub_proposals or [],
    }  # fmt: skip


def moved(old: str, new: str, **kw: Any) -> dict[str, Any]:
    kw.setdefault("why", f"301 from {old} to {new}")
    return proposal("url", old, new, codes=("moved-permanently",), **kw)


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    """(old, new) line pairs where the files differ, for files of the same number of lines."""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(a) == len(b)
    return [(x, y) for x, y in zip(a, b, strict=True) if x != y]


def run(tmp_path: Path, catalog: Path, data: dict[str, Any], *args: str) -> tuple[int, Path]:
    target = tmp_path / catalog.name
    shutil.copy(catalog, target)
    data = {**data, "catalog": str(target)}
    json_path = tmp_path / "latest.json"
    json_path.write_text(json.dumps(data), encoding="utf-8")
    return main(["fix", "--json", str(json_path), *args]), target


# --------------------------------------------------------------------------------------- byte identity


def test_url_and_status_edits_change_only_their_own_bytes_in_an_unusual_catalog(tmp_path: Path) -> None:
    before = UNUSUAL.read_text(encoding="utf-8")
    data = report("x", {
        "moved-repo": [moved("https://github.com/old-owner/tool", "https://github.com/new-owner/tool")],
        "plain": [proposal("status", "Deadline: March 1, 2024", "Applications are closed.",
                           codes=("deadline-passed",))],
        "flowish": [moved("https://flow.example/", "https://flow.example/new")],
    })  # fmt: skip
    code, target = run(tmp_path, UNUSUAL, data)
    assert code == 0
    after = target.read_text(encoding="utf-8")
    # The double-quoted URL stays double-quoted with its trailing comment; the old URL joins the flow list.
    assert changed_lines(before, after) == [
        ('    url: "https://github.com/old-owner/tool"    # the repo moved once already\n',
         '    url: "https://github.com/new-owner/tool"    # the repo moved once already\n'),
        ('    aliases: ["https://github.com/older-owner/tool"]\n',
         '    aliases: ["https://github.com/older-owner/tool", "https://github.com/old-owner/tool"]\n'),
        ("    url: 'https://flow.example/'\n", "    url: 'https://flow.example/new'\n"),
        ("    aliases: []\n", "    aliases: ['https://flow.example/']\n"),
        ('    status: "Deadline: March 1, 2024"  # a comment after a quoted status\n',
         '    status: "Applications are closed."  # a comment after a quoted status\n'),
    ]  # fmt: skip
    catalog = load_catalog(target)
    assert catalog.entry("moved-repo").url == "https://github.com/new-owner/tool"
    assert catalog.entry("moved-repo").aliases == (
        "https://github.com/older-owner/tool", "https://github.com/old-owner/tool")  # fmt: skip


def test_block_scalar_status_and_flow_entry_are_rewritten_in_place(tmp_path: Path) -> None:
    before = UNUSUAL.read_text(encoding="utf-8")
    data = report("x", {
        "program": [proposal("status", "Applications open soon.", "Applications for 2026 are now closed.",
                             codes=("status-changed",))],
        "inline": [moved("https://inline.example/", "https://inline.example/v2")],
    })  # fmt: skip
    code, target = run(tmp_path, UNUSUAL, data)
    assert code == 0
    after = target.read_text(encoding="utf-8")
    # The folded status (two lines) becomes one `>-` line at the same indentation; nothing else moves.
    assert before.replace(
        "    status: >-\n        Applications open\n        soon.\n",
        "    status: >-\n        Applications for 2026 are now closed.\n",
    ).replace(
        '{id: inline, section: Misc, title: "Inline map", url: "https://inline.example/"}',
        '{id: inline, section: Misc, title: "Inline map", url: "https://inline.example/v2", '
        'aliases: ["https://inline.example/"]}',
    ) == after
    assert load_catalog(target).entry("program").status == "Applications for 2026 are now closed."


def test_bundled_catalog_move_adds_a_block_alias_line_and_nothing_else(tmp_path: Path) -> None:
    before = BUNDLED.read_text(encoding="utf-8")
    data = report("x", {
        "arena": [moved("https://www.arena.education/", "https://www.arena.education/programme"),
                  proposal("status", "Applications open soon.", "Applications for ARENA 7.0 are now closed.",
                           codes=("status-changed",))],
        "quickstart-guide": [moved("https://www.neelnanda.io/mechanistic-interpretability/quickstart",
                                   "https://www.neelnanda.io/mechanistic-interpretability/getting-started")],
    })  # fmt: skip
    code, target = run(tmp_path, BUNDLED, data)
    assert code == 0
    after = target.read_text(encoding="utf-8")
    expected = before.replace(
        "    url: https://www.arena.education/\n    status: Applications open soon.\n",
        "    url: https://www.arena.education/programme\n    aliases:\n      - https://www.arena.education/\n"
        "    status: Applications for ARENA 7.0 are now closed.\n",
    ).replace(
        "    url: https://www.neelnanda.io/mechanistic-interpretability/quickstart\n",
        "    url: https://www.neelnanda.io/mechanistic-interpretability/getting-started\n",
    ).replace(
        "      - https://www.alignmentforum.org/posts/jLAvJt8wuSFySN975/mechanistic-interpretability-quickstart-guide\n",
        "      - https://www.alignmentforum.org/posts/jLAvJt8wuSFySN975/mechanistic-interpretability-quickstart-guide\n"
        "      - https://www.neelnanda.io/mechanistic-interpretability/quickstart\n",
    )  # fmt: skip
    assert after == expected
    assert load_catalog(target).entry("arena").aliases == ("https://www.arena.education/",)


# --------------------------------------------------------------------------------------- what is not applied


def test_unsure_proposals_are_listed_as_skipped_and_never_applied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = UNUSUAL.read_text(encoding="utf-8")
    data = report("x", {"moved-repo": [moved("https://github.com/old-owner/tool", "https://github.com/login",
                                             sure=False, why="the redirect ends on a login page")]})  # fmt: skip
    code, target = run(tmp_path, UNUSUAL, data)
    assert code == 0
    assert target.read_text(encoding="utf-8") == before
    err = capsys.readouterr().err
    assert "0 change(s) applied, 1 skipped" in err
    assert "not sure (the redirect ends on a login page)" in err


def test_a_proposal_the_catalog_no_longer_matches_is_skipped(tmp_path: Path) -> None:
    data = report("x", {"plain": [proposal("status", "Something the file does not say", "New text")]})
    plan = plan_fixes(UNUSUAL.read_text(encoding="utf-8"), data)
    assert not plan.changed
    assert "the catalog changed since the report" in plan.skipped[0][1]


def test_only_limits_the_kinds_applied(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = report("x", {
        "moved-repo": [moved("https://github.com/old-owner/tool", "https://github.com/new-owner/tool")],
        "plain": [proposal("status", "Deadline: March 1, 2024", "Closed.", codes=("deadline-passed",))],
    })  # fmt: skip
    code, target = run(tmp_path, UNUSUAL, data, "--only", "deadline-passed")
    assert code == 0
    catalog = load_catalog(target)
    assert catalog.entry("plain").status == "Closed."
    assert catalog.entry("moved-repo").url == "https://github.com/old-owner/tool"
    assert main(["fix", "--json", str(tmp_path / "latest.json"), "--only", "no-such-code"]) == 3
    assert "unknown kind(s) no-such-code" in capsys.readouterr().err


def test_dry_run_prints_a_unified_diff_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    before = UNUSUAL.read_text(encoding="utf-8")
    shutil.copy(UNUSUAL, tmp_path / "unusual.yaml")
    monkeypatch.chdir(tmp_path)
    data = report("unusual.yaml", {"moved-repo": [moved("https://github.com/old-owner/tool",
                                                        "https://github.com/new/tool")]})  # fmt: skip
    Path("latest.json").write_text(json.dumps(data), encoding="utf-8")
    assert main(["fix", "--json", "latest.json", "--dry-run"]) == 0
    assert Path("unusual.yaml").read_text(encoding="utf-8") == before
    out = capsys.readouterr().out
    assert out.startswith("--- a/unusual.yaml\n+++ b/unusual.yaml\n@@ ")
    assert '-    url: "https://github.com/old-owner/tool"    # the repo moved once already\n' in out
    assert '+    url: "https://github.com/new/tool"    # the repo moved once already\n' in out


def test_a_result_that_would_not_validate_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = UNUSUAL.read_text(encoding="utf-8")
    data = report("x", {"moved-repo": [moved("https://github.com/old-owner/tool", "javascript:alert(1)")]})
    code, target = run(tmp_path, UNUSUAL, data)
    assert code == 3
    assert target.read_text(encoding="utf-8") == before
    err = capsys.readouterr().err
    assert "refusing to write" in err
    assert f"{target}:15: entries[0].url: 'javascript:alert(1)' is not an http(s) URL" in err


# --------------------------------------------------------------------------------------- hub page entries


def test_hub_proposals_add_an_entry_in_its_section_and_flag_a_removed_one(tmp_path: Path) -> None:
    added = {"id": "new-paper", "section": "Papers", "title": "A paper: with a colon",
             "url": "https://papers.example/new", "kind": "resource"}  # fmt: skip
    data = report("x", {}, [
        {"action": "add-entry", "id": "new-paper", "entry": added, "why": "listed on the hub, not in the catalog"},
        {"action": "remove-entry", "id": "flowish", "entry": None, "why": "gone from the hub page since 2026-11-24"},
    ])  # fmt: skip
    code, target = run(tmp_path, UNUSUAL, data)
    assert code == 0
    after = target.read_text(encoding="utf-8")
    assert (
        "    kind: resource\n\n"
        "-   id: new-paper\n    section: Papers\n    title: \"A paper: with a colon\"\n"
        "    url: https://papers.example/new\n    kind: resource\n\n-   id: program\n"
    ) in after
    assert "# hub-monitor: not on the hub page any more: gone from the hub page since 2026-11-24\n-   id: flowish\n" \
        in after
    catalog = load_catalog(target)
    assert [e.id for e in catalog.entries][:2] == ["moved-repo", "new-paper"]
    # A second night with the same report changes nothing more.
    assert main(["fix", "--json", str(tmp_path / "latest.json")]) == 0
    assert target.read_text(encoding="utf-8") == after


def test_every_edit_kind_at_once_keeps_yaml_values_outside_the_edits(tmp_path: Path) -> None:
    text = UNUSUAL.read_text(encoding="utf-8")
    data = report("x", {
        "moved-repo": [moved("https://github.com/old-owner/tool", "https://github.com/new-owner/tool")],
        "program": [proposal("status", "Applications open soon.", "Closed.")],
        "plain": [proposal("aliases", None, "https://plain.example/old", action="add")],
    }, [{"action": "add-entry", "id": "z", "entry": {"id": "z", "section": "Zed", "title": "Z", "url": None},
         "why": "new"}])  # fmt: skip
    plan = plan_fixes(text, data)
    assert len(plan.applied) == 4 and not plan.skipped
    old, new = yaml.safe_load(text), yaml.safe_load(plan.text)
    assert old["hub"] == new["hub"] and old["version"] == new["version"]
    untouched = [e for e in old["entries"] if e["id"] in ("flowish", "inline")]
    assert untouched == [e for e in new["entries"] if e["id"] in ("flowish", "inline")]
    assert new["entries"][-1] == {"id": "z", "section": "Zed", "title": "Z", "url": None}
    assert new["entries"][-2]["aliases"] == ["https://plain.example/old"]


def test_a_move_and_an_alias_proposal_for_the_same_old_url_add_it_once() -> None:
    old, new = "https://github.com/old-owner/tool", "https://github.com/new-owner/tool"
    data = report("x", {"moved-repo": [moved(old, new), proposal("aliases", None, old, action="add")]})
    plan = plan_fixes(UNUSUAL.read_text(encoding="utf-8"), data)
    assert [c.kind for c in plan.applied] == ["url", "aliases"] and not plan.skipped
    entry = yaml.safe_load(plan.text)["entries"][0]
    assert entry["aliases"] == ["https://github.com/older-owner/tool", old]


def test_running_fix_twice_changes_nothing_the_second_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = report("x", {"moved-repo": [moved("https://github.com/old-owner/tool", "https://github.com/new/tool")]})
    code, target = run(tmp_path, UNUSUAL, data)
    assert code == 0
    after = target.read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["fix", "--json", str(tmp_path / "latest.json")]) == 0
    assert target.read_text(encoding="utf-8") == after
    assert "skipped  moved-repo: url 'https://github.com/old-owner/tool' -> 'https://github.com/new/tool': " \
           "already done" in capsys.readouterr().err


# --------------------------------------------------------------------------------------- odd catalog files


@pytest.mark.parametrize("kind", ["fifo", "folder", "too large"])
def test_a_catalog_that_is_not_a_readable_regular_file_is_exit_3_not_a_hang(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    # Found by the re-run of the battery: `fix` read the catalog with read_text, so a FIFO (or a report naming
    # one) waited forever and /dev/zero read until MemoryError. It now goes through the capped reader.
    import os

    from monitor import inputfile

    target = tmp_path / "hub.yaml"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    else:
        target.write_text("version: 1\n" + "#" * 64 + "\n")
    json_path = tmp_path / "latest.json"
    json_path.write_text(json.dumps({**report(str(target), {"a": [moved("https://a.example/", "https://b.example/")]})}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(inputfile, "CATALOG_LIMIT", 32)
        patch.setattr("monitor.cli_loop.CATALOG_LIMIT", 32)
        assert main(["fix", "--json", str(json_path)]) == 3
    err = capsys.readouterr().err
    assert f"cannot read catalog {target}: cannot read the file: it is" in err, err
