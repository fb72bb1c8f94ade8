"""The test suite's own PostgreSQL fixture: a database reused by one worker's tests must be,
for the next test, exactly the copy of the template it would otherwise get."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from tests.conftest import _ReusedDatabase

pytestmark = pytest.mark.postgres


def _contents(url: str) -> dict[str, Any]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            tables = conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).scalars()
            found: dict[str, Any] = {
                table: conn.execute(
                    text(f'SELECT json_agg(t ORDER BY t::text) FROM "{table}" t')
                ).scalar()
                for table in tables
            }
            for (name,) in conn.execute(
                text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
            ).all():  # the sequence itself: pg_sequences hides a value set back
                state = conn.execute(text(f'SELECT last_value, is_called FROM "{name}"')).one()
                found[f"sequence {name}"] = tuple(state)
            return found
    finally:
        engine.dispose()


def _scribble(conn: Connection) -> None:
    """Change rows and sequences as a test might: an audit row (which its triggers keep
    from being deleted), a seeded row gone, a new row, every sequence moved on, and one
    set to hand out 500 next."""
    conn.execute(
        text(
            "INSERT INTO audit_events (at, actor, action, details) "
            "VALUES (now(), 'U1', 'transition', '{}')"
        )
    )
    conn.execute(text("SET LOCAL session_replication_role = replica"))
    sequences = (
        conn.execute(text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"))
        .scalars()
        .all()
    )
    for sequence in sequences:
        conn.execute(text("SELECT nextval(:s)"), {"s": f'"{sequence}"'})
    conn.execute(text("SELECT setval(:s, 500, false)"), {"s": f'"{sequences[0]}"'})
    conn.execute(text("DELETE FROM deploy_locks"))
    conn.execute(
        text(
            "INSERT INTO role_grants (user_id, role, granted_by, granted_at) "
            "VALUES ('U1', 'qa', 'U0', now())"
        )
    )


def test_a_reused_database_is_emptied_back_to_the_template(pg_template: str) -> None:
    database = _ReusedDatabase(pg_template)
    try:
        before = _contents(database.url)
        assert before["deploy_locks"], "the template's seeded rows are part of the check"
        engine = create_engine(database.url, poolclass=NullPool)
        with engine.begin() as conn:
            _scribble(conn)
        assert _contents(database.url) != before
        lingering = engine.connect()  # a session a test left open is ended, not waited for
        lingering.execute(text("LOCK TABLE releases IN ACCESS EXCLUSIVE MODE"))
        name = database.name
        database.reset()
        assert database.name == name  # emptied, not copied again
        assert _contents(database.url) == before
        lingering.invalidate()
        engine.dispose()
    finally:
        database.close()


@pytest.mark.parametrize(
    "change",
    [
        "ALTER TABLE releases RENAME TO releases_gone",
        "ALTER TABLE releases ALTER COLUMN branch SET DEFAULT 'main'",
        "ALTER SEQUENCE releases_id_seq INCREMENT BY 5",
        "CREATE INDEX releases_by_branch ON releases (branch)",
        "ALTER TABLE audit_events DISABLE TRIGGER USER",
        "GRANT SELECT (version) ON releases TO PUBLIC",
    ],
)
def test_a_database_whose_schema_a_test_changed_is_replaced(pg_template: str, change: str) -> None:
    database = _ReusedDatabase(pg_template)
    try:
        before, name = _contents(database.url), database.name
        engine = create_engine(database.url, poolclass=NullPool)
        with engine.begin() as conn:
            conn.execute(text(change))
        engine.dispose()
        database.reset()
        assert database.name != name
        assert _contents(database.url) == before
    finally:
        database.close()
