"""Fixtures: a real database of each kind, and the whole bot on loopback."""

from __future__ import annotations

import compileall
import gc
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bot.console.fake_slack import FakeSlack
from storage.db import make_engine, normalise_url
from storage.migrate import upgrade
from tests.harness import Harness

#: Modules whose tests start real processes, or wait out real retries, leases and clocks,
#: slowest first. They are handed out first, two at a time, so that the run does not end with
#: every worker idle but one that waits out a 30-second test; two of the rest go between
#: every two of them, so that half the workers start on tests that keep the cores busy
#: (with all twelve on waiting tests, the cores idled a fifth of the first 80 seconds).
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
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: six workers a usable core, at most twelve (PYTEST_XDIST_AUTO_NUM_WORKERS
    still decides when set). An end-to-end test spends most of its time waiting for the
    bot, Slack or a database, so two cores keep twelve of them busy (eight left the cores
    idle a quarter of the time while the slow process tests ran); twelve bots' pools stay
    inside PostgreSQL's default 100 connections (75 at most, measured)."""
    del config
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist reads it
    return min(12, 6 * len(os.sched_getaffinity(0)))


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config.option, "maxschedchunk") and config.option.maxschedchunk is None:
        config.option.maxschedchunk = 2  # see SLOW_FIRST
    if config.getoption("numprocesses", None) and not hasattr(config, "workerinput"):
        _compile_once(config)  # xdist's controller, before it starts the workers


ROOT = Path(__file__).parent.parent
TESTS = ROOT / "tests"
#: The bot's packages, and the tests' helpers (modules pytest does not rewrite).
COMPILED = ("bot", "commands", "storage", "release", "integrations", "tests")
#: The modules pytest rewrites the asserts of: test modules and conftest files.
REWRITTEN = re.compile(r"[/\\](test_[^/\\]*|conftest)\.py$")


def _compile_once(config: pytest.Config) -> None:
    """Compile the code every worker and every bot process loads, once, before they start.

    Without it each of them compiles it again when Python is told not to write bytecode
    (PYTHONDONTWRITEBYTECODE, as in CI): the tests' modules, whose asserts pytest rewrites,
    cost each worker 1.5 s of CPU, a quarter of its start-up. A worker, or a bot, finds these
    files and checks them against the source (pytest's by hash, Python's by time and size);
    anything that goes wrong here only leaves them to compile it themselves.
    """
    for package in COMPILED:
        compileall.compile_dir(ROOT / package, quiet=2, rx=REWRITTEN)
    try:  # pytest's own cache of rewritten test modules, written as its import hook does
        from _pytest.assertion.rewrite import (
            PYC_TAIL,
            _read_pyc,
            _rewrite_test,
            _write_pyc,
            assertstate_key,
            get_cache_dir,
        )

        state = config.stash[assertstate_key]
        for source in sorted(TESTS.rglob("*.py")):
            if not REWRITTEN.search(str(source)):
                continue
            pyc = get_cache_dir(source) / (source.name[:-3] + PYC_TAIL)
            if _read_pyc(source, pyc) is None:
                pyc.parent.mkdir(parents=True, exist_ok=True)
                source_hash, code = _rewrite_test(source, config)
                _write_pyc(state, code, source_hash, pyc)
    except Exception as error:  # noqa: BLE001 (another pytest: the workers rewrite as before)
        config.issue_config_time_warning(
            pytest.PytestConfigWarning(f"test modules not pre-compiled ({error!r}): slower"), 2
        )


@pytest.hookimpl(trylast=True)
def pytest_collection_finish() -> None:
    """What collection built (modules, the tests, their parameters) lives for the whole run:
    the garbage collector stops looking at it, which was a third of its time in a worker."""
    gc.collect()
    gc.freeze()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: n for n, name in enumerate(SLOW_FIRST)}

    def key(item: pytest.Item) -> int:
        module = getattr(item, "module", None)
        name = module.__name__.rpartition(".")[2] if module else ""
        return rank.get(name, len(rank))

    slow = sorted((i for i in items if key(i) < len(rank)), key=key)  # stable
    # The end-to-end tests (a bot each, a second or so of CPU) before the small ones, which
    # fill the end of the run.
    rest = sorted((i for i in items if key(i) == len(rank)), key=lambda i: i.path.parent != TESTS)
    mixed = []
    for n in range(0, len(slow), 2):
        mixed += slow[n : n + 2] + rest[n : n + 2]
    items[:] = mixed + rest[len(slow) + len(slow) % 2 :]


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


