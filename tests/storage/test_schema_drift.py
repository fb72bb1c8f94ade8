"""The models and the migrations describe the same schema, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Base


def test_a_freshly_migrated_database_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_upgrading_a_database_in_use_keeps_its_first_tick_in_the_past(tmp_path: object) -> None:
    """Posts missed during an upgrade still go out late: the bot ran before the upgrade."""
    from alembic import command
    from sqlalchemy import text

    from storage.migrate import alembic_config

    engine = make_engine(f"sqlite:///{tmp_path}/old.sqlite3")
    try:
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0005")
            connection.execute(
                text(
                    "INSERT INTO audit_events (at, actor, action, details) "
                    "VALUES ('2026-01-05 00:00:00.000000', 'U1', 'command.start', '{}')"
                )
            )
        upgrade(engine)
        with engine.connect() as connection:
            first = connection.execute(text("SELECT at FROM bot_facts")).scalar_one()
        assert str(first).startswith("2026-01-05")
    finally:
        engine.dispose()
