"""A whole bot on loopback: the fake Slack, the real app on uvicorn, and a simulator."""

from __future__ import annotations

import threading
import time
from contextlib import suppress
from dataclasses import dataclass

import uvicorn
from sqlalchemy.exc import SQLAlchemyError

from bot.console.fake_slack import FakeSlack
from bot.console.simulator import SlackSimulator
from bot.runtime import Runtime, build_runtime
from bot.scheduler import Ticker
from bot.server import bind, uvicorn_server
from bot.settings import Settings
from integrations import Integrations
from release.clock import Clock

SIGNING_SECRET = "console-signing-secret"  # noqa: S105 (a local stand-in, not a secret)
BOT_TOKEN = "xoxb-console"  # noqa: S105
CHANNEL_ID = "C0PORTALREL"


@dataclass
class LocalBot:
    fake: FakeSlack
    runtime: Runtime
    simulator: SlackSimulator
    server: uvicorn.Server
    thread: threading.Thread
    url: str
    ticker: Ticker | None = None
    shared_fake: bool = False  # another bot owns the fake Slack and stops it

    @classmethod
    def start(
        cls,
        database_url: str,
        *,
        admins: tuple[str, ...] = (),
        clock: Clock | None = None,
        integrations: Integrations | None = None,
        scheduler: bool = False,
        fake: FakeSlack | None = None,
        **settings: object,
    ) -> LocalBot:
        """A bot on loopback; given `fake`, a second instance beside the bot already on it."""
        shared = fake is not None
        if fake is None:
            fake = FakeSlack(bot_token=BOT_TOKEN)
            fake.start()
        config = Settings.model_validate(
            {
                "slack_bot_token": BOT_TOKEN,
                "slack_signing_secret": SIGNING_SECRET,
                "slack_api_url": fake.api_url,
                "release_channel_id": CHANNEL_ID,
                "release_admins": list(admins),
                "database_url": database_url,
                **settings,
            }
        )
        runtime = build_runtime(config, clock=clock, integrations=integrations)
        sock = bind("127.0.0.1", 0)
        port = sock.getsockname()[1]
        server = uvicorn_server(runtime.asgi, log_level="warning")
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the bot's HTTP server did not start")
            time.sleep(0.01)
        url = f"http://127.0.0.1:{port}"
        simulator = SlackSimulator(f"{url}/slack/events", SIGNING_SECRET, fake, CHANNEL_ID)
        runtime.start(scheduler=scheduler)
        return cls(fake, runtime, simulator, server, thread, url, runtime.ticker, shared)

    def settle(self, timeout: float = 15.0) -> bool:
        """Wait until the bot has gone quiet with nothing under way or due (a reply, a
        review, a release step): what a command set going has then been said. False when
        it has not settled after `timeout` seconds (or its database never answered). (A quiet
        spell alone is not enough on a busy machine: a step can take longer than it
        between two messages.)"""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            self.fake.wait_quiet(timeout=max(0.0, left), strict=False)
            with suppress(SQLAlchemyError):  # a slow or absent database: look again
                if self.runtime.settled():
                    return True
            if time.monotonic() >= deadline:
                return False

    def stop(self) -> None:
        self.server.should_exit = True  # its lifespan closes the runtime
        self.thread.join(timeout=30)
        self.simulator.close()
        self.runtime.close()
        if not self.shared_fake:
            self.fake.stop()
