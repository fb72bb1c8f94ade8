"""Facts about the bot itself, such as when it first ticked against this database.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bot_facts",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("at", UtcDateTime(), nullable=False),
    )
    # A database the bot already ran on: its first tick was no later than its oldest record,
    # so posts missed during this upgrade's downtime still go out late.
    op.execute(
        "INSERT INTO bot_facts (name, at) "
        "SELECT 'first_tick', MIN(at) FROM audit_events HAVING COUNT(*) > 0"
    )


def downgrade() -> None:
    op.drop_table("bot_facts")
