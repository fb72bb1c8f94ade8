"""The outbox of Slack messages, durable release jobs, and the deployments fact table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("lane", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(128)),
        sa.Column("claimed_until", UtcDateTime()),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime()),
    )
    op.create_index("ix_outbox_lane", "outbox", ["lane"])
    op.create_index("ix_outbox_status", "outbox", ["status"])
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("release_id", sa.Integer, sa.ForeignKey("releases.id"), nullable=False),
        sa.Column("actor", sa.String(32), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(128)),
        sa.Column("claimed_until", UtcDateTime()),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime()),
    )
    op.create_index("ix_jobs_release_id", "jobs", ["release_id"])
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("release_id", sa.Integer, sa.ForeignKey("releases.id"), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("deployment_id", sa.String(128)),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime()),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("replaced", sa.String(128)),
        sa.Column("job_id", sa.Integer, sa.ForeignKey("jobs.id")),
    )
    op.create_index("ix_deployments_release_id", "deployments", ["release_id"])


def downgrade() -> None:
    op.drop_table("deployments")
    op.drop_table("jobs")
    op.drop_table("outbox")
