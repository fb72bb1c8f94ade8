"""Fixtures: a real database of each kind, and the whole bot on loopback."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.console.fake_slack import FakeSlack
from storage.db import make_engine, normalise_url
from storage.migrate import upgrade
from tests.harness import Harness

#: Modules whose tests start real processes, or wait out real retries, leases and clocks,
#: slowest first. They are handed out first, two at a time, so that the run does not end with
#: every worker idle but one that waits out a 30-second test.
SLOW_FIRST = (
    "test_recovery_processes",
    "test_real_integrations_processes",
    "test_database_outage",
    "test_nothing_lost_e2e",
    "test_real_integrations_e2e",
    "test_shifted_clock",
    "test_two_instances",
    "test_console",
    "test_settings",
    "test_ack_under_load",
    "test_scheduled_posts_e2e",
)


@pytest.hookimpl(optionalhook=True)  # xdist's hook: absent with `-p no:xdist`
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: four workers a core, at most eight. An end-to-end test spends most of its
    time waiting for the bot, Slack or a database, so two cores keep eight of them busy."""
    del config
    return min(8, 4 * (os.cpu_count() or 1))


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config.option, "maxschedchunk") and config.option.maxschedchunk is None:
        config.option.maxschedchunk = 2  # see SLOW_FIRST


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: n for n, name in enumerate(SLOW_FIRST)}

    def key(item: pytest.Item) -> int:
        module = getattr(item, "module", None)
        name = module.__name__.rpartition(".")[2] if module else ""
        return rank.get(name, len(rank))

    items.sort(key=key)  # stable: the rest keep their order


PG_ADMIN_URL = normalise_url(
    os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
)
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"


def _postgres_or_skip() -> None:
    try:
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as error:
        message = f"PostgreSQL is not reachable at {make_url(PG_ADMIN_URL)!r}: {error}"
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)


def _url(database: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


@contextmanager
def _scratch_database(template: str | None = None) -> Iterator[str]:
    """A PostgreSQL database of its own for one test, dropped afterwards."""
    name = f"release_bot_test_{uuid.uuid4().hex[:10]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield _url(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A database migrated once; each test gets a fresh copy of it."""
    _postgres_or_skip()
    name = f"release_bot_tpl_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(_url(name))
    upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once; each test gets a fresh copy of it."""
    path = tmp_path_factory.mktemp("template") / "release_bot.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection closed: the WAL is folded into the file
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        copy = tmp_path / "release_bot.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), copy)
        yield f"sqlite:///{copy}"
        return
    with _scratch_database(template=request.getfixturevalue("pg_template")) as url:
        yield url


@pytest.fixture
def postgres_url(pg_template: str) -> Iterator[str]:
    """A fresh, empty (unmigrated) PostgreSQL database, for tests that start real processes."""
    del pg_template  # only for its skip-or-fail check
    with _scratch_database() as url:
        yield url


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """A fake Slack for tests that start real `app.py` processes."""
    slack = FakeSlack(bot_token="xoxb-processes")
    slack.start()
    yield slack
    slack.stop()


@pytest.fixture
def bot(database_url: str) -> Iterator[Harness]:
    harness = Harness.start(database_url)
    try:
        yield harness
    finally:
        harness.stop()
