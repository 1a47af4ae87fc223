"""The rules of payment terms without the database's writes: the deferral in force, why
terms need a head, the ageing column of a late payment, what a client owes, which payment
buttons a deal card offers, and how a typed paid day is read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Select, func, select

from crm.access import Actor
from crm.errors import InvalidInput
from crm.models import Company, Deal, Sale, utcnow
from crm.models.enums import ApprovalStatus, DealStage
from crm.services import deal_access
from crm.services.interactions import resolve_when
from crm.uow import UnitOfWork
from crm.when import to_local

DEFERRAL_MAX = 365


BUCKETS = ((1, 30), (31, 60), (61, 90), (91, None))  # days overdue


BLOCKING = (ApprovalStatus.PENDING.value, ApprovalStatus.REJECTED.value)


def deferral_of(deal: Deal, company: Company) -> int:
    if deal.deferral_days is not None:
        return deal.deferral_days
    return company.payment_deferral_days or 0


def risks(
    deferral: int, allowed: int | None, unpaid: Decimal, amount: Decimal, limit: Decimal | None
) -> list[str]:
    """Why terms need a head: "deferral" beyond the company's, "credit" past its limit."""
    found = []
    if deferral > (allowed or 0):
        found.append("deferral")
    if limit is not None and unpaid + amount > limit:
        found.append("credit")
    return found


def bucket_of(days_overdue: int) -> int:
    """0..3: the ageing column of a payment `days_overdue` days late (at least 1)."""
    return next(i for i, (_low, high) in enumerate(BUCKETS) if high is None or days_overdue <= high)


async def unpaid_amount(uow: UnitOfWork, company_id: int) -> Decimal:
    total = await uow.session.scalar(
        select(func.coalesce(func.sum(Sale.amount), 0)).where(
            Sale.company_id == company_id, Sale.paid_on.is_(None), Sale.due_on.is_not(None)
        )
    )
    return Decimal(str(total or 0))


def overdue_query(company_id: int, today: date) -> Select[Decimal]:
    """The sum the company owes past its due dates (a query: `overdue_amount` runs it; the
    company card reads it with its other figures at once)."""
    return select(func.coalesce(func.sum(Sale.amount), 0)).where(
        Sale.company_id == company_id, Sale.paid_on.is_(None), Sale.due_on < today
    )


async def overdue_amount(uow: UnitOfWork, company_id: int, today: date) -> Decimal:
    """What the company owes past its due dates (inside an open unit of work)."""
    total = await uow.session.scalar(overdue_query(company_id, today))
    return Decimal(str(total or 0))


async def locked_deal(uow: UnitOfWork, actor: Actor, deal_id: int) -> Deal:
    """The visible deal, locked (its lines are not needed)."""
    return await deal_access.load(uow, actor, deal_id, lock=True, lines=False)


@dataclass(frozen=True)
class PaymentActions:
    """The payment buttons a deal card may offer this actor (the card's reader sees the deal)."""

    terms: bool = False  # an open deal: set its deferral
    paid: bool = False  # a won deal whose sale is unpaid: mark it paid


def payment_actions(actor: Actor, deal: Deal, sale: Sale | None) -> PaymentActions:
    """Terms on an open deal; Paid on a won deal whose sale is not paid yet. The services
    refuse the same (a closed deal's terms, a sale paid twice) whatever a callback asks."""
    stage = DealStage(deal.stage)
    return PaymentActions(
        terms=not stage.is_closed,
        paid=stage is DealStage.WON and sale is not None and sale.paid_on is None,
    )


def paid_day(text: str, tz: str, now: datetime | None = None) -> date:
    """The day a typed "paid on" names (as /remind reads dates, the past included), in the
    reader's timezone; InvalidInput("paid_on", ...) for no date or a day still to come."""
    now = now or utcnow()
    try:
        at = resolve_when(text, tz, now)
    except InvalidInput as err:
        raise InvalidInput("paid_on", "unparsed") from err
    day = to_local(at, tz).date()
    if day > to_local(now, tz).date():
        raise InvalidInput("paid_on", "in_future")
    return day
