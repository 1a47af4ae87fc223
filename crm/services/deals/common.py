"""What the writes of deals share: the search row, a line's product and
discount limit, the amount that follows the lines, the open-deal guard."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select

from crm import search
from crm.access import Actor
from crm.errors import ApprovalRequired, Conflict, InvalidInput
from crm.models import Contact, Deal, DealLine, Manager, Product
from crm.models.enums import ApprovalStatus, DealStage, SearchKind
from crm.uow import UnitOfWork


async def reindex(uow: UnitOfWork, deal: Deal) -> None:
    await search.index(
        uow.session,
        SearchKind.DEAL,
        deal.id,
        deal.curator_id,
        deal.title,
        [deal.title, deal.company.name],
    )


async def _contact_of(uow: UnitOfWork, company_id: int, contact_id: int | None) -> int | None:
    if contact_id is None:
        return None
    owner = await uow.session.scalar(select(Contact.company_id).where(Contact.id == contact_id))
    if owner != company_id:
        raise InvalidInput("contact_id", "not_of_company")
    return contact_id


async def _discount_limit(uow: UnitOfWork, actor: Actor) -> Decimal:
    limit = await uow.session.scalar(select(Manager.max_discount_pct).where(Manager.id == actor.id))
    return Decimal(limit if limit is not None else 0)


async def _new_line(
    uow: UnitOfWork, values: dict[str, object], limit: Decimal, request_approval: bool
) -> DealLine:
    """A line from validated values; refuses a discount above `limit` unless approval is asked."""
    product = await uow.session.get(Product, values["product_id"])
    if product is None or not product.active:
        raise InvalidInput("product_id", "unknown")
    discount = values["discount_pct"]
    assert isinstance(discount, Decimal)
    approval = ApprovalStatus.NOT_NEEDED
    if discount > limit:
        if not request_approval:
            raise ApprovalRequired(discount=discount, limit=limit)
        approval = ApprovalStatus.PENDING
    price = values["unit_price"] if values["unit_price"] is not None else product.unit_price
    return DealLine(
        product=product,
        quantity=values["quantity"],
        unit_price=price,
        discount_pct=discount,
        approval=approval.value,
    )


def _lines_sum(lines: Sequence[DealLine]) -> Decimal:
    return sum((line.total for line in lines), Decimal("0.00"))


def _follow_lines(uow: UnitOfWork, actor: Actor, deal: Deal) -> None:
    """A deal with lines has their total as its amount (audited when it changes)."""
    if deal.lines:
        uow.apply(actor.id, deal, amount=_lines_sum(deal.lines))


def follows_lines(deal: Deal) -> bool:
    """The deal's amount is its lines' total (it has lines), so it is not typed."""
    return bool(deal.lines)


def _require_open(deal: Deal) -> None:
    if DealStage(deal.stage).is_closed:
        raise Conflict("deal_closed", stage=deal.stage)
