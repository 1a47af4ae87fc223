"""deals keep the furthest funnel stage they reached (reached_rank), with the covering
indexes the funnel, the forecast and its stage conversion read instead of scanning the
deals and their stage history

Backfilled here from each deal's current stage and its `deal_stage_changes`; from now on
every stage move raises it (crm/services/deals/stages.py apply_move).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 13:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# 0 lead … 4 won; lost and anything else 0 (crm.models.enums.funnel_rank)
RANKS = ('qualified', 'proposal', 'negotiation', 'won')


def _rank(column: str) -> str:
    whens = ' '.join(f"WHEN '{stage}' THEN {i}" for i, stage in enumerate(RANKS, start=1))
    return f'CASE {column} {whens} ELSE 0 END'


def upgrade() -> None:
    # a plain ALTER TABLE on both databases: a batch copy of `deals` on SQLite would drop
    # the old table, and with foreign keys on that deletes every deal's children
    op.add_column(
        'deals', sa.Column('reached_rank', sa.SmallInteger(), server_default='0', nullable=False)
    )
    op.execute(f'UPDATE deals SET reached_rank = {_rank("stage")}')
    furthest = (
        f'(SELECT MAX({_rank("c.to_stage")}) FROM deal_stage_changes c '
        'WHERE c.deal_id = deals.id)'
    )
    op.execute(f'UPDATE deals SET reached_rank = {furthest} WHERE {furthest} > reached_rank')
    op.create_index(
        'ix_deals_created_funnel',
        'deals',
        ['created_at', 'curator_id', 'stage', 'reached_rank'],
        unique=False,
    )
    op.create_index(
        'ix_deals_stage_reached', 'deals', ['stage', 'reached_rank', 'curator_id'], unique=False
    )
    op.create_index(
        'ix_deals_open_forecast',
        'deals',
        ['stage', 'expected_close', 'curator_id', 'amount', 'probability'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_deals_open_forecast', table_name='deals')
    op.drop_index('ix_deals_stage_reached', table_name='deals')
    op.drop_index('ix_deals_created_funnel', table_name='deals')
    op.drop_column('deals', 'reached_rank')  # SQLite ≥ 3.35 drops a column in place
