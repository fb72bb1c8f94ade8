"""The readers' cache: an answer is reused only at the version of its sources it was read at,
and the database itself bumps that version, whoever writes."""

from __future__ import annotations

import importlib.util
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text

from release.clock import FixedClock
from release.roles import Role
from storage.db import make_engine
from storage.migrate import MIGRATIONS
from storage.read_cache import SOURCES
from storage.unit_of_work import Store, UnitOfWork

NOW = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)
A_FREEZE = text(
    "INSERT INTO freezes (starts, ends, reason, short_notice, created_by, created_at) "
    "VALUES ('2026-12-01 00:00:00.000000', '2026-12-02 00:00:00.000000', 'x', false, 'U1', "
    "'2026-11-24 00:00:00.000000')"
)


class Roles:
    """A cached read that counts how often it reached the database."""

    def __init__(self) -> None:
        self.reads = 0

    def __call__(self, uow: UnitOfWork) -> frozenset[Role]:
        self.reads += 1
        return frozenset(uow.roles_of("U1"))


def _roles(store: Store, read: Roles) -> frozenset[Role]:
    with store.reading() as uow:
        return uow.cached(("roles", "U1"), read)


def _version(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT n FROM read_version")).scalar_one())


def test_an_answer_is_reused_until_a_write_anywhere_changes_its_sources(database_url: str) -> None:
    store = Store(make_engine(database_url), FixedClock(NOW))
    other = make_engine(database_url)  # another instance, or an operator's SQL
    read = Roles()
    try:
        assert _roles(store, read) == frozenset()
        assert _roles(store, read) == frozenset()
        assert read.reads == 1

        with store.transaction() as uow:  # outside the sources: nothing to read again
            uow.add_message("reply:1", "reply", {"text": "hello"})
        assert _roles(store, read) == frozenset()
        assert read.reads == 1

        with other.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO role_grants (user_id, role, granted_by, granted_at) "
                    "VALUES ('U1', 'qa', 'UADMIN', '2026-11-24 00:00:00.000000')"
                )
            )
        assert _roles(store, read) == {Role.QA}
        assert read.reads == 2

        with other.begin() as conn:
            conn.execute(text("UPDATE role_grants SET role = 'security' WHERE user_id = 'U1'"))
        assert _roles(store, read) == {Role.SECURITY}

        with other.begin() as conn:
            conn.execute(text("DELETE FROM role_grants WHERE user_id = 'U1'"))
        assert _roles(store, read) == frozenset()
        assert read.reads == 4

        with store.transaction() as uow:  # a writer's transaction reads, always
            assert uow.cached(("roles", "U1"), read) == frozenset()
        assert read.reads == 5
    finally:
        other.dispose()
        store.dispose()


def test_a_rolled_back_write_leaves_the_version_as_it_was(database_url: str) -> None:
    """(SQLite's triggers fire with the write and roll back with it; PostgreSQL's fire only
    at commit.)"""
    engine = make_engine(database_url)
    try:
        before = _version(engine)
        with engine.connect() as conn:
            conn.execute(A_FREEZE)
            conn.rollback()
        assert _version(engine) == before
        with engine.begin() as conn:
            conn.execute(A_FREEZE)
        assert _version(engine) != before
    finally:
        engine.dispose()


def test_every_source_table_is_watched_for_every_kind_of_write(database_url: str) -> None:
    spec = importlib.util.spec_from_file_location(
        "read_version_migration", MIGRATIONS / "versions" / "0011_read_version.py"
    )
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert set(migration.SOURCES) == SOURCES

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                rows = conn.execute(
                    text(
                        "SELECT tbl_name, sql FROM sqlite_master "
                        "WHERE type = 'trigger' AND name LIKE '%read_version%'"
                    )
                )
                watched = {
                    (table, verb)
                    for table, sql in rows
                    for verb in ("INSERT", "UPDATE", "DELETE")
                    if f"AFTER {verb} ON {table}" in sql and "UPDATE read_version" in sql
                }
            else:
                rows = conn.execute(
                    text(
                        "SELECT c.relname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
                        "JOIN pg_class c ON c.oid = t.tgrelid "
                        "WHERE NOT t.tgisinternal AND t.tgname LIKE '%read_version%' "
                        "AND t.tgenabled = 'O'"
                    )
                )
                watched = {
                    (table, verb)
                    for table, sql in rows
                    for verb in ("INSERT", "UPDATE", "DELETE", "TRUNCATE")
                    if verb in sql
                    and "read_version_bump()" in sql
                    # at commit, after every other lock (TRUNCATE's cannot be deferred)
                    and ("DEFERRABLE INITIALLY DEFERRED" in sql or verb == "TRUNCATE")
                }
    finally:
        engine.dispose()
    verbs = ("INSERT", "UPDATE", "DELETE") + (("TRUNCATE",) if "postgresql" in database_url else ())
    assert watched == {(table, verb) for table in SOURCES for verb in verbs}


@pytest.mark.postgres
def test_writers_of_different_rows_do_not_wait_for_each_other_on_the_version(
    database_url: str,
) -> None:
    """The version row is locked at commit, after every other lock: a writer holding one
    row does not block a writer of another until it commits (nor can they deadlock)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time")
    store = Store(make_engine(database_url), FixedClock(NOW))
    for version in ("v1.0.0", "v1.1.0"):
        with store.transaction() as uow:
            uow.add_release(version, kind="regular", branch=f"release/{version}", started_by="U1")
    before = _version(store.engine)
    first, second = make_engine(database_url), make_engine(database_url)
    try:
        with first.begin() as one:
            one.execute(text("UPDATE releases SET reason = 'one' WHERE version = 'v1.0.0'"))
            done = threading.Event()

            def other_writer() -> None:
                with second.begin() as two:
                    two.execute(text("SET LOCAL lock_timeout = '2s'"))
                    two.execute(text("UPDATE releases SET reason = 'two' WHERE version = 'v1.1.0'"))
                done.set()

            thread = threading.Thread(target=other_writer)
            thread.start()
            assert done.wait(5), "the second writer waited for the first one's commit"
            thread.join()
        assert _version(store.engine) != before
    finally:
        first.dispose()
        second.dispose()
        store.dispose()
