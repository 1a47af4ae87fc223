"""Discounts above a manager's limit: a head or a director decides them;
the list of those waiting (/approvals)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, SQLColumnExpression, func, select
from sqlalchemy.orm import aliased, joinedload, selectinload

from crm.access import Actor, can_see_owner, require_role, visible_owner
from crm.errors import AccessDenied, Conflict
from crm.models import AuditEntry, Company, Deal, DealLine, Manager, Product
from crm.models.enums import ApprovalStatus, Role
from crm.money import cents
from crm.services.deals.common import _follow_lines
from crm.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class DiscountDecision:
    """What the caller needs to tell the manager: the curator, the deal and the line."""

    deal: Deal
    line: DealLine
    curator: Manager
    approved: bool


def _asked_by(line_id: int | SQLColumnExpression[int]) -> Select[int | None]:
    """Who last wrote the line (its audit trail): who asked for its pending discount."""
    return (
        select(AuditEntry.actor_id)
        .where(AuditEntry.entity == DealLine.__tablename__, AuditEntry.entity_id == line_id)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )


async def decide_discount(
    uow: UnitOfWork, actor: Actor, line_id: int, approve: bool
) -> DiscountDecision:
    """A head of the curator's department or a director approves or rejects a discount.

    Rejected: the discount is cut to the curator's limit and the line stays "rejected"
    (which blocks winning) until the manager confirms the new price with the client.
    """
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity="deal")
    async with uow:
        deal_id = await uow.session.scalar(select(DealLine.deal_id).where(DealLine.id == line_id))
        deal = None
        if deal_id is not None:
            deal = await uow.session.scalar(
                select(Deal)
                .where(Deal.id == deal_id)
                .options(selectinload(Deal.lines))
                .with_for_update(of=Deal)
                .execution_options(populate_existing=True)
            )
        curator = await uow.session.get(Manager, deal.curator_id) if deal else None
        if (
            deal is None
            or curator is None
            or curator.id == actor.id
            or not can_see_owner(actor, curator)
        ):
            raise AccessDenied("deal")
        line = next(line for line in deal.lines if line.id == line_id)
        if line.approval != ApprovalStatus.PENDING.value:
            raise Conflict("not_pending", approval=line.approval)
        asked_by = await uow.session.scalar(_asked_by(line.id))
        if asked_by == actor.id:
            raise Conflict("own_request")  # a discount is decided by someone other than who set it
        if approve:
            uow.apply(
                actor.id, line, approval=ApprovalStatus.APPROVED.value, approved_by_id=actor.id
            )
        else:
            uow.apply(
                actor.id,
                line,
                discount_pct=min(line.discount_pct, Decimal(curator.max_discount_pct)),
                approval=ApprovalStatus.REJECTED.value,
                approved_by_id=actor.id,
            )
            _follow_lines(uow, actor, deal)
        await uow.commit()
    return DiscountDecision(deal=deal, line=line, curator=curator, approved=approve)


async def pending_approvals(uow: UnitOfWork, actor: Actor) -> list[DealLine]:
    """Lines waiting for this head (their department's deals) or director (all), oldest first."""
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity="deal")
    async with uow.read_only():
        rows = await uow.session.scalars(
            select(DealLine)
            .join(Deal, Deal.id == DealLine.deal_id)
            .where(
                DealLine.approval == ApprovalStatus.PENDING.value,
                visible_owner(actor, Deal.curator_id),
                Deal.curator_id != actor.id,
            )
            .options(joinedload(DealLine.deal))
            .order_by(DealLine.id)
        )
        return list(rows)


@dataclass(frozen=True, slots=True)
class PendingApproval:
    """One discount waiting for a decision, with what the approver needs to decide it."""

    line_id: int
    deal_id: int
    deal_title: str
    company_name: str
    product_name: str
    quantity: Decimal
    unit_price: Decimal
    discount_pct: Decimal
    asked_by: str  # who last changed the line (who asked), else the deal's curator
    limit_pct: Decimal  # that person's discount limit

    @property
    def total(self) -> Decimal:
        gross = self.quantity * self.unit_price
        return cents(gross * (100 - self.discount_pct) / 100)


@dataclass(frozen=True, slots=True)
class PendingPage:
    items: list[PendingApproval]
    total: int


async def pending_page(
    uow: UnitOfWork, actor: Actor, offset: int = 0, limit: int = 10
) -> PendingPage:
    """One page of the discounts this head (their department's) or director (all) decides.

    The same scope as `decide_discount`: never the actor's own deals. Oldest first.
    """
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity="deal")
    scope = (
        DealLine.approval == ApprovalStatus.PENDING.value,
        visible_owner(actor, Deal.curator_id),
        Deal.curator_id != actor.id,
    )
    last_actor = _asked_by(DealLine.id).correlate(DealLine).scalar_subquery()
    asker = aliased(Manager)
    async with uow.read_only():
        total = await uow.session.scalar(
            select(func.count())
            .select_from(DealLine)
            .join(Deal, Deal.id == DealLine.deal_id)
            .where(*scope)
        )
        rows = await uow.session.execute(
            select(
                DealLine.id,
                Deal.id,
                Deal.title,
                Company.name,
                Product.name,
                DealLine.quantity,
                DealLine.unit_price,
                DealLine.discount_pct,
                asker.name,
                asker.max_discount_pct,
            )
            .join(Deal, Deal.id == DealLine.deal_id)
            .join(Company, Company.id == Deal.company_id)
            .join(Product, Product.id == DealLine.product_id)
            .join(asker, asker.id == func.coalesce(last_actor, Deal.curator_id))
            .where(*scope)
            .order_by(DealLine.id)
            .offset(max(0, offset))
            .limit(limit)
        )
        items = [
            PendingApproval(*row[:8], asked_by=row[8], limit_pct=Decimal(row[9] or 0))
            for row in rows
        ]
    return PendingPage(items=items, total=int(total or 0))
