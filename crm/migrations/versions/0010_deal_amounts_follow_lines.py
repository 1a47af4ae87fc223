"""deal amounts follow their lines: open deals with lines take their lines' total

From now on a deal with lines has their total after discounts as its amount
(crm/services/deals/common.py). Open deals whose amount disagrees with their lines are brought
into agreement here, each change audited (no actor: the migration did it). Won deals are
left alone: their sale is history; `chatcrm doctor` lists those that disagree.
The total of a line is computed as the model does (quantity x price x (100 - discount)
/ 100, to the cent, halves up as crm/money.py rounds), so the migration and the service
agree to the cent.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 12:50:00
"""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from alembic import op

import crm.models.base

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

OPEN = ('lead', 'qualified', 'proposal', 'negotiation')
deals = sa.table(
    'deals', sa.column('id', sa.Integer), sa.column('stage', sa.String),
    sa.column('amount', sa.Numeric(14, 2)),
)
lines = sa.table(
    'deal_lines', sa.column('deal_id', sa.Integer), sa.column('quantity', sa.Numeric(14, 3)),
    sa.column('unit_price', sa.Numeric(14, 2)), sa.column('discount_pct', sa.Numeric(5, 2)),
)
audit = sa.table(
    'audit_log', sa.column('at', crm.models.base.UTCDateTime()),
    sa.column('actor_id', sa.Integer), sa.column('entity', sa.String),
    sa.column('entity_id', sa.Integer), sa.column('action', sa.String),
    sa.column('changes', sa.JSON),
)


def _total(quantity: Decimal, price: Decimal, discount: Decimal) -> Decimal:
    gross = Decimal(quantity) * Decimal(price)
    return (gross * (100 - Decimal(discount)) / 100).quantize(Decimal('0.01'), ROUND_HALF_UP)


def upgrade() -> None:
    bind = op.get_bind()
    totals: dict[int, Decimal] = defaultdict(lambda: Decimal('0.00'))
    rows = bind.execute(
        sa.select(lines.c.deal_id, lines.c.quantity, lines.c.unit_price, lines.c.discount_pct)
        .select_from(lines.join(deals, deals.c.id == lines.c.deal_id))
        .where(deals.c.stage.in_(OPEN))
    )
    for deal_id, quantity, price, discount in rows:
        totals[deal_id] += _total(quantity, price, discount)
    amounts = dict(
        bind.execute(sa.select(deals.c.id, deals.c.amount).where(deals.c.stage.in_(OPEN))).all()
    )
    now = datetime.now(UTC)
    for deal_id, total in sorted(totals.items()):
        old = Decimal(amounts[deal_id]).quantize(Decimal('0.01'))
        if old == total:
            continue
        bind.execute(deals.update().where(deals.c.id == deal_id).values(amount=total))
        bind.execute(audit.insert().values(
            at=now, actor_id=None, entity='deals', entity_id=deal_id, action='update',
            changes={'amount': [str(old), str(total)]},
        ))


def downgrade() -> None:
    """The amounts typed before are not kept: the audit log holds them."""
