"""payment terms: a deal's deferral and its approval, a sale's due and paid dates

A deal carries its payment deferral in days (None: the company's); terms beyond the
company's allowed deferral, or a deal that takes the client's unpaid won amount past its
credit limit, wait for a head's decision (`terms_approval`, as a discount's `approval`).
A sale records when its payment is due and when it was paid; the receivables are the
sales with a due date and no paid date (an index on the due date of the unpaid ones).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 13:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


# Plain ALTER TABLE ... ADD/DROP COLUMN on both databases: a batch (copy-and-rename) of
# `deals` on SQLite would drop the old table with foreign keys on, and its ON DELETE
# CASCADE would take every deal's lines and stage history with it. So the approver is a
# plain id (no foreign key, which SQLite cannot add to a table in place).
DEAL_COLUMNS = ('terms_approved_by_id', 'terms_approval', 'deferral_days')


def upgrade() -> None:
    op.add_column('deals', sa.Column('deferral_days', sa.Integer(), nullable=True))
    op.add_column(
        'deals',
        sa.Column(
            'terms_approval', sa.String(length=16), nullable=False, server_default='not_needed'
        ),
    )
    op.add_column('deals', sa.Column('terms_approved_by_id', sa.Integer(), nullable=True))
    op.add_column('sales', sa.Column('due_on', sa.Date(), nullable=True))
    op.add_column('sales', sa.Column('paid_on', sa.Date(), nullable=True))
    op.create_index('ix_sales_unpaid_due', 'sales', ['paid_on', 'due_on'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_sales_unpaid_due', table_name='sales')
    for table, column in (
        ('sales', 'paid_on'), ('sales', 'due_on'), *(('deals', c) for c in DEAL_COLUMNS)
    ):
        op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
