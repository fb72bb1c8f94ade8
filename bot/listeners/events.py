"""Events: someone opened the bot's Home tab."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.services import Services


def register(app: AsyncApp, services: Services) -> None:
    @app.event("app_home_opened")
    async def home_opened(ack: AsyncAck, event: dict[str, Any], request: AsyncBoltRequest) -> None:
        await ack()
        user = event.get("user")
        if event.get("tab") != "home" or not isinstance(user, str) or not user.isalnum():
            return
        ctx = services.context(user)

        def work() -> None:
            with ctx.transaction() as uow:
                uow.open_home(user)
                ctx.conversation.show_home(user)

        services.hand_off(request, ctx, work)
