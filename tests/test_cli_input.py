"""One validator for every input: a flag and the same key in a `--config` file are refused alike (exit 3, the
same message), before anything is fetched or written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.cli import FLAGS, main
from monitor.settings import Settings, settings_from_flags
from monitor.yamlcheck import CatalogError
from tests.catalogs import write_catalog

# (flag arguments, the same setting as a --config line, what both messages say). Each flag value was accepted
# on b48677a (exit 0 with false verdicts, or an internal error) while the config file refused it.
BAD_SETTINGS = [
    (["--user-agent", "a\nb"], 'user_agent: "a\\nb"', "must be one line without control characters"),  # B14
    (["--header", "Bad Name: v"], "headers: {'Bad Name': v}", "'Bad Name' is not a valid header name"),  # B14
    (["--header", "X-A: b\r\nc"], 'headers: {X-A: "b\\r\\nc"}', "the value must be one line"),  # B14
    (["--timeout", "0"], "timeout: 0", "must be more than 0"),  # B14
    (["--exclude", "("], "exclude: ['(']", "'(' is not a valid regular expression"),  # B16
    (["--include", "a)"], "include: ['a)']", "'a)' is not a valid regular expression"),  # B16
    (["--header", "Content-Length: 5"], "headers: {Content-Length: '5'}", "is set by hub-monitor"),  # B17
    (["--header", "X-é: v"], "headers: {X-é: v}", "'X-é' is not a valid header name"),  # B17
    (["--header", "Host: evil.example"], "headers: {Host: evil.example}", "is set by hub-monitor from the URL"),  # B17
    (["--header", "Transfer-Encoding: chunked"], "headers: {Transfer-Encoding: chunked}", "is set by hub-monitor"),
    (["--max-runtime", "0"], "max_runtime: 0", "must be more than 0"),  # B18
    (["--max-concurrency", "0"], "max_concurrency: 0", "must be at least 1, got 0"),
    (["--max-body", "0"], "max_body: 0", "must be at least 1 byte"),
    (["--accept", "999"], "accept: [999]", "999 is not an HTTP status code"),
    (["--allow-host", "http://x/"], "allow_hosts: ['http://x/']", "should be a host name"),
    (["--header", "Authorization: token x"], "headers: {Authorization: token x}", "looks like a credential"),
    (["--host-header", "github.com=Bad Name: v"], "hosts: {github.com: {headers: {'Bad Name': v}}}",
     "'Bad Name' is not a valid header name"),
    (["--host-header", "github.com:443=X-A: v"], "hosts: {'github.com:443': {}}",
     "should be a host name without a port"),
    # Found by the re-run of the battery: each turned every link into check-failed or a 431 "dead link".
    (["--header", "X-A: \udcff"], 'headers: {X-A: "\\udcff"}', "holds bytes that are not UTF-8 text"),
    (["--user-agent", "bot\udcff"], 'user_agent: "bot\\udcff"', "holds bytes that are not UTF-8 text"),
    (["--header", "X-A: a\x7fb"], 'headers: {X-A: "a\\x7fb"}', "must not hold control characters"),
    (["--user-agent", "x" * 9000], f"user_agent: {'x' * 9000}", "servers refuse header lines over 8 KiB"),
    (["--host-header", "github.com=X-A: " + "x" * 9000], f"hosts: {{github.com: {{headers: {{X-A: {'x' * 9000}}}}}}}",
     "servers refuse header lines over 8 KiB"),
]  # fmt: skip


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    catalog = write_catalog(tmp_path / "hub.yaml", {})
    reports = tmp_path / "reports"
    code = main(["check", str(catalog), "--report", str(reports / "latest.md"), "--json", str(reports / "x.json"),
                 "--state", str(reports / "state.json"), "--quiet", *args])  # fmt: skip
    err = "".join(line for line in capsys.readouterr().err.splitlines(True) if not line.startswith("warning:"))
    if code == 3:
        assert not reports.exists() or not any(reports.glob("*.json")), "nothing may be written for bad input"
    return code, err


@pytest.mark.parametrize(("flags", "config", "message"), BAD_SETTINGS)
def test_a_bad_value_is_refused_alike_as_a_flag_and_in_a_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], config: str, message: str
) -> None:
    flag_code, flag_err = _run(tmp_path, capsys, *flags)
    path = tmp_path / "config.yaml"
    path.write_text(config + "\n", encoding="utf-8")
    config_code, config_err = _run(tmp_path, capsys, "--config", str(path))

    assert (flag_code, config_code) == (3, 3)
    assert message in flag_err and message in config_err
    # The same words after the place: "command line: --timeout: ..." and "config.yaml:1: timeout: ...".
    assert flag_err.startswith(f"command line: {flags[0]}")
    assert flag_err.split(": ", 2)[2] == config_err.split(": ", 2)[2]


def test_good_flags_still_reach_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run(tmp_path, capsys, "--timeout", "1.5", "--max-body", "512KiB", "--accept", "200..299,403",
                     "--header", "Accept-Language: en", "--exclude", "x", "--user-agent", "1.0")  # fmt: skip
    assert code == 0, err
    data = json.loads((tmp_path / "reports" / "x.json").read_text())
    assert data["settings_changed"]["timeout"] == "1.5s"
    assert data["settings_changed"]["max_body"] == "512 KiB"
    assert data["settings_changed"]["user_agent"] == "1.0"


# --- fuzzing: any flag text gives settings or a CatalogError (exit 3), nothing else ----------------------

FLAG_TEXT = st.text(max_size=12) | st.sampled_from(
    ["0", "-1", "1e309", "nan", ".inf", "10s", "2MiB", "8GiB", "200..299", "yes", "~", "null", "[1]", "{a: 1}",
     "a\r\nb", "(", "Host", "X-é", "1" * 30]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(given=st.dictionaries(st.sampled_from(sorted(FLAGS)), FLAG_TEXT | st.lists(FLAG_TEXT, max_size=3)
                             | st.dictionaries(FLAG_TEXT, FLAG_TEXT, max_size=2), max_size=4))  # fmt: skip
def test_any_flag_value_gives_settings_or_a_catalog_error(given: dict) -> None:
    try:
        assert isinstance(settings_from_flags(given, Settings(), FLAGS), Settings)
    except CatalogError as exc:
        assert exc.problems and all(str(p).startswith("command line: --") for p in exc.problems)
