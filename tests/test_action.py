"""The composite action (action.yml) run end to end: its steps' scripts, in order, as the runner would run them
(tests/action_runner.py).

The checked site is a local server, GitHub is the stand-in API served on a local port, and the repository is a
bare git remote in a temp folder.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from monitor.pullrequest import Git, GitError
from tests.action_runner import ACTION, ROOT, Runner
from tests.fake_github import REPO, FakeGitHub, served
from tests.server import TestServer, html, respond


def git(cwd: Path, *args: str) -> str:
    cmd = ["git", "-c", "user.name=Maintainer", "-c", "user.email=m@hub.example", *args]
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def hub(tmp_path: Path, server: TestServer) -> tuple[Path, Path]:
    """A hub repository: bare remote at <server_url>/octo-org/hub.git, and a checkout of it."""
    remote = tmp_path / "github" / f"{REPO}.git"
    remote.parent.mkdir(parents=True)
    git(tmp_path, "init", "--quiet", "--bare", "-b", "main", str(remote))
    work = tmp_path / "work"
    git(tmp_path, "clone", "--quiet", str(remote), str(work))
    git(work, "checkout", "--quiet", "-b", "main")
    good = server.route("/guide", html("Guide", "<p>A guide to reading circuits.</p>"))
    gone = server.route("/gone", respond(404, "<title>Not found</title>"))
    (work / "catalog").mkdir()
    (work / "catalog" / "hub.yaml").write_text(
        "version: 1\nhub:\n  title: Test Hub\nentries:\n"
        f"  - id: guide\n    section: Guides\n    title: Guide\n    url: {good}\n"
        f"  - id: gone\n    section: Guides\n    title: Gone\n    url: {gone}\n", encoding="utf-8")  # fmt: skip
    git(work, "add", ".")
    git(work, "commit", "--quiet", "-m", "catalog")
    git(work, "push", "--quiet", "origin", "main")
    return work, remote


def test_action_metadata_declares_the_promised_inputs_and_outputs() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert set(ACTION["inputs"]) >= {"catalog", "fail-on", "fail", "issues", "fix-pr", "suggest", "state-branch",
                                     "commit-reports", "token"}  # fmt: skip
    assert set(ACTION["outputs"]) == {"exit-code", "needs-attention", "report"}
    for step in ACTION["runs"]["steps"]:
        assert "${{" not in step.get("run", "")  # values reach scripts through env only
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]


def test_two_nights_end_to_end(hub: tuple[Path, Path], tmp_path: Path) -> None:
    work, remote = hub
    fake = FakeGitHub()
    with served(fake) as api:
        context = {
            "github.action_path": str(ROOT), "github.repository": REPO, "github.server_url": str(tmp_path / "github"),
            "github.api_url": api, "github.token": "ghs_t0ken", "inputs.token": "ghs_t0ken", "github.ref_name": "main",
            "inputs.issues": "true", "inputs.fix-pr": "true", "inputs.state-branch": "hub-monitor-state",
            "inputs.check-args": "--allow-host 127.0.0.1 --today 2026-11-25 --quiet --confirm-after 1",
        }  # fmt: skip
        first = Runner(work, context)
        # Night one, every step: the 404 is confirmed at once here, so the job fails at its last step.
        assert first.run() == 2, getattr(first, "last_error", "")
        assert first.outputs["check"] == {"exit-code": "2", "report": "reports/latest.md", "needs-attention": "1"}
        (issue,) = fake.ours()
        assert "hub-monitor:entry=gone" in issue["body"]
        assert first.outcomes["Keep the fix-it pull request in step"] == "success"  # nothing proposed: no PR
        assert not fake.pulls
        assert git(work, "ls-remote", "--heads", "origin", "hub-monitor-state")

    # Night two starts from a fresh checkout: reports/ comes back from the state branch.
    subprocess.run(["rm", "-rf", str(work / "reports")], check=True)
    second = Runner(work, {**context, "inputs.issues": "false", "inputs.fix-pr": "false",
                           "inputs.check-args": "--allow-host 127.0.0.1 --today 2026-11-26 --quiet"})  # fmt: skip
    assert second.run() == 2
    assert second.outputs["check"]["needs-attention"] == "1"
    report = json.loads((work / "reports" / "latest.json").read_text(encoding="utf-8"))
    gone = next(e for e in report["entries"] if e["id"] == "gone")
    assert gone["findings"][0]["first_seen"] == "2026-11-25"  # remembered across the two checkouts
    git(work, "fetch", "--quiet", "origin", "hub-monitor-state")
    files = git(work, "ls-tree", "-r", "--name-only", "FETCH_HEAD").split()
    assert {"reports/latest.json", "reports/latest.md", "reports/state.json"} <= set(files)
    # One commit per night whose report changed in substance (the 404 was confirmed), by the bot.
    assert git(remote, "log", "--format=%an", "hub-monitor-state").split("\n") == ["github-actions[bot]"] * 2

    # With fail: false the same night only annotates the run.
    assert Runner(work, {**context, "inputs.fail": "false"}).run(only="Fail on findings at or above fail-on") == 0
    assert second.run(only="Fail on findings at or above fail-on") == 2

    # Saving the same report again (a night that found the same) adds no commit to the state branch.
    assert second.run(only="Save reports/") == 0
    assert len(git(remote, "log", "--format=%H", "hub-monitor-state").split()) == 2


class _Recorder(BaseHTTPRequestHandler):
    """A git server that has no repositories and remembers the Authorization headers each request carried."""

    seen: ClassVar[list[list[str]]] = []

    def do_GET(self) -> None:
        self.seen.append(self.headers.get_all("Authorization") or [])
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_the_token_is_sent_once_when_the_checkout_kept_its_own(tmp_path: Path) -> None:
    # actions/checkout (persist-credentials: true, its default) leaves `http.<server>/.extraheader` in .git/config.
    # git sends every header it is given, and GitHub refuses a request with two Authorization headers.
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.seen = []
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        server_url = f"http://127.0.0.1:{httpd.server_address[1]}"
        work = tmp_path / "work"
        work.mkdir()
        git(work, "init", "--quiet")
        git(work, "config", f"http.{server_url}/.extraheader", "AUTHORIZATION: basic cGVyc2lzdGVk")
        git(work, "remote", "add", "origin", f"{server_url}/{REPO}.git")
        context = {"github.server_url": server_url, "github.repository": REPO, "inputs.token": "ghs_t0ken",
                   "inputs.state-branch": "hub-monitor-state"}  # fmt: skip
        runner = Runner(work, context)
        assert runner.run(only="Restore reports/ from the state branch") == 0, runner.last_error
        ours = "basic " + base64.b64encode(b"x-access-token:ghs_t0ken").decode()
        pr_git = Git(work, auth_header=(server_url, f"AUTHORIZATION: {ours}"))
        with pytest.raises(GitError):
            pr_git.run("ls-remote", "origin")  # the fix-it pull request's git: no repository there
    finally:
        httpd.shutdown()
        httpd.server_close()
    # The action's fetch and the fix-it pull request's git each sent the token they were given, once.
    assert _Recorder.seen and all(headers == [ours] for headers in _Recorder.seen), _Recorder.seen
