"""Freezes, the production deploy lock, and scheduled-post claims.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "freezes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("starts", UtcDateTime(), nullable=False),
        sa.Column("ends", UtcDateTime(), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("short_notice", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("cancelled_by", sa.String(32)),
        sa.Column("cancelled_at", UtcDateTime()),
    )
    op.create_index("ix_freezes_starts", "freezes", ["starts"])
    locks = op.create_table(
        "deploy_locks",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("holder", sa.String(128)),
        sa.Column("version", sa.String(32)),
        sa.Column("actor", sa.String(32)),
        sa.Column("acquired_at", UtcDateTime()),
        sa.Column("expires_at", UtcDateTime()),
    )
    op.bulk_insert(locks, [{"name": "production"}])
    op.create_table(
        "scheduled_posts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("due_at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("claimed_by", sa.String(128), nullable=False),
        sa.Column("claimed_until", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime()),
        sa.Column("late", sa.Boolean, nullable=False),
        sa.UniqueConstraint("kind", "key", "due_at", name="uq_scheduled_post"),
    )


def downgrade() -> None:
    op.drop_table("scheduled_posts")
    op.drop_table("deploy_locks")
    op.drop_table("freezes")
