"""Everything a listener needs, built once per process and handed to register()."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.request_guard import SIGNED
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
        signed = request.context.get(SIGNED)
        if request.mode != "socket_mode" and signed is None:  # not through the guard: never
            log.error("refused a request that did not come through the request guard")
            return
        self.worker.submit(self._once, signed, ctx, fn, args)

    def _once(
        self,
        signed: tuple[str, int] | None,
        ctx: Context,
        fn: Callable[..., object],
        args: tuple[Any, ...],
    ) -> None:
        if signed is not None:  # Socket Mode: no signature; Slack's own socket is trusted
            try:
                new = self.store.first_seen(*signed)
            except Exception as error:
                log.warning(
                    "could not record a request (database: %s); nothing was done",
                    type(error).__name__,
                )
                self._tell_directly(ctx, DATABASE_DOWN)
                return
            if not new:
                log.warning("refused a request: replayed (accepted by another instance)")
                return
        guarded(ctx.conversation.reply, fn, *args)

    def _tell_directly(self, ctx: Context, text: str) -> None:
        """Tell the person without the outbox (which is in the database): through the
        request's response URL, or as an ephemeral message in the release channel."""
        try:
            url = ctx.conversation.response_url
            if url:
                sent = WebhookClient(url, timeout=5).send(
                    text=text, response_type="ephemeral", replace_original=False
                )
                ok = sent.status_code == 200
            else:  # a modal or the Home tab: no response URL
                answer = self.web_client.chat_postEphemeral(
                    channel=self.channel_id, user=ctx.actor, text=text
                )
                ok = bool(answer.get("ok"))
        except Exception as error:
            log.warning("could not tell the user either (%s)", type(error).__name__)
            return
        if not ok:
            log.warning("could not tell the user either (Slack refused)")


#: What someone is told when the database cannot record their request.
DATABASE_DOWN = (
    "I cannot reach my database right now, so nothing was done. Please try again in a minute."
)
