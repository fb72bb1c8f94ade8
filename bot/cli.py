"""The `release-bot` command: serve (HTTP or Socket Mode), console, migrate."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import sys
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot.settings import DatabaseSettings, Settings, describe

if TYPE_CHECKING:  # a settings mistake is reported before Bolt and the rest are imported
    from slack_bolt.async_app import AsyncApp

log = logging.getLogger("release_bot")


def _settings() -> Settings:
    try:
        return Settings()  # type: ignore[call-arg]
    except ValidationError as error:
        print(describe(error), file=sys.stderr)
        raise SystemExit(2) from None


#: How long a thread may keep the interpreter while another waits for it. At Python's 5 ms,
#: the work after an acknowledgement (commands, the outbox, release steps) held up the event
#: loop, and the acknowledgements queued on it, 5 ms at a time: p99 at 50 clients 167 ms for
#: clicks (bench/load.py), 102 ms at 1 ms; with the collector's change below, 57-78 ms.
SWITCH_SECONDS = 0.001


def _tune_for_acknowledgements() -> None:
    """What start-up built (modules, the app, the ORM's mappings) lives as long as the
    process: the garbage collector stops walking it, which it did on every full collection
    while requests waited. Then threads take turns with the interpreter more often."""
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(SWITCH_SECONDS)


def serve() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("slack_sdk").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # no line per tick
    settings = _settings()
    from slack_sdk.errors import SlackApiError, SlackRequestError
    from sqlalchemy.exc import OperationalError

    from bot.runtime import build_runtime
    from storage.migrate import SchemaTooNew

    try:
        if settings.slack_app_token is not None:
            _check_app_token(settings)
        runtime = build_runtime(settings)
    except SlackApiError as error:
        refusal = error.response.get("error")
        which = "SLACK_APP_TOKEN" if "connections" in str(error) else "SLACK_BOT_TOKEN"
        print(f"release-bot: Slack refused {which} at start-up: {refusal}", file=sys.stderr)
        return 2
    except (OSError, SlackRequestError) as error:  # refused, reset, unresolvable, timed out
        print(
            f"release-bot: cannot reach Slack at SLACK_API_URL ({settings.slack_api_url}): "
            f"{_reason(error)}",
            file=sys.stderr,
        )
        return 2
    except SchemaTooNew as error:
        print(f"release-bot: {error}", file=sys.stderr)
        return 2
    except OperationalError as error:
        print(
            "release-bot: cannot reach the database at DATABASE_URL: "
            f"{str(error.orig).splitlines()[0] if error.orig else error.__class__.__name__}",
            file=sys.stderr,
        )
        return 2
    dry = runtime.services.integrations.dry
    if dry:
        log.warning(
            "DRY RUN for %s: set their credentials to make them real (see the README); "
            "every deploy announcement says what ran dry",
            ", ".join(dry),
        )

    sock = None
    if settings.slack_app_token is None:
        from bot.server import bind

        try:
            sock = bind(settings.host, settings.port)
        except OSError as error:
            runtime.close()
            print(
                f"release-bot: cannot listen on {settings.host}:{settings.port}: "
                f"{error.strerror or error}",
                file=sys.stderr,
            )
            return 2
    _tune_for_acknowledgements()  # before the runtime's threads start allocating
    runtime.start()
    try:
        if sock is None:
            assert settings.slack_app_token is not None
            log.info("connecting to Slack in Socket Mode")
            asyncio.run(_socket_mode(runtime.bolt, settings.slack_app_token.get_secret_value()))
            runtime.close()
            # A step still running was handed back to other instances: do not wait for it.
            logging.shutdown()
            os._exit(0)
        else:
            from bot.server import uvicorn_server

            log.info("serving Slack's requests at POST /slack/events on port %s", settings.port)
            # SIGTERM: uvicorn stops accepting, then its lifespan runs runtime.close().
            uvicorn_server(runtime.asgi).run(sockets=[sock])
    finally:
        runtime.close()
    return 0


async def _socket_mode(bolt: AsyncApp, app_token: str) -> None:
    import signal

    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    # The handler opens its aiohttp session on the running loop, so it is built inside it.
    handler = AsyncSocketModeHandler(bolt, app_token)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    await stop.wait()
    log.info("shutting down: no new work is taken")
    await handler.close_async()  # type: ignore[no-untyped-call]


def _check_app_token(settings: Settings) -> None:
    """Socket Mode: a refused app token stops start-up, instead of retrying for ever."""
    from slack_sdk import WebClient

    assert settings.slack_app_token is not None
    WebClient(
        base_url=settings.slack_api_url,
        timeout=settings.slack_timeout_seconds,
        retry_handlers=[],
    ).apps_connections_open(app_token=settings.slack_app_token.get_secret_value())


def _reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None) or error
    return str(reason).splitlines()[0][:200] if str(reason) else type(reason).__name__


def migrate() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    from storage.db import make_engine
    from storage.migrate import SchemaTooNew, upgrade

    try:
        url = DatabaseSettings().database_url
    except ValidationError as error:
        print(describe(error, bot=False), file=sys.stderr)
        return 2
    engine = make_engine(url)
    try:
        upgrade(engine)
    except SchemaTooNew as error:
        print(f"release-bot: {error}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    log.info("database is at the newest schema")
    return 0


def console(database_url: str) -> int:
    from bot.console.repl import run_console

    return run_console(database_url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="release-bot", description=__doc__)
    sub = parser.add_subparsers(dest="mode")
    sub.add_parser("serve", help="serve Slack (HTTP, or Socket Mode when SLACK_APP_TOKEN is set)")
    sub.add_parser("migrate", help="apply database migrations to DATABASE_URL")
    local = sub.add_parser(
        "console", help="run the bot locally with a terminal standing in for Slack"
    )
    local.add_argument(
        "--database-url",
        default="sqlite:///release_bot_console.sqlite3",
        help="where the console keeps its data (default: a SQLite file here)",
    )
    args = parser.parse_args(argv)
    if args.mode == "console":
        return console(args.database_url)
    if args.mode == "migrate":
        return migrate()
    return serve()


if __name__ == "__main__":
    raise SystemExit(main())
