"""The sign-off modal: the role to sign as, and the reason for a rejection."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.services import Services
from bot.views.review import SignOffModal
from commands import sign_off
from commands.text import too_long
from release.review import Decision
from release.roles import Role


def register(app: AsyncApp, services: Services) -> None:
    @app.view(SignOffModal.CALLBACK.value)
    async def sign_off_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], request: AsyncBoltRequest
    ) -> None:
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            review_id = int(meta["review_id"])
            decision = Decision(meta["decision"])
            offered = [Role(r) for r in meta["roles"]]
        except (ValueError, KeyError, TypeError):
            await ack()
            return
        values = (view.get("state") or {}).get("values") or {}
        chosen = (
            (
                (values.get(SignOffModal.ROLE_BLOCK.value) or {}).get(SignOffModal.ROLE.value) or {}
            ).get("selected_option")
            or {}
        ).get("value")
        role = Role.parse(chosen) if chosen else (offered[0] if len(offered) == 1 else None)
        reason = (
            (values.get(SignOffModal.REASON_BLOCK.value) or {}).get(SignOffModal.REASON.value) or {}
        ).get("value") or ""
        errors = {}
        if role is None or role not in offered:
            errors[SignOffModal.ROLE_BLOCK.value] = "Choose the role you sign off as."
        if decision is Decision.REJECT and not reason.strip():
            errors[SignOffModal.REASON_BLOCK.value] = "Say why the release is not ready."
        elif (refusal := too_long(reason)) is not None:
            errors[SignOffModal.REASON_BLOCK.value] = refusal
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        assert role is not None
        ctx = services.context(body["user"]["id"])
        services.hand_off(request, ctx, sign_off.record, ctx, review_id, role, decision, reason)
