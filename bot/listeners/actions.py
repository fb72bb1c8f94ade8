"""Buttons and checkboxes on the readiness review message."""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.services import Services
from bot.views.review import ReviewAction, compliance_selection, sign_off_modal
from commands import sign_off
from release.review import Decision

UNKNOWN_BUTTON = "That button does not belong to a review I know; nothing was recorded."
_DECISIONS = {ReviewAction.APPROVE: Decision.APPROVE, ReviewAction.REJECT: Decision.REJECT}


def _review_id(value: object) -> int | None:
    """A review id as our buttons carry it: ASCII digits only (`²` and `١` are digits too)."""
    ok = isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12
    return int(value) if ok and isinstance(value, str) else None


def register(app: AsyncApp, services: Services) -> None:
    for action_id, decision in _DECISIONS.items():
        app.action(action_id.value)(_sign_off_click(services, decision))

    @app.action(ReviewAction.COMPLIANCE.value)
    async def compliance_ticked(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], request: AsyncBoltRequest
    ) -> None:
        await ack()
        review_id = _review_id(_message_review_id(body))
        if review_id is None:
            return
        ctx = services.context(body["user"]["id"], body.get("response_url"))
        values = [o.get("value", "") for o in action.get("selected_options") or []]

        def work() -> None:
            with services.store.transaction() as uow:
                review = uow.review(review_id)
            if review is not None:
                sign_off.tick(ctx, review_id, compliance_selection(review, values))

        services.hand_off(request, ctx, work)


def _message_review_id(body: dict[str, Any]) -> str | None:
    """The review a checkbox belongs to: read from the Approve button beside it."""
    for block in (body.get("message") or {}).get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == ReviewAction.APPROVE.value:
                value = element.get("value")
                return value if isinstance(value, str) else None
    return None


def _sign_off_click(services: Services, decision: Decision) -> Any:
    async def sign_off_clicked(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], request: AsyncBoltRequest
    ) -> None:
        await ack()
        review_id = _review_id(action.get("value"))
        ctx = services.context(body["user"]["id"], body.get("response_url"))
        if review_id is None:
            services.hand_off(request, ctx, ctx.conversation.reply, UNKNOWN_BUTTON)
            return
        trigger_id = body.get("trigger_id")

        def work() -> None:
            choice = sign_off.clicked(ctx, review_id, decision)
            if choice is not None and trigger_id:
                with services.store.transaction() as uow:
                    review = uow.review(review_id)
                version = review.version if review else "release"
                services.web_client.views_open(
                    trigger_id=trigger_id,
                    view=sign_off_modal(review_id, version, decision, choice.roles),
                )

        if decision is Decision.REJECT:  # a modal follows: its trigger_id lasts 3 s
            services.hand_off(request, ctx, work)
            return
        refusal = partial(sign_off.refusal, review_id=review_id)
        services.refuse_or_hand_off(request, ctx, refusal, work)

    sign_off_clicked.__name__ = f"sign_off_{decision.value}_clicked"
    return sign_off_clicked
