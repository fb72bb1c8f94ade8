"""The /release slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.services import Services
from commands.dispatch import execute
from commands.parser import Usage, parse

SLASH_COMMAND = "/release"


def register(app: AsyncApp, services: Services) -> None:
    @app.command(SLASH_COMMAND)
    async def release_command(
        ack: AsyncAck, command: dict[str, Any], request: AsyncBoltRequest
    ) -> None:
        # Only pure checks happen before ack(): they need no network and no database.
        if command.get("channel_id") != services.channel_id:
            await ack(
                response_type="ephemeral",
                text=f"Release commands work in <#{services.channel_id}> only; "
                "nothing was done here.",
            )
            return
        parsed = parse(command.get("text") or "")
        if isinstance(parsed, Usage):
            await ack(response_type="ephemeral", text=parsed.message)
            return
        await ack()
        ctx = services.context(command["user_id"], command.get("response_url"))
        services.hand_off(request, ctx, execute, ctx, parsed)
