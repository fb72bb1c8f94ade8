"""An index of the outbox's unsent messages, so `/release status` stays fast as it grows.

Status lists the newest messages still waiting for Slack or given up on
(`status <> 'sent'`). Sent messages are kept, so without this index that question read the
whole outbox, newest first, on every status: its cost grew with every message the bot had
ever sent. A partial index holds only the few unsent rows (SQLite and PostgreSQL both
support one).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UNSENT = sa.text("status <> 'sent'")


def upgrade() -> None:
    op.create_index(
        "ix_outbox_unsent", "outbox", ["id"], sqlite_where=UNSENT, postgresql_where=UNSENT
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_unsent", "outbox")
