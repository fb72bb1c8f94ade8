"""Feature flags, incidents, and what links a rollback or a hotfix to the failure it answers.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flags",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("scope_kind", sa.String(16), nullable=False),  # tenant | role | percentage
        sa.Column("scope_value", sa.String(64), nullable=False),
        sa.Column("rollback_plan", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),  # scoped | launched | removed
        sa.Column("created_by", sa.String(32), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("launched_at", UtcDateTime(), nullable=True),
        sa.Column("remove_by", UtcDateTime(), nullable=True),
        sa.Column("removed_at", UtcDateTime(), nullable=True),
        sa.Column("removed_by", sa.String(32), nullable=True),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("release_id", sa.Integer, sa.ForeignKey("releases.id"), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("opened_by", sa.String(32), nullable=False),
        sa.Column("opened_at", UtcDateTime(), nullable=False, index=True),
        sa.Column("resolved_by", sa.String(32), nullable=True),
        sa.Column("resolved_at", UtcDateTime(), nullable=True),
    )
    with op.batch_alter_table("releases") as batch:
        # A hotfix names the release it fixes, and the incident it answers (if one was open).
        batch.add_column(sa.Column("fixes_release_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("answers_incident_id", sa.Integer, nullable=True))
    with op.batch_alter_table("deployments") as batch:
        # promotion | rollback: a rollback restores service, it is not a change of its own.
        batch.add_column(
            sa.Column("kind", sa.String(16), nullable=False, server_default="promotion")
        )
        batch.add_column(sa.Column("answers_incident_id", sa.Integer, nullable=True))
    # Rollbacks recorded before this revision restored service; they were not changes.
    op.execute(
        "UPDATE deployments SET kind = 'rollback' "
        "WHERE job_id IN (SELECT id FROM jobs WHERE kind = 'rollback')"
    )
    op.create_index("ix_deployments_finished_at", "deployments", ["finished_at"])
    with op.batch_alter_table("jobs") as batch:
        # A flag's job (LaunchDarkly) belongs to no release.
        batch.alter_column("release_id", existing_type=sa.Integer, nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("release_id", existing_type=sa.Integer, nullable=False)
    op.drop_index("ix_deployments_finished_at", "deployments")
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("answers_incident_id")
        batch.drop_column("kind")
    with op.batch_alter_table("releases") as batch:
        batch.drop_column("answers_incident_id")
        batch.drop_column("fixes_release_id")
    op.drop_table("incidents")
    op.drop_table("flags")
