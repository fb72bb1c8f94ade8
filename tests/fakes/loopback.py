"""What the fake HTTP services share: a threaded server on loopback, and the faults tests inject.

`LoopbackServer` (bot.console.loopback, shared with the console's fake Slack) is the server's
life cycle (`start() -> base_url`, `stop()`, `base_url`) for a subclass's request handler.
`LoopbackApi` is a JSON API on it: a subclass says what `calls`
keeps of a request (`_call`), answers one (`_answer`, under `self._lock`) and gives its API's
error body for a status (`_error`).

Tests make it fail every way HTTP can: an error status (`fail_next`, `fail_always` /
`heal`), a slow answer (`hang_next`: the request takes effect, only its answer is late) and
a dropped connection (`reset_next`: an RST and no answer, no effect). A `route` is "*" or a
substring of "METHOD /path" (no query), e.g. "/promote/" or "PATCH /api/v2/flags". Queued
one-shot faults are used up in order (a route's own before "*"'s) and come before an outage.
Every request is recorded in `calls`, failed or not.
"""

from __future__ import annotations

import contextlib
import json
import threading
from abc import abstractmethod
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlsplit

from bot.console.loopback import LoopbackServer, QuietHandler, drop_connection

Query = dict[str, str]
Request = tuple[str, str, Query]  # method, path and query: what most fakes keep in `calls`
Call = TypeVar("Call")


@dataclass(frozen=True)
class Reply:
    status: int
    payload: Any = None  # sent as JSON; None: no body
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Fault:
    reply: Reply | None = None  # answered instead: the request has no effect
    delay: float = 0.0  # seconds the answer is held back (the request takes effect)
    reset: bool = False  # drop the connection instead of answering (no effect)


class LoopbackApi(LoopbackServer, Generic[Call]):
    content_type = "application/json; charset=utf-8"  # of a reply with a body

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self._lock = threading.RLock()
        self._faults: list[tuple[str, _Fault]] = []  # one-shot, by route, in order
        self._outages: dict[str, _Fault] = {}  # lasting, by route

    # -- what a fake says --------------------------------------------------------------

    @abstractmethod
    def _call(self, method: str, path: str, query: Query, headers: Message, body: bytes) -> Call:
        """What `calls` keeps of a request (called under the lock, before any fault)."""

    @abstractmethod
    def _answer(self, method: str, path: str, query: Query, headers: Message, body: bytes) -> Reply:
        """The API's answer to a request (called under the lock)."""

    @abstractmethod
    def _error(self, status: int) -> Any:
        """The API's own error body for an HTTP `status` a test injects."""

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(QuietHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                reply, delay = fake._handle(self.command, self.path, self.headers, body)
                if reply is None or (delay > 0 and fake._stopping.wait(delay)):
                    drop_connection(self)  # reset, or stopping: do not keep the client waiting
                else:
                    _send(self, reply, fake.content_type)

            # http.server's names for the methods; every one goes through the same routing.
            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any  # noqa: N815

        return Handler

    # -- faults ------------------------------------------------------------------------

    def fail_next(
        self,
        route: str,
        status: int = 500,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next `times` matching requests with HTTP `status` and `body` (None: the
        API's error body), without acting on them; `headers` default to `Retry-After: 1`
        for a 429."""
        self._queue(route, self._http_fault(status, headers, body), times)

    def hang_next(self, route: str, seconds: float, times: int = 1) -> None:
        """Hold back the answer to the next `times` matching requests for `seconds`. The
        request takes effect at once, as when the API did the work but the client gave up
        waiting; only its answer is late."""
        self._queue(route, _Fault(delay=seconds), times)

    def reset_next(self, route: str, times: int = 1) -> None:
        """Reset the connection of the next `times` matching requests (no effect)."""
        self._queue(route, _Fault(reset=True), times)

    def fail_always(self, route: str, status: int = 500) -> None:
        """Fail every matching request as `fail_next` does, until `heal`."""
        with self._lock:
            self._outages[route] = self._http_fault(status, None, None)

    def heal(self, route: str | None = None) -> None:
        """End the outage of `route` and drop its queued faults (None: of every route)."""
        with self._lock:
            if route is None:
                self._outages.clear()
                self._faults.clear()
            else:
                self._outages.pop(route, None)
                self._faults = [(r, f) for r, f in self._faults if r != route]

    def _http_fault(self, status: int, headers: dict[str, str] | None, body: Any) -> _Fault:
        if headers is None:
            headers = {"Retry-After": "1"} if status == 429 else {}
        return _Fault(Reply(status, self._error(status) if body is None else body, headers))

    def _queue(self, route: str, fault: _Fault, times: int) -> None:
        with self._lock:
            self._faults.extend([(route, fault)] * times)

    def _take_fault(self, request: str) -> _Fault | None:
        for specific in (True, False):
            for index, (route, fault) in enumerate(self._faults):
                if (route != "*" and route in request) if specific else route == "*":
                    del self._faults[index]
                    return fault
        for route, fault in self._outages.items():
            if route != "*" and route in request:
                return fault
        return self._outages.get("*")

    # -- the HTTP side ----------------------------------------------------------------

    def _handle(
        self, method: str, target: str, headers: Message, body: bytes
    ) -> tuple[Reply | None, float]:
        """The reply to a request (None: drop the connection) and the seconds to hold it."""
        parts = urlsplit(target)
        path, query = parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))
        with self._lock:
            self.calls.append(self._call(method, path, query, headers, body))
            fault = self._take_fault(f"{method} {path}") or _Fault()
            if fault.reset or fault.reply is not None:
                return fault.reply, 0.0
            return self._answer(method, path, query, headers, body), fault.delay


def _send(handler: BaseHTTPRequestHandler, reply: Reply, content_type: str) -> None:
    body = b"" if reply.payload is None else json.dumps(reply.payload).encode()
    with contextlib.suppress(ConnectionError):  # a client that gave up waiting
        handler.send_response(reply.status)
        if reply.payload is not None:
            handler.send_header("Content-Type", content_type)
        if reply.status != 204:  # a 204 has no body, nor a length for one
            handler.send_header("Content-Length", str(len(body)))
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)
