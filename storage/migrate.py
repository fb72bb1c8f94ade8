"""Apply Alembic migrations: at start-up and from `release-bot migrate`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x52454C42  # "RELB": the advisory lock key migrations hold


def alembic_config(url: str = "") -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class SchemaTooNew(Exception):
    """The database was migrated by a newer build than this one: running on would be guessing."""


def upgrade(engine: Engine) -> None:
    """Bring the database up to the newest schema (a no-op when it already is)."""
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several instances start together in production: one migrates, the others wait
            # here and then find nothing left to do. (SQLite's BEGIN IMMEDIATE serialises.)
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        script = ScriptDirectory.from_config(config)
        known = {revision.revision for revision in script.walk_revisions()}
        unknown = [
            r for r in MigrationContext.configure(connection).get_current_heads() if r not in known
        ]
        if unknown:
            raise SchemaTooNew(
                f"the database's schema ({', '.join(unknown)}) is newer than this build's "
                f"({script.get_current_head()}); deploy a build at least as new"
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
