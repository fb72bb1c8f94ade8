"""The audit trail also refuses REPLACE (SQLite) and TRUNCATE (PostgreSQL).

0001's triggers refuse UPDATE and DELETE. Two statements got past them:

- SQLite: `REPLACE INTO` / `INSERT OR REPLACE INTO` with an existing id deletes the old row
  and inserts a new one, and the DELETE trigger does not fire for that delete unless
  `recursive_triggers` is on. A BEFORE INSERT trigger now refuses an insert whose id is
  already taken. In a BEFORE INSERT trigger SQLite reports an id that is not given (NULL,
  the normal autoincrement case) as -1, so a row with id -1 would make every later insert
  look like a replacement; an AFTER INSERT trigger therefore refuses ids below 1 (SQLite
  never assigns those itself).
- PostgreSQL: `TRUNCATE audit_events` (or a `TRUNCATE … CASCADE` that reaches it) fires no
  row trigger. A statement-level BEFORE TRUNCATE trigger now refuses it.

`INSERT … ON CONFLICT DO UPDATE` already fires the UPDATE triggers on both engines.
Disabling or dropping the triggers needs the table's owner: run the bot as a role that does
not own the tables (see the README).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # 0001's function raises 'audit_events is append-only'; it suits a statement trigger too.
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        )
        return
    op.execute(
        "CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events "
        "WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id) "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
    )
    op.execute(
        "CREATE TRIGGER audit_events_positive_id AFTER INSERT ON audit_events "
        "WHEN NEW.id < 1 "
        "BEGIN SELECT RAISE(ABORT, 'audit_events ids start at 1'); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
        return
    op.execute("DROP TRIGGER IF EXISTS audit_events_positive_id")
    op.execute("DROP TRIGGER IF EXISTS audit_events_no_replace")
