"""manager bot_blocked_at: since when a member of staff blocks the bot (/team shows it)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import crm.models.base


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("managers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("bot_blocked_at", crm.models.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("managers", schema=None) as batch_op:
        batch_op.drop_column("bot_blocked_at")
