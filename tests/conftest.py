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
