"""A real HTTP server on 127.0.0.1 for integration tests.

Each route is a function that receives the request handler and writes whatever it likes, so tests can
serve ordinary pages as well as hostile answers (lying lengths, drips, bombs, silence).
"""

from __future__ import annotations

import contextlib
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class TestServer:
    __test__ = False  # a fixture, not a test class

    host: str
    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, handler: Route) -> str:
        self.routes[path] = handler
        return self.url(path)

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path == path)


def respond(
    status: int = 200,
    body: bytes | str = b"",
    headers: dict[str, str] | None = None,
    content_type: str = "text/html; charset=utf-8",
) -> Route:
    data = body.encode() if isinstance(body, str) else body

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)

    return handler


def html(title: str, body: str, status: int = 200, headers: dict[str, str] | None = None) -> Route:
    page = f"<!doctype html><html><head><title>{title}</title></head><body><main>{body}</main></body></html>"
    return respond(status, page, headers)


def redirect(location: str, status: int = 301) -> Route:
    return respond(status, b"", {"Location": location})


def hang(server: TestServer) -> Route:
    """Accept the request and never answer (until the server stops)."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        server.stopping.wait(20)

    return handler


def sequence(*handlers: Route) -> Route:
    """Answer with each handler in turn, then keep answering with the last one."""
    calls = {"n": 0}
    lock = threading.Lock()

    def handler(h: BaseHTTPRequestHandler) -> None:
        with lock:
            index = min(calls["n"], len(handlers) - 1)
            calls["n"] += 1
        handlers[index](h)

    return handler


def endless(chunk: bytes = b"<p>" + b"x" * 8192 + b"</p>", max_seconds: float = 30.0) -> Route:
    """An HTML body that never ends (no Content-Length; the connection would close it): writes until the
    client hangs up, or ``max_seconds`` pass so a stray thread cannot outlive the test run."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(b"<!doctype html><html><head><title>Endless</title></head><body>")
        stop = time.monotonic() + max_seconds
        while time.monotonic() < stop:
            h.wfile.write(chunk)
        h.close_connection = True

    return handler


def drip(interval: float, max_seconds: float = 30.0) -> Route:
    """Headers at once, then one byte of the body every ``interval`` seconds."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", "100000")
        h.end_headers()
        stop = time.monotonic() + max_seconds
        while time.monotonic() < stop:
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(interval)
        h.close_connection = True

    return handler


def bomb(inflated_size: int, encoding: str = "gzip") -> Route:
    """A small compressed HTML body that inflates to ``inflated_size`` bytes (gzip or deflate)."""
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = b"\0" * (1024 * 1024)
    parts = [packer.compress(b"<!doctype html><html><head><title>Bomb</title></head><body>")]
    parts += [packer.compress(block) for _ in range(inflated_size // len(block))]
    parts.append(packer.flush())
    return respond(200, b"".join(parts), {"Content-Encoding": encoding})


def _make_handler(server: TestServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _dispatch(self) -> None:
            path = self.path.split("?", 1)[0]
            server.requests.append(Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
            route = server.routes.get(path)
            if route is None:
                respond(404, "<html><head><title>404 Not Found</title></head><body>Not found</body></html>")(self)
                return
            # A client that gives up mid-answer (the crawler's caps and deadlines) is expected here.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                route(self)

        do_GET = _dispatch
        do_HEAD = _dispatch

    return Handler


@contextmanager
def serve(host: str = "127.0.0.1") -> Iterator[TestServer]:
    state = TestServer(host=host, port=0)
    httpd = ThreadingHTTPServer((host, 0), _make_handler(state))
    httpd.daemon_threads = True
    httpd.block_on_close = False
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stopping.set()
        httpd.shutdown()
        httpd.server_close()
