import httpx

from tests.server import html, redirect


def test_server_serves_routes_and_404(server):
    server.route("/ok", html("Hello", "<p>hi</p>"))
    server.route("/moved", redirect("/ok"))
    assert httpx.get(server.url("/ok")).status_code == 200
    assert httpx.get(server.url("/missing")).status_code == 404
    assert httpx.get(server.url("/moved")).headers["location"] == "/ok"
    assert server.hits("/ok") == 1
