"""Link rules: what the HTTP answer (and the page's title and heading) says about an entry's link.

A page with a problem gets exactly one verdict. The verdicts are tried in a fixed order, and the first
that applies wins: a fetch error (blocked, unreachable, timeout, redirect loop), then the walls that
mean "could not verify" rather than "dead" (bot challenge, rate limit), a parked domain, a login wall,
then the status (dead link, HTTP error), then a 200 that says "not found" (soft-404). So a page that is
only slow, rate-limited, bot-protected or behind a login never becomes a `dead-link`, and a 404 reached
through a redirect is one `dead-link` with the chain as evidence, not also a `moved-permanently`.

Only when the page itself is fine do the remaining rules speak: how the link redirects
(`moved-permanently` or `redirected`, at most one), a missing `#fragment`, and a body over the size cap.

Each rule's docstring is the user documentation of its finding code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import unquote, urlsplit

from monitor.challenge import challenge_in
from monitor.findings import Code, Finding
from monitor.models import Entry, FetchError, FetchResult, Hop, PageText
from monitor.rules import Rule, RuleInput, may_hold

__all__ = ["RULES", "chain_text", "diagnose"]

PERMANENT = frozenset({301, 308})
TEMPORARY = frozenset({302, 303, 307})

# --- wordings -----------------------------------------------------------------------------------------

_NOT_FOUND = re.compile(
    r"""
      \b(page|file|resource|content|document|post|article|site|item|repository|project|user|profile|video)
        \s+(was\s+|is\s+)?not\s+found\b
    | ^\W*not\s+found\W*$
    | \b404\b.{0,40}\b(not\s+found|error|page|missing)\b
    | \berror\b.{0,20}\b404\b
    | ^\W*(error\s*)?404\W*$
    | \b(this\s+page|that\s+page|the\s+page(\s+you\s+requested)?|this\s+content|the\s+requested\s+url|page)
        \s+(does\s+not|doesn't|no\s+longer)\s+exists?\b
    | \bpage\s+(cannot|can't|could\s+not|couldn't)\s+be\s+found\b
    | \b(page|content|video|file|document)\s+(is\s+)?(no\s+longer\s+available|unavailable|isn't\s+available
        |is\s+not\s+available|has\s+been\s+(removed|deleted))\b
    | \b(we|i)\s+(couldn't|could\s+not|can't|cannot)\s+find\b
    | \bnothing\s+(was\s+)?found\b
    """,
    re.IGNORECASE | re.VERBOSE,
)

# Every branch above needs one of these words (the "404" ones, "found", "find", "exist", "available",
# "removed", "deleted"): a title or heading holding none of them, lower-cased, is not a "not found" page.
_NOT_FOUND_WORDS = ("found", "404", "exist", "available", "removed", "deleted", "find")

# "Page 404", "Issue #404", "Chapter 404": a page's number is not an error code. Removed before the wording
# above is tried, so "Page 404" says nothing while "Error 404" and "404 - Page not found" still do.
_NUMBERED = re.compile(
    r"\b(?:page|issue|chapter|part|episode|volume|vol\.|no\.|number|section|item|pull\s+request|pr)\s*#?\s*\d+",
    re.IGNORECASE,
)

_PARKED_TEXT = re.compile(
    r"""
      \b(this|the)\s+domain(\s+name)?\s+(is|may\s+be|might\s+be)\s+for\s+sale\b
    | \b[\w-]+(\.[\w-]+)+\s+(is|may\s+be)\s+for\s+sale\b
    | \bbuy\s+this\s+domain\b
    | \bmake\s+an\s+offer\s+on\s+this\s+domain\b
    | \binquire\s+about\s+this\s+domain\b
    | \bthe\s+owner\s+of\s+[\w.-]+\s+is\s+offering\s+it\s+for\s+sale\b
    | \bthis\s+domain\s+(has\s+expired|is\s+parked)\b
    | \b(web\s*page|domain)\s+is\s+parked\b
    | \bparked\s+free\b
    | \bdomain\s+parking\b
    | ^\s*parked\s+at\b
    | \bdomain\s+has\s+been\s+(purchased\s+and\s+)?parked\b
    | \bneither\s+parkingcrew\s+nor\s+the\s+domain\s+owner\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Registrars and marketplaces that lapsed domains are sent to.
_PARKING_HOSTS = (
    "sedoparking.com", "sedo.com", "parkingcrew.net", "bodis.com", "above.com", "dan.com", "afternic.com",
    "hugedomains.com", "buydomains.com", "undeveloped.com", "domainmarket.com", "parklogic.com", "efty.com",
    "atom.com", "squadhelp.com", "brandbucket.com", "namebright.com", "domainnamesales.com",
    "parkingpage.namecheap.com", "uniregistry.com",
)
# Every wording above names a sale, a domain or parking: a page that says none of these words is not
# parked, and the (costly) pattern need not run over it. casefold and the dotless i match what re.I does.
_PARKED_WORDS = ("sale", "domain", "parked")
_PARKED_WINDOW = 5000  # parking pages are short: their wording sits at the top
_PARKING_PATHS = re.compile(r"/(forsale|domainsearch|domain-for-sale|domain_profile)", re.IGNORECASE)

_CHALLENGE_TITLE = re.compile(
    r"""
      ^\s*just\s+a\s+moment\b
    | ^\s*attention\s+required!?\s*\|\s*cloudflare
    | \bused\s+cloudflare\s+to\s+restrict\s+access\b
    | \bchecking\s+(if\s+the\s+site\s+connection\s+is\s+secure|your\s+browser)\b
    | ^\s*ddos-guard\b
    | \bverify(ing)?\s+(that\s+)?you\s+are\s+(a\s+)?human\b
    | \bare\s+you\s+a\s+robot\b
    | \brobot\s+or\s+human\b
    | \bhuman\s+verification\b
    | \bpardon\s+our\s+interruption\b
    | \baccess\s+to\s+this\s+page\s+has\s+been\s+denied\b
    | \bsucuri\s+website\s+firewall\b
    | ^\s*one\s+more\s+step\b
    | ^\s*please\s+wait\.*\s*\|\s*cloudflare\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
_CHALLENGE_TEXT = re.compile(
    r"""
      \benable\s+javascript\s+and\s+cookies\s+to\s+continue\b
    | \bverifying\s+you\s+are\s+human\b
    | \b(checking|verifying)\s+your\s+browser\b
    | \bplease\s+wait\s+while\s+your\s+request\s+is\s+being\s+verified\b
    | \bplease\s+enable\s+javascript\s+before\s+you\s+are\s+allowed\s+to\s+see\s+this\s+page\b
    | \brequest\s+unsuccessful\.\s+incapsula\s+incident\b
    | \bddos\s+protection\s+by\s+(cloudflare|ddos-guard)\b
    | \bplease\s+enable\s+js\s+and\s+disable\s+any\s+ad\s+blocker\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Every branch of _CHALLENGE_TEXT needs one of these words, of _CHALLENGE_TITLE one of the next.
_CHALLENGE_TEXT_WORDS = ("enable", "verifying", "browser", "verified", "incapsula", "ddos")
_CHALLENGE_TITLE_WORDS = (
    "moment", "cloudflare", "checking", "ddos", "human", "robot", "interruption", "denied", "sucuri", "step",
)
# A challenge page says little: its wording is only trusted on a page this short (or on a refusal status).
_CHALLENGE_PAGE_CHARS = 2000

_LOGIN_HOSTS = ("accounts.google.com", "login.microsoftonline.com", "login.live.com", "auth0.com")
_LOGIN_PATH = re.compile(
    r"/(login|log-in|signin|sign-in|sign_in|sso|session/new|users/sign_in|accounts/login|servicelogin)"
    r"(/|$|\.|\?)",
    re.IGNORECASE,
)
_ACCESS_TITLE = re.compile(
    r"""
      ^\s*(sign\s*in|log\s*in|login)\b
    | \byou\s+need\s+(access|permission)\b
    | ^\s*request\s+access\b
    | \bsign\s+in\s+-\s+google\s+accounts\b
    | [:|\u2013\u2014-]\s*sign[\s-]?in\s*$
    | \bprivate\s+(video|repository|page|group)\b
    | \bmembers\s+only\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Every branch of _ACCESS_TITLE needs one of these words ("log" for "log in" and "login").
_ACCESS_TITLE_WORDS = ("sign", "log", "need", "request", "private", "members")
_GOOGLE_DOC_HOSTS = ("docs.google.com", "drive.google.com", "sites.google.com")
_GOOGLE_ACCESS_TEXT = re.compile(r"\byou\s+need\s+(access|permission)\b|\b(ask|request)\s+(for\s+)?access\b", re.I)

_HOME_PATH = re.compile(r"(index\.(html?|php|aspx?)|home|[a-z]{2}([-_][a-z]{2,4})?)?", re.IGNORECASE)


# --- small helpers ------------------------------------------------------------------------------------



def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _on(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def _phrase(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _quote(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(text: str) -> str:
    # Typographic apostrophes ("can’t") are the norm on modern 404 pages.
    return text.replace("\u2019", "'").replace("\u2018", "'")


def _hop_text(hop: Hop) -> str:
    how = f"{hop.status} (meta refresh)" if hop.via == "meta-refresh" else str(hop.status)
    return f"{how} {hop.url}"


def chain_text(fetch: FetchResult) -> str:
    """The redirect chain as the report shows it: ``301 http://a → 200 https://b``."""
    parts = [_hop_text(h) for h in fetch.hops]
    if fetch.error is not None:
        parts.append(f"{fetch.error.value} {fetch.final_url}")
    elif fetch.status is not None:
        parts.append(f"{fetch.status} {fetch.final_url}")
    return " → ".join(parts)


def _evidence(fetch: FetchResult, **extra: str) -> dict[str, str]:
    evidence = {"chain": chain_text(fetch)} if fetch.hops else {}
    if fetch.status is not None:
        evidence["status"] = _phrase(fetch.status)
    if fetch.error_detail:
        evidence["detail"] = fetch.error_detail
    if fetch.attempts > 1:
        evidence["attempts"] = str(fetch.attempts)
    evidence.update(extra)
    return evidence


def _same_place(a: str, b: str) -> bool:
    """Equal up to the normalisations a catalog need not follow: scheme, host case, www., trailing slash."""
    return _place(a) == _place(b)


def _place(url: str) -> tuple[str, int | None, str, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return (url, None, "", "")
    host = (parts.hostname or "").lower().removeprefix("www.")
    if port in (80, 443):
        port = None
    return (host, port, parts.path.rstrip("/") or "/", parts.query)


def _known(entry: Entry, url: str) -> bool:
    return any(_same_place(url, known) for known in (entry.url or "", *entry.aliases))


def _may_say_parked(text: str) -> bool:
    folded = text.casefold().replace("\u0131", "i")
    return any(word in folded for word in _PARKED_WORDS)


def _words(page: PageText | None) -> list[str]:
    return [_plain(t) for t in (page.title, page.heading) if t.strip()] if page else []


# --- the single verdict for a problem page -------------------------------------------------------------


def _fetch_error(inp: RuleInput, fetch: FetchResult) -> Finding | None:
    error, url, detail = fetch.error, inp.entry.url, fetch.error_detail
    where = inp.entry.where
    if error in (FetchError.BLOCKED_ADDRESS, FetchError.UNSUPPORTED_SCHEME):
        return Finding(
            Code.BLOCKED_ADDRESS,
            f"{url} leads to an address the monitor refuses to fetch: {detail}.",
            _evidence(fetch),
            f"A public resource never needs this address: check the link of {where}. If the host is meant "
            "to be reached (a local mirror), allow it with --allow-host.",
        )
    if error in (FetchError.DNS, FetchError.CONNECT, FetchError.TLS, FetchError.PROTOCOL):
        host = _host(fetch.final_url)
        what = {
            FetchError.DNS: f"the name {host} does not resolve (DNS)",
            FetchError.CONNECT: f"could not connect to {host}: {detail}",
            FetchError.TLS: f"the secure connection to {host} failed: {detail}",
            FetchError.PROTOCOL: f"{host} sent a broken HTTP answer: {detail}",
        }[error]
        fix = {
            FetchError.DNS: "The domain may have lapsed: find the resource's new home (try the Wayback "
            f"Machine) and update {where}, or remove the entry.",
            FetchError.TLS: "The site's certificate is broken; an expired one is a sign the site is no "
            f"longer maintained. Look for a maintained copy and update {where} if there is one.",
        }.get(error, f"If this repeats over several runs, the site is down: update or remove {where}.")
        return Finding(Code.UNREACHABLE, f"{url} is unreachable: {what}.", _evidence(fetch), fix)
    if error is FetchError.TIMEOUT:
        return Finding(
            Code.TIMEOUT,
            f"{url} gave no complete answer in time ({detail}).",
            _evidence(fetch),
            f"If it repeats, open it in a browser; a slow but working site can be given more time with "
            f"--timeout, a dead one should be replaced in {where}.",
        )
    if error in (FetchError.REDIRECT_LOOP, FetchError.TOO_MANY_REDIRECTS):
        return Finding(
            Code.REDIRECT_LOOP,
            f"{url} never arrives anywhere: {detail}.",
            _evidence(fetch),
            f"Open it in a browser: if it fails there too, replace the link of {where}; if it works, the "
            "site needs cookies or JavaScript to settle, and the URL can go under exclude.",
        )
    if error is FetchError.RATE_LIMITED:
        return _rate_limited_finding(inp, fetch)
    return None


def _rate_limited_finding(inp: RuleInput, fetch: FetchResult) -> Finding:
    host = _host(fetch.final_url)
    return Finding(
        Code.RATE_LIMITED,
        f"{host} kept answering 429 Too Many Requests for {inp.entry.url}; the link could not be verified "
        "(this says nothing about whether it works).",
        _evidence(fetch),
        f"Nothing to change in the catalog. If it repeats, slow {host} down under hosts: in the settings.",
    )


def _bot_signal(fetch: FetchResult, page: PageText | None) -> str | None:
    if fetch.status == 999:
        return "status 999, LinkedIn's answer to automated requests"
    # fetch.py read the raw answer (monitor/challenge.py); the headers alone are asked again for answers
    # that did not come through it (a remembered one).
    known = fetch.challenge or challenge_in(fetch.status, fetch.headers, None)
    if known:
        return known
    for words in _words(page):
        if may_hold(words, _CHALLENGE_TITLE_WORDS) and _CHALLENGE_TITLE.search(words):
            return f"challenge page “{_quote(words)}”"
    if page is not None and (fetch.status in (403, 429, 503) or len(page.text) <= _CHALLENGE_PAGE_CHARS):
        top = page.text[:_CHALLENGE_PAGE_CHARS]
        found = _CHALLENGE_TEXT.search(top) if may_hold(top, _CHALLENGE_TEXT_WORDS) else None
        if found:
            return f"challenge page saying “{_quote(found.group(0))}”"
    return None


def _bot_protection(inp: RuleInput, fetch: FetchResult) -> Finding | None:
    signal = _bot_signal(fetch, inp.page)
    if signal is None:
        return None
    return Finding(
        Code.BOT_PROTECTION,
        f"{_host(fetch.final_url)} answered with a bot wall ({signal}): the link could not be verified; "
        "it is not dead.",
        _evidence(fetch, signal=signal),
        "Check it once by hand in a browser. If the wall is permanent, list the URL under exclude so the "
        "report stays quiet about it.",
    )


def _parked_signal(inp: RuleInput, fetch: FetchResult) -> str | None:
    final = _host(fetch.final_url)
    if fetch.hops and final != _host(inp.entry.url or ""):
        if _on(final, _PARKING_HOSTS):
            return f"redirected to the domain marketplace {final}"
        if _on(final, ("godaddy.com",)) and _PARKING_PATHS.search(urlsplit(fetch.final_url).path):
            return "redirected to a GoDaddy domain sale page"
    if inp.page is not None and (fetch.status or 0) < 400:
        for text in (*_words(inp.page), _plain(inp.page.text[:_PARKED_WINDOW])):
            found = _PARKED_TEXT.search(text) if _may_say_parked(text) else None
            if found:
                return f"the page says “{_quote(found.group(0))}”"
    return None


def _parked(inp: RuleInput, fetch: FetchResult) -> Finding | None:
    signal = _parked_signal(inp, fetch)
    if signal is None:
        return None
    return Finding(
        Code.PARKED_DOMAIN,
        f"{_host(inp.entry.url or '')} now shows a parking or domain-for-sale page ({signal}): the domain has "
        "probably lapsed and the resource is gone from it.",
        _evidence(fetch, signal=signal),
        f"Find where the resource lives now (the Wayback Machine has the old pages) and update {inp.entry.where}, "
        "or remove the entry.",
    )


def _access_signal(inp: RuleInput, fetch: FetchResult) -> str | None:
    if fetch.status in (401, 403, 407) and not fetch.accepted:
        return _phrase(fetch.status)
    final = urlsplit(fetch.final_url)
    final_host = (final.hostname or "").lower()
    if fetch.hops and _on(final_host, _LOGIN_HOSTS):
        return f"redirected to sign in at {final_host}"
    original = urlsplit(inp.entry.url or "")
    if fetch.hops and _LOGIN_PATH.search(final.path + "?") and not _LOGIN_PATH.search(original.path + "?"):
        return f"redirected to the login page {fetch.final_url}"
    for words in _words(inp.page):
        if may_hold(words, _ACCESS_TITLE_WORDS) and _ACCESS_TITLE.search(words):
            return f"the page says “{_quote(words)}”"
    if inp.page is not None and _on(final_host, _GOOGLE_DOC_HOSTS):
        found = _GOOGLE_ACCESS_TEXT.search(inp.page.text[:3000])
        if found:
            return f"Google says “{found.group(0)}”"
    return None


def _access_restricted(inp: RuleInput, fetch: FetchResult) -> Finding | None:
    signal = _access_signal(inp, fetch)
    if signal is None:
        return None
    google = _on(_host(inp.entry.url or ""), _GOOGLE_DOC_HOSTS)
    fix = (
        "If the document should be public, ask its owner to share it as “Anyone with the link”; "
        if google
        else "If the resource should be public, tell its owner; "
    )
    return Finding(
        Code.ACCESS_RESTRICTED,
        f"{inp.entry.url} is behind a login or permission wall ({signal}): readers without an account "
        "cannot open it.",
        _evidence(fetch, signal=signal),
        fix + f"otherwise say so in the notes of {inp.entry.where}, or link a public copy.",
    )


def _rate_limited_status(inp: RuleInput, fetch: FetchResult) -> Finding | None:
    return _rate_limited_finding(inp, fetch) if fetch.status == 429 and not fetch.accepted else None


def _dead(inp: RuleInput, fetch: FetchResult) -> Finding | None:
    status = fetch.status
    if status is None or fetch.accepted or not 400 <= status < 500 or status in (401, 403, 407, 408, 425, 429):
        return None
    return Finding(
        Code.DEAD_LINK,
        f"{inp.entry.url} answers {_phrase(status)}: the page is gone"
        + (f" (reached through {len(fetch.hops)} redirect(s))." if fetch.hops else "."),
        _evidence(fetch),
        f"Find the resource's new address (search its title, or the Wayback Machine) and update "
        f"{inp.entry.where}, or remove the entry.",
    )


def _http_error(inp: RuleInput, fetch: FetchResult) -> Finding | None:
    status = fetch.status
    if status is None or fetch.accepted or fetch.not_modified or 200 <= status < 300:
        return None
    after = f" after {fetch.attempts} attempts" if fetch.attempts > 1 else ""
    kind = "a server error" if status >= 500 else "an unexpected status"
    return Finding(
        Code.HTTP_ERROR,
        f"{inp.entry.url} answers {_phrase(status)}{after}: {kind}.",
        _evidence(fetch),
        f"A server error that lasts over several runs means the site is broken: check it, and update "
        f"{inp.entry.where} if the resource moved elsewhere.",
    )


def _deep_link_went_home(inp: RuleInput, fetch: FetchResult) -> bool:
    if not fetch.hops or _known(inp.entry, fetch.final_url):
        return False
    original = urlsplit(inp.entry.url or "").path.strip("/")
    final = urlsplit(fetch.final_url).path.strip("/")
    return not _HOME_PATH.fullmatch(original) and bool(_HOME_PATH.fullmatch(final))


def _soft_404(inp: RuleInput, fetch: FetchResult) -> Finding | None:
    if fetch.status is None or not 200 <= fetch.status < 300:
        return None
    where = inp.entry.where
    fix = f"Find the resource's new address (search its title, or the Wayback Machine) and update {where}."
    for words in _words(inp.page):
        # _NUMBERED's blanks leave no word that was not in the words already: the check may come first.
        if may_hold(words, _NOT_FOUND_WORDS) and _NOT_FOUND.search(_NUMBERED.sub(" ", words)):
            return Finding(
                Code.SOFT_404,
                f"{inp.entry.url} answers {fetch.status}, but the page says “{_quote(words)}”: it is a "
                "“not found” page served as a success.",
                _evidence(fetch, title=_quote(words)),
                fix,
            )
    if _deep_link_went_home(inp, fetch):
        return Finding(
            Code.SOFT_404,
            f"{inp.entry.url} now redirects to the site's home page {fetch.final_url}: the linked page is gone.",
            _evidence(fetch),
            fix,
        )
    return None


_Detector = Callable[[RuleInput, FetchResult], Finding | None]
# Order matters: the first detector that finds something is the page's one verdict.
_VERDICTS: tuple[_Detector, ...] = (
    _fetch_error,
    _bot_protection,
    _rate_limited_status,
    _parked,
    _access_restricted,
    _dead,
    _http_error,
    _soft_404,
)


class _LastVerdict:
    """The verdict of the last input diagnosed: every rule of this module asks for it, one input at a time
    (fifteen verdict passes per entry were a sixth of a run's CPU). Held by identity, and the input is
    kept alive with it, so a new input can never be mistaken for the last one. Input and verdict are one
    tuple, swapped whole: a page read on the event loop while the worker thread reads another (a worker of
    one is a thread) never gets the other's verdict."""

    def __init__(self) -> None:
        self.last: tuple[RuleInput | None, Finding | None] = (None, None)

    def of(self, inp: RuleInput) -> Finding | None:
        last = self.last
        if last[0] is not inp:
            last = (inp, _diagnose(inp))
            self.last = last
        return last[1]


_last_verdict = _LastVerdict()


def diagnose(inp: RuleInput) -> Finding | None:
    """The one problem with the page behind the entry's link, or None when the link works."""
    return _last_verdict.of(inp)


def _diagnose(inp: RuleInput) -> Finding | None:
    fetch = inp.fetch
    if fetch is None or fetch.error is FetchError.NOT_CHECKED:
        return None
    for detector in _VERDICTS:
        finding = detector(inp, fetch)
        if finding is not None:
            return finding
    return None


def _verdict(inp: RuleInput, code: Code) -> list[Finding]:
    finding = diagnose(inp)
    return [finding] if finding is not None and finding.code is code else []


def _healthy(inp: RuleInput) -> FetchResult | None:
    """The fetch result when the link works (the other rules only speak then)."""
    fetch = inp.fetch
    if fetch is None or fetch.error is not None or fetch.status is None or diagnose(inp) is not None:
        return None
    return fetch


# --- the rules ------------------------------------------------------------------------------------------


def blocked_address(inp: RuleInput) -> list[Finding]:
    """`blocked-address` (error): the URL or one of its redirects points at a private, loopback or
    link-local address (such as a cloud metadata service at 169.254.169.254), or at a scheme other than
    http/https (``file:``, ``javascript:``...). The monitor refuses to follow it; a public link never
    needs it."""
    return _verdict(inp, Code.BLOCKED_ADDRESS)


def unreachable(inp: RuleInput) -> list[Finding]:
    """`unreachable` (error): no HTTP answer at all. The message says which: the name does not resolve
    (DNS: often a lapsed domain), the connection was refused or reset, the TLS certificate is expired,
    self-signed or for another host, or the server's answer was not valid HTTP."""
    return _verdict(inp, Code.UNREACHABLE)


def timeout(inp: RuleInput) -> list[Finding]:
    """`timeout` (error): no complete answer within the deadline (``--timeout``), retries included."""
    return _verdict(inp, Code.TIMEOUT)


def redirect_loop(inp: RuleInput) -> list[Finding]:
    """`redirect-loop` (error): the redirects come back to a URL already visited, or there are more of
    them than ``--max-redirects``."""
    return _verdict(inp, Code.REDIRECT_LOOP)


def bot_protection(inp: RuleInput) -> list[Finding]:
    """`bot-protection` (warning): a bot wall answered instead of the page (a Cloudflare challenge,
    "Just a moment...", LinkedIn's status 999, AWS WAF, DataDome and the like). The link could not be
    verified; it is not reported as dead."""
    return _verdict(inp, Code.BOT_PROTECTION)


def rate_limited(inp: RuleInput) -> list[Finding]:
    """`rate-limited` (warning): the site still answered 429 Too Many Requests after the monitor honoured
    its Retry-After, or asked for a longer wait than the cap. The link could not be verified."""
    return _verdict(inp, Code.RATE_LIMITED)


def parked_domain(inp: RuleInput) -> list[Finding]:
    """`parked-domain` (error): the domain now shows a parking or "domain for sale" page, or redirects
    to a domain marketplace (Sedo, Dan, Afternic, HugeDomains...): the classic fate of a lapsed domain."""
    return _verdict(inp, Code.PARKED_DOMAIN)


def access_restricted(inp: RuleInput) -> list[Finding]:
    """`access-restricted` (warning): a login or permission wall: 401/403, a redirect to a sign-in page
    (accounts.google.com and the like), or Google Docs' "You need access". The page may be fine for
    people with an account, but the hub's readers cannot open it."""
    return _verdict(inp, Code.ACCESS_RESTRICTED)


def dead_link(inp: RuleInput) -> list[Finding]:
    """`dead-link` (error): the server says the page is gone: 404 Not Found, 410 Gone, or another
    permanent client error (after a second try later in the run)."""
    return _verdict(inp, Code.DEAD_LINK)


def http_error(inp: RuleInput) -> list[Finding]:
    """`http-error` (error): a 5xx server error, or another unexpected status, that persisted through
    the retries and the second pass."""
    return _verdict(inp, Code.HTTP_ERROR)


def soft_404(inp: RuleInput) -> list[Finding]:
    """`soft-404` (error): the page answers 200 but its title or main heading says it was not found
    ("Page not found", "This page doesn't exist", "Oops! That page can't be found"...), or a deep link
    now redirects to the site's home page."""
    return _verdict(inp, Code.SOFT_404)


def _first_permanent_target(fetch: FetchResult) -> tuple[str, int] | None:
    """Where the leading run of permanent redirects points: the address the catalog should use."""
    target: tuple[str, int] | None = None
    for hop in fetch.hops:
        # A meta refresh is how static sites (GitHub Pages' redirect_from) say "moved".
        if hop.location is None or not (hop.status in PERMANENT or hop.via == "meta-refresh"):
            break
        target = (hop.location, hop.status)
    return target


def _normalisations(old: str, new: str) -> str:
    a, b = urlsplit(old), urlsplit(new)
    changes = []
    if a.scheme != b.scheme:
        changes.append(f"{a.scheme}→{b.scheme}")
    old_host, new_host = (a.hostname or ""), (b.hostname or "")
    if old_host.removeprefix("www.") != new_host.removeprefix("www.") or old_host != new_host:
        changes.append("www." if old_host.startswith("www.") != new_host.startswith("www.") else "host case")
    if a.path.rstrip("/") == b.path.rstrip("/") and a.path != b.path:
        changes.append("trailing slash")
    return ", ".join(changes) or "same address"


def moved_permanently(inp: RuleInput) -> list[Finding]:
    """`moved-permanently` (warning): the link answers with a permanent redirect (301/308, or a meta
    refresh) to a different address that is not among the entry's `aliases`. The message gives the
    new URL and the catalog line to change."""
    fetch = _healthy(inp)
    moved = _first_permanent_target(fetch) if fetch else None
    if fetch is None or moved is None or not inp.entry.url:
        return []
    new, status = moved
    if _same_place(new, inp.entry.url) or _known(inp.entry, new) or _known(inp.entry, fetch.final_url):
        return []
    how = "meta refresh" if status == 200 else _phrase(status)
    return [
        Finding(
            Code.MOVED_PERMANENTLY,
            f"{inp.entry.url} has moved permanently ({how}) to {new}.",
            _evidence(fetch, new_url=new),
            f"Change url of {inp.entry.where} to {new}, or add that address to its aliases if both "
            "are the same resource.",
        )
    ]


def redirected(inp: RuleInput) -> list[Finding]:
    """`redirected` (info): the link redirects temporarily (302/303/307), or only by a harmless
    normalisation (http→https, host case, `www.`, trailing slash). Nothing needs to change."""
    fetch = _healthy(inp)
    if fetch is None or not fetch.hops or not inp.entry.url or moved_permanently(inp):
        return []
    if any(_same_place(fetch.final_url, alias) for alias in inp.entry.aliases):
        return []
    if _same_place(fetch.final_url, inp.entry.url):
        what = _normalisations(inp.entry.url, fetch.final_url)
        return [
            Finding(
                Code.REDIRECTED,
                f"{inp.entry.url} redirects to {fetch.final_url} (only {what}).",
                _evidence(fetch),
                f"Optional: set url of {inp.entry.where} to {fetch.final_url} to save a redirect.",
            )
        ]
    first = fetch.hops[0]
    temporary = next((h for h in fetch.hops if h.status in TEMPORARY), first)
    return [
        Finding(
            Code.REDIRECTED,
            f"{inp.entry.url} redirects temporarily ({_phrase(temporary.status)}) to {fetch.final_url}; "
            "nothing to change unless it becomes permanent.",
            _evidence(fetch),
        )
    ]


def _fragment(inp: RuleInput, fetch: FetchResult) -> str:
    raw = urlsplit(fetch.final_url).fragment or urlsplit(inp.entry.url or "").fragment
    # A text fragment (#section:~:text=...) highlights text; only the part before it names an element.
    return unquote(raw.split(":~:", 1)[0])


def _names_an_element(fragment: str) -> bool:
    # "#top" always works; "#!/x", "#/x" and "#a=b" are app routes or viewer parameters, not element ids.
    return bool(fragment) and fragment.lower() != "top" and not fragment.startswith(("!", "/")) and "=" not in fragment


def missing_anchor(inp: RuleInput) -> list[Finding]:
    """`missing-anchor` (warning): the link's `#fragment` names no element (`id` or `name`) on the page,
    GitHub's `user-content-` prefix for README headings included: the section was renamed or removed.
    Where the page is rendered by JavaScript the check is skipped (`anchor-unverified`, info)."""
    fetch = _healthy(inp)
    if fetch is None or inp.page is None:
        return []
    fragment = _fragment(inp, fetch)
    if not _names_an_element(fragment):
        return []
    ids = inp.page.ids
    candidates = {fragment, f"user-content-{fragment}", f"user-content-{fragment.lower()}"}
    if candidates & ids:
        return []
    if inp.page.js_rendered:
        return [
            Finding(
                Code.ANCHOR_UNVERIFIED,
                f"#{fragment} could not be checked: {fetch.final_url} is rendered by JavaScript, so its "
                "sections are not in the page the monitor receives.",
                {"fragment": fragment},
            )
        ]
    return [
        Finding(
            Code.MISSING_ANCHOR,
            f"#{fragment} names no element on {fetch.final_url}: the section was probably renamed or removed.",
            {"fragment": fragment, "checked_page": fetch.final_url},
            f"Point the fragment in url of {inp.entry.where} at the section's new id, or drop the fragment.",
        )
    ]


def too_large(inp: RuleInput) -> list[Finding]:
    """`too-large` (warning): the page is bigger than ``--max-body`` (after decompression); only its first
    part was read and analysed."""
    fetch = _healthy(inp)
    if fetch is None or not fetch.truncated:
        return []
    read = f"{len(fetch.body)} bytes" if fetch.body is not None else "the body cap"
    return [
        Finding(
            Code.TOO_LARGE,
            f"{fetch.final_url} is larger than the monitor reads ({read}); only the first part was analysed.",
            {"read": read},
            "Raise --max-body if the text the checks need lies further down the page.",
        )
    ]


RULES: list[Rule] = [
    blocked_address,
    unreachable,
    timeout,
    redirect_loop,
    bot_protection,
    rate_limited,
    parked_domain,
    access_restricted,
    dead_link,
    http_error,
    soft_404,
    moved_permanently,
    redirected,
    missing_anchor,
    too_large,
]
