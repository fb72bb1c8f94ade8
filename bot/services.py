"""Everything a listener needs, built once per process and handed to register()."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import urllib3
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk import WebClient
from slack_sdk.proxy_env_variable_loader import load_http_proxy_from_env
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

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
    answer_in_ack: float = 0.5  # seconds a read may take to be answered in the ack
    # Answers sent straight to response URLs, over kept-alive connections (slack-sdk's
    # WebhookClient opens a new connection, and a TLS session, for every post), with urllib3:
    # under load a post cost a third less of the interpreter than with httpx, which also logs
    # every URL it posts to. Thread-safe. No retries (urllib3 would log the URL of each).
    replies: urllib3.PoolManager = field(default_factory=lambda: _reply_pool())

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
        self,
        user_id: str,
        response_url: str | None,
        arrived: float | None,
        fn: Callable[..., object],
        *args: Any,
    ) -> str | None:
        """What a read-only command says, read on the readers' pool from a read-only
        transaction, for the acknowledgement itself (Slack shows it to `user_id` alone).

        When it is not ready `answer_in_ack` seconds after the request arrived (`arrived`,
        time.monotonic(); now when unknown, as in Socket Mode), None: the acknowledgement
        goes out empty and the answer follows through the response URL once it is read.
        Nothing is recorded, not even the request's signature: a replayed read changes
        nothing, and an answer lost on the way is asked for again.
        """
        answer = Answer(self.store, self.channel_id, user_id, response_url)
        ctx = self.context(user_id, conversation=answer)
        read = self.worker.read(_read, answer, ctx, fn, args)
        left = (arrived or time.monotonic()) + self.answer_in_ack - time.monotonic()
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(read)), left)
        except TimeoutError:
            self.worker.then(read, self._tell_directly, ctx)  # said once it is read
            return None

    def hand_off(
        self, request: AsyncBoltRequest, ctx: Context, fn: Callable[..., object], *args: Any
    ) -> None:
        """Carry out `fn(*args)` on the command pool, once per signed request.

        Called after ack(): nothing here delays the acknowledgement. The request's signature
        is recorded first, in the database, so a replay that another instance accepted
        (each instance's guard remembers only its own) does nothing there.
        """
        if not _through_the_guard(request):
            return
        self.worker.submit(self._once, request.context.get(SIGNED), ctx, fn, args)

    def refuse_or_hand_off(
        self,
        request: AsyncBoltRequest,
        ctx: Context,
        refusal: Callable[[Context], str | None],
        fn: Callable[..., object],
        *args: Any,
    ) -> None:
        """Carry out `fn(*args)` as `hand_off` does, unless `refusal` finds, read-only on the
        readers' pool, that it would be refused: then that is said through the request's
        response URL (from the followers' pool), and nothing is recorded, as for a read-only
        command (nothing changes; a refusal lost on the way is met again on the next try).
        `fn` decides again, in its own transaction, whatever `refusal` let through; a check
        that fails lets it through.

        Called after ack(): nothing here delays the acknowledgement.
        """
        if _through_the_guard(request):
            self.worker.check(self._refuse_or_do, request, ctx, refusal, fn, args)

    def _refuse_or_do(
        self,
        request: AsyncBoltRequest,
        ctx: Context,
        refusal: Callable[[Context], str | None],
        fn: Callable[..., object],
        args: tuple[Any, ...],
    ) -> None:
        answer = Answer(self.store, self.channel_id, ctx.actor, None)
        refused = _check(refusal, self.context(ctx.actor, conversation=answer))
        if refused is None:
            self.hand_off(request, ctx, fn, *args)
        else:  # a post may be slow: not on a reader's thread
            self.worker.follow(self._tell_directly, ctx, refused)

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
        request's response URL, or as an ephemeral message in the release channel when
        there is none or Slack refused it. A post that timed out or was reset is not
        repeated: it may have landed, and would show twice."""
        url = ctx.conversation.response_url
        try:
            if url:
                try:
                    sent = self.replies.request(
                        "POST",
                        url,
                        json={
                            "text": text,
                            "response_type": "ephemeral",
                            "replace_original": False,
                        },
                    )
                except NOT_SENT as error:  # no connection was made: nothing can have landed
                    log.warning("could not reach the response URL (%s)", type(error).__name__)
                else:
                    if sent.status == 200:
                        return
                    log.warning("the response URL refused a reply (%s)", sent.status)
            answer = self.web_client.chat_postEphemeral(
                channel=self.channel_id, user=ctx.actor, text=text
            )
            if not answer.get("ok"):
                log.warning("could not tell the user either (Slack refused)")
        except Exception as error:
            log.warning("could not tell the user (%s)", type(error).__name__)


#: What urllib3 raises when a post never left: no connection, or no proxy to carry it.
NOT_SENT = (
    urllib3.exceptions.NewConnectionError,
    urllib3.exceptions.ConnectTimeoutError,
    urllib3.exceptions.ProxyError,
    urllib3.exceptions.NameResolutionError,
)


def _reply_pool() -> urllib3.PoolManager:
    """Kept-alive connections for response URLs, through the proxy the environment names
    (HTTPS_PROXY and the rest, read as slack-sdk's own clients read them)."""
    settings: dict[str, Any] = {
        "maxsize": 8,
        "timeout": urllib3.Timeout(total=5),
        "retries": False,
    }
    proxy = load_http_proxy_from_env()
    return urllib3.ProxyManager(proxy, **settings) if proxy else urllib3.PoolManager(**settings)


SLOW_ANSWER = (
    "My database is slow to answer right now, so I could not look that up in time. "
    "Please try again in a minute."
)
WENT_WRONG = (
    "Something went wrong on my side (ref `{ref}`); nothing was changed. "
    "Please tell the bot's operators."
)


def _read(answer: Answer, ctx: Context, fn: Callable[..., object], args: tuple[Any, ...]) -> str:
    """Run a read-only command; what it says, or why it could not be read (in words)."""
    try:
        try:
            fn(ctx, *args)
        except (OperationalError, InterfaceError) as error:
            if not error.connection_invalidated:
                raise
            # The readers' pool does not ping before each read (a round trip on every one):
            # a connection the database dropped (a restart, a failover) fails its first
            # read, and the pool is renewed. Said nothing yet, so read once more.
            answer.effects.clear()
            fn(ctx, *args)
    except PoolTimeout:
        log.warning("could not read for a command (every reader's connection was busy)")
        return SLOW_ANSWER
    except (OperationalError, InterfaceError) as error:
        log.warning("could not read for a command (database: %s)", type(error.orig).__name__)
        return SLOW_ANSWER if _too_slow(error) else DATABASE_DOWN
    except Exception:
        ref = incident_id()
        log.exception("unexpected error (ref %s)", ref)
        return WENT_WRONG.format(ref=ref)
    return answer.text


def _through_the_guard(request: AsyncBoltRequest) -> bool:
    """Whether an HTTP request came through bot.request_guard (Socket Mode needs none)."""
    if request.mode != "socket_mode" and request.context.get(SIGNED) is None:
        log.error("refused a request that did not come through the request guard")
        return False
    return True


def _check(refusal: Callable[[Context], str | None], ctx: Context) -> str | None:
    """`refusal(ctx)`; None (let the write path decide) when it cannot be read."""
    try:
        return refusal(ctx)
    except Exception as error:
        log.warning("could not check a request before handing it off (%s)", type(error).__name__)
        return None


def _too_slow(error: OperationalError | InterfaceError) -> bool:
    """The read was cut short by its bound (PostgreSQL's statement_timeout, SQLite's
    busy_timeout), not refused by a database that is down or a broken connection."""
    if not isinstance(error, OperationalError):
        return False
    return getattr(error.orig, "sqlstate", None) == "57014" or "locked" in str(error.orig)


#: What someone is told when the database cannot record their request.
DATABASE_DOWN = (
    "I cannot reach my database right now, so nothing was done. Please try again in a minute."
)
