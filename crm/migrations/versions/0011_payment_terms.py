"""payment terms: a deal's deferral and its approval, a sale's due and paid dates

A deal carries its payment deferral in days (None: the company's); terms beyond the
company's allowed deferral, or a deal that takes the client's unpaid won amount past its
credit limit, wait for a head's decision (`terms_approval`, as a discount's `approval`).
A sale records when its payment is due and when it was paid; the receivables are the
sales with a due date and no paid date (an index on the due date of the unpaid ones).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 13:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deferral_days', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                'terms_approval', sa.String(length=16), nullable=False,
                server_default='not_needed',
            )
        )
        batch_op.add_column(sa.Column('terms_approved_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            'fk_deals_terms_approved_by_id_managers', 'managers', ['terms_approved_by_id'], ['id']
        )
    with op.batch_alter_table('sales', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('paid_on', sa.Date(), nullable=True))
        batch_op.create_index('ix_sales_unpaid_due', ['paid_on', 'due_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sales', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_unpaid_due')
        batch_op.drop_column('paid_on')
        batch_op.drop_column('due_on')
    with op.batch_alter_table('deals', schema=None) as batch_op:
        batch_op.drop_constraint('fk_deals_terms_approved_by_id_managers', type_='foreignkey')
        batch_op.drop_column('terms_approved_by_id')
        batch_op.drop_column('terms_approval')
        batch_op.drop_column('deferral_days')
