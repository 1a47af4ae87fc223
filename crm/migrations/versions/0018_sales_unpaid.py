"""sales unpaid: the overdue payments read from an index of the unpaid sales alone

The digest, /today and the receivables report read the unpaid sales past due: through
ix_sales_unpaid_due (paid_on, due_on) each of them was fetched from the table. With
40,000 overdue among a million sales (bench/bench_analytics.py) the director's count and
sum took 70 ms and the five worst 61 ms on PostgreSQL; from this partial index, which
holds only the unpaid sales with a due date, in due order, with the columns the reports
read, 11 ms and 0.2 ms.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 22:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

UNPAID = "paid_on IS NULL AND due_on IS NOT NULL"


def upgrade() -> None:
    op.drop_index('ix_sales_unpaid_due', table_name='sales')
    op.create_index(
        'ix_sales_unpaid',
        'sales',
        ['due_on', 'company_id', 'manager_id', 'amount'],
        unique=False,
        postgresql_where=sa.text(UNPAID),
        sqlite_where=sa.text(UNPAID),
    )


def downgrade() -> None:
    op.drop_index('ix_sales_unpaid', table_name='sales')
    op.create_index('ix_sales_unpaid_due', 'sales', ['paid_on', 'due_on'], unique=False)
