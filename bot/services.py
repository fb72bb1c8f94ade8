"""Everything a listener needs, built once per process and handed to register()."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.work import Worker, guarded
from commands.context import Context
from commands.outcome import Outcome
from integrations import Integrations
from release.clock import Clock
from release.policy import Policy
from storage.unit_of_work import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    channel_id: str
    policy: Policy
    store: Store
    integrations: Integrations
    clock: Clock
    worker: Worker
    web_client: WebClient  # sync, from worker threads only: views.open (never in a transaction)
    instance: str = "local"  # names this process in the deploy lock and post claims

    def context(self, user_id: str, response_url: str | None = None) -> Context:
        conversation = Outcome(self.store, self.channel_id, user_id, response_url)
        return Context(
            actor=user_id,
            store=self.store,
            conversation=conversation,
            integrations=self.integrations,
            policy=self.policy,
            clock=self.clock,
            instance=self.instance,
        )

    def hand_off(
        self, request: AsyncBoltRequest, ctx: Context, fn: Callable[..., object], *args: Any
    ) -> None:
        """Carry out `fn(*args)` on the command pool, once per signed request.

        Called after ack(): nothing here delays the acknowledgement. The request's signature
        is recorded first, in the database, so a replay that another instance accepted
        (each instance's guard remembers only its own) does nothing there.
        """
        signature = request.headers.get("x-slack-signature", [None])[0]
        timestamp = request.headers.get("x-slack-request-timestamp", [""])[0]
        signed = (signature, int(timestamp)) if signature and timestamp.isdigit() else None
        self.worker.submit(self._once, signed, ctx, fn, args)

    def _once(
        self,
        signed: tuple[str, int] | None,
        ctx: Context,
        fn: Callable[..., object],
        args: tuple[Any, ...],
    ) -> None:
        if signed is not None:  # Socket Mode requests are not signed: Slack's socket is trusted
            try:
                new = self.store.first_seen(*signed)
            except Exception as error:
                log.warning(
                    "could not record a request (database: %s); nothing was done",
                    type(error).__name__,
                )
                _tell_directly(ctx.conversation.response_url, DATABASE_DOWN)
                return
            if not new:
                log.warning("refused a request: replayed (accepted by another instance)")
                return
        guarded(ctx.conversation.reply, fn, *args)


#: What someone is told when the database cannot record their request.
DATABASE_DOWN = (
    "I cannot reach my database right now, so nothing was done. Please try again in a minute."
)


def _tell_directly(response_url: str | None, text: str) -> None:
    """Answer through the response URL without the outbox (which is in the database)."""
    if not response_url:
        return
    try:
        WebhookClient(response_url, timeout=5).send(text=text, response_type="ephemeral")
    except Exception as error:
        log.warning("could not tell the user either (%s)", type(error).__name__)
