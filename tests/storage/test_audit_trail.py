"""The audit trail is append-only in the database itself, on both engines (migration 0004).

Every refused statement leaves every row as it was. The PostgreSQL tests also run the bot's
queries as a role that does not own the tables, as the README tells operators to. A row
older than 24 months may be deleted (migration 0010, see test_retention.py), so the rows
here are recorded today.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from release.audit import AuditAction
from release.clock import FixedClock
from storage import models
from storage.db import make_engine, normalise_url
from storage.migrate import alembic_config, upgrade
from storage.unit_of_work import Store

# Young by the database's clock, which judges whether a DELETE is allowed (0010).
NOON = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
COLUMNS = "id, at, actor, action, release_id, details"
# Each rewrites the row `:id` with actor UMALLORY, keeping everything else.
REWRITE = "SELECT id, at, 'UMALLORY', action, release_id, details FROM audit_events WHERE id = :id"
UPSERT = (
    f"INSERT INTO audit_events ({COLUMNS}) {REWRITE} "
    "ON CONFLICT (id) DO UPDATE SET actor = excluded.actor"
)
REPLACES = {
    "replace-into": f"REPLACE INTO audit_events ({COLUMNS}) {REWRITE}",
    "insert-or-replace": f"INSERT OR REPLACE INTO audit_events ({COLUMNS}) {REWRITE}",
}
TRUNCATES = {
    "truncate": "TRUNCATE audit_events",
    "truncate-restart-identity": "TRUNCATE audit_events RESTART IDENTITY",
    "truncate-cascade-from-releases": "TRUNCATE releases CASCADE",
}
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
POSTGRES_ONLY = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _record(engine: Engine, actor: str = "UALICE") -> int:
    """One audit row written the bot's way (the ORM, id left to the database)."""
    store = Store(engine, FixedClock(NOON))
    with store.transaction() as uow:
        uow.audit(actor, AuditAction.COMMAND_START, detail="x")
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT max(id) FROM audit_events")).scalar_one())


def _rows(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {COLUMNS} FROM audit_events ORDER BY id"))
        return [tuple(r) for r in rows]


def _refused(engine: Engine, statement: str, match: str = "append-only", **params: Any) -> None:
    before = _rows(engine)
    with pytest.raises(DBAPIError, match=match), engine.begin() as conn:
        conn.execute(text(statement), params)
    assert _rows(engine) == before


def _downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def _triggers(engine: Engine) -> set[str]:
    query = (
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'"
        if engine.dialect.name == "sqlite"
        else "SELECT tgname FROM pg_trigger "
        "WHERE tgrelid = 'audit_events'::regclass AND NOT tgisinternal"
    )
    with engine.connect() as conn:
        return set(conn.execute(text(query)).scalars())


# --- both engines --------------------------------------------------------------------


def test_plain_inserts_still_work(engine: Engine) -> None:
    first = _record(engine)
    second = _record(engine, "UBOB")
    assert second == first + 1
    row = {"at": NOON, "action": "a", "details": {}}
    with engine.begin() as conn:  # Core: an explicit new id, then one left to the database
        conn.execute(insert(models.AuditEvent), {**row, "id": second + 10, "actor": "UCAROL"})
        conn.execute(insert(models.AuditEvent), {**row, "actor": "UDAVE"})
        if engine.dialect.name == "sqlite":  # an explicit NULL id autoincrements there
            conn.execute(insert(models.AuditEvent), {**row, "id": None, "actor": "UERIN"})
    rows = {r[2]: r[0] for r in _rows(engine)}
    assert rows["UALICE"] == first
    assert rows["UBOB"] == second
    assert rows["UCAROL"] == second + 10
    assert len(set(rows.values())) == len(rows) == (5 if engine.dialect.name == "sqlite" else 4)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET actor = 'UMALLORY' WHERE id = :id",
        "UPDATE audit_events SET details = '{}'",
        "DELETE FROM audit_events WHERE id = :id",
        "DELETE FROM audit_events",
        UPSERT,
    ],
    ids=["update-row", "update-all", "delete-row", "delete-all", "upsert"],
)
def test_updates_deletes_and_upserts_are_refused(engine: Engine, statement: str) -> None:
    row = _record(engine)
    _refused(engine, statement, id=row)


# --- SQLite --------------------------------------------------------------------------


