"""The /release slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.request_guard import ARRIVED
from bot.services import Services
from commands.dispatch import READ_ONLY, execute
from commands.help import help_text
from commands.parser import Help, Usage, parse

SLASH_COMMAND = "/release"


def register(app: AsyncApp, services: Services) -> None:
    @app.command(SLASH_COMMAND)
    async def release_command(
        ack: AsyncAck, command: dict[str, Any], request: AsyncBoltRequest
    ) -> None:
        # Before ack(), only pure checks, and the read a read-only command is (at most
        # `answer_in_ack` from its arrival): no network call, and nothing written.
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
        if isinstance(parsed, Help):  # needs nothing but the text
            await ack(response_type="ephemeral", text=help_text())
            return
        if type(parsed) in READ_ONLY:  # a read: the answer is the acknowledgement
            answer = await services.answer(
                command["user_id"],
                command.get("response_url"),
                request.context.get(ARRIVED),
                execute,
                parsed,
            )
            if answer is None:  # not read yet: it follows through the response URL
                await ack()
            else:
                await ack(response_type="ephemeral", text=answer)
            return
        await ack()
        ctx = services.context(command["user_id"], command.get("response_url"))
        services.hand_off(request, ctx, execute, ctx, parsed)
