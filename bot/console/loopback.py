"""A threaded HTTP server on loopback: the life cycle every local fake shares (the console's
fake Slack, and the tests' fake GitHub, Vercel, LaunchDarkly and smoke-check targets)."""

from __future__ import annotations

import socket
import struct
import threading
from abc import ABC, abstractmethod
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing."""

    def log_message(self, *_args: Any) -> None:
        pass


class LoopbackServer(ABC):
    """A threaded HTTP server on a free loopback port, each request on a thread of its own."""

    def __init__(self) -> None:
        self._stopping = threading.Event()  # wakes hung handlers on stop()
        self._server: ThreadingHTTPServer | None = None

    @abstractmethod
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        """The class that handles this server's requests (made afresh for each start)."""

    def start(self) -> str:
        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        serve = self._server.serve_forever
        threading.Thread(target=serve, args=(0.05,), daemon=True).start()  # stop() in 0.05s
        return self.base_url

    def stop(self) -> None:
        self._stopping.set()  # hung handlers drop their connections at once
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"


def drop_connection(handler: BaseHTTPRequestHandler) -> None:
    """An RST, with no HTTP response at all."""
    handler.close_connection = True
    linger = struct.pack("ii", 1, 0)
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
    handler.connection.close()