@SQLITE_ONLY
@pytest.mark.parametrize("statement", REPLACES.values(), ids=REPLACES.keys())
def test_sqlite_refuses_replacing_a_row(engine: Engine, statement: str) -> None:
    row = _record(engine)
    _refused(engine, statement, id=row)
    assert [r[2] for r in _rows(engine)] == ["UALICE"]


@SQLITE_ONLY
def test_sqlite_insert_or_replace_of_a_new_row_is_just_an_insert(engine: Engine) -> None:
    row = _record(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                f"INSERT OR REPLACE INTO audit_events ({COLUMNS}) "
                "SELECT :new, at, 'UMALLORY', action, release_id, details "
                "FROM audit_events WHERE id = :id"
            ),
            {"id": row, "new": row + 1},
        )
    assert [r[2] for r in sorted(_rows(engine))] == ["UALICE", "UMALLORY"]


@SQLITE_ONLY
@pytest.mark.parametrize("taken", [-1, 0])
def test_sqlite_refuses_ids_below_one(engine: Engine, taken: int) -> None:
    """In a BEFORE INSERT trigger SQLite shows a NULL id as -1: a row -1 would block the trail."""
    _record(engine)
    _refused(
        engine,
        f"INSERT INTO audit_events ({COLUMNS}) VALUES (:id, '2026-11-27 12:00:00', 'UMALLORY', "
        "'a', NULL, '{}')",
        match="ids start at 1",
        id=taken,
    )
    _record(engine, "UBOB")  # and the bot's next insert still goes in
    assert [r[2] for r in _rows(engine)] == ["UALICE", "UBOB"]


@SQLITE_ONLY
def test_sqlite_before_0004_replace_rewrote_the_row(engine: Engine) -> None:
    assert _triggers(engine) == {
        "audit_events_no_update",
        "audit_events_no_delete",
        "audit_events_no_replace",
        "audit_events_positive_id",
    }
    _downgrade(engine, "0003")
    assert _triggers(engine) == {"audit_events_no_update", "audit_events_no_delete"}
    row = _record(engine)
    for statement in REPLACES.values():
        with engine.begin() as conn:
            conn.execute(text(statement), {"id": row})
    assert [(r[0], r[2]) for r in _rows(engine)] == [(row, "UMALLORY")]  # the hole
    _refused(engine, UPSERT, id=row)  # upserts were already refused by the UPDATE trigger
    upgrade(engine)
    for statement in REPLACES.values():
        _refused(engine, statement, id=row)


# --- PostgreSQL ----------------------------------------------------------------------


@pytest.mark.postgres
@POSTGRES_ONLY
@pytest.mark.parametrize("statement", TRUNCATES.values(), ids=TRUNCATES.keys())
def test_postgresql_refuses_truncate(engine: Engine, statement: str) -> None:
    _record(engine)
    _record(engine, "UBOB")
    _refused(engine, statement)
    assert len(_rows(engine)) == 2


@pytest.mark.postgres
@POSTGRES_ONLY
def test_postgresql_before_0004_truncate_emptied_the_trail(engine: Engine) -> None:
    assert _triggers(engine) == {"audit_events_no_change", "audit_events_no_truncate"}
    _downgrade(engine, "0003")
    assert _triggers(engine) == {"audit_events_no_change"}
    row = _record(engine)
    _refused(engine, UPSERT, id=row)  # upserts were already refused by the UPDATE trigger
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_events"))
    assert _rows(engine) == []  # the hole
    upgrade(engine)
    _record(engine)
    _refused(engine, "TRUNCATE audit_events")


# --- PostgreSQL: the bot as a role that does not own the tables ---------------------


def _as(url: str, role: str, password: str) -> str:
    parsed = make_url(normalise_url(url)).set(username=role, password=password)
    return parsed.render_as_string(hide_password=False)


