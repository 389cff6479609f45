"""The GitHub workflows: they parse, ask for the least they need, and call commands that exist.

The nightly workflow is this repository's own action (`uses: ./`) with the nightly's inputs: its tests run the
action's steps (tests/action_runner.py) with those inputs, against a bare remote where git is involved."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.cli import build_parser
from tests.action_runner import ACTION, BOT_EMAIL, BOT_NAME, Runner
from tests.action_runner import step as action_step

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


@pytest.mark.parametrize("name", ["ci.yml", "nightly.yml"])
def test_workflow_parses_and_pins_actions(name: str) -> None:
    workflow = load(name)
    assert workflow["jobs"]
    for step in steps(workflow):
        if "uses" in step and step["uses"] != "./":  # ./ is this checkout's own action.yml
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


def the_action_step(nightly: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in steps(nightly) if s.get("uses") == "./"]
    return step


def nightly_context(data_branch: str = "") -> dict[str, str]:
    """What the nightly hands its action: the `with:` inputs as the runner passes them (strings), env filled in."""
    nightly = load("nightly.yml")
    env = {**nightly["env"], "DATA_BRANCH": data_branch}
    context = {"github.action_path": str(ROOT), "github.repository": "octo-org/hub", "github.ref_name": "main",
               "github.server_url": "https://github.com", "github.api_url": "https://api.github.com",
               "github.token": "ghs_not_a_real_token"}  # fmt: skip
    for key, value in the_action_step(nightly)["with"].items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        context[f"inputs.{key}"] = re.sub(r"\$\{\{\s*env\.(\w+)\s*\}\}", lambda m: env[m.group(1)], text)
    context.setdefault("inputs.token", context["github.token"])
    return context


def test_nightly_permissions_are_the_minimal_set() -> None:
    nightly = load("nightly.yml")
    assert nightly["permissions"] == {}
    (job,) = nightly["jobs"].values()
    # contents: reports/ and the fix-it branch; issues and pull-requests: what the action's inputs turn on.
    assert job["permissions"] == {"contents": "write", "issues": "write", "pull-requests": "write"}
    inputs = the_action_step(nightly)["with"]
    assert inputs["issues"] is True and inputs["fix-pr"] is True
    assert nightly["concurrency"]["group"]
    assert nightly["concurrency"]["cancel-in-progress"] is False


def test_nightly_runs_this_repositorys_action_with_inputs_it_declares() -> None:
    nightly = load("nightly.yml")
    (job,) = nightly["jobs"].values()
    uses = [s.get("uses", "").split("@")[0] for s in job["steps"]]
    # Checkout first (the action is in the checkout), the action, then the artifact: no script of its own.
    assert uses == ["actions/checkout", "./", "actions/upload-artifact"]
    assert not [s for s in job["steps"] if "run" in s]
    checkout = job["steps"][0]
    assert checkout["with"]["persist-credentials"] is False
    assert checkout["with"]["fetch-depth"] == 0  # the fix-it PR tells the bot's commits from a maintainer's
    assert set(the_action_step(nightly)["with"]) <= set(ACTION["inputs"])
    upload = job["steps"][2]
    assert upload["with"]["path"] == "reports/" and upload["if"] == "always()"


def stub_hub_monitor(tmp_path: Path, code: int) -> tuple[dict[str, str], Path]:
    """A `hub-monitor` on PATH that records its arguments; `check` exits with `code`, the others with 0."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / "calls.jsonl"
    stub = bin_dir / "hub-monitor"
    record = f"open({str(calls)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')"
    leave = f"sys.exit({code} if sys.argv[1] == 'check' else 0)"
    stub.write_text(f"#!{sys.executable}\nimport json, sys\n{record}\n{leave}\n")
    stub.chmod(0o755)
    env = {"PATH": f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    return env, calls


def test_nightly_commands_exist_in_the_cli(tmp_path: Path) -> None:
    env, calls = stub_hub_monitor(tmp_path, 2)
    work = tmp_path / "work"
    work.mkdir()
    runner = Runner(work, nightly_context(), env)
    for name in ("Check the hub", "Open, update and close stale-entry issues", "Keep the fix-it pull request in step",
                 "Fail on findings at or above fail-on"):  # fmt: skip
        assert runner.run(only=name) == 0, runner.last_error  # fail: false: findings annotate, never fail the job
    argvs = [json.loads(line) for line in calls.read_text().splitlines()]
    assert [a[0] for a in argvs] == ["check", "issues", "fix"]
    parser = build_parser()
    for argv in argvs:
        parser.parse_args(argv)  # an unknown command or flag raises
    # Wayback links; warning-only nights exit 2 and are annotated.
    assert argvs[0] == ["check", "catalog/hub.yaml", "--fail-on", "warning", "--suggest"]
    assert runner.outputs["check"]["exit-code"] == "2"
    # `issues` and `fix` read the JSON report that `check` wrote, where the nightly uploads it from.
    check = vars(parser.parse_args(argvs[0]))
    for argv in argvs[1:]:
        assert argv[argv.index("--json") + 1] == check["json_path"] == "reports/latest.json"
        assert argv[argv.index("--repo") + 1] == "octo-org/hub"
    # Both act with the job's own token (the nightly passes none, so the input's default).
    assert "token" not in the_action_step(load("nightly.yml"))["with"]
    assert ACTION["inputs"]["token"]["default"] == "${{ github.token }}"
    for name in ("Open, update and close stale-entry issues", "Keep the fix-it pull request in step"):
        assert action_step(name)["env"]["GITHUB_TOKEN"] == "${{ inputs.token }}"


@pytest.mark.parametrize(("code", "fails"), [(0, False), (2, False), (4, False), (1, True), (3, True)])
def test_nightly_exit_codes_2_and_4_carry_on_but_1_and_3_fail(tmp_path: Path, code: int, fails: bool) -> None:
    env, _ = stub_hub_monitor(tmp_path, code)
    work = tmp_path / "work"
    work.mkdir()
    runner = Runner(work, nightly_context(), env)
    assert (runner.run(only="Check the hub") != 0) == fails
    assert runner.outputs["check"]["exit-code"] == str(code)
    assert runner.last is not None
    if code == 2:
        assert "::warning::" in runner.last.stdout
    # The issues run after 0, 2 and 4; a failed check step stops the job before them (no `if: always()`).
    assert "always()" not in action_step("Open, update and close stale-entry issues").get("if", "")
    assert runner.condition(action_step("Open, update and close stale-entry issues")["if"])
    # The fix-it PR and reports/ wait for a night with network: 4 concluded nothing.
    assert runner.condition(action_step("Keep the fix-it pull request in step")["if"]) == (code != 4)
    assert runner.condition(action_step("Save reports/")["if"]) == (code in (0, 2))


def test_nightly_push_retries_with_rebase() -> None:
    script = action_step("Save reports/")["run"]
    assert "git diff --cached --quiet" in script
    assert re.search(r"pull (--quiet )?--rebase", script) and "for attempt in" in script
    assert re.search(r"push --quiet \"\$REMOTE\"", script)


# ------------------------------------------------------------------- the action's save step against a remote

BOT = {"GIT_USER_NAME": BOT_NAME, "GIT_USER_EMAIL": BOT_EMAIL}


class Repo:
    """A bare remote (at <server_url>/octo-org/hub.git) and clones of it, with no git identity anywhere (as on a
    fresh runner): every git command that writes must bring its own."""

    def __init__(self, root: Path) -> None:
        self.root = root
        home = root / "home"
        home.mkdir()
        self.env = {
            "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": str(home / "gitconfig"),
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8",
            "GIT_AUTHOR_DATE": "", "PYTHONPATH": str(ROOT),
        }  # fmt: skip
        self.server_url = root / "github"
        self.remote = self.server_url / "octo-org" / "hub.git"
        self.remote.parent.mkdir(parents=True)
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

    def run_step(self, name: str, cwd: Path, data_branch: str = "", path: str = "") -> subprocess.CompletedProcess[str]:
        """The action's step as the nightly runs it (its inputs, DATA_BRANCH), after a check that found something;
        `path` goes first on PATH."""
        env = {**self.env, "PATH": f"{path}:{self.env['PATH']}"} if path else self.env
        runner = Runner(cwd, {**nightly_context(data_branch), "github.server_url": str(self.server_url)}, env)
        runner.outcomes["check"], runner.outputs["check"] = "success", {"exit-code": "2"}
        runner.run(only=name)
        assert runner.last is not None, f"{name} did not run with the nightly's inputs"
        return runner.last

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
    done = repo.run_step("Save reports/", runner)
    assert done.returncode == 0, done.stderr
    # Both pushes are on the remote: the other one's edit and tonight's reports, on top of it.
    assert repo.log()[:3] == ["Nightly hub report " + time.strftime("%Y-%m-%d", time.gmtime()), "docs", "start"]
    assert "Edited while the nightly ran." in repo.git(repo.remote, "show", "main:README.md")
    assert json.loads(repo.git(repo.remote, "show", "main:reports/latest.json")) == night
    author = repo.git(repo.remote, "log", "-1", "--format=%an <%ae> / %cn", "main")
    assert author == f"{BOT['GIT_USER_NAME']} <{BOT['GIT_USER_EMAIL']}> / {BOT['GIT_USER_NAME']}\n"


def race_on_first_push(repo: Repo, other: Path, branch: str) -> Path:
    """Someone else's commit, made in `other`, lands on `branch` while the first push is on its way, so that push
    is refused; a `sleep` that only counts keeps the retry instant. Returns the file the sleeps are counted in."""
    repo.git(other, "push", "-q", "origin", f"HEAD:refs/pending/{branch}")
    hook = repo.remote / "hooks" / "pre-receive"
    # Outside the push's quarantine, as a second pusher would be; once only.
    hook.write_text(
        "#!/bin/sh\n"
        f'[ -e "$GIT_DIR/raced" ] && exit 0\ntouch "$GIT_DIR/raced"\n'
        "env -u GIT_QUARANTINE_PATH -u GIT_OBJECT_DIRECTORY -u GIT_ALTERNATE_OBJECT_DIRECTORIES "
        f"git update-ref refs/heads/{branch} refs/pending/{branch}\n"
    )  # fmt: skip
    hook.chmod(0o755)
    bin_dir = repo.root / "bin"
    bin_dir.mkdir()
    slept = repo.root / "slept"
    (bin_dir / "sleep").write_text(f'#!/bin/sh\necho "$1" >> "{slept}"\n')
    (bin_dir / "sleep").chmod(0o755)
    return slept


def test_a_push_refused_by_a_concurrent_push_is_retried_and_loses_nothing(repo: Repo) -> None:
    runner = repo.clone("runner")
    other = repo.clone("other")
    (other / "README.md").write_text("# Hub\n\nPushed while the nightly was pushing.\n")
    repo.git(other, "-c", "user.name=Maintainer", "-c", "user.email=m@example.org", "commit", "-qam", "docs")
    slept = race_on_first_push(repo, other, "main")
    night = write_night(runner, "2026-11-28T03:17:05Z", ("dead-link",))
    done = repo.run_step("Save reports/", runner, path=str(repo.root / "bin"))
    assert done.returncode == 0, done.stderr
    assert "Push attempt 1 failed" in done.stdout and slept.read_text().split() == ["5"]
    assert repo.log()[:3] == ["Nightly hub report " + time.strftime("%Y-%m-%d", time.gmtime()), "docs", "start"]
    assert "Pushed while the nightly was pushing." in repo.git(repo.remote, "show", "main:README.md")
    assert json.loads(repo.git(repo.remote, "show", "main:reports/latest.json")) == night


def test_a_data_branch_push_refused_by_a_concurrent_push_is_retried_on_its_new_tip(repo: Repo) -> None:
    runner = repo.clone("runner")
    write_night(runner, "2026-11-27T03:17:05Z", ("dead-link",))
    assert repo.run_step("Save reports/", runner, "hub-monitor-data").returncode == 0
    # Another run's commit on the data branch arrives while tonight's is being pushed.
    other = repo.clone("other")
    repo.git(other, "fetch", "-q", "origin", "hub-monitor-data")
    repo.git(other, "checkout", "-q", "FETCH_HEAD")
    (other / "reports" / "note.txt").write_text("Another run.\n")
    repo.git(other, "add", "reports/note.txt")
    repo.git(other, "-c", "user.name=Maintainer", "-c", "user.email=m@example.org", "commit", "-qm", "other run")
    slept = race_on_first_push(repo, other, "hub-monitor-data")
    night = write_night(runner, "2026-11-28T03:17:31Z", ("dead-link", "status-changed"))
    done = repo.run_step("Save reports/", runner, "hub-monitor-data", path=str(repo.root / "bin"))
    assert done.returncode == 0, done.stderr
    assert "Push attempt 1 failed" in done.stdout and slept.read_text().split() == ["5"]
    # Tonight's commit sits on top of the other one: its history is kept, tonight's reports/ is the tree.
    assert repo.log("hub-monitor-data")[1] == "other run"
    assert len(repo.log("hub-monitor-data")) == 3
    assert json.loads(repo.git(repo.remote, "show", "hub-monitor-data:reports/latest.json")) == night


def test_a_second_identical_night_makes_no_commit(repo: Repo) -> None:
    runner = repo.clone("runner")
    write_night(runner, "2026-11-27T03:17:05Z", ("dead-link",))
    assert repo.run_step("Save reports/", runner).returncode == 0
    commits = repo.log()
    # The next night: new timestamps, durations and request counts, the same findings.
    runner = repo.clone("runner2")
    write_night(runner, "2026-11-28T03:18:44Z", ("dead-link",))
    done = repo.run_step("Save reports/", runner)
    assert done.returncode == 0, done.stderr
    assert "unchanged in substance" in done.stdout
    assert repo.log() == commits
    # A night with news is committed.
    write_night(runner, "2026-11-29T03:17:31Z", ("dead-link", "status-changed"))
    assert repo.run_step("Save reports/", runner).returncode == 0
    assert len(repo.log()) == len(commits) + 1


def test_a_data_branch_keeps_reports_off_the_default_branch(repo: Repo) -> None:
    main_before = repo.log()
    runner = repo.clone("runner")
    first = write_night(runner, "2026-11-27T03:17:05Z", ("dead-link",))
    done = repo.run_step("Save reports/", runner, "hub-monitor-data")
    assert done.returncode == 0, done.stderr
    assert repo.log() == main_before  # the protected branch is never written
    files = repo.git(repo.remote, "ls-tree", "-r", "--name-only", "hub-monitor-data").split()
    assert files == ["reports/README.md", "reports/latest.json", "reports/latest.md", "reports/state.json"]
    # The next night starts from the data branch's state, and an identical night commits nothing.
    runner = repo.clone("runner2")
    fetched = repo.run_step("Restore reports/ from the state branch", runner, "hub-monitor-data")
    assert fetched.returncode == 0, fetched.stderr
    assert json.loads((runner / "reports" / "latest.json").read_text()) == first
    write_night(runner, "2026-11-28T03:19:10Z", ("dead-link",))
    assert repo.run_step("Save reports/", runner, "hub-monitor-data").returncode == 0
    assert len(repo.log("hub-monitor-data")) == 1
    write_night(runner, "2026-11-29T03:17:31Z", ())
    assert repo.run_step("Save reports/", runner, "hub-monitor-data").returncode == 0
    assert len(repo.log("hub-monitor-data")) == 2


def test_the_nightly_install_is_pinned() -> None:
    # The nightly's action is this checkout (uses: ./), whose install step pins with its constraints.txt.
    install = action_step("Install Hub Monitor")
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    assert 'export PIP_CONSTRAINT="$ACTION_PATH/constraints.txt"' in install["run"]
    assert 'pip install --quiet "$ACTION_PATH"' in install["run"]
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
