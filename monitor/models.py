"""Plain data passed between the stages: catalog -> fetch -> extract -> rules -> state -> report.

Nothing here does I/O (a Snapshot reads its text only when asked). Each stage takes these records and
returns new ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from monitor.findings import Finding, Severity


class Kind(StrEnum):
    RESOURCE = "resource"
    PROGRAM = "program"
    FUNDER = "funder"


@dataclass(frozen=True)
class Acceptance:
    """A maintainer's decision to live with one finding code on one entry, until a date or for good."""

    code: str
    until: str | None = None  # YYYY-MM-DD, the last day it is accepted; None for no end date
    reason: str | None = None
    line: int = 0

    def holds(self, today: str) -> bool:
        return self.until is None or today[:10] <= self.until


@dataclass(frozen=True)
class Entry:
    id: str
    section: str
    title: str
    url: str | None
    kind: Kind = Kind.RESOURCE
    author: str | None = None
    status: str | None = None
    aliases: tuple[str, ...] = ()
    expect: tuple[str, ...] = ()
    watch: str | None = None
    notes: str | None = None
    # Where the entry starts in its catalog file, so a report can name the line to change.
    line: int = 0
    # The line of each field given in the catalog (key -> line), so a fix names the line of `status:` itself.
    field_lines: tuple[tuple[str, int], ...] = field(default=(), compare=False)
    # Findings the maintainer accepted (the catalog's `accept:` list).
    accept: tuple[Acceptance, ...] = ()

    def line_of(self, name: str) -> int:
        """The catalog line of field `name`, or the entry's first line when the field is absent."""
        return dict(self.field_lines).get(name, self.line)

    @property
    def where(self) -> str:
        """How messages name the entry: plain text, since reports escape whatever a message holds."""
        return f"entry {self.id} (catalog line {self.line})" if self.line else f"entry {self.id}"


@dataclass(frozen=True)
class Hub:
    title: str
    url: str | None = None
    maintainer: str | None = None


class FetchError(StrEnum):
    """Why a fetch did not produce a usable HTTP answer. Translated from httpx/OS errors in fetch.py only."""

    DNS = "dns"
    CONNECT = "connect"
    TLS = "tls"
    TIMEOUT = "timeout"
    TOO_MANY_REDIRECTS = "too-many-redirects"
    REDIRECT_LOOP = "redirect-loop"
    BLOCKED_ADDRESS = "blocked-address"
    UNSUPPORTED_SCHEME = "unsupported-scheme"
    PROTOCOL = "protocol"
    RATE_LIMITED = "rate-limited"
    NOT_CHECKED = "not-checked"


@dataclass(frozen=True)
class Hop:
    """One answer in a redirect chain: the URL asked for, its status and where it pointed."""

    url: str
    status: int
    location: str | None = None
    via: str = "http"  # "http" or "meta-refresh"


@dataclass
class FetchResult:
    url: str
    final_url: str
    status: int | None = None
    hops: tuple[Hop, ...] = ()
    # Lower-cased names; only the headers the rules need (content-type, etag, last-modified, retry-after,
    # server, cf-mitigated, www-authenticate, x-robots-tag, ...).
    headers: dict[str, str] = field(default_factory=dict)
    # Decompressed body, at most max_body bytes; None when not read (non-text content types, errors).
    body: bytes | None = None
    truncated: bool = False
    error: FetchError | None = None
    error_detail: str = ""
    elapsed_ms: int = 0
    attempts: int = 1
    # A 304 answer to a conditional request: the body is the text remembered from the last run.
    not_modified: bool = False
    # The status is listed in Settings.accept: the user declared it a success for their catalog.
    accepted: bool = False
    # The answer is a bot wall's challenge or block page (monitor/challenge.py names it); never retried.
    challenge: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and (200 <= self.status < 300 or self.accepted)


@dataclass(frozen=True)
class PageText:
    """What a page says, extracted once from the body; small enough to keep for every entry."""

    title: str = ""
    heading: str = ""
    text: str = ""
    watched: str = ""
    ids: frozenset[str] = frozenset()
    meta_refresh: str | None = None
    charset: str = "utf-8"
    # The page is an app shell rendered by JavaScript: what a plain fetch sees is not what a reader sees.
    js_rendered: bool = False


class Network(StrEnum):
    OK = "ok"
    UNAVAILABLE = "unavailable"


@dataclass
class EntryResult:
    entry: Entry
    findings: list[Finding] = field(default_factory=list)
    final_url: str | None = None
    http_status: int | None = None
    elapsed_ms: int | None = None
    checked: bool = True
    # Why an entry was not checked (an exclude pattern, the time budget); "" when it was.
    not_checked_reason: str = ""
    # Small facts for the state file (title, hashes, etag...), filled by the pipeline.
    page: PageText | None = None

    @property
    def severity(self) -> Severity:
        return Severity.worst([f.severity for f in self.findings])


class Snapshot(Protocol):
    """An entry's watched text, kept out of memory and read only when a rule needs it (a diff)."""

    def text(self) -> str | None:
        """The text, or None when it can no longer be read."""
        ...


@dataclass(frozen=True)
class TextSnapshot:
    """A snapshot already in memory."""

    value: str

    def text(self) -> str | None:
        return self.value


@dataclass(frozen=True)
class Remembered:
    """What the last run saw of an entry's page, from the state file; input to the drift rules."""

    title: str | None = None
    watched_hash: str | None = None
    status_sentence: str | None = None
    # Read on demand: only a page whose fingerprint changed needs last night's text, for the diff.
    snapshot: Snapshot | None = field(default=None, repr=False, compare=False)

    @property
    def watched_text(self) -> str | None:
        return self.snapshot.text() if self.snapshot is not None else None


@dataclass(frozen=True)
class Change:
    entry_id: str
    code: str


@dataclass
class RunResult:
    """One run of `check`, everything the reports need. report.py turns it into the JSON contract."""

    hub: Hub
    catalog_path: str
    started_at: str  # ISO 8601, UTC
    finished_at: str
    today: str  # YYYY-MM-DD
    network: Network
    entries: list[EntryResult]
    duration_ms: int = 0
    requests: int = 0
    hosts: tuple[str, ...] = ()
    # Settings that differ from the defaults, as display strings (secret header values never appear).
    settings_changed: dict[str, str] = field(default_factory=dict)
    new_findings: list[Change] = field(default_factory=list)
    resolved_findings: list[Change] = field(default_factory=list)
    confirm_after: int = 2
    # About the catalog as a whole: the hub lists an entry the catalog lacks, or the hub could not be read.
    hub_findings: list[Finding] = field(default_factory=list)
    # Entries whose GitHub issue a maintainer closed as "not planned" (filled by `issues`, shown in the report).
    not_planned: tuple[str, ...] = ()
