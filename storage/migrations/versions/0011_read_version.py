"""A version the database bumps whenever what the readers' cache holds may have changed.

`read_version` has one row. Any INSERT, UPDATE or DELETE on the tables a cached read is
made from (`storage.read_cache.SOURCES`) adds one to it in the same transaction, by a
trigger: whatever wrote it (any build of the bot, another instance, an operator's SQL), a
snapshot that sees the change sees the new version, and one that does not, the old. Only
writes made with triggers off (`session_replication_role = replica`, as `pg_restore
--disable-triggers` does) pass unseen: restart the bot's instances after such a restore.
A read checks the version in its own snapshot and uses a cached answer only when it was
read at the same version. The version is a random number, new at each change (see SQLITE_BUMP).

- SQLite: row triggers (one writer at a time: no lock to order).
- PostgreSQL: deferred constraint triggers, so the version row is locked at commit, after
  every other lock the transaction takes: two writers never wait for each other's locks
  in opposite orders. TRUNCATE (which the bot never issues) bumps it too, at once: a
  statement trigger cannot be deferred.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

#: The tables a cached read may be made from (storage.read_cache.SOURCES: kept equal by a test).
SOURCES = (
    "releases",
    "reviews",
    "sign_offs",
    "compliance_ticks",
    "role_grants",
    "freezes",
    "deploy_locks",
    "deployments",
)
#: A new random number, not n + 1: a number names one committed state of the sources, so
#: after a restore, a point-in-time recovery or a failover to a replica behind the primary
#: (any earlier state) no later write can bring back a number a cached answer was read at.
SQLITE_BUMP = "UPDATE read_version SET n = random()"
PG_BUMP = "UPDATE read_version SET n = floor(random() * 9.2e18)::bigint"


def upgrade() -> None:
    op.create_table(
        "read_version",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
    )
    op.execute("INSERT INTO read_version (id, n) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            # Its schema fixed when made: a writer's search_path cannot point it elsewhere.
            "CREATE FUNCTION read_version_bump() RETURNS trigger "
            f"LANGUAGE plpgsql SET search_path = {_here()} AS $$ "
            f"BEGIN {PG_BUMP}; RETURN NULL; END; $$"
        )
        for table in SOURCES:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER {table}_read_version "
                f"AFTER INSERT OR UPDATE OR DELETE ON {table} DEFERRABLE INITIALLY DEFERRED "
                "FOR EACH ROW EXECUTE FUNCTION read_version_bump()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_read_version_truncate AFTER TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION read_version_bump()"
            )
        return
    for table in SOURCES:
        for verb in ("insert", "update", "delete"):
            op.execute(
                f"CREATE TRIGGER {table}_read_version_{verb} AFTER {verb.upper()} ON {table} "
                f"BEGIN {SQLITE_BUMP}; END"
            )


def _here() -> str:
    """The schema the migration creates its tables in, quoted."""
    schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one()
    return '"' + str(schema).replace('"', '""') + '"'


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in SOURCES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_read_version_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_read_version ON {table}")
        op.execute("DROP FUNCTION IF EXISTS read_version_bump()")
    else:
        for table in SOURCES:
            for verb in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_read_version_{verb}")
    op.drop_table("read_version")