@cache
def _admin() -> Engine:
    """The server's own database, from which test databases are created and dropped."""
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)


def _create_database(prefix: str, template: str | None = None) -> str:
    """A new database (a copy of `template`, else empty); its name."""
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    with _admin().connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    return name


def _drop_database(name: str) -> None:
    with _admin().connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def _scratch_database() -> Iterator[str]:
    """An empty PostgreSQL database of its own for one test, dropped afterwards."""
    name = _create_database("release_bot_test_")
    try:
        yield _url(name)
    finally:
        _drop_database(name)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A database migrated once; each worker's reused database is a copy of it."""
    _postgres_or_skip()
    name = _create_database("release_bot_tpl_")
    engine = make_engine(_url(name))
    upgrade(engine)
    engine.dispose()
    yield name
    _drop_database(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once; each test gets a fresh copy of it."""
    path = tmp_path_factory.mktemp("template") / "release_bot.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection closed: the WAL is folded into the file
    return path


#: What a test could change in a database besides its rows: if any of it differs after the
#: test, the database is replaced rather than emptied.
_SCHEMA = text(
    """
    SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
      SELECT c.relname || ':' || c.relkind::text || ':' || pg_get_userbyid(c.relowner) || ':'
             || COALESCE(c.relacl::text, '') || ':' || c.relrowsecurity::text || ':'
             || c.relforcerowsecurity::text
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
      UNION ALL
      SELECT a.attrelid::regclass::text || '.' || a.attname || ':'
             || format_type(a.atttypid, a.atttypmod) || ':' || a.attnotnull::text
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped
      UNION ALL
      SELECT 'constraint:' || conname || ':' || pg_get_constraintdef(oid) FROM pg_constraint
       WHERE connamespace = 'public'::regnamespace
      UNION ALL
      SELECT 'default:' || adrelid::regclass::text || ':' || adnum || ':'
             || pg_get_expr(adbin, adrelid) FROM pg_attrdef
      UNION ALL
      SELECT 'column acl:' || attrelid::regclass::text || '.' || attname || ':' || attacl::text
        FROM pg_attribute WHERE attacl IS NOT NULL AND attrelid >= 16384
      UNION ALL
      SELECT 'trigger:' || pg_get_triggerdef(oid) || ':' || tgenabled::text FROM pg_trigger
       WHERE NOT tgisinternal
      UNION ALL
      SELECT 'function:' || md5(pg_get_functiondef(oid)) || ':' || COALESCE(proacl::text, '')
        FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND prokind IN ('f', 'p')
      UNION ALL
      SELECT 'index:' || indexdef FROM pg_indexes WHERE schemaname = 'public'
      UNION ALL
      SELECT 'view:' || viewname || ':' || definition FROM pg_views WHERE schemaname = 'public'
      UNION ALL
      SELECT 'sequence:' || sequencename || ':' || increment_by || ':' || min_value || ':'
             || max_value || ':' || cycle::text FROM pg_sequences WHERE schemaname = 'public'
      UNION ALL
      SELECT 'extension:' || extname || ':' || extversion FROM pg_extension
      UNION ALL
      SELECT 'type:' || typname FROM pg_type WHERE typnamespace = 'public'::regnamespace
      UNION ALL
      SELECT 'schema:' || nspname || ':' || pg_get_userbyid(nspowner) || ':'
             || COALESCE(nspacl::text, '') FROM pg_namespace
      UNION ALL
      SELECT 'database:' || pg_get_userbyid(datdba) || ':' || COALESCE(datacl::text, '')
        FROM pg_database WHERE datname = current_database()
      UNION ALL
      SELECT 'settings:' || array_to_string(setconfig, ',') FROM pg_db_role_setting
       WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
      UNION ALL
      SELECT 'default acl:' || defaclacl::text FROM pg_default_acl
      UNION ALL
      SELECT 'policy:' || polname FROM pg_policy
    ) AS everything(x)
    """
)


def _sequences(conn: Connection) -> dict[str, tuple[int, bool]]:
    """Each sequence's state: its last value, and whether that value was handed out (read
    from the sequence itself: pg_sequences shows no value for one set back, or restarted)."""
    names = conn.execute(
        text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
    ).scalars()
    query = " UNION ALL ".join(
        f"SELECT '{name}', last_value, is_called FROM \"{name}\"" for name in names
    )
    return {str(name): (last, called) for name, last, called in conn.execute(text(query))}


class _ReusedDatabase:
    """One PostgreSQL database per test worker, put back after every test as the template
    left it: its rows and sequences restored, other sessions ended. Copying the template
    anew for each test cost PostgreSQL 0.2 s of CPU a test; this costs it a few ms. A test
    that changed anything else (a table, a trigger, a privilege) gets it replaced."""

    def __init__(self, template: str) -> None:
        self.template = template
        self.name = ""
        self._copy()

    def _copy(self) -> None:
        self.close()
        self.name = _create_database("release_bot_test_", self.template)
        self.url = _url(self.name)
        # One connection kept for the resets (a new one costs PostgreSQL more than the reset);
        # checked before use, since a test may end every session on the database.
        self.engine = create_engine(self.url, pool_size=1, max_overflow=0, pool_pre_ping=True)
        with self.engine.connect() as conn:
            self.schema = conn.execute(_SCHEMA).scalar_one()
            tables = conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
            self.rows = {
                table: conn.execute(text(f'SELECT json_agg(t)::text FROM "{table}" t')).scalar()
                for table in tables
            }
            self.sequences = _sequences(conn)
        # Which tables hold rows, in one query: only those are emptied.
        self._filled = text(
            " UNION ALL ".join(
                f"SELECT '{table}' WHERE EXISTS (SELECT FROM \"{table}\")" for table in self.rows
            )
        )

    def reset(self) -> None:
        """The database as the template left it, or a new copy of the template."""
        try:
            self._empty()
        except Exception:
            self._copy()  # never hand the next test a half-emptied database
            raise

    def _empty(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            changed = conn.execute(_SCHEMA).scalar_one() != self.schema
            if not changed:
                self._restore(conn)
        if changed:
            self._copy()

    def _restore(self, conn: Connection) -> None:
        """Rows, then sequences, as the template has them. (A session that outlived the
        wait for it to end, holding a lock, fails the reset: the database is replaced.)"""
        conn.execute(text("SET LOCAL lock_timeout = '10s'"))
        conn.execute(text("SET LOCAL session_replication_role = replica"))  # no triggers
        filled = set(conn.execute(self._filled).scalars())
        for table, rows in self.rows.items():
            if table in filled:
                conn.execute(text(f'DELETE FROM "{table}"'))
            if rows is not None:
                conn.execute(
                    text(
                        f'INSERT INTO "{table}" OVERRIDING SYSTEM VALUE '
                        f'SELECT * FROM json_populate_recordset(NULL::"{table}", :rows)'
                    ),
                    {"rows": rows},
                )
        # Every sequence, in one statement (comparing first would cost as much).
        calls = ", ".join(f"setval(:s{n}, :v{n}, :c{n})" for n in range(len(self.sequences)))
        values: dict[str, object] = {}
        for n, (name, (last, called)) in enumerate(self.sequences.items()):
            values |= {f"s{n}": f'"{name}"', f"v{n}": last, f"c{n}": called}
        conn.execute(text(f"SELECT {calls}"), values)

    def close(self) -> None:
        if self.name:
            self.engine.dispose()
            _drop_database(self.name)


@pytest.fixture(scope="session")
def pg_reused(pg_template: str) -> Iterator[_ReusedDatabase]:
    database = _ReusedDatabase(pg_template)
    yield database
    database.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        copy = tmp_path / "release_bot.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), copy)
        yield f"sqlite:///{copy}"
        return
    database: _ReusedDatabase = request.getfixturevalue("pg_reused")
    yield database.url
    database.reset()


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
