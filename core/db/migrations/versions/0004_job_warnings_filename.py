"""jobs: warnings about the audio, and the uploaded file's name

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Server defaults so that rows written before this migration read as "no warnings" and
    # "no file name" without a data migration.
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("warnings_json", sa.Text(), nullable=False, server_default="[]"))
        batch.add_column(
            sa.Column("filename", sa.String(length=255), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("filename")
        batch.drop_column("warnings_json")
