"""Apply Alembic migrations: at start-up and from `release-bot migrate`."""

from __future__ import annotations

from functools import cache
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


@cache
def _scripts() -> ScriptDirectory:
    """This build's migrations, read once: they do not change while it runs."""
    return ScriptDirectory.from_config(alembic_config())


def upgrade(engine: Engine) -> None:
    """Bring the database up to the newest schema (a no-op when it already is)."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several instances start together in production: one migrates, the others wait
            # here and then find nothing left to do. (SQLite's BEGIN IMMEDIATE serialises.)
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        script = _scripts()
        known = {revision.revision for revision in script.walk_revisions()}
        current = MigrationContext.configure(connection).get_current_heads()
        unknown = [r for r in current if r not in known]
        if unknown:
            raise SchemaTooNew(
                f"the database's schema ({', '.join(unknown)}) is newer than this build's "
                f"({script.get_current_head()}); deploy a build at least as new"
            )
        if set(current) == set(script.get_heads()):
            return  # the usual start: nothing to do, and Alembic's environment not run
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
