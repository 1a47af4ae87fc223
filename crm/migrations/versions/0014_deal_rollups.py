"""deal rollups kept by triggers: the funnel, the forecast and the digest read a few
hundred rollup rows instead of the deals; a covering index for the inquiries report

- `deal_pipeline`: deals per curator, stage, reached rank and expected close month, with
  their amount and Σ amount × probability (cents): the forecast, its stage conversion
  and the digest's open deals per stage;
- `deal_created_days` and `deal_created_months`: deals per curator, UTC day (month) of
  creation, furthest funnel rank and lost or not: the funnel of a period.
Triggers on `deals` keep them in the transaction of every write, whoever makes it (the
ORM, a bulk UPDATE, a cascade from a deleted company); they are backfilled here.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 15:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

RANKS = ('qualified', 'proposal', 'negotiation', 'won')  # 1..4; lead, lost, others 0
TRACKED = ('curator_id', 'stage', 'reached_rank', 'expected_close', 'amount', 'probability',
           'created_at')
NO_CLOSE = "'0001-01-01'"


def _rank(column: str) -> str:
    whens = ' '.join(f"WHEN '{stage}' THEN {i}" for i, stage in enumerate(RANKS, start=1))
    return f'CASE {column} {whens} ELSE 0 END'


def _sql(dialect: str) -> dict[str, str]:
    """Expressions of a deal row `{r}` (NEW, OLD, or `deals` in the backfill)."""
    if dialect == 'sqlite':
        return {
            'furthest': 'MAX({r}.reached_rank, ' + _rank('{r}.stage') + ')',
            'close': f"COALESCE(date({{r}}.expected_close, 'start of month'), {NO_CLOSE})",
            'day': 'date({r}.created_at)',
            'month': "date({r}.created_at, 'start of month')",
            'cents': 'CAST(ROUND({r}.amount * 100) AS INTEGER)',
        }
    return {
        'furthest': 'GREATEST({r}.reached_rank, ' + _rank('{r}.stage') + ')',
        'close': f"COALESCE(CAST(date_trunc('month', {{r}}.expected_close) AS date), "
                 f"DATE {NO_CLOSE})",
        'day': "CAST(({r}.created_at AT TIME ZONE 'UTC') AS date)",
        'month': "CAST(date_trunc('month', {r}.created_at AT TIME ZONE 'UTC') AS date)",
        'cents': 'CAST(ROUND({r}.amount * 100) AS BIGINT)',
    }


def _tables(dialect: str, r: str) -> list[tuple[str, list[tuple[str, str]], list[tuple[str, str]]]]:
    """(table, key columns and their expressions, figures and their expressions) of row r."""
    e = {k: v.format(r=r) for k, v in _sql(dialect).items()}
    lost = f"CASE WHEN {r}.stage = 'lost' THEN 1 ELSE 0 END"
    return [
        (
            'deal_pipeline',
            [('curator_id', f'{r}.curator_id'), ('stage', f'{r}.stage'),
             ('reached_rank', f'{r}.reached_rank'), ('close_month', e['close'])],
            [('deals', '1'), ('amount_cents', e['cents']),
             ('weighted', f"{e['cents']} * {r}.probability")],
        ),
        (
            'deal_created_days',
            [('day', e['day']), ('curator_id', f'{r}.curator_id'), ('rank', e['furthest']),
             ('lost', lost)],
            [('deals', '1')],
        ),
        (
            'deal_created_months',
            [('month', e['month']), ('curator_id', f'{r}.curator_id'), ('rank', e['furthest']),
             ('lost', lost)],
            [('deals', '1')],
        ),
    ]


def _add(dialect: str, r: str, sign: str) -> list[str]:
    out = []
    for table, keys, figures in _tables(dialect, r):
        columns = ', '.join(c for c, _ in keys + figures)
        values = ', '.join([v for _, v in keys] + [f'{sign}({v})' for _, v in figures])
        update = ', '.join(f'{c} = {table}.{c} + excluded.{c}' for c, _ in figures)
        conflict = ', '.join(c for c, _ in keys)
        out.append(
            f'INSERT INTO {table} ({columns}) VALUES ({values}) '
            f'ON CONFLICT ({conflict}) DO UPDATE SET {update}'
        )
        if sign == '-':
            where = ' AND '.join(f'{c} = {v}' for c, v in keys)
            out.append(f'DELETE FROM {table} WHERE {where} AND deals = 0')
    return out


def _backfill(dialect: str) -> None:
    for table, keys, figures in _tables(dialect, 'deals'):
        columns = ', '.join(c for c, _ in keys + figures)
        chosen = ', '.join([v for _, v in keys] + [f'SUM({v})' for _, v in figures])
        group = ', '.join(v for _, v in keys)
        op.execute(f'INSERT INTO {table} ({columns}) SELECT {chosen} FROM deals GROUP BY {group}')


def _triggers(dialect: str) -> None:
    tracked = ', '.join(TRACKED)
    if dialect == 'sqlite':
        body = {
            'INSERT': _add(dialect, 'NEW', '+'),
            'DELETE': _add(dialect, 'OLD', '-'),
            f'UPDATE OF {tracked}': _add(dialect, 'OLD', '-') + _add(dialect, 'NEW', '+'),
        }
        for i, (event, statements) in enumerate(body.items()):
            name = ('deals_rollups_ai', 'deals_rollups_ad', 'deals_rollups_au')[i]
            op.execute(
                f'CREATE TRIGGER {name} AFTER {event} ON deals BEGIN '
                + '; '.join(statements) + '; END'
            )
        return
    old = '; '.join(_add(dialect, 'OLD', '-'))
    new = '; '.join(_add(dialect, 'NEW', '+'))
    op.execute(
        'CREATE FUNCTION deals_rollups() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN '
        f"IF TG_OP IN ('DELETE', 'UPDATE') THEN {old}; END IF; "
        f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {new}; END IF; "
        'RETURN NULL; END $$'
    )
    op.execute(
        f'CREATE TRIGGER deals_rollups AFTER INSERT OR DELETE OR UPDATE OF {tracked} '
        'ON deals FOR EACH ROW EXECUTE FUNCTION deals_rollups()'
    )


def upgrade() -> None:
    op.create_table(
        'deal_pipeline',
        sa.Column('curator_id', sa.Integer(), nullable=False),
        sa.Column('stage', sa.String(length=16), nullable=False),
        sa.Column('reached_rank', sa.SmallInteger(), nullable=False),
        sa.Column('close_month', sa.Date(), nullable=False),
        sa.Column('deals', sa.Integer(), nullable=False),
        sa.Column('amount_cents', sa.BigInteger(), nullable=False),
        sa.Column('weighted', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            'curator_id', 'stage', 'reached_rank', 'close_month', name=op.f('pk_deal_pipeline')
        ),
    )
    for table, period in (('deal_created_days', 'day'), ('deal_created_months', 'month')):
        op.create_table(
            table,
            sa.Column(period, sa.Date(), nullable=False),
            sa.Column('curator_id', sa.Integer(), nullable=False),
            sa.Column('rank', sa.SmallInteger(), nullable=False),
            sa.Column('lost', sa.SmallInteger(), nullable=False),
            sa.Column('deals', sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint(period, 'curator_id', 'rank', 'lost', name=op.f(f'pk_{table}')),
        )
    dialect = op.get_bind().dialect.name
    _backfill(dialect)
    _triggers(dialect)
    op.create_index(
        'ix_inquiries_report',
        'inquiries',
        ['received_at', 'source', 'manager_id', 'deal_id'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_inquiries_report', table_name='inquiries')
    if op.get_bind().dialect.name == 'sqlite':
        for name in ('deals_rollups_ai', 'deals_rollups_ad', 'deals_rollups_au'):
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
    else:
        op.execute('DROP TRIGGER IF EXISTS deals_rollups ON deals')
        op.execute('DROP FUNCTION IF EXISTS deals_rollups()')
    for table in ('deal_created_months', 'deal_created_days', 'deal_pipeline'):
        op.drop_table(table)
