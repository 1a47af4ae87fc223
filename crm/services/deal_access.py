"""Who sees a deal, and loading a visible one: below the deals package and payments,
which both load deals (so neither imports the other for it).

A deal is visible to whoever may see its curator or its company's curator, so the history
of a client stays with the client when open deals are reassigned.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import selectinload

from crm.access import Actor, visible_owner
from crm.errors import AccessDenied
from crm.models import Company, Deal
from crm.uow import UnitOfWork


def visible(actor: Actor) -> ColumnElement[bool]:
    company_visible = (
        select(Company.id)
        .where(Company.id == Deal.company_id, visible_owner(actor, Company.curator_id))
        .exists()
    )
    return or_(visible_owner(actor, Deal.curator_id), company_visible)


async def load(
    uow: UnitOfWork, actor: Actor, deal_id: int, *, lock: bool = False, lines: bool = True
) -> Deal:
    """The visible deal; `lines=False` spares a query where the lines are not needed."""
    stmt = (
        select(Deal)
        .where(Deal.id == deal_id, visible(actor))
        .execution_options(populate_existing=True)
    )
    if lines:
        stmt = stmt.options(selectinload(Deal.lines))
    if lock:
        stmt = stmt.with_for_update(of=Deal)
    deal = (await uow.session.scalars(stmt)).first()
    if deal is None:
        raise AccessDenied("deal")
    return deal
