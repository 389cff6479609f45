"""Crawl settings: defaults, the `settings:` block of a catalog (or a `--config` file), and CLI overrides.

Precedence, lowest first: built-in defaults < the catalog's `settings:` < the `--config` file < command-line
flags. Each layer is applied on top of the one before it:

    settings = load_catalog(path).settings                  # defaults + catalog `settings:`
    settings = load_config(config_path, base=settings)      # + --config
    settings = settings_from_flags({"timeout": "0.5s", ...}, settings)   # + flags (None = flag not given)

All three go through the same readers (`read_settings`): a value is accepted or refused with the same message
wherever it is given. `override` applies values already checked (code and tests use it directly).

A key given in a later layer replaces the earlier value, except collections that only ever widen what is
configured: `headers` merge by name (ignoring case), `hosts` host by host and field by field, and `allow_hosts`,
`exclude` and `include` add to the earlier values (so a flag can exclude one more URL without repeating the
catalog's list). `accept` replaces: it says exactly which codes count as success.

Keys (lychee's names where lychee has one):

- `timeout`, `retry_wait_time`, `retry_after_cap`, `host_request_interval`, `max_runtime`: durations, as
  seconds (`1.5`) or with a unit (`"100ms"`, `"1s"`, `"2m"`, `"1h"`, `"1m30s"`).
- `max_retries`, `max_redirects` (0 or more); `max_concurrency`, `host_concurrency`, `confirm_after` (1 or more).
- `max_body`: bytes, as a number or `"2MiB"`, `"512KiB"`, `"10MB"`; at most 64 MiB.
- `workers` (1 to 64): processes that read pages off the event loop; `analysis_timeout`: a duration, the time
  one page's reading may take before its entry is `too-complex`.
- `shards` (1 to 64): processes the crawl is split over, whole hosts each (monitor/shards.py); 1 crawls in the
  main process. Default: from the CPUs this process may use (`default_shards`).
- `user_agent`: text.
- `headers`: `{Name: value}` sent to every site. Credentials (Authorization, Cookie, *token*, ...) are refused
  here because every checked site would receive them; put them under `hosts`.
- `hosts`: `{github.com: {concurrency: 2, request_interval: 1s, headers: {Name: value}}}`.
- `exclude`, `include`: regular expressions searched for in each URL; `include` wins over `exclude`, as in lychee.
- `accept`: status codes that count as success, e.g. `[200, 204, "300..399"]` (ranges are inclusive; lychee's
  `"200..=299"` is read too).
- `allow_hosts`: hosts that may resolve to private, loopback or link-local addresses (tests use 127.0.0.1).
- `confirm_after`: consecutive failing runs before a network failure is confirmed.
- `check_hub`: whether to fetch the hub page itself to compare it with the catalog.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import partial
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from monitor import DEFAULT_USER_AGENT
from monitor.inputfile import CONFIG_LIMIT
from monitor.patterns import compile_pattern
from monitor.yamlcheck import BAD, CatalogError, Reader, join

MIB = 1024 * 1024


@dataclass(frozen=True)
class HostSettings:
    """Per-host overrides, e.g. a slower rate for github.com."""

    concurrency: int | None = None
    request_interval: float | None = None  # seconds
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    timeout: float = 20.0  # seconds: total deadline for one URL, all hops and retries of one attempt included
    max_retries: int = 3
    retry_wait_time: float = 1.0  # seconds, doubled on each retry, with jitter
    retry_after_cap: float = 60.0  # seconds: a longer Retry-After gives rate-limited without waiting
    max_concurrency: int = 32
    host_concurrency: int = 4
    host_request_interval: float = 0.1  # seconds between requests to one host
    max_redirects: int = 10
    max_body: int = 2 * MIB
    user_agent: str = DEFAULT_USER_AGENT
    headers: dict[str, str] = field(default_factory=dict)
    # Header names whose values are secret: sent only to the hosts configured for them, never logged.
    # Lower-cased; filled with the names of every header configured under `hosts`.
    secret_headers: frozenset[str] = frozenset()
    hosts: dict[str, HostSettings] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    accept: frozenset[int] = frozenset()
    allow_hosts: frozenset[str] = frozenset()
    confirm_after: int = 2
    max_runtime: float = 900.0  # seconds for the whole run
    check_hub: bool = True
    # Pages are read in this many worker processes (1: in one thread of the main process), off the event loop.
    workers: int = os.cpu_count() or 1
    analysis_timeout: float = 5.0  # seconds to read one page; past it the entry is too-complex
    # The crawl runs in this many processes, each with whole hosts and its share of the workers (1: the main
    # process alone, nothing else started).
    shards: int = field(default_factory=lambda: default_shards())

    def is_excluded(self, url: str) -> bool:
        """Whether `url` is skipped: it matches an `exclude` pattern and no `include` pattern (lychee's rule)."""
        if any(compile_pattern(pattern).search(url) for pattern in self.include):
            return False
        return any(compile_pattern(pattern).search(url) for pattern in self.exclude)

    def for_host(self, host: str) -> HostSettings:
        """The effective concurrency, request interval and headers (global ones included) for one host."""
        own = self.hosts.get(host.lower().rstrip("."), HostSettings())
        return HostSettings(
            concurrency=own.concurrency if own.concurrency is not None else self.host_concurrency,
            request_interval=(own.request_interval if own.request_interval is not None else self.host_request_interval),
            headers=_merge_headers(self.headers, own.headers),
        )


# -- values ---------------------------------------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?", re.IGNORECASE)
_UNIT_BYTES = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": MIB, "gb": 1000**3, "gib": 1024 * MIB}


def parse_duration(value: str | float) -> float:
    """Seconds from `1.5`, `"1.5"`, `"100ms"`, `"1s"`, `"2m"`, `"1h"` or `"1m30s"`; ValueError otherwise.

    Usable as an argparse `type=`.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = value.strip()
        negative = text.startswith("-")
        body = text.lstrip("+-").strip()
        if re.fullmatch(r"\d+(?:\.\d+)?|\.\d+", body):
            seconds = float(body)
        elif body and re.fullmatch(rf"(?:{_DURATION_PART.pattern}\s*)+", body, re.IGNORECASE):
            seconds = sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in _DURATION_PART.findall(body))
        else:
            raise ValueError(
                f"{value!r} is not a duration; write seconds (1.5) or a number with a unit: 100ms, 1s, 2m, 1h"
            )
        seconds = -seconds if negative else seconds
    if not math.isfinite(seconds):
        raise ValueError(f"{value!r} is not a finite duration")
    if seconds < 0:
        raise ValueError(f"must not be negative, got {value!r}")
    return seconds


def parse_size(value: str | int) -> int:
    """Bytes from `1048576`, `"2MiB"`, `"512KiB"` or `"10MB"`; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a size")
    if isinstance(value, int):
        size = value
    else:
        match = _SIZE.fullmatch(value.strip())
        if not match:
            raise ValueError(f"{value!r} is not a size; write bytes (1048576) or a number with a unit: 512KiB, 2MiB")
        size = int(float(match[1]) * _UNIT_BYTES[(match[2] or "b").lower()])
    if size < 1:
        raise ValueError(f"must be at least 1 byte, got {value!r}")
    return size


def parse_status_codes(value: object) -> frozenset[int]:
    """Status codes from `[200, 204, "300..399"]` or `"200, 204, 300..=399"`; ValueError otherwise."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError(f"expected a list of status codes, got {value!r}")
    codes: set[int] = set()
    for item in items:
        codes.update(_status_range(item))
    return frozenset(codes)


def _status_range(item: object) -> range:
    if isinstance(item, int) and not isinstance(item, bool):
        low = high = item
    elif isinstance(item, str) and (match := re.fullmatch(r"\s*(\d{3})\s*(?:\.\.=?\s*(\d{3})\s*)?", item)):
        low, high = int(match[1]), int(match[2] or match[1])
    else:
        raise ValueError(f"{item!r} is not a status code or a range such as '200..299'")
    for code in (low, high):
        if not 100 <= code <= 599:
            raise ValueError(f"{code} is not an HTTP status code (100 to 599)")
    if low > high:
        raise ValueError(f"the range {item!r} is empty: {low} is above {high}")
    return range(low, high + 1)


_HOST = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*")


def normalise_host(host: str) -> str:
    """A lower-case host name or IP address; ValueError for URLs, ports and other non-hosts."""
    name = host.strip().lower().rstrip(".")
    if "://" in name or "/" in name:
        raise ValueError(f"{host!r} should be a host name such as 'github.com', not a URL")
    try:
        return str(ipaddress.ip_address(name.strip("[]")))
    except ValueError:
        pass
    if ":" in name:
        raise ValueError(f"{host!r} should be a host name without a port")
    if not _HOST.fullmatch(name) or len(name) > 253:
        raise ValueError(f"{host!r} is not a host name")
    return name


# -- headers --------------------------------------------------------------------------------------------

_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_CREDENTIAL_WORDS = ("token", "secret", "api-key", "apikey", "password", "session")
_OWN_HEADERS = {
    "host": "is set by hub-monitor from the URL",
    "content-length": "is set by hub-monitor",
    "transfer-encoding": "is set by hub-monitor",
    "connection": "is set by hub-monitor",
    "user-agent": "has its own setting: use user_agent",
}


def is_credential_header(name: str) -> bool:
    lower = name.lower()
    return lower in _CREDENTIAL_HEADERS or any(word in lower for word in _CREDENTIAL_WORDS)


def _merge_headers(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, str]:
    # Header names ignore case, so a later `user-agent` replaces an earlier `User-Agent`.
    replaced = {name.lower() for name in new}
    return {**{k: v for k, v in old.items() if k.lower() not in replaced}, **new}


# -- reading settings from YAML nodes ---------------------------------------------------------------------


def _read_duration(reader: Reader, node: Node, field: str, *, positive: bool) -> float | None:
    value = reader.value(node, field, "a duration")
    if value is BAD:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        reader.error(node, field, f"expected a duration such as 20 or '1s', got {reader.describe(node)}")
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        reader.error(node, field, str(exc))
        return None
    if positive and seconds == 0:
        reader.error(node, field, "must be more than 0")
        return None
    return seconds


def _read_size(reader: Reader, node: Node, field: str) -> int | None:
    value = reader.value(node, field, "a size")
    if value is BAD:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        reader.error(node, field, f"expected a size such as 2097152 or '2MiB', got {reader.describe(node)}")
        return None
    try:
        size = parse_size(value)
    except ValueError as exc:
        reader.error(node, field, str(exc))
        return None
    problem = max_body_problem(size)
    if problem:
        reader.error(node, field, problem)
        return None
    return size


# A page bigger than this is not a page a reader reads; and every body up to the cap is held in memory, copied
# and parsed, so an endless page with a cap of gigabytes would end the run with MemoryError (issue 12, B35).
MAX_BODY_LIMIT = 64 * MIB
# Each worker is a process of about 60 MB: a catalog asking for thousands must not fork-bomb the runner.
MAX_WORKERS = 64


def max_body_problem(size: int) -> str | None:
    """Why ``size`` cannot be the body cap, or None (shared by the flag, --config and a catalog's settings)."""
    if size < 1:
        return f"must be at least 1 byte, got {size}"
    if size > MAX_BODY_LIMIT:
        return f"must be at most {_show_size(MAX_BODY_LIMIT)}, got {_show_size(size)}"
    return None


def available_cpus() -> int:
    """The CPUs this process may run on: a container's or `taskset`'s share, not the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


# Below this many CPUs the crawl stays in one process by default: measured on 2 shared cores (README,
# "Crawl shards"), two shards did not pay for the second process's start-up and the pipe.
SHARDS_FROM_CPUS = 3


def default_shards() -> int:
    """One shard per CPU from SHARDS_FROM_CPUS CPUs up; 1 below (one core must cost nothing)."""
    cpus = available_cpus()
    return min(cpus, MAX_WORKERS) if cpus >= SHARDS_FROM_CPUS else 1


def workers_problem(count: int) -> str | None:
    """Why ``count`` cannot be the number of analysis workers, or None."""
    if not 1 <= count <= MAX_WORKERS:
        return f"must be between 1 and {MAX_WORKERS}, got {count}"
    return None


def _read_workers(reader: Reader, node: Node, field: str) -> int | None:
    count = reader.integer(node, field, minimum=1)
    problem = workers_problem(count) if count is not None else None
    if problem:
        reader.error(node, field, problem)
        return None
    return count


def _read_count(reader: Reader, node: Node, field: str, *, minimum: int) -> int | None:
    return reader.integer(node, field, minimum=minimum)


def _read_bool(reader: Reader, node: Node, field: str) -> bool | None:
    return reader.boolean(node, field)


# Most servers refuse a request whose header line passes 8 KiB (431), which would read as every link dead.
_HEADER_VALUE_LIMIT = 8 * 1024


def _header_value_problem(value: str) -> str | None:
    """Why `value` cannot be sent as a header value as given, or None.

    Checked here, where the flag, the config file and the catalog meet, because the request would otherwise fail
    at every URL and read as the servers' fault (B14)."""
    if any(c in value for c in "\r\n\0"):
        return "the value must be one line (no line breaks)"
    if any((ord(c) < 32 and c != "\t") or c == "\x7f" for c in value):
        return "the value must not hold control characters"
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        # A lone surrogate: bytes of the command line or a "\\udcff" escape that are not UTF-8 text.
        return "the value holds bytes that are not UTF-8 text"
    if size > _HEADER_VALUE_LIMIT:
        return f"the value is {size} bytes; servers refuse header lines over 8 KiB"
    return None


def _read_user_agent(reader: Reader, node: Node, field: str) -> str | None:
    text = reader.text(node, field)
    if text is not None and any(ord(c) < 32 for c in text):
        reader.error(node, field, "must be one line without control characters")
        return None
    if text is not None and (problem := _header_value_problem(text)):
        reader.error(node, field, problem)
        return None
    return text


def _read_headers(reader: Reader, node: Node, field: str, *, per_host: bool) -> dict[str, str] | None:
    headers: dict[str, str] = {}
    seen: dict[str, str] = {}
    for name, key_node, value_node in reader.pairs(node, field):
        where = f"{field}[{name}]"
        lower = name.lower()
        if not _HEADER_NAME.fullmatch(name):
            reader.error(key_node, where, f"{name!r} is not a valid header name")
        elif lower in _OWN_HEADERS:
            reader.error(key_node, where, _OWN_HEADERS[lower])
        elif lower in seen:
            reader.error(key_node, where, f"repeats header {seen[lower]!r} (header names ignore case)")
        elif not per_host and is_credential_header(name):
            reader.error(
                key_node,
                where,
                "looks like a credential and would be sent to every checked site; send it to one host only "
                "(hosts: {HOST: {headers: ...}} in a config file, or --host-header 'HOST=Name: Value')",
            )
        else:
            seen[lower] = name
            value = reader.text(value_node, where, empty=True)
            if value is not None and (problem := _header_value_problem(value)):
                reader.error(value_node, where, problem)
            elif value is not None:
                headers[name] = value
    return headers


_HOST_KEYS = ("concurrency", "request_interval", "headers")


def _read_hosts(reader: Reader, node: Node, field: str) -> dict[str, HostSettings] | None:
    hosts: dict[str, HostSettings] = {}
    for name, key_node, value_node in reader.pairs(node, field):
        where = f"{field}[{name}]"
        try:
            host = normalise_host(name)
        except ValueError as exc:
            reader.error(key_node, where, str(exc))
            continue
        found = reader.fields(value_node, where, _HOST_KEYS)
        if found is None:
            continue
        concurrency = interval = None
        headers: dict[str, str] = {}
        if "concurrency" in found:
            concurrency = reader.integer(found["concurrency"], join(where, "concurrency"), minimum=1)
        if "request_interval" in found:
            interval = _read_duration(
                reader, found["request_interval"], join(where, "request_interval"), positive=False
            )
        if "headers" in found:
            headers = _read_headers(reader, found["headers"], join(where, "headers"), per_host=True) or {}
        hosts[host] = HostSettings(concurrency=concurrency, request_interval=interval, headers=headers)
    return hosts


def _read_patterns(reader: Reader, node: Node, field: str) -> tuple[str, ...]:
    patterns: list[str] = []
    for item, pattern in reader.texts(node, field):
        try:
            compile_pattern(pattern)
        except ValueError as exc:
            reader.error(item, f"{field}[{len(patterns)}]", str(exc))
            continue
        patterns.append(pattern)
    return tuple(patterns)


def _read_accept(reader: Reader, node: Node, field: str) -> frozenset[int]:
    if isinstance(node, SequenceNode) or reader.is_null(node):
        items = [(f"{field}[{i}]", item) for i, item in enumerate(reader.sequence(node, field))]
    else:
        # One code, or lychee's one-string form "200, 204, 300..=399".
        items = [(field, node)]
    codes: set[int] = set()
    for where, item in items:
        value = reader.value(item, where, "a status code")
        if value is BAD:
            continue
        try:
            codes |= parse_status_codes(value if isinstance(value, str) else [value])
        except ValueError as exc:
            reader.error(item, where, str(exc))
    return frozenset(codes)


def _read_allow_hosts(reader: Reader, node: Node, field: str) -> frozenset[str]:
    hosts: set[str] = set()
    for index, (item, name) in enumerate(reader.texts(node, field)):
        try:
            hosts.add(normalise_host(name))
        except ValueError as exc:
            reader.error(item, f"{field}[{index}]", str(exc))
    return frozenset(hosts)


_Read = Callable[[Reader, Node, str], object]

_KEYS: dict[str, _Read] = {
    "timeout": partial(_read_duration, positive=True),
    "max_retries": partial(_read_count, minimum=0),
    "retry_wait_time": partial(_read_duration, positive=False),
    "retry_after_cap": partial(_read_duration, positive=False),
    "max_concurrency": partial(_read_count, minimum=1),
    "host_concurrency": partial(_read_count, minimum=1),
    "host_request_interval": partial(_read_duration, positive=False),
    "max_redirects": partial(_read_count, minimum=0),
    "max_body": _read_size,
    "user_agent": _read_user_agent,
    "headers": partial(_read_headers, per_host=False),
    "hosts": _read_hosts,
    "exclude": _read_patterns,
    "include": _read_patterns,
    "accept": _read_accept,
    "allow_hosts": _read_allow_hosts,
    "confirm_after": partial(_read_count, minimum=1),
    "max_runtime": partial(_read_duration, positive=True),
    "check_hub": _read_bool,
    "workers": _read_workers,
    "analysis_timeout": partial(_read_duration, positive=True),
    "shards": _read_workers,  # the same range, 1 to MAX_WORKERS
}
SETTING_KEYS: tuple[str, ...] = tuple(_KEYS)


# Settings a catalog may not set. A catalog is changed by pull requests; opening private addresses to the
# crawler (cloud metadata, the runner's own services) must take a flag or a --config file the operator owns.
OPERATOR_ONLY: frozenset[str] = frozenset({"allow_hosts"})


def read_settings(
    reader: Reader, node: Node, field: str, base: Settings, *, in_catalog: bool = False
) -> Settings:
    """`base` with the settings of a YAML mapping node applied; problems go to `reader`, nothing is raised."""
    if reader.is_null(node):
        # `settings:` with nothing under it, e.g. every line commented out.
        return base
    found = reader.fields(node, field, SETTING_KEYS)
    if not found:
        return base
    if in_catalog:
        for key in sorted(OPERATOR_ONLY & set(found)):
            reader.error(
                found.pop(key),
                join(field, key),
                "not accepted in a catalog, which anyone can change in a pull request; "
                "pass --allow-host HOST or put it in a --config file",
            )
    changes = {key: _KEYS[key](reader, value, join(field, key)) for key, value in found.items()}
    hosts = changes.get("hosts")
    if isinstance(hosts, dict):
        changes["secret_headers"] = frozenset(n.lower() for h in hosts.values() for n in h.headers)
    return override(base, changes)


def parse_settings(
    source: Node | Mapping[str, object], file: str, *, base: Settings | None = None, field: str = "settings"
) -> Settings:
    """Settings from a YAML mapping node or a plain mapping, on top of `base` (default: the built-in defaults).

    Raises CatalogError listing every problem, each with `file`, line (0 for a plain mapping) and field.
    """
    reader = Reader(file)
    node = source if isinstance(source, Node) else reader.represent(source, field)
    settings = read_settings(reader, node, field, base or Settings()) if node is not None else Settings()
    if reader.problems:
        raise CatalogError(reader.problems)
    return settings


def load_config(path: Path, base: Settings | None = None) -> Settings:
    """Settings from a `--config` YAML file (the same keys as a catalog's `settings:`, at the top level).

    Applied on top of `base`, normally the catalog's settings. Raises CatalogError for any problem, a missing
    or unreadable file included.
    """
    reader = Reader(str(path))
    root = reader.compose_file(path, CONFIG_LIMIT)
    settings = read_settings(reader, root, "", base or Settings()) if root is not None else Settings()
    if reader.problems:
        raise CatalogError(reader.problems)
    return settings


# A flag's value as the command line gives it: text, a list of texts (a repeated flag), or a mapping of them.
FlagValue = str | list[str] | Mapping[str, "FlagValue"]
# Keys whose flag text is read as a YAML scalar would be (so `--timeout 0` is the number 0, as `timeout: 0` in a
# config file); the others are always text (`--user-agent 1.0` is the text "1.0").
_PLAIN_KEYS = frozenset({"timeout", "max_retries", "retry_wait_time", "max_concurrency", "host_concurrency",
                         "host_request_interval", "max_redirects", "max_body", "max_runtime", "confirm_after",
                         "accept", "workers", "analysis_timeout", "shards"})  # fmt: skip
_STR = "tag:yaml.org,2002:str"


def settings_from_flags(
    given: Mapping[str, FlagValue | None], base: Settings, flag_names: Mapping[str, str] | None = None
) -> Settings:
    """`base` with settings given as command-line flags applied, checked by the readers of a `--config` file.

    One validator for each setting wherever it comes from: a flag value that a config file would refuse is
    refused with the same message. `given` maps setting keys to the flag's text (None: flag not given);
    `flag_names` maps keys to how the user spelled them (`user_agent` -> `--user-agent`) for the messages.
    Raises CatalogError, each problem named "command line: --flag: message".
    """
    reader = Reader("command line")
    pairs = [(ScalarNode(_STR, key), _flag_node(value, plain=key in _PLAIN_KEYS))
             for key, value in given.items() if value is not None]  # fmt: skip
    settings = read_settings(reader, MappingNode("tag:yaml.org,2002:map", pairs), "", base) if pairs else base
    if reader.problems:
        names = flag_names or {}
        raise CatalogError(replace(p, field=_flag_field(p.field, names)) for p in reader.problems)
    return settings


def _flag_node(value: FlagValue, *, plain: bool) -> Node:
    if isinstance(value, str):
        tag = Resolver().resolve(ScalarNode, value, (True, False)) if plain else _STR
        return ScalarNode(tag, value)
    if isinstance(value, Mapping):
        return MappingNode("tag:yaml.org,2002:map",
                           [(ScalarNode(_STR, k), _flag_node(v, plain=plain)) for k, v in value.items()])
    return SequenceNode("tag:yaml.org,2002:seq", [_flag_node(item, plain=plain) for item in value])


def _flag_field(field: str, names: Mapping[str, str]) -> str:
    # "headers[X A]" -> "--header[X A]": the flag the user typed, then where in its value.
    key = re.match(r"[a-z_]*", field)
    head = key[0] if key else ""
    return names.get(head, head) + field[len(head):]


def override(settings: Settings, changes: Mapping[str, Any]) -> Settings:
    """`settings` with `changes` applied by field name; None values (a flag not given) are skipped.

    `headers` and `hosts` merge with the current value; `allow_hosts`, `secret_headers`, `exclude` and
    `include` add to it; the rest replace it. Lists are accepted where the field is a tuple or a frozenset.
    """
    known = {f.name: f for f in fields(Settings)}
    unknown = sorted(set(changes) - set(known))
    if unknown:
        raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, value in changes.items():
        if value is None:
            continue
        current = getattr(settings, name)
        if name == "headers":
            values[name] = _merge_headers(settings.headers, dict(value))
        elif name == "hosts":
            values[name] = _merge_hosts(settings.hosts, value)
        elif isinstance(current, frozenset):
            new = frozenset(value)
            values[name] = current | new if name in ("allow_hosts", "secret_headers") else new
        elif isinstance(current, tuple):
            values[name] = tuple(dict.fromkeys((*current, *value)))
        else:
            values[name] = value
    return replace(settings, **values)


def _merge_hosts(old: Mapping[str, HostSettings], new: Mapping[str, HostSettings]) -> dict[str, HostSettings]:
    merged = dict(old)
    for host, given in new.items():
        before = merged.get(host, HostSettings())
        merged[host] = HostSettings(
            concurrency=given.concurrency if given.concurrency is not None else before.concurrency,
            request_interval=(
                given.request_interval if given.request_interval is not None else before.request_interval
            ),
            headers=_merge_headers(before.headers, given.headers),
        )
    return merged


# -- display ----------------------------------------------------------------------------------------------

_DURATIONS = frozenset(
    {"timeout", "retry_wait_time", "retry_after_cap", "host_request_interval", "max_runtime", "analysis_timeout"}
)
SECRET = "***"


def settings_diff(settings: Settings) -> dict[str, str]:
    """The settings that differ from the defaults, as display strings, for reports and `--verbose`.

    Header values are always shown as "***": a report is public, and any header may carry a credential.
    Per-host settings appear as one key per host, `hosts[github.com]`.
    """
    default = Settings()
    diff: dict[str, str] = {}
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if f.name == "secret_headers" or value == getattr(default, f.name):
            continue
        if f.name == "hosts":
            for host in sorted(value):
                diff[f"hosts[{host}]"] = _show_host(value[host])
        else:
            diff[f.name] = _show(f.name, value)
    return diff


def _show(name: str, value: object) -> str:
    if name in _DURATIONS and isinstance(value, float | int):
        return show_duration(value)
    if name == "max_body" and isinstance(value, int):
        return _show_size(value)
    if name == "headers" and isinstance(value, dict):
        return _show_headers(value)
    if name == "accept" and isinstance(value, frozenset):
        return _show_codes(value)
    if isinstance(value, frozenset):
        return ", ".join(sorted(str(v) for v in value))
    if isinstance(value, tuple):
        return ", ".join(repr(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _show_host(host: HostSettings) -> str:
    parts = []
    if host.concurrency is not None:
        parts.append(f"concurrency={host.concurrency}")
    if host.request_interval is not None:
        parts.append(f"request_interval={show_duration(host.request_interval)}")
    if host.headers:
        parts.append(f"headers={_show_headers(host.headers)}")
    return ", ".join(parts) or "(no overrides)"


def _show_headers(headers: Mapping[str, str]) -> str:
    return ", ".join(f"{name}: {SECRET}" for name in sorted(headers, key=str.lower))


def show_duration(seconds: float) -> str:
    """'100ms', '1s', '2m', '1.5s': the way a user would write it in the settings."""
    if seconds < 1 and round(seconds * 1000, 6).is_integer():
        return f"{round(seconds * 1000)}ms"
    if seconds >= 60 and (seconds / 60).is_integer():
        return f"{round(seconds / 60)}m"
    return f"{seconds:g}s"


def _show_size(size: int) -> str:
    for unit, factor in (("GiB", 1024 * MIB), ("MiB", MIB), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def _show_codes(codes: frozenset[int]) -> str:
    ordered = sorted(codes)
    runs: list[tuple[int, int]] = []
    for code in ordered:
        if runs and code == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], code)
        else:
            runs.append((code, code))
    return ", ".join(str(a) if a == b else f"{a}..{b}" for a, b in runs)
