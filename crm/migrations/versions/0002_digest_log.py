"""digest log: one daily digest per manager and local day

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 18:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import crm.models.base


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('digest_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('manager_id', sa.Integer(), nullable=False),
    sa.Column('local_date', sa.Date(), nullable=False),
    sa.Column('sent_at', crm.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['manager_id'], ['managers.id'], name=op.f('fk_digest_log_manager_id_managers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_log')),
    sa.UniqueConstraint('manager_id', 'local_date', name='uq_digest_log_manager_date')
    )


def downgrade() -> None:
    op.drop_table('digest_log')
