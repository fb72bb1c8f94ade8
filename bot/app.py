"""Builds the Bolt app: every listener registered in one place, in one factory."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

from bot.listeners import actions, commands, events, views
from bot.services import Services

log = logging.getLogger(__name__)


def build_app(
    services: Services,
    *,
    signing_secret: str | None,
    client: AsyncWebClient,
    identity: AuthorizeResult,
) -> AsyncApp:
    async def authorize(**_: Any) -> AuthorizeResult:
        # auth.test ran once at start-up; no request waits on it before its ack().
        return identity

    # Bolt also reads SLACK_BOT_TOKEN from the environment and warns, on every start, that
    # the client we give it wins; it does, by design (authorize() hands each request its token).
    logging.getLogger("slack_bolt.AsyncApp").addFilter(
        lambda record: "will be unused" not in record.getMessage()
    )
    app = AsyncApp(
        name="release-bot",  # else Bolt names it after its caller's file, with inspect.stack()
        client=client,
        signing_secret=signing_secret,
        authorize=authorize,
        # HTTP requests are verified by bot.request_guard before Bolt sees them (Bolt's own
        # check parses first and logs whole bodies); Socket Mode needs none.
        request_verification_enabled=False,
        raise_error_for_unhandled_request=False,
        # Listeners ack() and hand their work to the pool without waiting (Worker.submit),
        # or ack() with a read-only command's answer once it is read (Worker.read), so the
        # response can follow the listener: without this Bolt polls for the ack() every
        # 10 ms, a 10 ms floor under every acknowledgement.
        process_before_response=True,
    )

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("unhandled error in a listener: %s", error.__class__.__name__, exc_info=error)

    commands.register(app, services)
    actions.register(app, services)
    views.register(app, services)
    events.register(app, services)
    return app
