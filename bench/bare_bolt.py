"""A bare Bolt app that only acknowledges: the yardstick bench/load.py holds the bot to.

It answers the same signed slash command and button clicks as the bot, verifies their
signatures with Bolt's own check, and does nothing else. It runs on the same server the
bot runs on (Starlette on uvicorn), so the difference is the bot's own work.

    python bench/bare_bolt.py --port 3100 --secret S [--process-before-response]
"""

from __future__ import annotations

import argparse
import logging
import re
from typing import Any

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.authorization import AuthorizeResult
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def bare_app(secret: str, *, process_before_response: bool) -> Starlette:
    async def authorize(**_: Any) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=None, team_id="T0BENCH", bot_user_id="UBOT", bot_token="xoxb-bench"
        )

    bolt = AsyncApp(
        signing_secret=secret,
        authorize=authorize,
        process_before_response=process_before_response,
    )

    @bolt.command("/release")
    async def command(ack: AsyncAck) -> None:
        await ack()

    @bolt.action(re.compile(".+"))  # any button
    async def click(ack: AsyncAck) -> None:
        await ack()

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/slack/events", events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--process-before-response", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    app = bare_app(args.secret, process_before_response=args.process_before_response)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        lifespan="off",
        http="httptools",  # as the bot's server (bot/server.py)
        loop="uvloop",
    )


if __name__ == "__main__":
    main()
