"""Recognising a bot wall in the raw answer: vendor marks, and the pages that only talk about them."""

from __future__ import annotations

import pytest

from monitor.challenge import challenge_in


@pytest.mark.parametrize(
    ("status", "headers", "body", "vendor"),
    [
        (503, {"server": "cloudflare"}, b"<script>window._cf_chl_opt={cvId: '2'}</script>", "Cloudflare"),
        (200, {}, b"<script>sucuri_cloudproxy_js='';S='ej0n'</script>", "Sucuri"),
        (200, {}, b'<iframe src="/_Incapsula_Resource?CWUDNSAI=22">Request unsuccessful.</iframe>', "Incapsula"),
        (403, {}, b'<div id="px-captcha"></div>', "PerimeterX"),
        (403, {}, b'<script src="https://geo.captcha-delivery.com/captcha/?initialCid=x"></script>', "DataDome"),
        (403, {"server": "ddos-guard"}, b"", "DDoS-Guard"),
        (200, {"cf-mitigated": "challenge"}, None, "Cloudflare"),
    ],
)
def test_vendor_walls_are_named(status: int, headers: dict[str, str], body: bytes | None, vendor: str) -> None:
    found = challenge_in(status, headers, body)
    assert found is not None and vendor in found


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        # Cloudflare's bot script on a normal page, and PerimeterX's sensor: both sit on pages they protect.
        (200, {"server": "cloudflare"}, b'<script src="/cdn-cgi/challenge-platform/scripts/jsd/main.js"></script>'),
        (200, {}, b"<script>window._pxAppId = 'PXabc';</script><h1>Shop</h1>"),
        # An origin's own 503 passed through Cloudflare, and a DDoS-Guard-fronted page that works.
        (503, {"server": "cloudflare"}, b"<h1>Service Unavailable</h1>"),
        (200, {"server": "ddos-guard"}, b"<h1>News</h1>"),
        # A long article quoting a challenge page's script further down is about challenges, not one.
        (200, {}, b"<article>" + b"How bot walls work. " * 4000 + b"window._cf_chl_opt</article>"),
    ],
)
def test_pages_that_are_no_wall(status: int, headers: dict[str, str], body: bytes) -> None:
    assert challenge_in(status, headers, body) is None
