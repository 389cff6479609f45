"""The pull request check workflow: its shell steps run here as the runner's bash would run them.

The steps run in a real git repository with a base commit and a pull request commit; `hub-monitor` is this
checkout's. GitHub's side of the comment is the stand-in API (in process, so the comment step's command line is
parsed and run through `main`).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_httpx import HTTPXMock

from monitor.catalog import load_catalog
from monitor.changes import changed_ids
from monitor.cli import main
from monitor.pullrequest import CHECK_MARKER
from tests.fake_github import REPO, FakeGitHub

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "pr-check.yml").read_text(encoding="utf-8"))
(JOB,) = WORKFLOW["jobs"].values()
STEPS = {step.get("name", step.get("uses", "")): step for step in JOB["steps"]}
CATALOG = JOB["env"]["CATALOG"]

BASE = """version: 1
hub:
  title: Test Hub
entries:
  # unchanged entries are never fetched: their hosts do not exist
  - id: stays
    section: S
    title: Stays
    url: https://stays.invalid/
  - id: edited
    section: S
    title: Edited
    url: https://edited.invalid/
"""


def git(cwd: Path, *args: str) -> str:
    cmd = ["git", "-c", "user.name=Contributor", "-c", "user.email=c@hub.example", *args]
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def pr(tmp_path: Path) -> tuple[Path, str]:
    """A repository whose base commit has BASE and whose head commit edits one entry and adds one."""
    git(tmp_path, "init", "--quiet", "-b", "main")
    path = tmp_path / CATALOG
    path.parent.mkdir(parents=True)
    path.write_text(BASE, encoding="utf-8")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "--quiet", "-m", "base")
    base = git(tmp_path, "rev-parse", "HEAD")
    # Loopback addresses are refused without --allow-host: a fetch that happens and fails, with no network.
    path.write_text(BASE.replace("https://edited.invalid/", "http://127.0.0.1:9/edited") +
                    "  - id: added\n    section: S\n    title: Added\n    url: http://127.0.0.1:9/added\n",
                    encoding="utf-8")  # fmt: skip
    git(tmp_path, "commit", "--quiet", "-am", "edit one entry, add one")
    return tmp_path, base


def run_step(name: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    step = STEPS[name]
    assert "${{" not in step["run"]  # values reach the script through env only
    output = cwd / "github_output"
    full_env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin", "GITHUB_OUTPUT": str(output),
                "CATALOG": CATALOG, "HOME": str(cwd), **env}  # fmt: skip
    return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=cwd, env=full_env, capture_output=True, text=True,
                          check=False, timeout=120)  # fmt: skip


def test_triggers_only_on_catalog_changes_with_least_permissions() -> None:
    on = WORKFLOW[True]  # YAML 1.1 reads `on` as True
    assert on == {"pull_request": {"paths": ["catalog/**"]}}
    assert WORKFLOW["permissions"] == {}
    assert JOB["permissions"] == {"contents": "read", "pull-requests": "write"}
    checkout = next(s for s in JOB["steps"] if "actions/checkout" in s.get("uses", ""))
    assert checkout["with"] == {"fetch-depth": 0, "persist-credentials": False}


def test_actions_are_pinned_to_full_commits() -> None:
    for step in JOB["steps"]:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]


def test_validate_step_annotates_the_broken_line_and_fails(tmp_path: Path) -> None:
    path = tmp_path / CATALOG
    path.parent.mkdir(parents=True)
    path.write_text(BASE.replace("url: https://edited.invalid/", "url: edited.invalid/page"), encoding="utf-8")
    result = run_step("Validate the catalog", tmp_path)
    assert result.returncode == 3
    assert result.stdout.splitlines() == [
        f"::error file={CATALOG},line=13,title=entries[1].url::'edited.invalid/page' is not an http(s) URL "
        "(did you mean 'https://edited.invalid/page'?)"
    ]


def test_check_step_fetches_only_the_added_and_changed_entries(pr: tuple[Path, str]) -> None:
    cwd, base = pr
    result = run_step("Check the entries this pull request adds or changes", cwd, BASE_SHA=base)
    assert result.returncode == 0, result.stderr  # exit 2 is carried to the last step, not failed here
    assert (cwd / "github_output").read_text() == "exit-code=2\n"
    assert "entries added or changed since" in result.stderr and "edited, added" in result.stderr
    report = json.loads((cwd / "pr-check" / "latest.json").read_text(encoding="utf-8"))
    assert [e["id"] for e in report["entries"]] == ["edited", "added"]
    assert all(f["code"] == "blocked-address" and f["confirmed"] for e in report["entries"] for f in e["findings"])
    assert not (cwd / "reports").exists()
    fail = STEPS["Fail when changed entries have errors"]
    assert fail["if"] == "${{ steps.check.outputs.exit-code == '2' }}"


def comment_argv(json_path: Path) -> list[str]:
    line = STEPS["Comment the result on the pull request"]["run"]
    argv = shlex.split(line)[1:]
    argv = [{"$REPO": REPO, "$NUMBER": "7"}.get(a, a) for a in argv]
    return [str(json_path) if a == "pr-check/latest.json" else a for a in argv]


def test_comment_step_comments_once_and_edits_it_later(pr: tuple[Path, str], httpx_mock: HTTPXMock,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    cwd, base = pr
    fake = FakeGitHub()
    httpx_mock.add_callback(fake, is_reusable=True, is_optional=True)
    fake.add("An older issue", "", labels=())
    number = fake.add("Add an entry", "", labels=(), pull_request=True)
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_t0ken")
    json_path = cwd / "pr-check" / "latest.json"
    argv = [a if a != "7" else str(number) for a in comment_argv(json_path)]

    # Validation failed: no report, the comment says so.
    assert main(argv) == 0
    (first,) = fake.comments[number]
    assert first.startswith(CHECK_MARKER) and "does not validate" in first

    # The check step's own command, in process (its shell step runs in the test above).
    monkeypatch.chdir(cwd)
    assert main(["check", CATALOG, "--changed-since", base, "--confirm-after", "1", "--quiet",
                 "--json", "pr-check/latest.json", "--report", "pr-check/latest.md",
                 "--state", "pr-check/state.json"]) == 2  # fmt: skip
    assert main(argv) == 0
    assert main(argv) == 0
    (comment,) = fake.comments[number]  # edited, never repeated
    assert "Blocked address" in comment or "blocked-address" in comment
    assert "Edited" in comment and "Added" in comment and "Stays" not in comment
    writes: list[Any] = [w for w in fake.writes if "comments" in w[1]]
    assert [w[0] for w in writes] == ["POST", "PATCH"]


def test_check_only_checks_the_named_entries_and_refuses_unknown_ids(
    pr: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    cwd, _ = pr
    out = cwd / "only"
    argv = ["check", str(cwd / CATALOG), "--json", str(out / "r.json"), "--report", str(out / "r.md"),
            "--state", str(out / "s.json"), "--quiet", "--fail-on", "never"]  # fmt: skip
    assert main([*argv, "--only", "added"]) == 0
    report = json.loads((out / "r.json").read_text(encoding="utf-8"))
    assert [e["id"] for e in report["entries"]] == ["added"]
    assert main([*argv, "--only", "added,nope"]) == 3
    assert "--only: no entry 'nope'" in capsys.readouterr().err


def test_changed_entries_ignore_comments_and_formatting() -> None:
    reformatted = BASE.replace("  # unchanged entries are never fetched: their hosts do not exist\n", "") \
        .replace("url: https://stays.invalid/", "url: 'https://stays.invalid/'  # quoted now")
    edited = reformatted.replace("title: Edited", "title: Edited again")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hub.yaml"
        path.write_text(edited, encoding="utf-8")
        entries = load_catalog(path).entries
    assert changed_ids(entries, BASE) == ["edited"]
    assert changed_ids(entries, None) == ["stays", "edited"]  # no catalog at the base: everything is new
    assert changed_ids(entries, "not: [yaml") == ["stays", "edited"]


def test_validate_github_format_marks_warnings_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(BASE.replace("https://edited.invalid/", "https://stays.invalid/"), encoding="utf-8")
    assert main(["validate", "--format", "github", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"::warning file={path},line=") and "stays.invalid" in out[0]
    assert out[-1] == f"{path}: OK, 2 entries"