@contextmanager
def _roles(admin: Engine, *kinds: str) -> Iterator[list[str]]:
    """LOGIN roles `release_bot_<kind>_<random>` (one password), dropped afterwards."""
    suffix = uuid.uuid4().hex[:8]
    names = [f"release_bot_{kind}_{suffix}" for kind in kinds]
    password = secrets.token_hex(12)
    with admin.begin() as conn:
        for name in names:
            conn.execute(text(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'"))
    try:
        yield [*names, password]
    finally:
        every = ", ".join(names)
        with admin.begin() as conn:
            conn.execute(text(f"REASSIGN OWNED BY {every} TO CURRENT_USER"))
            for name in names:  # one at a time: a default ACL may name two of them
                conn.execute(text(f"DROP OWNED BY {name}"))
            for name in names:
                conn.execute(text(f"DROP ROLE {name}"))


def _assert_the_app_role_cannot_rewrite_the_trail(app: Engine) -> None:
    upgrade(app)  # the bot's start-up migration: at the head it only reads alembic_version
    row = _record(app, "UAPP")
    for statement, match in [
        ("TRUNCATE audit_events", "permission denied"),
        ("TRUNCATE releases CASCADE", "permission denied"),
        ("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change", "must be owner"),
        ("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_truncate", "must be owner"),
        ("ALTER TABLE audit_events DISABLE TRIGGER ALL", "must be owner"),
        ("DROP TRIGGER audit_events_no_change ON audit_events", "must be owner"),
        ("DROP TRIGGER audit_events_no_truncate ON audit_events", "must be owner"),
        ("DROP FUNCTION audit_events_append_only() CASCADE", "must be owner"),
        (
            "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS "
            "$$ BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql",
            "must be owner|permission denied",
        ),
        ("SET session_replication_role = replica", "permission denied"),  # skips triggers
        ("DROP TABLE audit_events CASCADE", "must be owner"),
        ("UPDATE audit_events SET actor = 'UMALLORY' WHERE id = :id", "append-only"),
        ("DELETE FROM audit_events", "append-only"),
        (UPSERT, "append-only"),
    ]:
        _refused(app, statement, match, id=row)
    assert [r[2] for r in _rows(app)] == ["UAPP"]


@pytest.mark.postgres
@POSTGRES_ONLY
def test_postgresql_an_app_role_without_ownership_cannot_rewrite_the_trail(
    engine: Engine, database_url: str
) -> None:
    database = make_url(database_url).database
    with _roles(engine, "app") as (app_role, password):
        with engine.begin() as conn:
            for grant in [
                f'GRANT CONNECT ON DATABASE "{database}" TO {app_role}',
                f"GRANT USAGE ON SCHEMA public TO {app_role}",
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
                f"TO {app_role}",
                f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app_role}",
            ]:
                conn.execute(text(grant))
        app = make_engine(_as(database_url, app_role, password))
        try:
            with app.connect() as conn:
                assert conn.execute(text("SELECT current_user")).scalar_one() == app_role
            _assert_the_app_role_cannot_rewrite_the_trail(app)
        finally:
            app.dispose()


@pytest.mark.postgres
def test_postgresql_the_readme_owner_and_app_roles(postgres_url: str) -> None:
    """The README's SQL on an empty database: the owner migrates, the app role runs the bot."""
    database = make_url(postgres_url).database
    admin = make_engine(postgres_url)
    try:
        with _roles(admin, "owner", "app") as (owner_role, app_role, password):
            with admin.begin() as conn:
                for statement in [  # as in the README, on a database that already exists
                    f'ALTER DATABASE "{database}" OWNER TO {owner_role}',
                    "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
                    f"GRANT USAGE, CREATE ON SCHEMA public TO {owner_role}",
                    f'GRANT CONNECT ON DATABASE "{database}" TO {app_role}',
                    f"GRANT USAGE ON SCHEMA public TO {app_role}",
                    f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_role} IN SCHEMA public "
                    f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app_role}",
                    f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_role} IN SCHEMA public "
                    f"GRANT USAGE, SELECT ON SEQUENCES TO {app_role}",
                ]:
                    conn.execute(text(statement))
            owner = make_engine(_as(postgres_url, owner_role, password))
            app = make_engine(_as(postgres_url, app_role, password))
            try:
                # Before `release-bot migrate`, the app role cannot create the schema itself.
                with pytest.raises(DBAPIError, match="permission denied"):
                    upgrade(app)
                upgrade(owner)  # `release-bot migrate` with the owner's DATABASE_URL
                _assert_the_app_role_cannot_rewrite_the_trail(app)
                # Why: the owner could switch the triggers off and empty the table.
                with owner.connect() as conn:
                    conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
                    conn.execute(text("TRUNCATE audit_events"))
                    assert conn.execute(text("SELECT count(*) FROM audit_events")).scalar() == 0
                    conn.rollback()
                assert [r[2] for r in _rows(app)] == ["UAPP"]
            finally:
                app.dispose()
                owner.dispose()
    finally:
        admin.dispose()
