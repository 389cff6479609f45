"""Crawl settings: defaults, the `settings:` block of a catalog (or --config file), and CLI overrides.

Precedence: built-in defaults < catalog `settings:` < `--config` file < command-line flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor import DEFAULT_USER_AGENT

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
    secret_headers: frozenset[str] = frozenset()
    hosts: dict[str, HostSettings] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    accept: frozenset[int] = frozenset()
    allow_hosts: frozenset[str] = frozenset()
    confirm_after: int = 2
    max_runtime: float = 900.0  # seconds for the whole run
    check_hub: bool = True
