"""Audit rows and artefacts are kept 24 months, then may be purged; the database decides.

The policy keeps release artefacts and the audit trail for 24 months. Until now the audit
trail refused every DELETE, and artefacts were not protected at all. From here, on both
tables, by the database's own clock (whatever the bot's clock says):

- UPDATE is always refused (so is an upsert, which fires the UPDATE trigger);
- DELETE of a row younger than 24 calendar months is refused; an older row may go;
- REPLACE (SQLite) and TRUNCATE (PostgreSQL) stay refused on `audit_events`, and are now
  refused on `artefacts` too (as 0004 did for the audit trail, and for the same reasons).

"Younger" compares the row's own instant (`audit_events.at`, `artefacts.recorded_at`) with
the same UTC day and time 24 months earlier, a missing day clamped to the month's last
(29 Feb 2028 → 28 Feb 2026), exactly as `release.retention.retention_cutoff` counts:

- PostgreSQL: `(now() AT TIME ZONE 'UTC' - interval '24 months') AT TIME ZONE 'UTC'`.
  The subtraction is done on UTC wall-clock time (a bare `now() - interval …` would count
  months in the session's time zone, an hour off across a DST change); PostgreSQL clamps
  the day itself. `now()` is the transaction's start.
- SQLite: `UtcDateTime` stores naive UTC text (`2026-11-24 12:00:00.000000`) and `'now'`
  is UTC, so both sides go through `julianday()` (which also reads a `T` separator or a
  zone suffix, were a row ever written so). `datetime('now', '-24 months')` does not clamp
  (29 Feb → 1 Mar), and SQLite 3.40 has no `'floor'` modifier, so the cutoff is the
  smaller of that and the last day of the month 24 months back at the same time of day.
  A value `julianday()` cannot read counts as young: the trigger refuses (fails closed).

Disabling or dropping the triggers still needs the tables' owner (see the README).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PG_CUTOFF = "((now() AT TIME ZONE 'UTC') - interval '24 months') AT TIME ZONE 'UTC'"


def sqlite_cutoff(now: str = "'now'") -> str:
    """SQLite: the instant 24 months before `now`, as 'YYYY-MM-DD HH:MM:SS' UTC text."""
    return (
        f"min(datetime({now}, '-24 months'), "
        f"date({now}, 'start of month', '-23 months', '-1 day') || ' ' || time({now}))"
    )


def _sqlite_young(column: str) -> str:
    """True unless `column` is certainly older than the cutoff (NULL counts as young)."""
    return f"NOT coalesce(julianday({column}) < julianday({sqlite_cutoff()}), 0)"


YOUNG_AUDIT_DELETE = "audit_events is append-only: a row younger than 24 months cannot be deleted"
YOUNG_ARTEFACT_DELETE = "artefacts are append-only: a row younger than 24 months cannot be deleted"


def upgrade() -> None:
    op.create_index("ix_artefacts_recorded_at", "artefacts", ["recorded_at"])
    if op.get_bind().dialect.name == "postgresql":
        # 0001's trigger function, used by 0001's row trigger (UPDATE OR DELETE) and 0004's
        # statement trigger (TRUNCATE): a DELETE of an old row now goes through.
        op.execute(_pg_function("audit_events_append_only", "audit_events", "at"))
        op.execute(_pg_function("artefacts_retained", "artefacts", "recorded_at"))
        op.execute(
            "CREATE TRIGGER artefacts_no_change BEFORE UPDATE OR DELETE ON artefacts "
            "FOR EACH ROW EXECUTE FUNCTION artefacts_retained()"
        )
        op.execute(
            "CREATE TRIGGER artefacts_no_truncate BEFORE TRUNCATE ON artefacts "
            "FOR EACH STATEMENT EXECUTE FUNCTION artefacts_retained()"
        )
        return
    op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    op.execute(
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        f"WHEN {_sqlite_young('OLD.at')} "
        f"BEGIN SELECT RAISE(ABORT, '{YOUNG_AUDIT_DELETE}'); END"
    )
    op.execute(
        "CREATE TRIGGER artefacts_no_update BEFORE UPDATE ON artefacts "
        "BEGIN SELECT RAISE(ABORT, 'artefacts are append-only'); END"
    )
    op.execute(
        "CREATE TRIGGER artefacts_no_delete BEFORE DELETE ON artefacts "
        f"WHEN {_sqlite_young('OLD.recorded_at')} "
        f"BEGIN SELECT RAISE(ABORT, '{YOUNG_ARTEFACT_DELETE}'); END"
    )
    # As 0004 for the audit trail: REPLACE deletes without firing the DELETE trigger.
    op.execute(
        "CREATE TRIGGER artefacts_no_replace BEFORE INSERT ON artefacts "
        "WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM artefacts WHERE id = NEW.id) "
        "BEGIN SELECT RAISE(ABORT, 'artefacts are append-only'); END"
    )
    op.execute(
        "CREATE TRIGGER artefacts_positive_id AFTER INSERT ON artefacts "
        "WHEN NEW.id < 1 "
        "BEGIN SELECT RAISE(ABORT, 'artefacts ids start at 1'); END"
    )


def _pg_function(name: str, table: str, column: str) -> str:
    verb = "is" if table == "audit_events" else "are"
    young = YOUNG_AUDIT_DELETE if table == "audit_events" else YOUNG_ARTEFACT_DELETE
    return f"""
        CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                IF OLD.{column} < {PG_CUTOFF} THEN
                    RETURN OLD;
                END IF;
                RAISE EXCEPTION '{young}';
            END IF;
            RAISE EXCEPTION '{table} {verb} append-only';
        END;
        $$ LANGUAGE plpgsql
    """


def downgrade() -> None:
    op.drop_index("ix_artefacts_recorded_at", "artefacts")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS artefacts_no_truncate ON artefacts")
        op.execute("DROP TRIGGER IF EXISTS artefacts_no_change ON artefacts")
        op.execute("DROP FUNCTION IF EXISTS artefacts_retained()")
        op.execute(  # 0001's body: every UPDATE, DELETE (and 0004's TRUNCATE) refused
            """
            CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit_events is append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        return
    for trigger in (
        "artefacts_positive_id",
        "artefacts_no_replace",
        "artefacts_no_delete",
        "artefacts_no_update",
        "audit_events_no_delete",
    ):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute(  # 0001's: every DELETE refused
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
    )
