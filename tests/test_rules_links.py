"""Link rules as pure functions: hand-built fetch results and page texts in, findings out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitor.findings import Code, Finding, Severity
from monitor.models import Entry, FetchError, FetchResult, Hop, PageText
from monitor.rules import RuleInput, links
from monitor.rules.links import RULES, chain_text

URL = "https://site.example/guide/intro"


@dataclass
class Case:
    fetch: FetchResult | None
    page: PageText | None = None
    url: str = URL
    aliases: tuple[str, ...] = ()
    expect: list[Code] = field(default_factory=list)


def ok(url: str = URL, status: int = 200, hops: tuple[Hop, ...] = (), **kw: object) -> FetchResult:
    final = hops[-1].location if hops and hops[-1].location else url
    return FetchResult(url=url, final_url=kw.pop("final", final), status=status, hops=hops, **kw)  # type: ignore[arg-type]


def failed(error: FetchError, detail: str, status: int | None = None, **kw: object) -> FetchResult:
    return FetchResult(url=URL, final_url=URL, status=status, error=error, error_detail=detail, **kw)  # type: ignore[arg-type]


def hop(url: str, status: int, location: str, via: str = "http") -> Hop:
    return Hop(url=url, status=status, location=location, via=via)


def page(title: str = "Guide", heading: str = "", text: str = "", ids: set[str] | None = None,
         js: bool = False) -> PageText:
    return PageText(title=title, heading=heading, text=text, ids=frozenset(ids or ()), js_rendered=js)


def findings(case: Case) -> list[Finding]:
    entry = Entry(id="guide", section="Learning", title="Guide", url=case.url, aliases=case.aliases, line=12)
    inp = RuleInput(entry=entry, fetch=case.fetch, page=case.page, today=date(2026, 11, 25))
    return [f for rule in RULES for f in rule(inp)]


def codes(case: Case) -> list[Code]:
    return [f.code for f in findings(case)]


HOME = "https://site.example/"
CASES: dict[str, Case] = {
    # healthy
    "200": Case(ok(), page()),
    "304 not modified": Case(ok(status=304, not_modified=True), page()),
    "no url": Case(None),
    "not checked": Case(failed(FetchError.NOT_CHECKED, "excluded by the pattern 'x'")),
    "accepted 403": Case(ok(status=403, accepted=True), page()),
    "title mentioning 404 but fine": Case(ok(), page(title="404 Media", heading="Independent journalism")),
    # dead and broken
    "404": Case(ok(status=404), page(title="404 Not Found"), expect=[Code.DEAD_LINK]),
    "410": Case(ok(status=410), expect=[Code.DEAD_LINK]),
    "400": Case(ok(status=400), expect=[Code.DEAD_LINK]),
    "404 after a 301": Case(
        ok(status=404, hops=(hop(URL, 301, "https://site.example/new"),)), expect=[Code.DEAD_LINK]
    ),
    "404 with a fragment": Case(ok(URL + "#setup", status=404), page(), url=URL + "#setup", expect=[Code.DEAD_LINK]),
    "500 after retries": Case(ok(status=500, attempts=4), expect=[Code.HTTP_ERROR]),
    "3xx without location": Case(ok(status=300), expect=[Code.HTTP_ERROR]),
    "dns": Case(failed(FetchError.DNS, "site.example does not resolve: Name or service not known"),
                expect=[Code.UNREACHABLE]),
    "refused": Case(failed(FetchError.CONNECT, "connection refused"), expect=[Code.UNREACHABLE]),
    "tls expired": Case(failed(FetchError.TLS, "TLS certificate rejected: certificate has expired"),
                        expect=[Code.UNREACHABLE]),
    "broken http": Case(failed(FetchError.PROTOCOL, "illegal header line", status=200), expect=[Code.UNREACHABLE]),
    "timeout": Case(failed(FetchError.TIMEOUT, "no complete answer within 20 s"), expect=[Code.TIMEOUT]),
    "timeout mid-body": Case(failed(FetchError.TIMEOUT, "no complete answer within 20 s", status=200),
                             page(), expect=[Code.TIMEOUT]),
    "loop": Case(failed(FetchError.REDIRECT_LOOP, "the chain returns to " + URL), expect=[Code.REDIRECT_LOOP]),
    "too many": Case(failed(FetchError.TOO_MANY_REDIRECTS, "more than 10 redirects"), expect=[Code.REDIRECT_LOOP]),
    "blocked": Case(
        failed(FetchError.BLOCKED_ADDRESS, "169.254.169.254 is a link-local address",
               hops=(hop(URL, 302, "http://169.254.169.254/"),)),
        expect=[Code.BLOCKED_ADDRESS],
    ),
    "javascript redirect": Case(
        failed(FetchError.UNSUPPORTED_SCHEME, "points to a javascript: URL"), expect=[Code.BLOCKED_ADDRESS]
    ),
    # walls: never dead
    "429 after retries": Case(failed(FetchError.RATE_LIMITED, "still 429", status=429), expect=[Code.RATE_LIMITED]),
    "retry-after beyond cap": Case(failed(FetchError.RATE_LIMITED, "asked to wait 3600 s"),
                                   expect=[Code.RATE_LIMITED]),
    "cloudflare header": Case(ok(status=403, headers={"cf-mitigated": "challenge"}), page(title="Just a moment..."),
                              expect=[Code.BOT_PROTECTION]),
    "cloudflare title on 503": Case(ok(status=503), page(title="Just a moment..."), expect=[Code.BOT_PROTECTION]),
    "cloudflare text on 403": Case(
        ok(status=403, headers={"server": "cloudflare"}),
        page(title="site.example", text="Enable JavaScript and cookies to continue"),
        expect=[Code.BOT_PROTECTION],
    ),
    "linkedin 999": Case(ok(status=999), expect=[Code.BOT_PROTECTION]),
    # older Cloudflare generations (#11): a 503 from Server: cloudflare is a wall when the page says so
    "cloudflare please wait on 503": Case(ok(status=503, headers={"server": "cloudflare"}),
                                          page(title="Please Wait... | Cloudflare", heading="Please wait..."),
                                          expect=[Code.BOT_PROTECTION]),
    "cloudflare checking your browser on 503": Case(
        ok(status=503, headers={"server": "cloudflare"}),
        page(title="site.example", text="Checking your browser before accessing site.example. Please enable cookies."),
        expect=[Code.BOT_PROTECTION],
    ),
    "origin 503 through cloudflare is an error": Case(ok(status=503, headers={"server": "cloudflare"}),
                                                      page(title="Service Unavailable"), expect=[Code.HTTP_ERROR]),
    "challenge recognised by fetch": Case(ok(status=503, challenge="Cloudflare JavaScript challenge (jschl_vc)"),
                                          page(title=""), expect=[Code.BOT_PROTECTION]),
    "ddos-guard 403": Case(ok(status=403, headers={"server": "ddos-guard"}), page(title="DDoS-Guard"),
                           expect=[Code.BOT_PROTECTION]),
    "datadome 403": Case(ok(status=403, headers={"x-datadome": "protected"}), expect=[Code.BOT_PROTECTION]),
    "datadome block text": Case(
        ok(status=403), page(title="shop.example", text="Please enable JS and disable any ad blocker"),
        expect=[Code.BOT_PROTECTION],
    ),
    "datadome header on a page it let through": Case(ok(headers={"x-datadome": "protected"}), page(title="News")),
    "akamai 403": Case(ok(status=403, headers={"server": "AkamaiGHost"}), page(title="Access Denied"),
                       expect=[Code.BOT_PROTECTION]),
    "a long article about browser checks is no wall": Case(
        ok(), page(title="How bot walls work", text="Checking your browser before accessing a site. " * 60)
    ),
    "aws waf": Case(ok(status=202, headers={"x-amzn-waf-action": "challenge"}), expect=[Code.BOT_PROTECTION]),
    "401": Case(ok(status=401), expect=[Code.ACCESS_RESTRICTED]),
    "403": Case(ok(status=403), page(title="Forbidden"), expect=[Code.ACCESS_RESTRICTED]),
    "google sign-in redirect": Case(
        ok("https://docs.google.com/document/d/abc/edit",
           hops=(hop("https://docs.google.com/document/d/abc/edit", 302,
                     "https://accounts.google.com/ServiceLogin?continue=x"),)),
        page(title="Sign in - Google Accounts"),
        url="https://docs.google.com/document/d/abc/edit",
        expect=[Code.ACCESS_RESTRICTED],
    ),
    "google you need access": Case(
        ok("https://docs.google.com/document/d/abc/edit"),
        page(title="Google Docs", text="You need access. Ask for access, or switch to an account with access."),
        url="https://docs.google.com/document/d/abc/edit",
        expect=[Code.ACCESS_RESTRICTED],
    ),
    "google drive sign-in interstitial": Case(ok("https://drive.google.com/drive/folders/abc"),
                                              page(title="Google Drive: Sign-in"),
                                              url="https://drive.google.com/drive/folders/abc",
                                              expect=[Code.ACCESS_RESTRICTED]),
    "a guide about signing in is no wall": Case(ok(), page(title="How to sign in with a passkey")),
    "login redirect": Case(
        ok(hops=(hop(URL, 302, "https://site.example/login?next=/guide/intro"),)), page(title="Welcome back"),
        expect=[Code.ACCESS_RESTRICTED],
    ),
    # soft 404 and parked
    "soft 404 title": Case(ok(), page(title="Page Not Found | Site"), expect=[Code.SOFT_404]),
    "soft 404 heading with curly apostrophe": Case(
        ok(), page(title="Site", heading="Oops! That page can’t be found."), expect=[Code.SOFT_404]
    ),
    "soft 404 doesn't exist": Case(ok(), page(heading="This page doesn't exist"), expect=[Code.SOFT_404]),
    "soft 404 error 404": Case(ok(), page(title="Error 404 - Site"), expect=[Code.SOFT_404]),
    "soft 404 404 - page not found": Case(ok(), page(title="404 - Page not found"), expect=[Code.SOFT_404]),
    "soft 404 page not found": Case(ok(), page(heading="Page not found"), expect=[Code.SOFT_404]),
    "soft 404 template titled page 404 that says not found": Case(
        ok(), page(title="Page 404 | Not Found"), expect=[Code.SOFT_404]
    ),
    # a page's number is not an error code (#15)
    "page 404 of a paginated list": Case(ok(), page(title="Page 404", heading="Page 404")),
    "issue 404 of a newsletter": Case(ok(), page(title="Issue 404 - This Week in Rust")),
    "github issue number 404": Case(ok(), page(title="Crash on the error page · Issue #404 · acme/site")),
    "chapter 404": Case(ok(), page(title="Chapter 404", heading="Chapter 404: Disorders of the Parathyroids")),
    "error #404 is still an error": Case(ok(), page(title="Error #404"), expect=[Code.SOFT_404]),
    # developers often title their 404 template "Page 404"; its heading still says what it is
    "404 template titled page 404": Case(ok(), page(title="Page 404", heading="404 error"), expect=[Code.SOFT_404]),
    "deep link to home": Case(ok(hops=(hop(URL, 301, HOME),)), page(title="Site"), expect=[Code.SOFT_404]),
    "deep link to language home": Case(ok(hops=(hop(URL, 302, HOME + "en/"),)), page(), expect=[Code.SOFT_404]),
    "parked text": Case(ok(), page(title="site.example", text="This domain is for sale! Make an offer."),
                        expect=[Code.PARKED_DOMAIN]),
    "parked title": Case(ok(), page(title="site.example is for sale"), expect=[Code.PARKED_DOMAIN]),
    "parking service": Case(ok(hops=(hop(URL, 302, "https://www.sedoparking.com/site.example"),)), page(title=""),
                            expect=[Code.PARKED_DOMAIN]),
    "godaddy sale page": Case(
        ok(hops=(hop(URL, 302, "https://www.godaddy.com/forsale/site.example?utm=x"),)), page(),
        expect=[Code.PARKED_DOMAIN],
    ),
    # redirects of a working page
    "moved": Case(ok(hops=(hop(URL, 301, "https://new.example/guide"),)), page(), expect=[Code.MOVED_PERMANENTLY]),
    "moved by 308 then temporary": Case(
        ok(hops=(hop(URL, 308, "https://new.example/guide"), hop("https://new.example/guide", 302,
                                                                  "https://new.example/guide?lang=en"))),
        page(), expect=[Code.MOVED_PERMANENTLY],
    ),
    "moved by meta refresh": Case(
        ok(hops=(hop(URL, 200, "https://new.example/guide", via="meta-refresh"),)), page(),
        expect=[Code.MOVED_PERMANENTLY],
    ),
    "moved to an alias": Case(
        ok(hops=(hop(URL, 301, "https://mirror.example/guide"),)), page(), aliases=("https://mirror.example/guide",)
    ),
    "https upgrade": Case(
        ok("http://site.example/guide/intro", hops=(hop("http://site.example/guide/intro", 301, URL),)), page(),
        url="http://site.example/guide/intro", expect=[Code.REDIRECTED],
    ),
    "trailing slash": Case(ok(hops=(hop(URL, 301, URL + "/"),)), page(), expect=[Code.REDIRECTED]),
    "www": Case(ok(hops=(hop(URL, 301, "https://www.site.example/guide/intro"),)), page(), expect=[Code.REDIRECTED]),
    "temporary": Case(ok(hops=(hop(URL, 302, "https://site.example/guide/intro-2026"),)), page(),
                      expect=[Code.REDIRECTED]),
    "https then temporary": Case(
        ok("http://site.example/guide/intro", hops=(hop("http://site.example/guide/intro", 301, URL),
                                                     hop(URL, 307, "https://site.example/guide/v2"))),
        page(), url="http://site.example/guide/intro", expect=[Code.REDIRECTED],
    ),
    # fragments and size
    "anchor present": Case(ok(URL + "#setup"), page(ids={"setup"}), url=URL + "#setup"),
    "anchor via github prefix": Case(ok(URL + "#Setup"), page(ids={"user-content-setup"}), url=URL + "#Setup"),
    "anchor percent-encoded": Case(ok(URL + "#caf%C3%A9"), page(ids={"café"}), url=URL + "#caf%C3%A9"),
    "anchor missing": Case(ok(URL + "#setup"), page(ids={"install"}), url=URL + "#setup",
                           expect=[Code.MISSING_ANCHOR]),
    "anchor on a js app": Case(ok(URL + "#setup"), page(js=True), url=URL + "#setup",
                               expect=[Code.ANCHOR_UNVERIFIED]),
    "anchor top": Case(ok(URL + "#top"), page(), url=URL + "#top"),
    "anchor route": Case(ok(URL + "#/docs/a"), page(), url=URL + "#/docs/a"),
    "anchor text fragment": Case(ok(URL + "#setup:~:text=pip"), page(ids={"setup"}), url=URL + "#setup:~:text=pip"),
    "truncated": Case(ok(truncated=True, body=b"x" * 100), page(), expect=[Code.TOO_LARGE]),
    "moved and anchor missing": Case(
        ok(URL + "#setup", hops=(hop(URL + "#setup", 301, "https://new.example/guide#setup"),)),
        page(ids=set()), url=URL + "#setup", expect=[Code.MOVED_PERMANENTLY, Code.MISSING_ANCHOR],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_link_rules(name: str) -> None:
    assert codes(CASES[name]) == CASES[name].expect


@pytest.mark.parametrize("name", list(CASES))
def test_every_finding_is_actionable(name: str) -> None:
    for finding in findings(CASES[name]):
        assert finding.message.strip()
        if finding.severity is not Severity.INFO:
            assert finding.fix, f"{finding.code} has no fix"


def test_a_problem_page_gets_exactly_one_verdict() -> None:
    verdicts = {
        Code.DEAD_LINK, Code.UNREACHABLE, Code.TIMEOUT, Code.HTTP_ERROR, Code.REDIRECT_LOOP, Code.BLOCKED_ADDRESS,
        Code.SOFT_404, Code.PARKED_DOMAIN, Code.ACCESS_RESTRICTED, Code.BOT_PROTECTION, Code.RATE_LIMITED,
    }
    for name, case in CASES.items():
        found = [c for c in codes(case) if c in verdicts]
        assert len(found) <= 1, name
        if found:
            assert codes(case) == found, f"{name}: a problem page gets nothing else"


def test_dead_link_message_and_fix() -> None:
    (finding,) = findings(CASES["404 after a 301"])
    assert "answers 404 Not Found" in finding.message
    assert finding.evidence["chain"] == f"301 {URL} → 404 https://site.example/new"
    assert "entry guide (catalog line 12)" in (finding.fix or "")


def test_moved_permanently_names_the_new_url_and_the_line() -> None:
    (finding,) = findings(CASES["moved by 308 then temporary"])
    assert "to https://new.example/guide." in finding.message
    assert finding.evidence["new_url"] == "https://new.example/guide"
    assert finding.fix is not None and finding.fix.startswith(
        "Change url of entry guide (catalog line 12) to https://new.example/guide"
    )


def test_unreachable_says_which() -> None:
    assert "does not resolve (DNS)" in findings(CASES["dns"])[0].message
    assert "connection refused" in findings(CASES["refused"])[0].message
    assert "certificate has expired" in findings(CASES["tls expired"])[0].message


def test_redirected_names_the_normalisation() -> None:
    assert "only http→https" in findings(CASES["https upgrade"])[0].message
    assert "only trailing slash" in findings(CASES["trailing slash"])[0].message
    assert "only www." in findings(CASES["www"])[0].message
    assert "temporarily (302 Found)" in findings(CASES["temporary"])[0].message


def test_walls_are_explained_as_unverified_not_dead() -> None:
    assert "not dead" in findings(CASES["cloudflare header"])[0].message
    assert "could not be verified" in findings(CASES["429 after retries"])[0].message
    assert "Anyone with the link" in (findings(CASES["google you need access"])[0].fix or "")


def test_chain_text_marks_meta_refresh() -> None:
    fetch = ok(hops=(hop(URL, 200, "https://new.example/", via="meta-refresh"),))
    assert chain_text(fetch) == f"200 (meta refresh) {URL} → 200 https://new.example/"


# Words of every wording the verdicts look for in a title, heading or page top, and characters re.IGNORECASE
# takes for ASCII letters: the word pre-checks must never rule out a text that the wording's pattern matches.
_WALL_PARTS = [
    "Just a moment", "...", "Attention Required!", "|", "Cloudflare", "used Cloudflare to restrict access", "checking",
    "your browser", "if the site connection is secure", "DDoS-Guard", "verify", "verifying", "you are", "a human",
    "Are you a robot?", "robot or human", "Human verification", "Pardon Our Interruption", "denied", "has been",
    "Access to this page", "Sucuri WebSite Firewall", "One more step", "Please wait", "enable JavaScript and cookies",
    "to continue", "while your request is being verified", "before you are allowed to see this page",
    "Request unsuccessful. Incapsula incident", "DDoS protection by", "enable JS and disable any ad blocker",
    "Sign in", "Log in", "Login", "You need access", "you need permission", "Request access", "- Google Accounts",
    ": Sign-in", "Private repository", "Members only", "Page", "not found", "Not Found", "404", "Error", "Page 404",
    "Issue #404", "This page", "doesn't exist", "does not exist", "no longer exists", "can't be found", "We",
    "couldn't find", "Nothing was found", "Video", "is unavailable", "isn't available", "has been removed",
    "deleted", "word", "\n", " ", "-", "\u0131", "\u0130", "\u017f", "\u212a", "SIGN \u0130N", "\u017fign in",
    "ver\u0131fy\u0131ng",
]  # fmt: skip


@settings(max_examples=400, deadline=None, database=None)
@given(
    title=st.lists(st.sampled_from(_WALL_PARTS), max_size=8).map(" ".join),
    heading=st.lists(st.sampled_from(_WALL_PARTS), max_size=8).map("".join),
    text=st.lists(st.sampled_from(_WALL_PARTS), max_size=30).map(" ".join),
    status=st.sampled_from([200, 403, 503]),
)
@example(title="Error 404", heading="", text="", status=200)
@example(title="", heading="Sign \u0130n", text="", status=200)
@example(title="", heading="", text="Ver\u0131fying you are human", status=503)
def test_word_prechecks_never_change_a_verdict(title: str, heading: str, text: str, status: int) -> None:
    # Only a text holding a word its pattern needs is searched; with every text searched, the verdict is the same.
    def verdict() -> Finding | None:
        inp = RuleInput(Entry("guide", "Guides", "Guide", URL), ok(status=status), page(title, heading, text),
                        date(2026, 11, 25))
        return links.diagnose(inp)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(links, "may_hold", lambda text, words: True)
        searched = verdict()
    assert verdict() == searched


# One wording for each branch of the patterns the pre-checks guard, as a page would put it.
_WALL_WORDINGS = [
    "Just a moment...", "Attention Required! | Cloudflare", "This site used Cloudflare to restrict access",
    "Checking your browser", "Checking if the site connection is secure", "DDoS-Guard", "Verify you are human",
    "Are you a robot?", "Robot or human?", "Human Verification", "Pardon Our Interruption",
    "Access to this page has been denied", "Sucuri WebSite Firewall - Access Denied", "One more step",
    "Please wait... | Cloudflare", "Enable JavaScript and cookies to continue", "Verifying you are human.",
    "Verifying your browser", "Please wait while your request is being verified",
    "Please enable JavaScript before you are allowed to see this page", "Request unsuccessful. Incapsula incident ID",
    "DDoS protection by DDoS-Guard", "Please enable JS and disable any ad blocker", "Sign in", "Log in", "Login",
    "You need permission", "Request access", "Sign in - Google Accounts", "Example | Sign-in", "Private video",
    "Members only", "Page not found", "Not found", "404 - page missing", "Error: 404", "Error 404",
    "This page doesn't exist", "Page cannot be found", "Video unavailable", "File has been deleted",
    "We couldn't find it", "Nothing found", "Vıdeo unavaılable", "SIGN İN", "ſign in", "Verifying your browſer",
]  # fmt: skip


@pytest.mark.parametrize("wording", _WALL_WORDINGS)
@pytest.mark.parametrize(("where", "status"), [("title", 200), ("heading", 200), ("text", 503), ("text", 200)])
def test_each_wording_is_judged_as_when_every_text_is_searched(wording: str, where: str, status: int) -> None:
    texts = {"title": "Guide", "heading": "", "text": "Some words."} | {where: wording}

    def verdict() -> Finding | None:
        inp = RuleInput(Entry("guide", "Guides", "Guide", URL), ok(status=status), page(**texts), date(2026, 11, 25))
        return links.diagnose(inp)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(links, "may_hold", lambda text, words: True)
        searched = verdict()
    assert verdict() == searched
