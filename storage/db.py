"""Engines and sessions: SQLite by default, PostgreSQL when DATABASE_URL says so."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain postgres URLs (Heroku-style `postgres://` included)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        # One connection per process: SQLite lets one transaction write at a time anyway
        # (every one is BEGIN IMMEDIATE, below), and threads that queue for the pool's one
        # connection are served in turn, where threads that queue inside SQLite poll with
        # growing sleeps (1, 2, 5 … 100 ms) and a burst of commands took seconds.
        kwargs = {"pool_size": 1, "max_overflow": 0, "pool_timeout": 30, **kwargs}
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _serialise_sqlite_writers(engine)
        return engine
    # Command, job and delivery threads share the pool: room for all, and no long waits.
    kwargs = {"pool_size": 10, "max_overflow": 40, "pool_timeout": 10, **kwargs}
    # A bounded connect: a database that does not answer must not outlast a shutdown.
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5}, **kwargs)


def _serialise_sqlite_writers(engine: Engine) -> None:
    """Make every SQLite transaction take the write lock up front (BEGIN IMMEDIATE).

    SQLite has no row locks; without this two transactions that read and then write
    could both read the same state before either writes.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below rule
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_reader(engine: Engine, *, size: int, bound_seconds: float) -> Engine:
    """An engine for read-only transactions that must not wait behind writers.

    On SQLite a pool of `size` connections of its own (WAL lets readers run beside the one
    writer), each transaction a plain deferred BEGIN on a `query_only` connection that
    waits at most `bound_seconds` for a lock; on PostgreSQL a pool of `size` connections
    of its own too, each transaction a READ ONLY snapshot (REPEATABLE READ), so every query
    of one answer sees the same state, and each statement cut short after `bound_seconds`.
    """
    url = engine.url
    if url.get_backend_name() != "sqlite":
        # Room for every thread that reads (the readers', the pumps' looks) and no more:
        # with the writers' pool an instance opens at most 50 + 2 x COMMAND_THREADS.
        reader = create_engine(
            url,
            isolation_level="REPEATABLE READ",
            execution_options={"postgresql_readonly": True},  # in each BEGIN: no round trip
            pool_size=size,
            max_overflow=size,
            pool_timeout=10,
            connect_args={"connect_timeout": 5},
        )

        # The statement bound is set once per connection, not per transaction, and there is
        # no ping before each read: two round trips fewer on every read. (So the readers
        # need session pooling, as psycopg's prepared statements do, behind a pooler.) A
        # connection the database dropped fails its next read; the pool is then renewed,
        # and the answer is read again (bot.services).
        @event.listens_for(reader, "connect")
        def _on_pg_connect(dbapi_connection: Any, _record: Any) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET statement_timeout = {int(bound_seconds * 1000)}")
            dbapi_connection.commit()

        return reader
    reader = create_engine(
        url, connect_args={"timeout": bound_seconds}, pool_size=size, max_overflow=0
    )

    @event.listens_for(reader, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(bound_seconds * 1000)}")
        cursor.close()

    @event.listens_for(reader, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    return reader


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
