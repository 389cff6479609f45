"""The GitHub workflows: they parse, ask for the least they need, and call commands that exist."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    # YAML 1.1 reads the key `on` as the boolean True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def run_lines(workflow: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for step in steps(workflow):
        script = step.get("run", "")
        # Join backslash continuations so a command is one line.
        lines += [ln.strip() for ln in script.replace("\\\n", " ").splitlines() if ln.strip()]
    return lines


def hub_monitor_calls(workflow: dict[str, Any]) -> list[list[str]]:
    calls = []
    for line in run_lines(workflow):
        if line.startswith("hub-monitor "):
            argv = shlex.split(line)[1:]
            calls.append([a.replace("$REPO", "octo-org/hub") for a in argv])
    return calls


@pytest.mark.parametrize("name", ["ci.yml", "nightly.yml"])
def test_workflow_parses_and_pins_actions(name: str) -> None:
    workflow = load(name)
    assert workflow["jobs"]
    for step in steps(workflow):
        if "uses" in step:
            # A full commit SHA: a moved tag cannot change what runs with write permissions.
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]


@pytest.mark.parametrize("name", ["ci.yml", "nightly.yml"])
def test_no_expression_inside_a_run_script(name: str) -> None:
    # Template injection: values reach scripts through env, never spliced into the shell text.
    for step in steps(load(name)):
        assert "${{" not in step.get("run", ""), step


def test_ci_runs_ruff_and_pytest_on_supported_pythons() -> None:
    ci = load("ci.yml")
    assert set(ci["on"]) == {"push", "pull_request"}
    assert ci["permissions"] == {"contents": "read"}
    (job,) = ci["jobs"].values()
    versions = job["strategy"]["matrix"]["python-version"]
    assert versions == ["3.11", "3.12", "3.13"]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    assert requires == f">={versions[0]}"
    lines = run_lines(ci)
    assert "python -m pip install -e '.[test]'" in lines
    assert "ruff check" in lines and "pytest" in lines


def test_nightly_schedule_is_off_the_hour_and_dispatchable() -> None:
    nightly = load("nightly.yml")
    assert "workflow_dispatch" in nightly["on"]
    (schedule,) = nightly["on"]["schedule"]
    minute = schedule["cron"].split()[0]
    assert minute.isdigit() and int(minute) not in (0, 30)


def test_nightly_permissions_are_the_minimal_set() -> None:
    nightly = load("nightly.yml")
    assert nightly["permissions"] == {}
    for job in nightly["jobs"].values():
        assert job["permissions"] == {"contents": "write", "issues": "write"}
    assert nightly["concurrency"]["group"]
    assert nightly["concurrency"]["cancel-in-progress"] is False


def test_nightly_commands_exist_in_the_cli() -> None:
    nightly = load("nightly.yml")
    calls = hub_monitor_calls(nightly)
    assert [c[0] for c in calls] == ["check", "issues"]
    parser = build_parser()
    for argv in calls:
        parser.parse_args(argv)  # an unknown command or flag raises
    issues = parser.parse_args(calls[1])
    # In Actions the repository comes from GITHUB_REPOSITORY, which the runner sets.
    assert vars(issues)["repo"] is None
    assert calls[0][1:] == ["--suggest", "--fail-on", "warning"]  # Wayback links; warning-only nights exit 2
    # The reports the workflow commits and uploads are where `check` writes them.
    check = vars(parser.parse_args(["check"]))
    reports = [v for v in check.values() if isinstance(v, str) and v.startswith("reports/")]
    assert reports, check
    assert "git add reports/" in run_lines(nightly)
    upload = next(s for s in steps(nightly) if "upload-artifact" in s.get("uses", ""))
    assert upload["with"]["path"] == "reports/" and upload["if"] == "always()"
    # `issues` reads the JSON report that `check` wrote.
    assert calls[1][calls[1].index("--json") + 1] in check.values()


def test_nightly_exit_codes_2_and_4_carry_on_but_1_and_3_fail() -> None:
    nightly = load("nightly.yml")
    check = next(s for s in steps(nightly) if "hub-monitor check" in s.get("run", ""))
    script = check["run"]
    assert check["id"] == "check" and "continue-on-error" not in check
    assert 'echo "exit-code=$code" >> "$GITHUB_OUTPUT"' in script
    # Run the case statement for each exit code, as the runner's bash would.
    for code, fails in ((0, False), (2, False), (4, False), (1, True), (3, True)):
        body = re.sub(r"^hub-monitor check[^\n]*", f"(exit {code})", script, flags=re.M)
        env = {"GITHUB_OUTPUT": "/dev/null", "PATH": "/usr/bin:/bin"}
        result = subprocess.run(["bash", "-e", "-c", body], env=env, capture_output=True, text=True, check=False)
        assert (result.returncode != 0) == fails, (code, result)
    issues = next(s for s in steps(nightly) if "hub-monitor issues" in s.get("run", ""))
    assert "if" not in issues  # runs after 0, 2 and 4; a failed check step stops the job before it
    assert issues["env"]["GITHUB_TOKEN"] == "${{ github.token }}"


def test_nightly_push_retries_with_rebase() -> None:
    nightly = load("nightly.yml")
    commit = next(s for s in steps(nightly) if "git add reports/" in s.get("run", ""))
    script = commit["run"]
    assert "git diff --cached --quiet" in script
    assert re.search(r"pull (--quiet )?--rebase", script) and "for attempt in" in script
    assert "push --quiet origin" in script
    checkout = next(s for s in steps(nightly) if "actions/checkout" in s.get("uses", ""))
    assert checkout["with"]["persist-credentials"] is False


# ------------------------------------------------------------------------ the commit step against a remote

BOT = {"GIT_USER_NAME": "github-actions[bot]",
       "GIT_USER_EMAIL": "41898282+github-actions[bot]@users.noreply.github.com"}


def step_script(name: str) -> str:
    nightly = load("nightly.yml")
    return next(s["run"] for s in steps(nightly) if s.get("name", "").startswith(name))


class Repo:
    """A bare remote and clones of it, with no git identity anywhere (as on a fresh runner): every git
    command that writes must bring its own."""

    def __init__(self, root: Path) -> None:
        self.root = root
        home = root / "home"
        home.mkdir()
        self.env = {
            "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": str(home / "gitconfig"),
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8",
            "GIT_AUTHOR_DATE": "", "PYTHONPATH": str(ROOT),
        }  # fmt: skip
        self.remote = root / "remote.git"
        self.git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(self.remote))
        seed = self.clone("seed")
        (seed / "README.md").write_text("# Hub\n")
        (seed / "reports").mkdir()
        (seed / "reports" / "README.md").write_text("Reports land here.\n")
        self.git(seed, "add", ".")
        self.git(seed, "-c", "user.name=Maintainer", "-c", "user.email=m@example.org", "commit", "-qm", "start")
        self.git(seed, "push", "-q", "origin", "HEAD:main")

    def git(self, cwd: Path, *args: str) -> str:
        done = subprocess.run(["git", *args], cwd=cwd, env=self.env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, (args, done.stderr)
        return done.stdout

    def clone(self, name: str) -> Path:
        self.git(self.root, "clone", "--quiet", str(self.remote), name)
        return self.root / name

    def run_step(self, name: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
        full = {**self.env, **BOT, "GH_TOKEN": "ghs_not_a_real_token", "SERVER_URL": "https://github.com",
                "REF_NAME": "main", "DATA_BRANCH": "", "GITHUB_OUTPUT": "/dev/null", **env}  # fmt: skip
        # As the runner runs a step: bash -e, with the step's env.
        return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step_script(name)],
                              cwd=cwd, env=full, capture_output=True, text=True, check=False)  # fmt: skip

    def log(self, branch: str = "main") -> list[str]:
        return self.git(self.remote, "log", "--format=%s", branch).splitlines()


def write_night(checkout: Path, started: str, codes: tuple[str, ...]) -> dict[str, Any]:
    """What `check` leaves in reports/ for one night: the JSON report, the Markdown and the state."""
    from monitor.findings import Code, Finding
    from monitor.models import Entry, EntryResult, Hub, RunResult
    from monitor.report import render_markdown, to_json

    entry = Entry(id="arena", section="Programs", title="ARENA", url="https://arena.example/", line=7)
    findings = [Finding(Code(c), f"{c} on the page", first_seen="2026-11-20") for c in codes]
    run = RunResult(hub=Hub("Hub"), catalog_path="catalog/hub.yaml", started_at=started, finished_at=started,
                    today=started[:10], network="ok", duration_ms=int(started[-3:-1]) * 10, requests=3,
                    entries=[EntryResult(entry, findings, elapsed_ms=int(started[-3:-1]))])  # fmt: skip
    data = to_json(run)
    reports = checkout / "reports"
    reports.mkdir(exist_ok=True)
    (reports / "latest.json").write_text(json.dumps(data, indent=2))
    (reports / "latest.md").write_text(render_markdown(data))
    (reports / "state.json").write_text(json.dumps({"schema": 1, "updated_at": started}))
    return data


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path)


def test_the_push_survives_someone_elses_push_and_loses_nothing(repo: Repo) -> None:
    runner = repo.clone("runner")  # the nightly's checkout, made before the other push
    other = repo.clone("other")
    (other / "README.md").write_text("# Hub\n\nEdited while the nightly ran.\n")
    repo.git(other, "-c", "user.name=Maintainer", "-c", "user.email=m@example.org", "commit", "-qam", "docs")
    repo.git(other, "push", "-q", "origin", "HEAD:main")
    night = write_night(runner, "2026-11-28T03:17:05Z", ("dead-link",))
    done = repo.run_step("Commit reports/", runner)
    assert done.returncode == 0, done.stderr
    # Both pushes are on the remote: the other one's edit and tonight's reports, on top of it.
    assert repo.log()[:3] == ["Nightly hub report " + time.strftime("%Y-%m-%d", time.gmtime()), "docs", "start"]
    assert "Edited while the nightly ran." in repo.git(repo.remote, "show", "main:README.md")
    assert json.loads(repo.git(repo.remote, "show", "main:reports/latest.json")) == night
    author = repo.git(repo.remote, "log", "-1", "--format=%an <%ae> / %cn", "main")
    assert author == f"{BOT['GIT_USER_NAME']} <{BOT['GIT_USER_EMAIL']}> / {BOT['GIT_USER_NAME']}\n"


def test_a_second_identical_night_makes_no_commit(repo: Repo) -> None:
    runner = repo.clone("runner")
    write_night(runner, "2026-11-27T03:17:05Z", ("dead-link",))
    assert repo.run_step("Commit reports/", runner).returncode == 0
    commits = repo.log()
    # The next night: new timestamps, durations and request counts, the same findings.
    runner = repo.clone("runner2")
    write_night(runner, "2026-11-28T03:18:44Z", ("dead-link",))
    done = repo.run_step("Commit reports/", runner)
    assert done.returncode == 0, done.stderr
    assert "unchanged in substance" in done.stdout
    assert repo.log() == commits
    # A night with news is committed.
    write_night(runner, "2026-11-29T03:17:31Z", ("dead-link", "status-changed"))
    assert repo.run_step("Commit reports/", runner).returncode == 0
    assert len(repo.log()) == len(commits) + 1


def test_a_data_branch_keeps_reports_off_the_default_branch(repo: Repo) -> None:
    data = {"DATA_BRANCH": "hub-monitor-data"}
    main_before = repo.log()
    runner = repo.clone("runner")
    first = write_night(runner, "2026-11-27T03:17:05Z", ("dead-link",))
    done = repo.run_step("Commit reports/", runner, **data)
    assert done.returncode == 0, done.stderr
    assert repo.log() == main_before  # the protected branch is never written
    files = repo.git(repo.remote, "ls-tree", "-r", "--name-only", "hub-monitor-data").split()
    assert files == ["reports/README.md", "reports/latest.json", "reports/latest.md", "reports/state.json"]
    # The next night starts from the data branch's state, and an identical night commits nothing.
    runner = repo.clone("runner2")
    fetched = repo.run_step("Bring last night's state", runner, **data)
    assert fetched.returncode == 0, fetched.stderr
    assert json.loads((runner / "reports" / "latest.json").read_text()) == first
    write_night(runner, "2026-11-28T03:19:10Z", ("dead-link",))
    assert repo.run_step("Commit reports/", runner, **data).returncode == 0
    assert len(repo.log("hub-monitor-data")) == 1
    write_night(runner, "2026-11-29T03:17:31Z", ())
    assert repo.run_step("Commit reports/", runner, **data).returncode == 0
    assert len(repo.log("hub-monitor-data")) == 2


def test_the_nightly_install_is_pinned() -> None:
    nightly = load("nightly.yml")
    install = next(s for s in steps(nightly) if s.get("name") == "Install Hub Monitor")
    assert install["env"]["PIP_CONSTRAINT"] == "constraints.txt"
    pins = {
        line.split("==")[0].lower(): line.split("==")[1]
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    for requirement in requires:
        name = re.split(r"[<>=!~\[ ]", requirement, maxsplit=1)[0].lower()
        assert name in pins, f"{name} is not pinned in constraints.txt"
    assert "setuptools" in pins  # the build backend, reached through PIP_CONSTRAINT
