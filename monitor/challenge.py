"""Recognise a bot wall in the raw answer: the vendor's challenge or block page, from headers and the body's start.

Fetch asks this so that a challenge is not retried (it answers the same way every time, and each retry costs
the host another request); the link rules report what it found as `bot-protection`. It reads the raw body
because the telling marks live where the page's text does not: in scripts (Cloudflare's `_cf_chl_opt`,
Sucuri's `sucuri_cloudproxy_js`) or an iframe's fallback (Imperva's incident ID).

Every mark below is one the vendor puts only on its challenge or block pages, never on the pages it protects
(Cloudflare's bot script on normal pages is `/cdn-cgi/challenge-platform/scripts/...`, not `_cf_chl_opt`;
PerimeterX's sensor `_pxAppId` is on normal pages too, its captcha `px-captcha` is not).
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["challenge_in"]

# A refusal's marks sit near its top. A challenge served as a success is tiny (Sucuri's and Imperva's are
# 1-2 KB, PerimeterX's 12 KB), while a working page is rarely this small: reading only such bodies keeps the
# check off almost every page (it cost 0.25 ms per 40 KB answer), and a long article that quotes a mark out.
_WINDOW = 16 * 1024
_STATUSES = frozenset({403, 429, 503})

_BODY_MARKS: tuple[tuple[bytes, str], ...] = (
    (b"_cf_chl_opt", "Cloudflare challenge"),
    (b"cf-browser-verification", "Cloudflare browser check"),
    (b"jschl_vc", "Cloudflare JavaScript challenge"),
    (b"/cdn-cgi/l/chk_captcha", "Cloudflare captcha"),
    (b"sucuri_cloudproxy_js", "Sucuri firewall challenge"),
    (b"sucuri website firewall", "Sucuri firewall block"),
    (b"_incapsula_resource", "Imperva Incapsula block"),
    (b"px-captcha", "PerimeterX captcha"),
    (b"captcha-delivery.com", "DataDome captcha"),
    (b"check.ddos-guard.net", "DDoS-Guard browser check"),
)


def challenge_in(status: int | None, headers: Mapping[str, str], body: bytes | None) -> str | None:
    """The bot wall this answer is, named for the report ("Cloudflare challenge (cf-mitigated)"), or None."""
    by_header = _by_header(status, headers)
    if by_header is not None:
        return by_header
    if not body or (len(body) > _WINDOW and (status is None or status < 400)):
        return None
    start = body[:_WINDOW].lower()
    return next((f"{name} ({mark.decode()})" for mark, name in _BODY_MARKS if mark in start), None)


def _by_header(status: int | None, headers: Mapping[str, str]) -> str | None:
    if headers.get("cf-mitigated", "").lower() == "challenge":
        return "Cloudflare challenge (cf-mitigated: challenge)"
    if headers.get("x-amzn-waf-action", "").lower() in ("challenge", "captcha"):
        return "AWS WAF challenge (x-amzn-waf-action)"
    if status not in _STATUSES:
        return None
    server = headers.get("server", "").lower()
    if "x-datadome" in headers:
        return "DataDome bot wall (x-datadome)"
    if "x-sucuri-id" in headers or server.startswith("sucuri"):
        return "Sucuri firewall (x-sucuri-id)"
    if server == "ddos-guard":
        return "DDoS-Guard browser check (Server: ddos-guard)"
    if status == 403 and "akamaighost" in server:
        return "Akamai bot manager (403 from AkamaiGHost)"
    return None
