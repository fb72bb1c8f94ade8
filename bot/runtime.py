"""Builds everything a running bot needs from its settings, once per process."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine
from starlette.applications import Starlette

from bot import connect
from bot.app import build_app
from bot.delivery import Delivery
from bot.runner import JobRunner
from bot.scheduler import Ticker
from bot.server import asgi_app
from bot.services import Services
from bot.settings import Settings
from bot.work import Worker
from commands.procedures import PROCEDURES
from integrations import Integrations, dry_run
from release.clock import Clock, SystemClock
from storage.db import make_engine
from storage.migrate import upgrade
from storage.unit_of_work import Store

log = logging.getLogger(__name__)


#: Platforms kill 30 s after SIGTERM. uvicorn takes up to 3 s to close connections first;
#: this leaves a margin for handing claims back and closing the database.
SHUTDOWN_SECONDS = 18.0


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    services: Services
    bolt: AsyncApp
    asgi: Starlette
    delivery: Delivery
    jobs: JobRunner
    ticker: Ticker | None = None
    _closed: bool = field(default=False, repr=False)

    def start(self, *, scheduler: bool = True) -> None:
        """Start delivering the outbox, running release jobs and (optionally) the ticker."""
        self.delivery.start()
        self.jobs.start()
        if scheduler:
            self.ticker = Ticker(self.services, self.settings.scheduler_tick_seconds)
            self.ticker.start()

    def settled(self) -> bool:
        """Whether this instance has nothing under way and nothing is due now: every
        command handed off has run, and no message or release step waits to be sent or
        run now. (A step waiting for a retry or a lock is due later, not now; a scheduled
        post the ticker is sending at this moment is not counted.)

        Work moves from due to claimed to finished (and what it leads to is due) while
        this looks, so it looks at the counts of those moves before and after: if they
        changed, it cannot tell, and says no.
        """
        worker = self.services.worker
        moves = (self.delivery.moves, self.jobs.moves, worker.moves)
        if self.delivery.busy or self.jobs.busy or not worker.idle:
            return False
        if self.delivery.due() or self.jobs.due():
            return False
        return moves == (self.delivery.moves, self.jobs.moves, worker.moves)

    def close(self, seconds: float = SHUTDOWN_SECONDS) -> None:
        """Stop taking work, let steps under way reach a safe point, hand back the rest.

        Release steps get most of `seconds`; whatever is still running then is handed
        back (its claim released) for another instance, or this one after a restart, to
        resume from its last completed step.
        """
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + seconds
        if self.ticker is not None:
            self.ticker.stop()
        self.jobs.halt()  # no new step starts here; steps under way reach their end
        self.services.worker.shutdown(deadline - 10.0)
        finished = self.jobs.stop(deadline - 3.0)
        self.delivery.stop(deadline)
        log.info("stopped%s", "" if finished else "; unfinished release steps were handed back")
        self.services.store.dispose()


def instance_name() -> str:
    """This process, as the deploy lock and scheduled-post claims name it."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def delivery_client(settings: Settings) -> WebClient:
    """The outbox's client: one attempt per call, with a time limit; retries are the outbox's."""
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=settings.slack_timeout_seconds,
        retry_handlers=[],
    )


def web_client(settings: Settings) -> WebClient:
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


def render_home(services: Services) -> dict[str, Any]:
    """The Home tab as the database has it now: read in a read-only snapshot, so that one
    render for each viewer never holds the writers' lock (on SQLite, the only writer)."""
    from bot.views.home import home_view
    from commands.home import home_facts

    with services.store.reading() as uow:
        facts = home_facts(uow, services.policy, services.clock.now())
    return home_view(facts, services.policy.schedule.windows.zone)


def _integrations(settings: Settings) -> Integrations:
    """The configured integrations; a rehearsal's slow dry run when asked for one."""
    if settings.dry_run_deploy_seconds or settings.dry_run_step_seconds:
        return dry_run(
            settings.smoke_check_names,
            deploy_seconds=settings.dry_run_deploy_seconds,
            step_seconds=settings.dry_run_step_seconds,
        )
    return connect.integrations(settings)


def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    integrations: Integrations | None = None,
) -> Runtime:
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    store = Store(engine, clock, readers=settings.command_threads)
    client = web_client(settings)
    # One attempt with a time limit: an unreachable or silent Slack stops start-up promptly.
    auth = WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=settings.slack_timeout_seconds,
        retry_handlers=[],
    ).auth_test()
    identity = AuthorizeResult(
        enterprise_id=auth.get("enterprise_id"),
        team_id=auth.get("team_id"),
        bot_user_id=auth.get("user_id"),
        bot_id=auth.get("bot_id"),
        bot_token=settings.slack_bot_token.get_secret_value(),
    )
    services = Services(
        channel_id=settings.release_channel_id,
        policy=settings.policy,
        store=store,
        integrations=integrations or _integrations(settings),
        clock=clock,
        worker=Worker(settings.command_threads),
        web_client=client,
        answer_in_ack=settings.answer_in_ack_seconds,
        instance=instance_name(),
    )
    # No token here: Bolt hands each request a client with the token from authorize().
    async_client = AsyncWebClient(
        base_url=settings.slack_api_url,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )
    secret = settings.slack_signing_secret
    bolt = build_app(
        services,
        signing_secret=secret.get_secret_value() if secret else None,
        client=async_client,
        identity=identity,
    )
    delivery = Delivery(
        store,
        delivery_client(settings),
        services.instance,
        threads=8,
        timeout_seconds=settings.slack_timeout_seconds,
        home=partial(render_home, services),
    )
    jobs = JobRunner(
        store,
        PROCEDURES,
        services.context,
        services.instance,
        deploy_lease=settings.policy.deploy_lock_lease,
        lease=timedelta(seconds=settings.job_lease_seconds),
        threads=settings.worker_threads,  # release steps mostly wait on GitHub and Vercel
    )
    runtime = Runtime(
        settings,
        engine,
        services,
        bolt,
        asgi_app(
            bolt,
            services,
            on_shutdown=lambda: runtime.close(),
            signing_secret=secret.get_secret_value() if secret else "",
        ),
        delivery,
        jobs,
    )
    return runtime
