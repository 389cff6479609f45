"""The GitHub workflows: they parse, ask for the least they need, and call commands that exist."""

from __future__ import annotations

import re
import shlex
import subprocess
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
    assert vars(issues)["repo"] == "octo-org/hub"
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
        body = script.replace("hub-monitor check", f"(exit {code})")
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
    assert "pull --rebase" in script and "for attempt in" in script and "push origin" in script
    checkout = next(s for s in steps(nightly) if "actions/checkout" in s.get("uses", ""))
    assert checkout["with"]["persist-credentials"] is False
