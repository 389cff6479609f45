"""Finding codes and severities: the public vocabulary of reports, issues and users' scripts.

The codes are a contract. Add new ones; never rename or remove one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def worst(cls, severities: list[Severity] | tuple[Severity, ...]) -> Severity:
        return max(severities, key=lambda s: s.rank, default=cls.OK)


_RANK = {Severity.OK: 0, Severity.INFO: 1, Severity.WARNING: 2, Severity.ERROR: 3}


class Code(StrEnum):
    DEAD_LINK = "dead-link"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    HTTP_ERROR = "http-error"
    REDIRECT_LOOP = "redirect-loop"
    BLOCKED_ADDRESS = "blocked-address"
    SOFT_404 = "soft-404"
    PARKED_DOMAIN = "parked-domain"
    MOVED_PERMANENTLY = "moved-permanently"
    ACCESS_RESTRICTED = "access-restricted"
    BOT_PROTECTION = "bot-protection"
    RATE_LIMITED = "rate-limited"
    MISSING_ANCHOR = "missing-anchor"
    STATUS_CHANGED = "status-changed"
    DEADLINE_PASSED = "deadline-passed"
    MARKED_OUTDATED = "marked-outdated"
    EXPECTED_TEXT_MISSING = "expected-text-missing"
    TOO_LARGE = "too-large"
    STATUS_UNKNOWN = "status-unknown"
    REDIRECTED = "redirected"
    CONTENT_CHANGED = "content-changed"
    TITLE_CHANGED = "title-changed"
    NO_URL = "no-url"
    # Information notes that are not problems with the link itself.
    STATUS_UNVERIFIED = "status-unverified"
    DATED_TITLE = "dated-title"
    HUB_DRIFT = "hub-drift"
    ANCHOR_UNVERIFIED = "anchor-unverified"
    # The monitor itself could not judge the entry: a fault it did not foresee, or a page too costly to read.
    CHECK_FAILED = "check-failed"
    TOO_COMPLEX = "too-complex"

    @property
    def severity(self) -> Severity:
        return SEVERITY[self]


SEVERITY: dict[Code, Severity] = {
    Code.DEAD_LINK: Severity.ERROR,
    Code.UNREACHABLE: Severity.ERROR,
    Code.TIMEOUT: Severity.ERROR,
    Code.HTTP_ERROR: Severity.ERROR,
    Code.REDIRECT_LOOP: Severity.ERROR,
    Code.BLOCKED_ADDRESS: Severity.ERROR,
    Code.SOFT_404: Severity.ERROR,
    Code.PARKED_DOMAIN: Severity.ERROR,
    Code.MOVED_PERMANENTLY: Severity.WARNING,
    Code.ACCESS_RESTRICTED: Severity.WARNING,
    Code.BOT_PROTECTION: Severity.WARNING,
    Code.RATE_LIMITED: Severity.WARNING,
    Code.MISSING_ANCHOR: Severity.WARNING,
    Code.STATUS_CHANGED: Severity.WARNING,
    Code.DEADLINE_PASSED: Severity.WARNING,
    Code.MARKED_OUTDATED: Severity.WARNING,
    Code.EXPECTED_TEXT_MISSING: Severity.WARNING,
    Code.TOO_LARGE: Severity.WARNING,
    Code.STATUS_UNKNOWN: Severity.INFO,
    Code.REDIRECTED: Severity.INFO,
    Code.CONTENT_CHANGED: Severity.INFO,
    Code.TITLE_CHANGED: Severity.INFO,
    Code.NO_URL: Severity.INFO,
    Code.STATUS_UNVERIFIED: Severity.INFO,
    Code.DATED_TITLE: Severity.INFO,
    Code.HUB_DRIFT: Severity.WARNING,
    # The page is rendered by JavaScript, so a #fragment cannot be checked in what a plain fetch sees.
    Code.ANCHOR_UNVERIFIED: Severity.INFO,
    # An unforeseen exception while checking this entry: a bug to report, never a verdict on the link.
    Code.CHECK_FAILED: Severity.ERROR,
    # Reading the page took longer than its analysis budget (--analysis-timeout): not analysed tonight.
    Code.TOO_COMPLEX: Severity.WARNING,
}

# Failures of the network or the site: these may be flaky, so they are only confirmed (and alarm)
# after several consecutive failing runs. Content findings are facts about text, confirmed at once.
NEEDS_CONFIRMATION: frozenset[Code] = frozenset(
    {Code.DEAD_LINK, Code.UNREACHABLE, Code.TIMEOUT, Code.HTTP_ERROR, Code.SOFT_404, Code.PARKED_DOMAIN}
)


@dataclass(frozen=True)
class Finding:
    """One problem (or note) about one entry.

    ``evidence`` holds short labelled facts for the report (quotes, redirect chain, dates);
    ``fix`` says what the maintainer should change, when there is something to change.
    ``confirmed`` and ``first_seen`` are filled in by the state stage.
    """

    code: Code
    message: str
    evidence: dict[str, str] = field(default_factory=dict)
    fix: str | None = None
    confirmed: bool = True
    first_seen: str | None = None

    @property
    def severity(self) -> Severity:
        return self.code.severity
