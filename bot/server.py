"""HTTP mode: Slack's requests at POST /slack/events and a health check, on uvicorn."""

from __future__ import annotations

import logging
import socket

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.services import Services

log = logging.getLogger(__name__)


def asgi_app(bolt: AsyncApp, services: Services) -> Starlette:
    handler = AsyncSlackRequestHandler(bolt)

    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(_request: Request) -> Response:
        try:
            await services.worker.run(services.store.ping)
        except Exception as error:
            log.warning("health check: database unreachable (%s)", error.__class__.__name__)
            return JSONResponse({"ok": False, "database": "unreachable"}, status_code=503)
        return JSONResponse({"ok": True, "database": "ok"})

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


def uvicorn_server(app: Starlette, *, log_level: str = "info") -> uvicorn.Server:
    return uvicorn.Server(
        uvicorn.Config(app, log_level=log_level, lifespan="off", proxy_headers=True)
    )


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock
