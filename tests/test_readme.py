"""The README is the user's manual: keep its tables true to the code."""

import re
from pathlib import Path

from monitor.cli import ExitCode, build_parser
from monitor.findings import SEVERITY, Code

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_finding_code_is_documented_with_its_severity():
    rows = dict(re.findall(r"^\| `([a-z0-9-]+)` \| (error|warning|info) \|", README, re.MULTILINE))
    assert rows == {code.value: SEVERITY[code].value for code in Code}


def test_every_check_flag_is_documented():
    check = build_parser()._subparsers._group_actions[0].choices["check"]  # type: ignore[union-attr]
    flags = {opt for action in check._actions for opt in action.option_strings if opt.startswith("--")}
    flags -= {"--help"}
    missing = sorted(f for f in flags if f"`{f}" not in README)
    assert missing == []


def test_every_exit_code_is_documented():
    for code in ExitCode:
        assert re.search(rf"^\| {int(code)} \|", README, re.MULTILINE), code


def test_the_two_newcomer_commands_are_there():
    assert "pip install -e . && hub-monitor check" in README
    assert "pip install -e '.[test]' && pytest" in README
