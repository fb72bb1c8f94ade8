"""A web site on loopback for smoke checks to test: each path answers as a test sets it.

`answer(path, status)` sets a path's status (unknown paths answer 404), `hang(path,
seconds)` holds its answer back and `reset(path)` drops the connection with an RST and no
answer at all. Every request is recorded in `requests` as (method, path).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class _Route:
    status: int = 200
    delay: float = 0.0  # seconds the answer is held back
    reset: bool = False  # drop the connection instead of answering


class SmokeTarget:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, _Route] = {}
        self.requests: list[tuple[str, str]] = []
        self._stopping = threading.Event()  # wakes hung handlers on stop()
        self._server: ThreadingHTTPServer | None = None

    def answer(self, path: str, status: int) -> None:
        with self._lock:
            self._routes[path] = _Route(status=status)

    def hang(self, path: str, seconds: float) -> None:
        with self._lock:
            self._routes[path] = _Route(delay=seconds)

    def reset(self, path: str) -> None:
        with self._lock:
            self._routes[path] = _Route(reset=True)

    def start(self) -> str:
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                path = self.path.split("?", 1)[0]
                with target._lock:
                    target.requests.append((self.command, self.path))
                    route = target._routes.get(path, _Route(status=404))
                if route.delay and target._stopping.wait(route.delay):
                    route = _Route(reset=True)  # stopping: do not keep the test waiting
                if route.reset:  # an RST, with no HTTP response at all
                    self.close_connection = True
                    linger = struct.pack("ii", 1, 0)
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                    self.connection.close()
                    return
                body = b"" if self.command == "HEAD" else b"secret body text\n"
                with contextlib.suppress(ConnectionError):  # a client that gave up waiting
                    self.send_response(route.status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = do_OPTIONS = _serve  # noqa: N815 (http.server's naming)

            def log_message(self, *_args: Any) -> None:
                pass

        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        serve = self._server.serve_forever
        threading.Thread(target=serve, args=(0.05,), daemon=True).start()
        return self.base_url

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"
