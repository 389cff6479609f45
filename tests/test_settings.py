"""Crawl settings: parsing, strict validation with file:line errors, layering, and safe display."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest
import yaml

from monitor.catalog import CatalogError, load_catalog
from monitor.settings import (
    HostSettings,
    Settings,
    load_config,
    override,
    parse_duration,
    parse_settings,
    parse_size,
    parse_status_codes,
    settings_diff,
)


def parse_yaml(text: str, *, base: Settings | None = None) -> Settings:
    node = yaml.compose(textwrap.dedent(text), Loader=yaml.SafeLoader)
    return parse_settings(node, "config.yaml", base=base, field="")


def errors_of(text: str) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        parse_yaml(text)
    return [str(p) for p in caught.value.problems]


# -- values -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "seconds"),
    [
        (1.5, 1.5),
        (0, 0.0),
        ("1.5", 1.5),
        ("100ms", 0.1),
        ("1s", 1.0),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("1m30s", 90.0),
        (" 2 s ", 2.0),
        ("250MS", 0.25),
    ],
)
def test_parse_duration(given: str | float, seconds: float) -> None:
    assert math.isclose(parse_duration(given), seconds)


@pytest.mark.parametrize("given", ["fast", "", "1d", "-1s", -1, "1s2", True, float("inf"), ".nan"])
def test_parse_duration_rejects(given: str | float) -> None:
    with pytest.raises(ValueError):
        parse_duration(given)


@pytest.mark.parametrize(
    ("given", "size"),
    [(1048576, 1048576), ("2MiB", 2 * 1024 * 1024), ("512 KiB", 512 * 1024), ("10MB", 10_000_000), ("7", 7)],
)
def test_parse_size(given: str | int, size: int) -> None:
    assert parse_size(given) == size


@pytest.mark.parametrize("given", ["big", "2 TB", 0, -5, "0MiB"])
def test_parse_size_rejects(given: str | int) -> None:
    with pytest.raises(ValueError):
        parse_size(given)


@pytest.mark.parametrize(
    ("given", "codes"),
    [
        ([200, 204], {200, 204}),
        (["200..203"], {200, 201, 202, 203}),
        (["200..=201", 429], {200, 201, 429}),
        ("200, 204, 300..301", {200, 204, 300, 301}),
    ],
)
def test_parse_status_codes(given: object, codes: set[int]) -> None:
    assert parse_status_codes(given) == codes


@pytest.mark.parametrize("given", [[700], ["299..200"], ["2xx"], [True], "ok", 200])
def test_parse_status_codes_rejects(given: object) -> None:
    with pytest.raises(ValueError):
        parse_status_codes(given)


# -- parsing a settings block ------------------------------------------------------------------------------


def test_every_key_is_read() -> None:
    settings = parse_yaml(
        """\
        timeout: 30s
        max_retries: 0
        retry_wait_time: 500ms
        retry_after_cap: 2m
        max_concurrency: 8
        host_concurrency: 1
        host_request_interval: 0.25
        max_redirects: 5
        max_body: 1MiB
        user_agent: my-bot/1.0
        headers: {Accept-Language: en}
        hosts:
          GitHub.com: {concurrency: 2, request_interval: 1s, headers: {Authorization: Bearer abc}}
        exclude: ['^https://example\\.com/private']
        include: ['^https://example\\.com/private/ok']
        accept: [200, 204, "300..302"]
        allow_hosts: [127.0.0.1, LocalHost]
        confirm_after: 3
        max_runtime: 10m
        check_hub: false
        """
    )
    assert settings == Settings(
        timeout=30.0,
        max_retries=0,
        retry_wait_time=0.5,
        retry_after_cap=120.0,
        max_concurrency=8,
        host_concurrency=1,
        host_request_interval=0.25,
        max_redirects=5,
        max_body=1024 * 1024,
        user_agent="my-bot/1.0",
        headers={"Accept-Language": "en"},
        secret_headers=frozenset({"authorization"}),
        hosts={
            "github.com": HostSettings(concurrency=2, request_interval=1.0, headers={"Authorization": "Bearer abc"})
        },
        exclude=("^https://example\\.com/private",),
        include=("^https://example\\.com/private/ok",),
        accept=frozenset({200, 204, 300, 301, 302}),
        allow_hosts=frozenset({"127.0.0.1", "localhost"}),
        confirm_after=3,
        max_runtime=600.0,
        check_hub=False,
    )


def test_plain_mapping_is_validated_too() -> None:
    assert parse_settings({"timeout": "5s"}, "flags").timeout == 5.0
    with pytest.raises(CatalogError) as caught:
        parse_settings({"timeout": -1}, "flags")
    assert [str(p) for p in caught.value.problems] == ["flags: settings.timeout: must not be negative, got -1"]


def test_empty_block_keeps_the_base() -> None:
    base = Settings(timeout=3.0)
    assert parse_yaml("{}", base=base) == base


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("tiemout: 5", "config.yaml:1: tiemout: unknown key 'tiemout' (did you mean 'timeout'?)"),
        (
            "max_concurency: 5",
            "config.yaml:1: max_concurency: unknown key 'max_concurency' (did you mean 'max_concurrency'?)",
        ),
        ("timeout: 0", "config.yaml:1: timeout: must be more than 0"),
        ("timeout: -1", "config.yaml:1: timeout: must not be negative, got -1"),
        ("timeout: '-2s'", "config.yaml:1: timeout: must not be negative, got '-2s'"),
        ("timeout: soon", "config.yaml:1: timeout: 'soon' is not a duration"),
        ("timeout: [1]", "config.yaml:1: timeout: expected a duration, got a list"),
        ("timeout: .inf", "config.yaml:1: timeout: inf is not a finite duration"),
        ("max_retries: -1", "config.yaml:1: max_retries: must be at least 0, got -1"),
        ("max_concurrency: 0", "config.yaml:1: max_concurrency: must be at least 1, got 0"),
        ("max_concurrency: 2.5", "config.yaml:1: max_concurrency: expected a whole number, got the number 2.5"),
        ("max_concurrency: yes", "config.yaml:1: max_concurrency: expected a whole number, got true/false (yes)"),
        ("max_body: huge", "config.yaml:1: max_body: 'huge' is not a size"),
        ("check_hub: 'no'", "config.yaml:1: check_hub: expected true or false, got the text 'no'"),
        ("user_agent: ''", "config.yaml:1: user_agent: must not be empty"),
        ('user_agent: "a\\r\\nX-Evil: 1"', "config.yaml:1: user_agent: must be one line"),
        ("exclude: ['(oops']", "config.yaml:1: exclude[0]: '(oops' is not a valid regular expression"),
        ("include: '^https://'", "config.yaml:1: include: expected a list, got the text '^https://'"),
        ("accept: [200, 999]", "config.yaml:1: accept[1]: 999 is not an HTTP status code (100 to 599)"),
        ("accept: ['300..200']", "config.yaml:1: accept[0]: the range '300..200' is empty"),
        ("allow_hosts: ['http://127.0.0.1/']", "config.yaml:1: allow_hosts[0]: 'http://127.0.0.1/' should be a host"),
        ("headers: {Authorization: x}", "config.yaml:1: headers[Authorization]: looks like a credential"),
        ("headers: {X-Api-Token: x}", "config.yaml:1: headers[X-Api-Token]: looks like a credential"),
        ("headers: {User-Agent: x}", "config.yaml:1: headers[User-Agent]: has its own setting: use user_agent"),
        ("headers: {'Bad Name': x}", "config.yaml:1: headers[Bad Name]: 'Bad Name' is not a valid header name"),
        ('headers: {X-A: "1\\n2"}', "config.yaml:1: headers[X-A]: the value must be one line"),
        ("headers: {X-A: 1}", "config.yaml:1: headers[X-A]: expected text, got the number 1"),
        ("headers: {X-A: a, x-a: b}", "config.yaml:1: headers[x-a]: repeats header 'X-A'"),
        (
            "hosts: {'github.com:443': {}}",
            "config.yaml:1: hosts[github.com:443]: 'github.com:443' should be a host name without a port",
        ),
        ("hosts: {github.com: {rate: 1}}", "config.yaml:1: hosts[github.com].rate: unknown key 'rate'"),
        (
            "hosts: {github.com: {concurrency: 0}}",
            "config.yaml:1: hosts[github.com].concurrency: must be at least 1, got 0",
        ),
        (
            "hosts: {github.com: {request_interval: -1}}",
            "config.yaml:1: hosts[github.com].request_interval: must not be negative",
        ),
        ("hosts: {github.com: 2}", "config.yaml:1: hosts[github.com]: expected a mapping"),
        ("hosts: [github.com]", "config.yaml:1: hosts: expected a mapping"),
        ("timeout: 1\ntimeout: 2", "config.yaml:2: timeout: repeated key (first given on line 1)"),
    ],
)
def test_settings_errors(text: str, error: str) -> None:
    [problem] = errors_of(text)
    assert problem.startswith(error)


def test_every_settings_error_is_reported_at_once() -> None:
    problems = errors_of(
        """\
        timeout: -1
        max_retries: many
        hosts:
          github.com:
            concurrency: 0
        accept: [200, 700]
        """
    )
    assert [p.split(": ")[0:2] for p in problems] == [
        ["config.yaml:1", "timeout"],
        ["config.yaml:2", "max_retries"],
        ["config.yaml:5", "hosts[github.com].concurrency"],
        ["config.yaml:6", "accept[1]"],
    ]


def test_credential_headers_are_fine_per_host_and_marked_secret() -> None:
    settings = parse_yaml("hosts: {api.github.com: {headers: {Authorization: token abc, X-Trace: '1'}}}")
    assert settings.hosts["api.github.com"].headers == {"Authorization": "token abc", "X-Trace": "1"}
    assert settings.secret_headers == {"authorization", "x-trace"}


def test_catalog_settings_errors_name_the_catalog_line(tmp_path: Path) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(
        "version: 1\nhub: {title: T}\nentries: []\nsettings:\n  max_concurrency: 0\n  colour: blue\n",
        encoding="utf-8",
    )
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:5: settings.max_concurrency: must be at least 1, got 0",
        f"{path}:6: settings.colour: unknown key 'colour' (expected one of: timeout, max_retries, "
        "retry_wait_time, retry_after_cap, max_concurrency, host_concurrency, host_request_interval, max_redirects, "
        "max_body, user_agent, headers, hosts, exclude, include, accept, allow_hosts, confirm_after, max_runtime, "
        "check_hub, workers, analysis_timeout, shards)",
    ]


# -- --config files and precedence --------------------------------------------------------------------------


def test_config_file_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text("timeout: 10s\nmax_redirects: -3\n", encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_config(path)
    assert [str(p) for p in caught.value.problems] == [f"{path}:2: max_redirects: must be at least 0, got -3"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "cannot read the file"),
        (b"", "the file is empty"),
        (b"\xff", "not valid UTF-8"),
        (b"timeout: [1\n", "YAML syntax error"),
        (b"- timeout\n", "expected a mapping"),
    ],
)
def test_bad_config_files_are_catalog_errors(tmp_path: Path, data: bytes | None, message: str) -> None:
    path = tmp_path / "monitor.yaml"
    if data is not None:
        path.write_bytes(data)
    with pytest.raises(CatalogError) as caught:
        load_config(path)
    assert message in caught.value.problems[0].message


def test_precedence_defaults_catalog_config_flags(tmp_path: Path) -> None:
    catalog = tmp_path / "hub.yaml"
    catalog.write_text(
        textwrap.dedent(
            """\
            version: 1
            hub: {title: T}
            entries: []
            settings:
              timeout: 30s
              max_retries: 5
              user_agent: from-catalog
              hosts: {github.com: {concurrency: 2, request_interval: 1s}}
            """
        ),
        encoding="utf-8",
    )
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "max_retries: 1\nuser_agent: from-config\nhosts: {github.com: {concurrency: 1}}\nallow_hosts: [localhost]\n",
        encoding="utf-8",
    )
    settings = load_config(config, base=load_catalog(catalog).settings)
    settings = override(settings, {"user_agent": "from-flag", "timeout": None, "allow_hosts": ["127.0.0.1"]})

    assert settings.max_concurrency == Settings().max_concurrency  # default, untouched
    assert settings.timeout == 30.0  # catalog; the flag was not given
    assert settings.max_retries == 1  # config beats catalog
    assert settings.user_agent == "from-flag"  # flag beats config
    # Per host, a later layer changes only the fields it names.
    assert settings.hosts["github.com"] == HostSettings(concurrency=1, request_interval=1.0)
    assert settings.allow_hosts == {"localhost", "127.0.0.1"}


def test_override_merges_headers_ignoring_case() -> None:
    settings = override(Settings(headers={"Accept-Language": "en", "X-A": "1"}), {"headers": {"accept-language": "de"}})
    assert settings.headers == {"X-A": "1", "accept-language": "de"}


def test_override_adds_patterns_and_replaces_accepted_codes() -> None:
    settings = override(
        Settings(exclude=("a",), accept=frozenset({200, 204})), {"exclude": ["b", "a"], "accept": [200]}
    )
    assert settings.exclude == ("a", "b")
    assert settings.accept == frozenset({200})


def test_override_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="tiemout"):
        override(Settings(), {"tiemout": 3})


# -- behaviour the crawler relies on -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "excluded"),
    [
        ("https://example.com/private/x", True),
        ("https://example.com/private/ok/x", False),  # include wins over exclude, as in lychee
        ("https://example.com/public", False),
    ],
)
def test_is_excluded(url: str, excluded: bool) -> None:
    settings = Settings(exclude=(r"example\.com/private",), include=(r"/private/ok",))
    assert settings.is_excluded(url) is excluded


def test_for_host_falls_back_to_global_values() -> None:
    settings = Settings(
        host_concurrency=4,
        host_request_interval=0.1,
        headers={"X-Global": "g"},
        hosts={"github.com": HostSettings(concurrency=2, headers={"Authorization": "t"})},
    )
    github = settings.for_host("GitHub.com")
    assert (github.concurrency, github.request_interval) == (2, 0.1)
    assert github.headers == {"X-Global": "g", "Authorization": "t"}
    assert settings.for_host("example.org") == HostSettings(
        concurrency=4, request_interval=0.1, headers={"X-Global": "g"}
    )


# -- display ---------------------------------------------------------------------------------------------------


def test_settings_diff_of_defaults_is_empty() -> None:
    assert settings_diff(Settings()) == {}


def test_settings_diff_shows_changes_as_written() -> None:
    settings = parse_yaml(
        """\
        timeout: 2m
        host_request_interval: 250ms
        max_body: 1MiB
        accept: [200, 201, 202, 204]
        allow_hosts: [localhost, 127.0.0.1]
        check_hub: false
        hosts: {github.com: {concurrency: 2, request_interval: 1s}}
        """
    )
    assert settings_diff(settings) == {
        "timeout": "2m",
        "host_request_interval": "250ms",
        "max_body": "1 MiB",
        "accept": "200..202, 204",
        "allow_hosts": "127.0.0.1, localhost",
        "check_hub": "false",
        "hosts[github.com]": "concurrency=2, request_interval=1s",
    }


def test_settings_diff_never_shows_a_header_value() -> None:
    settings = parse_yaml(
        """\
        headers: {Accept-Language: en-GB-secretish}
        hosts: {api.github.com: {headers: {Authorization: Bearer ghp_SECRET123}}}
        """
    )
    diff = settings_diff(settings)
    assert diff["headers"] == "Accept-Language: ***"
    assert diff["hosts[api.github.com]"] == "headers=Authorization: ***"
    shown = repr(diff)
    assert "ghp_SECRET123" not in shown
    assert "en-GB-secretish" not in shown


def test_catalog_may_not_open_private_addresses(tmp_path: Path) -> None:
    # Anyone can change the catalog in a pull request: allowing a private host takes the operator's flag or config.
    catalog = tmp_path / "hub.yaml"
    catalog.write_text(
        "version: 1\nhub: {title: T}\nentries: []\nsettings:\n  allow_hosts: [169.254.169.254]\n", encoding="utf-8"
    )
    with pytest.raises(CatalogError) as caught:
        load_catalog(catalog)
    assert str(caught.value).startswith(f"{catalog}:5: settings.allow_hosts: not accepted in a catalog")


# --- issue 12: caps that keep one page from sinking the run (B8, B35) and the analysis settings ----------------


@pytest.mark.parametrize(
    ("flags", "config", "message"),
    [
        (["--max-body", "8GiB"], "max_body: 8GiB", "must be at most 64 MiB, got 8 GiB"),
        (["--workers", "0"], "workers: 0", "must be at least 1, got 0"),
        (["--workers", "1000"], "workers: 1000", "must be between 1 and 64, got 1000"),
        (["--analysis-timeout", "0"], "analysis_timeout: 0", "must be more than 0"),
        (["--exclude", "foo(?=bar)"], "exclude: ['foo(?=bar)']", "no lookarounds"),
        (["--include", "(a)\\1"], "include: ['(a)\\1']", "no backreferences"),
    ],
)
def test_caps_are_refused_alike_from_a_flag_and_a_config_file(
    flags: list[str], config: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from monitor import cli
    from tests.catalogs import write_catalog

    catalog = write_catalog(tmp_path / "hub.yaml", {"a": "https://example.org/"})
    (tmp_path / "config.yaml").write_text(config + "\n")
    for extra in (flags, ["--config", str(tmp_path / "config.yaml")]):
        assert cli.main(["check", str(catalog), "--state", str(tmp_path / "s.json"), *extra]) == cli.ExitCode.BAD_INPUT
        assert message in capsys.readouterr().err
    assert not (tmp_path / "s.json").exists()


def test_a_pattern_that_would_backtrack_forever_runs_in_linear_time() -> None:
    # B8: with re, '(a|aa)+$' on 50 a's and a '!' was still running at 90 s; RE2 answers at once.
    settings = Settings(exclude=("(a|aa)+$",))
    assert settings.is_excluded("https://example.org/" + "a" * 50)
    assert not settings.is_excluded("https://example.org/" + "a" * 50 + "!")


def test_the_analysis_settings_read_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("workers: 3\nanalysis_timeout: 1500ms\nmax_body: 64MiB\n")
    settings = load_config(tmp_path / "config.yaml")
    assert (settings.workers, settings.analysis_timeout, settings.max_body) == (3, 1.5, 64 * 1024 * 1024)
