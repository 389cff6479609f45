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


def test_the_report_excerpt_is_what_the_code_writes(tmp_path):
    # The top of the worst simulated night's report, rendered now: the README shows exactly this.
    from tests.worst_night import CATALOG, run_nights

    _, markdown = run_nights(tmp_path)[2]
    lines = markdown.splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("## ") and "Changed" not in line)
    excerpt = "\n".join(lines[:end]).rstrip()
    assert f"```markdown\n{excerpt}\n```" in README, "README's report excerpt differs: paste the new one:\n" + excerpt
    # The details example too, with the catalog named as `check` names it by default.
    start = markdown.index("**Change the status line**", markdown.index('<a id="entry-lightspeed-grants">'))
    block = markdown[start:].split("\n\n", 1)[0].replace(str(CATALOG), "catalog/hub.yaml")
    assert f"```markdown\n{block}\n```" in README, block
