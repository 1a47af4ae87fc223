"""deal next step: what is to be done next on a deal, edited from its card

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 13:15:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both databases: a batch (copy-and-rename) of `deals` on SQLite
# drops the old table with foreign keys on, and ON DELETE CASCADE takes every deal's
# lines and stage history with it (as 0011 and 0012 note).
def upgrade() -> None:
    op.add_column('deals', sa.Column('next_step', sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.drop_column('deals', 'next_step')  # SQLite >= 3.35 drops a column in place
