"""Release notes as data; the commits a release branch was cut from and staging was built from.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("releases") as batch:
        batch.add_column(sa.Column("notes_data", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("branch_point", sa.String(64), nullable=True))
        batch.add_column(sa.Column("staging_sha", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("releases") as batch:
        batch.drop_column("staging_sha")
        batch.drop_column("branch_point")
        batch.drop_column("notes_data")
