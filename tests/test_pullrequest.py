"""The fix-it pull request: opened, updated, closed, and never pushed over a maintainer's commit.

GitHub is the stand-in API of tests/fake_github.py; the git side is a real bare repository in a temp folder.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from monitor.cli import main
from monitor.fix import plan_fixes
from monitor.pullrequest import BOT_EMAIL, BRANCH, MARKER, Git, sync_fix_pr
from tests.fake_github import REPO, FakeGitHub
from tests.test_fix import UNUSUAL, moved, proposal, report

CATALOG = "catalog/hub.yaml"


def git(cwd: Path, *args: str) -> str:
    cmd = ["git", "-c", "user.name=Maintainer", "-c", "user.email=maintainer@hub.example", *args]
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A checkout of `main` holding the unusual catalog, cloned from a bare remote."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", "-b", "main", str(remote))
    work = tmp_path / "work"
    git(tmp_path, "clone", "--quiet", str(remote), str(work))
    git(work, "checkout", "--quiet", "-b", "main")
    (work / "catalog").mkdir()
    shutil.copy(UNUSUAL, work / CATALOG)
    git(work, "add", ".")
    git(work, "commit", "--quiet", "-m", "catalog")
    git(work, "push", "--quiet", "origin", "main")
    return work


@pytest.fixture
def fake(httpx_mock: HTTPXMock) -> FakeGitHub:
    gh = FakeGitHub()
    httpx_mock.add_callback(gh, is_reusable=True, is_optional=True)
    return gh


MOVE = moved("https://github.com/old-owner/tool", "https://github.com/new-owner/tool")
STATUS = proposal("status", "Applications open soon.", "Applications for 2026 are now closed.",
                  codes=("status-changed",), why="the page says: Applications for 2026 are now closed.")  # fmt: skip
STATUS["hub_current"] = "Applications open soon."


def night(work: Path, data: dict[str, Any]) -> Any:
    text = (work / CATALOG).read_text(encoding="utf-8")
    return sync_fix_pr(plan_fixes(text, data), data, repo=REPO, token="ghs_t0ken", git=Git(work),
                       catalog_path=CATALOG, base_branch="main", sleep=lambda s: None)  # fmt: skip


def remote_tip(work: Path) -> str | None:
    out = git(work, "ls-remote", "--heads", "origin", BRANCH).split()
    return out[0] if out else None


def test_first_night_opens_one_pull_request_whose_commit_changes_only_the_catalog(
    repo: Path, fake: FakeGitHub
) -> None:
    result = night(repo, report(CATALOG, {"moved-repo": [MOVE], "program": [STATUS]}))
    assert result.stopped is None, result.stopped
    (pull,) = fake.pulls.values()
    assert pull["head"]["ref"] == BRANCH and pull["base"]["ref"] == "main" and pull["state"] == "open"
    body = pull["body"]
    assert body.startswith(MARKER)
    assert ("1. **moved-repo**: link changed to `https://github.com/new-owner/tool` "
            "(was `https://github.com/old-owner/tool`) (`moved-permanently`)") in body
    assert "Evidence: 301 from `https://github.com/old-owner/tool`" in body
    assert "On the hub page: change “Applications open soon.” to “Applications for 2026 are now closed.”" in body
    tip = remote_tip(repo)
    assert tip is not None
    git(repo, "fetch", "--quiet", "origin", BRANCH)
    assert git(repo, "log", "--format=%an <%ae>", f"main..{tip}").splitlines() == [f"github-actions[bot] <{BOT_EMAIL}>"]
    assert git(repo, "diff", "--name-only", "main", tip).split() == [CATALOG]
    diff = git(repo, "diff", "main", tip)
    assert '+    url: "https://github.com/new-owner/tool"    # the repo moved once already' in diff
    # The working tree and the index were not touched.
    assert git(repo, "status", "--porcelain") == ""


def test_the_same_report_again_writes_nothing_and_a_new_proposal_updates_the_same_pr(
    repo: Path, fake: FakeGitHub
) -> None:
    night(repo, report(CATALOG, {"moved-repo": [MOVE]}))
    first_tip, writes = remote_tip(repo), len(fake.writes)
    night(repo, report(CATALOG, {"moved-repo": [MOVE]}))
    assert remote_tip(repo) == first_tip and len(fake.writes) == writes

    result = night(repo, report(CATALOG, {"moved-repo": [MOVE], "program": [STATUS]}))
    assert result.stopped is None
    assert len(fake.pulls) == 1
    (pull,) = fake.pulls.values()
    assert "**program**" in pull["body"]
    new_tip = remote_tip(repo)
    assert new_tip != first_tip
    # Still one commit on top of main: the branch is rebuilt, not stacked.
    git(repo, "fetch", "--quiet", "origin", BRANCH)
    assert len(git(repo, "log", "--format=%H", f"main..{new_tip}").split()) == 1


def test_the_pr_is_closed_when_nothing_remains(repo: Path, fake: FakeGitHub) -> None:
    night(repo, report(CATALOG, {"moved-repo": [MOVE]}))
    result = night(repo, report(CATALOG, {}))
    (number,) = fake.pulls
    assert fake.pulls[number]["state"] == "closed"
    assert "proposes no catalog change any more" in fake.comments[number][0]
    assert result.actions == [f"close #{number}: nothing remains to fix"]


def test_a_maintainers_commit_on_the_branch_is_never_overwritten(repo: Path, fake: FakeGitHub,
                                                                  tmp_path: Path) -> None:  # fmt: skip
    night(repo, report(CATALOG, {"moved-repo": [MOVE]}))
    other = tmp_path / "maintainer"
    git(tmp_path, "clone", "--quiet", "-b", BRANCH, str(tmp_path / "remote.git"), str(other))
    path = other / CATALOG
    path.write_text(path.read_text(encoding="utf-8").replace("new-owner/tool", "new-owner/tool-v2"), encoding="utf-8")
    git(other, "commit", "--quiet", "-am", "catalog: the repository moved again")
    git(other, "push", "--quiet", "origin", BRANCH)
    theirs = remote_tip(repo)

    result = night(repo, report(CATALOG, {"moved-repo": [MOVE], "program": [STATUS]}))
    assert remote_tip(repo) == theirs
    (number,) = fake.pulls
    (comment,) = fake.comments[number]
    assert "not the bot's" in comment and "Maintainer" in comment
    assert "+        Applications for 2026 are now closed." in comment
    assert result.actions[0].startswith(f"not pushing: {BRANCH} has commits by others")


def test_fix_pr_from_the_command_line(repo: Path, fake: FakeGitHub, monkeypatch: pytest.MonkeyPatch,
                                      tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.chdir(repo)
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_t0ken")
    json_path = tmp_path / "latest.json"
    json_path.write_text(json.dumps(report(CATALOG, {"moved-repo": [MOVE]})), encoding="utf-8")
    assert main(["fix", "--pr", "--repo", REPO, "--json", str(json_path), "--dry-run"]) == 0
    assert "open a pull request" in capsys.readouterr().out and not fake.pulls and remote_tip(repo) is None
    assert main(["fix", "--pr", "--repo", REPO, "--json", str(json_path)]) == 0
    assert len(fake.pulls) == 1 and remote_tip(repo) is not None
    # The checkout's own catalog is left for the maintainer to merge into.
    assert (repo / CATALOG).read_text(encoding="utf-8") == UNUSUAL.read_text(encoding="utf-8")


def test_each_change_names_the_open_issue_of_its_entry(repo: Path, fake: FakeGitHub) -> None:
    fake.add("Stale entry: moved-repo", "<!-- hub-monitor:entry=moved-repo -->\nmoved")
    fake.add("Stale entry: program", "<!-- hub-monitor:entry=program -->\nold", state="closed",
             state_reason="completed")  # fmt: skip
    night(repo, report(CATALOG, {"moved-repo": [MOVE], "program": [STATUS]}))
    (pull,) = fake.pulls.values()
    body = pull["body"]
    moved_part, program_part = body.split("2. **program**")
    assert "Issue: #1" in moved_part and "Closes" not in body  # the issue closes after a clean night, not on merge
    assert "Issue: #" not in program_part  # its issue is closed


def test_a_shallow_checkout_still_tells_the_bots_commits_from_a_maintainers(repo: Path, fake: FakeGitHub,
                                                                           tmp_path: Path) -> None:  # fmt: skip
    night(repo, report(CATALOG, {"moved-repo": [MOVE]}))
    for n in range(2):  # nightly report commits land on main after the branch was made
        (repo / f"report-{n}.md").write_text("report\n", encoding="utf-8")
        git(repo, "add", ".")
        git(repo, "commit", "--quiet", "-m", f"Nightly hub report {n}")
    git(repo, "push", "--quiet", "origin", "main")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "--quiet", "--depth", "1", f"file://{tmp_path / 'remote.git'}", str(shallow))
    before = remote_tip(repo)
    result = night(shallow, report(CATALOG, {"moved-repo": [MOVE], "program": [STATUS]}))
    assert result.stopped is None, result.stopped
    assert not result.actions[0].startswith("not pushing"), result.actions
    assert remote_tip(repo) != before


def later(data: dict[str, Any], today: str) -> dict[str, Any]:
    return {**data, "today": today}


def test_a_later_night_with_the_same_changes_leaves_the_description_alone(repo: Path, fake: FakeGitHub) -> None:
    night(repo, report(CATALOG, {"moved-repo": [MOVE]}))
    writes = len(fake.writes)
    result = night(repo, later(report(CATALOG, {"moved-repo": [MOVE]}), "2026-11-26"))
    assert len(fake.writes) == writes and result.actions == []


def test_a_pr_the_maintainer_closed_is_not_reopened_for_the_same_changes(repo: Path, fake: FakeGitHub) -> None:
    night(repo, report(CATALOG, {"moved-repo": [MOVE]}))
    (number,) = fake.pulls
    fake.pulls[number]["state"] = "closed"  # closed by a maintainer, not merged
    tip = remote_tip(repo)
    result = night(repo, later(report(CATALOG, {"moved-repo": [MOVE]}), "2026-11-26"))
    assert result.actions == [f"not reopening: #{number} was closed without merging these same changes"]
    assert len(fake.pulls) == 1 and remote_tip(repo) == tip
    # New evidence is a new question: a new pull request.
    night(repo, later(report(CATALOG, {"moved-repo": [MOVE], "program": [STATUS]}), "2026-11-27"))
    assert len(fake.pulls) == 2 and remote_tip(repo) != tip
