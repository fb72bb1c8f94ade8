"""HTTP mode: Slack's requests at POST /slack/events and a health check, on uvicorn."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import uvicorn
from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bot import request_guard
from bot.request_guard import RequestGuard
from bot.services import Services

log = logging.getLogger(__name__)


def asgi_app(
    bolt: AsyncApp,
    services: Services,
    on_shutdown: Callable[[], None] | None = None,
    *,
    signing_secret: str,
) -> Starlette:
    """The HTTP app. `on_shutdown` runs in the server's lifespan, so SIGTERM reaches it.

    (uvicorn re-raises SIGTERM after its own shutdown: clean-up after `serve()` never runs.)
    """
    guard = RequestGuard(signing_secret, read_seconds=request_guard.READ_SECONDS)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        if on_shutdown is not None:
            log.info("shutting down: no new work is taken")
            await asyncio.to_thread(on_shutdown)

    async def slack_events(request: Request) -> Response:
        arrived = time.monotonic()
        admitted = await guard.admit(request)
        if isinstance(admitted, Response):
            return admitted
        # What the guard verified travels with the request: listeners record exactly that.
        context = {request_guard.SIGNED: admitted.signed, request_guard.ARRIVED: arrived}
        parsed = guard.parsed(admitted, context)
        if isinstance(parsed, Response):
            return parsed
        return to_starlette_response(await bolt.async_dispatch(parsed))

    async def healthz(_request: Request) -> Response:
        try:
            # Not on the command pool: a burst of commands must not fail the health check.
            await asyncio.to_thread(services.store.ping)
        except Exception as error:
            log.warning("health check: database unreachable (%s)", error.__class__.__name__)
            return JSONResponse({"ok": False, "database": "unreachable"}, status_code=503)
        return JSONResponse({"ok": True, "database": "ok"})

    return Starlette(
        lifespan=lifespan,
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
    )


#: How long a connection may take to send a request's head (its request line and headers).
HEAD_SECONDS = 10.0
#: The most a request's head (its request line and headers) or a chunked body's trailers
#: may take, as h11 allowed; Slack's heads are well under 2 KiB. httptools has no limit of
#: its own, and keeps a header until it ends, so what it is fed is counted a slice at a
#: time, as it arrives: 16 KiB always gets through, 20 KiB never.
HEAD_BYTES = 16 * 1024
_SLICE = 2 * 1024


class TimedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol on httptools (a C parser: about a sixth of the
    bot's interpreter time on an acknowledgement went to h11, which is pure Python), with a
    deadline and a size limit for each request's head, and no Nagle.

    uvicorn times out idle keep-alive connections but not one that dribbles its headers:
    a few hundred of those held every file descriptor. (The body's deadline and size limit
    are the request guard's.)

    uvicorn writes a response's head and body separately. asyncio turns Nagle's algorithm
    off only for sockets made with IPPROTO_TCP, and uvicorn's listening socket is not, so
    the body of every answer waited for the peer's delayed ACK of the head: 40 ms on each
    acknowledgement that carries a message. TCP_NODELAY is set here instead.
    """

    _head_timer: asyncio.TimerHandle | None = None
    # What the parser may be holding: the bytes fed since a head, a chunk's size line or a
    # message last ended that were not handed on as body (the slice it ended in included).
    _held = 0
    _ended = False  # something ended inside the slice being fed
    _body = 0  # body bytes handed on from the slice being fed
    _dropped = False  # uvicorn dropped the rest of what it was fed (an upgrade)
    _in_body = False  # a request's head has ended and its message has not
    _refuse_after = False  # a pipelined head too large: refused after the answers before it

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._refuse_after:
            return  # read and dropped: unread bytes would make the close a reset (lost answers)
        view = memoryview(data)
        while view:
            piece, view = view[:_SLICE], view[_SLICE:]
            self._ended, self._body = False, 0
            super().data_received(bytes(piece))
            if self.transport.is_closing() or self._dropped:
                self._dropped, self._held = False, 0  # the parser holds nothing now
                return
            held = len(piece) - self._body
            self._held = held if self._ended else self._held + held
            if self._held >= HEAD_BYTES + _SLICE:
                self._too_large()
                return

    def on_headers_complete(self) -> None:
        self._ended, self._in_body = True, True
        super().on_headers_complete()

    def on_chunk_header(self) -> None:
        self._ended = True

    def on_body(self, body: bytes) -> None:
        self._body += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._ended, self._in_body = True, False
        super().on_message_complete()

    def _unsupported_upgrade_warning(self) -> None:
        self._dropped = True
        super()._unsupported_upgrade_warning()

    def handle_websocket_upgrade(self) -> None:
        self._dropped = True
        super().handle_websocket_upgrade()

    def on_response_complete(self) -> None:
        if self._refuse_after and not self.pipeline and not self.transport.is_closing():
            self._refuse()
            return
        super().on_response_complete()
        self._arm()  # the next request's head gets the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        super().connection_lost(exc)

    def _too_large(self) -> None:
        if not self._in_body and self.cycle is not None and not self.cycle.response_complete:
            # Requests before it are still being answered: answer them first. (Trailers
            # too large, of the request being received, are refused at once.)
            self._refuse_after = True
        else:
            self._refuse()

    def _refuse(self) -> None:
        self.logger.warning("Request head too large: refused.")
        self.send_400_response("Request head too large.")

    def _arm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a pipelined request already started: its body has the guard's deadline
        waiting_on = self.cycle  # a new request replaces it once its head is complete
        self._head_timer = self.loop.call_later(HEAD_SECONDS, self._too_slow, waiting_on)

    def _too_slow(self, waiting_on: object) -> None:
        if self.cycle is waiting_on and not self.transport.is_closing():
            self.transport.close()


def uvicorn_server(app: Starlette, *, log_level: str = "info") -> uvicorn.Server:
    return uvicorn.Server(
        uvicorn.Config(
            app,
            log_level=log_level,
            lifespan="on",
            http=TimedHttpToolsProtocol,
            loop="auto",  # uvloop where it is installed (pyproject: not on Windows), else asyncio
            proxy_headers=True,
            timeout_graceful_shutdown=3,
        )
    )


def bind(host: str, port: int) -> socket.socket:
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]  # IPv4 or IPv6
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock
