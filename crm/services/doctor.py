"""`chatcrm doctor`: records that disagree with the rules, reported and never changed.

A deal with lines has their total after discounts as its amount (crm/services/deals/common.py),
and the sale written when it was won took revenue and cost from the same lines. Deals
written before that rule, or by hand, may disagree: an open deal's amount with its lines,
a won deal's sale with its lines (or, without lines, with the deal's amount). The doctor
lists them; open deals are brought into agreement by migration 0010 and by any line change.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.models import Deal, DealLine, Product, Sale
from crm.models.enums import OPEN_STAGES, DealStage
from crm.money import cents


@dataclass(frozen=True, slots=True)
class Disagreement:
    deal_id: int
    title: str
    stage: str
    what: str  # "amount" (an open deal's), "sale amount" or "sale cost" (a won deal's)
    stored: Decimal | None
    expected: Decimal | None


@dataclass
class _Lines:
    revenue: Decimal = Decimal("0.00")
    cost: Decimal | None = Decimal("0.00")  # None: a product without a cost


async def _lines(session: AsyncSession, stages: list[str]) -> dict[int, _Lines]:
    """The lines' revenue and cost per deal of those stages (computed as the services do)."""
    found: dict[int, _Lines] = defaultdict(_Lines)
    rows = await session.stream(
        select(DealLine.deal_id, DealLine.quantity, DealLine.unit_price, DealLine.discount_pct)
        .add_columns(Product.unit_cost)
        .join(Deal, Deal.id == DealLine.deal_id)
        .join(Product, Product.id == DealLine.product_id)
        .where(Deal.stage.in_(stages))
        .execution_options(yield_per=1000)
    )
    async for deal_id, quantity, price, discount, unit_cost in rows:
        line = DealLine(quantity=quantity, unit_price=price, discount_pct=discount)
        figures = found[deal_id]
        figures.revenue += line.total
        if figures.cost is not None and unit_cost is not None:
            figures.cost += quantity * unit_cost
        else:
            figures.cost = None
    return found


async def deal_disagreements(session: AsyncSession) -> list[Disagreement]:
    """Open deals whose amount is not their lines' total, and won deals whose sale is not
    what their lines (or, without lines, their amount) say; by deal id."""
    found: list[Disagreement] = []
    open_stages = [s.value for s in OPEN_STAGES]
    lines = await _lines(session, [*open_stages, DealStage.WON.value])
    open_rows = await session.execute(
        select(Deal.id, Deal.title, Deal.stage, Deal.amount).where(
            Deal.stage.in_(open_stages), Deal.id.in_(select(DealLine.deal_id))
        )
    )
    for deal_id, title, stage, amount in open_rows:
        expected = lines[deal_id].revenue
        if cents(amount) != expected:
            found.append(Disagreement(deal_id, title, stage, "amount", amount, expected))
    won_rows = await session.execute(
        select(Deal.id, Deal.title, Deal.amount, Sale.amount, Sale.cost)
        .join(Sale, Sale.deal_id == Deal.id)
        .where(Deal.stage == DealStage.WON.value)
    )
    for deal_id, title, amount, sale_amount, sale_cost in won_rows:
        figures = lines.get(deal_id)
        revenue = figures.revenue if figures else cents(amount)
        if cents(sale_amount) != revenue:
            found.append(Disagreement(deal_id, title, "won", "sale amount", sale_amount, revenue))
        if figures is not None:
            cost = None if figures.cost is None else cents(figures.cost)
            stored = None if sale_cost is None else cents(sale_cost)
            if stored != cost:
                found.append(Disagreement(deal_id, title, "won", "sale cost", sale_cost, cost))
    found.sort(key=lambda d: (d.deal_id, d.what))
    return found
