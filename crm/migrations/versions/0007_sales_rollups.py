"""sales rollups: monthly revenue, cost and number of sales per company and per manager

The sales reports (ABC, XYZ, the matrix, movers, managers) read these instead of the
sales. They are filled here from the sales already stored; from now on every change to
`sales` updates them in its own transaction (crm/analytics/rollups.py), and
`chatcrm analytics verify` compares them with the sales.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

def _figures() -> list[sa.Column]:
    return [
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('revenue_cents', sa.BigInteger(), nullable=False),
        sa.Column('cost_cents', sa.BigInteger(), nullable=False),
        sa.Column('sales', sa.Integer(), nullable=False),
    ]


def _backfill(table: str, key: str) -> None:
    if op.get_bind().dialect.name == 'sqlite':
        month = "date(sold_on, 'start of month')"
        cents = 'CAST(ROUND({} * 100) AS INTEGER)'
    else:
        month = "CAST(date_trunc('month', sold_on) AS date)"
        cents = 'CAST(ROUND({} * 100) AS BIGINT)'
    op.execute(
        f'INSERT INTO {table} ({key}, month, revenue_cents, cost_cents, sales) '
        f'SELECT {key}, {month}, SUM({cents.format("amount")}), '
        f'SUM({cents.format("COALESCE(cost, 0)")}), COUNT(*) '
        f'FROM sales WHERE {key} IS NOT NULL GROUP BY {key}, {month}'
    )


def upgrade() -> None:
    op.create_table('sales_company_months',
    sa.Column('company_id', sa.Integer(), nullable=False),
    *_figures(),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_sales_company_months_company_id_companies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('company_id', 'month', name=op.f('pk_sales_company_months'))
    )
    op.create_index('ix_sales_company_months_month', 'sales_company_months', ['month', 'company_id', 'revenue_cents', 'cost_cents', 'sales'], unique=False)
    op.create_table('sales_manager_months',
    sa.Column('manager_id', sa.Integer(), nullable=False),
    *_figures(),
    sa.ForeignKeyConstraint(['manager_id'], ['managers.id'], name=op.f('fk_sales_manager_months_manager_id_managers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('manager_id', 'month', name=op.f('pk_sales_manager_months'))
    )
    op.create_index('ix_sales_manager_months_month', 'sales_manager_months', ['month', 'manager_id', 'revenue_cents', 'cost_cents', 'sales'], unique=False)
    _backfill('sales_company_months', 'company_id')
    _backfill('sales_manager_months', 'manager_id')


def downgrade() -> None:
    op.drop_index('ix_sales_manager_months_month', table_name='sales_manager_months')
    op.drop_table('sales_manager_months')
    op.drop_index('ix_sales_company_months_month', table_name='sales_company_months')
    op.drop_table('sales_company_months')
