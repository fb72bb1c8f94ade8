"""Indexes the delivery metrics look up by: a release's incidents, and its hotfixes.

Every production deploy in a metrics window asks whether its release had an incident (and
when the first one opened) and whether a hotfix fixes it; without these indexes each
question reads the whole table.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_incidents_release_id", "incidents", ["release_id"])
    op.create_index("ix_releases_fixes_release_id", "releases", ["fixes_release_id"])


def downgrade() -> None:
    op.drop_index("ix_releases_fixes_release_id", "releases")
    op.drop_index("ix_incidents_release_id", "incidents")
