"""The composite action (action.yml) run end to end: its steps' scripts, in order, as the runner would run them.

`${{ … }}` values are filled from a small context (inputs, github.*, the check step's outputs) and each step's
`if` is evaluated the same way. The checked site is a local server, GitHub is the stand-in API served on a local
port, and the repository is a bare git remote in a temp folder. `actions/setup-python` and the install step are
not run (this checkout is already installed); the install step is checked to install the action's own checkout.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.fake_github import REPO, FakeGitHub, served
from tests.server import TestServer, html, respond

ROOT = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def git(cwd: Path, *args: str) -> str:
    cmd = ["git", "-c", "user.name=Maintainer", "-c", "user.email=m@hub.example", *args]
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


class Runner:
    """Runs the action's steps with a context, like the Actions runner (bash -e, GITHUB_OUTPUT per step)."""

    def __init__(self, cwd: Path, context: dict[str, str]) -> None:
        self.cwd = cwd
        self.context = context
        self.outputs: dict[str, dict[str, str]] = {}
        self.outcomes: dict[str, str] = {}

    def value(self, name: str) -> str:
        m = re.fullmatch(r"steps\.([\w-]+)\.(outputs\.([\w-]+)|outcome)", name)
        if m:
            step = m.group(1)
            return self.outputs.get(step, {}).get(m.group(3), "") if m.group(3) else self.outcomes.get(step, "")
        if name.startswith("inputs."):
            key = name.removeprefix("inputs.")
            return self.context.get(name, str(ACTION["inputs"][key].get("default", "")))
        return self.context[name]

    def fill(self, text: str) -> str:
        return _EXPR.sub(lambda m: self.value(m.group(1)), text)

    def condition(self, text: str) -> bool:
        expr = _EXPR.sub(lambda m: m.group(1), text).replace("!cancelled()", "True")
        expr = re.sub(r"[a-z]+(?:\.[\w-]+)+", lambda m: repr(self.value(m.group(0))), expr)
        expr = expr.replace("&&", " and ").replace("||", " or ").replace("'", '"')
        return bool(eval(expr, {"__builtins__": {}}, {"True": True}))  # test-only, on the action's own text

    def run(self, only: str | None = None) -> int:
        """Every step in order (or only the one named), as far as the first failing step; its exit code, or 0."""
        env_path = f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin"
        for step in ACTION["runs"]["steps"]:
            if "uses" in step or (only is not None and step.get("name") != only):
                continue
            if "if" in step and not self.condition(step["if"]):
                continue
            if step["name"] == "Install Hub Monitor":
                assert self.fill(step["env"]["ACTION_PATH"]) == str(ROOT)
                continue
            output = self.cwd.parent / f"output-{len(self.outcomes)}"
            output.write_text("")
            env = {"PATH": env_path, "HOME": str(self.cwd.parent), "GITHUB_OUTPUT": str(output),
                   "GITHUB_REF_NAME": "main", **{k: self.fill(v) for k, v in step.get("env", {}).items()}}  # fmt: skip
            proc = subprocess.run([step["shell"], "-e", "-c", step["run"]], cwd=self.cwd, env=env,
                                  capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
            sid = step.get("id", step["name"])
            self.outcomes[sid] = "success" if proc.returncode == 0 else "failure"
            self.outputs[sid] = dict(ln.split("=", 1) for ln in output.read_text().splitlines() if "=" in ln)
            if proc.returncode != 0:
                self.last_error = proc.stdout + proc.stderr
                return proc.returncode
        return 0


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
                                     "token"}  # fmt: skip
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
            "github.api_url": api, "github.token": "ghs_t0ken", "inputs.token": "ghs_t0ken",
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
    assert second.run(only="Save reports/ to the state branch") == 0
    assert len(git(remote, "log", "--format=%H", "hub-monitor-state").split()) == 2
