"""Everything a listener needs, built once per process and handed to register()."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient
from sqlalchemy.exc import InterfaceError, OperationalError

from bot.request_guard import SIGNED
from bot.work import Worker, guarded
from commands.context import Context
from commands.errors import incident_id
from commands.outcome import Answer, Outcome
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

    def context(
        self, user_id: str, response_url: str | None = None, *, conversation: Outcome | None = None
    ) -> Context:
        conversation = conversation or Outcome(self.store, self.channel_id, user_id, response_url)
        return Context(
            actor=user_id,
            store=self.store,
            conversation=conversation,
            integrations=self.integrations,
            policy=self.policy,
            clock=self.clock,
            instance=self.instance,
        )

    async def answer(
        self, user_id: str, arrived: float | None, fn: Callable[..., object], *args: Any
    ) -> str:
        """What a read-only command says, for the acknowledgement itself (Slack shows it
        to `user_id` alone), within `ANSWER_WITHIN` seconds of the request's arrival
        (`arrived`, time.monotonic(); now when unknown, as in Socket Mode).

        It is read from a read-only transaction on the readers' pool; nothing is recorded,
        not even the request's signature: a replayed read changes nothing. A read still
        queued when the time is up is cancelled; one under way is cut short by the
        database's own bound (`Store.reading`).
        """
        answer = Answer(self.store, self.channel_id, user_id)
        ctx = self.context(user_id, conversation=answer)
        left = (arrived or time.monotonic()) + ANSWER_WITHIN - time.monotonic()
        try:
            await asyncio.wait_for(
                asyncio.wrap_future(self.worker.read(fn, ctx, *args)), max(0.05, left)
            )
        except TimeoutError:
            log.warning("a read-only command was not answered in time; the user will retry")
            return SLOW_ANSWER
        except (OperationalError, InterfaceError) as error:  # unreachable, or cut short
            log.warning("could not read for a command (database: %s)", type(error).__name__)
            return DATABASE_DOWN
        except Exception:
            ref = incident_id()
            log.exception("unexpected error (ref %s)", ref)
            return WENT_WRONG.format(ref=ref)
        return answer.text

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


#: How long after its arrival a read-only command must be answered: Slack waits three
#: seconds for the acknowledgement.
ANSWER_WITHIN = 2.2
SLOW_ANSWER = (
    "My database is slow to answer right now, so I could not look that up in time. "
    "Please try again in a minute."
)
WENT_WRONG = (
    "Something went wrong on my side (ref `{ref}`); nothing was changed. "
    "Please tell the bot's operators."
)

#: What someone is told when the database cannot record their request.
DATABASE_DOWN = (
    "I cannot reach my database right now, so nothing was done. Please try again in a minute."
)
