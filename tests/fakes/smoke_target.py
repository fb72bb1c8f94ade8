"""A web site on loopback for smoke checks to test: each path answers as a test sets it.

`answer(path, status)` sets a path's status (unknown paths answer 404), `hang(path,
seconds)` holds its answer back and `reset(path)` drops the connection with an RST and no
answer at all. Every request is recorded in `requests` as (method, path).
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from bot.console.loopback import LoopbackServer, QuietHandler, drop_connection


@dataclass(frozen=True)
class _Route:
    status: int = 200
    delay: float = 0.0  # seconds the answer is held back
    reset: bool = False  # drop the connection instead of answering


class SmokeTarget(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._routes: dict[str, _Route] = {}
        self.requests: list[tuple[str, str]] = []

    def answer(self, path: str, status: int) -> None:
        with self._lock:
            self._routes[path] = _Route(status=status)

    def hang(self, path: str, seconds: float) -> None:
        with self._lock:
            self._routes[path] = _Route(delay=seconds)

    def reset(self, path: str) -> None:
        with self._lock:
            self._routes[path] = _Route(reset=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        target = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                path = self.path.split("?", 1)[0]
                with target._lock:
                    target.requests.append((self.command, self.path))
                    route = target._routes.get(path, _Route(status=404))
                if route.delay and target._stopping.wait(route.delay):
                    route = _Route(reset=True)  # stopping: do not keep the test waiting
                if route.reset:
                    drop_connection(self)
                    return
                body = b"" if self.command == "HEAD" else b"secret body text\n"
                with contextlib.suppress(ConnectionError):  # a client that gave up waiting
                    self.send_response(route.status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = do_OPTIONS = _serve  # noqa: N815 (http.server's naming)

        return Handler
