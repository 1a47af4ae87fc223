"""What clients owe: Paid on a won deal's sale, the receivables report in ageing buckets,
and the overdue payments of /today and the digest (count, sum, the worst first)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Date, bindparam, case, func, select

from crm.access import Actor, visible_owner
from crm.analytics.scope import days_between, from_cents, money_cents
from crm.errors import Conflict
from crm.models import Company, Deal, Manager, Sale
from crm.services.payments.rules import BUCKETS, locked_deal
from crm.uow import UnitOfWork


def _their_company() -> ColumnElement[bool]:
    """The join of an unpaid sale past due to its company, for queries that find those
    sales through ix_sales_unpaid (the unpaid sales with a due date, in due order) first.

    `company_id + 0` keeps the planner from walking every company's sales through
    ix_sales_company_date instead: where payments are not tracked, SQLite's statistics
    see paid_on NULL on every sale, judge the unpaid index useless and read all the sales
    (2.2 s for the director's digest at a million sales), while the range due_on < today
    skips the NULL due dates and reads only the sales actually overdue.
    """
    return Company.id == Sale.company_id + 0


async def mark_paid(uow: UnitOfWork, actor: Actor, deal_id: int, paid_on: date) -> Sale:
    """The won deal's sale is paid on `paid_on` (audited); Conflict if it already is."""
    async with uow:
        deal = await locked_deal(uow, actor, deal_id)
        sale = await uow.session.scalar(select(Sale).where(Sale.deal_id == deal.id))
        if sale is None:
            raise Conflict("not_won")
        if sale.paid_on is not None:
            raise Conflict("already_paid", paid_on=sale.paid_on)
        uow.apply(actor.id, sale, paid_on=paid_on)
        await uow.commit()
    return sale


@dataclass
class Debt:
    key: int  # company or manager id
    name: str
    buckets: list[Decimal] = field(default_factory=lambda: [Decimal("0.00")] * len(BUCKETS))

    @property
    def total(self) -> Decimal:
        return sum(self.buckets, Decimal("0.00"))


@dataclass(frozen=True)
class Receivables:
    today: date
    by_client: list[Debt]  # largest total first (the top few when asked)
    by_manager: list[Debt]  # likewise; key 0 and name "": sales credited to nobody
    buckets: list[Decimal]  # every overdue payment of the reach, the top or not

    @property
    def total(self) -> Decimal:
        return sum(self.buckets, Decimal("0.00"))


def _bucket_sums(days: ColumnElement[int]) -> list[ColumnElement[Any]]:
    """Per ageing column (BUCKETS, as `bucket_of` reads them): the cents overdue `days` late."""
    cents = money_cents(Sale.amount)
    sums: list[ColumnElement[Any]] = []
    for low, high in BUCKETS:
        within = days >= low if high is None else days.between(low, high)
        sums.append(func.sum(case((within, cents), else_=0)))
    return sums


async def receivables(
    uow: UnitOfWork,
    actor: Actor,
    today: date,
    company_id: int | None = None,
    top: int | None = None,
) -> Receivables:
    """Overdue payments of the companies in the actor's reach (or one of them), by client
    and by the manager credited with the sale, in ageing buckets; the `top` largest debtors
    of each kind when given (the columns' totals count them all).

    Summed, ranked and cut in SQL, two statements (SQLite has no GROUPING SETS): the
    clients', which carries the totals of all clients as window sums over its groups, and
    the managers'. Money is summed in whole cents, exact on SQLite too."""
    at = bindparam("today", today, Date)
    where = [
        Sale.paid_on.is_(None),
        Sale.due_on < at,
        visible_owner(actor, Company.curator_id),
    ]
    if company_id is not None:
        where.append(Sale.company_id == company_id)
    async with uow.read_only():
        days = days_between(uow.session.get_bind().dialect.name, Sale.due_on, at)
        sums = _bucket_sums(days)
        owed = func.sum(money_cents(Sale.amount))
        clients = (
            select(
                Sale.company_id,
                Company.name,
                *sums,
                *(func.sum(column).over() for column in sums),
            )
            .join(Company, _their_company())
            .where(*where)
            .group_by(Sale.company_id, Company.name)
            .order_by(owed.desc(), Company.name, Sale.company_id)
            .limit(top)
        )
        managers = (
            select(Sale.manager_id, Manager.name, *sums)
            .join(Company, _their_company())
            .outerjoin(Manager, Manager.id == Sale.manager_id)
            .where(*where)
            .group_by(Sale.manager_id, Manager.name)
            .order_by(owed.desc(), func.coalesce(Manager.name, ""), Sale.manager_id)
            .limit(top)
        )
        by_client = list(await uow.session.execute(clients))
        by_manager = list(await uow.session.execute(managers))
    width = len(BUCKETS)
    totals = [from_cents(c) for c in by_client[0][2 + width :]] if by_client else []
    return Receivables(
        today,
        [Debt(row[0], row[1], [from_cents(c) for c in row[2 : 2 + width]]) for row in by_client],
        [Debt(row[0] or 0, row[1] or "", [from_cents(c) for c in row[2:]]) for row in by_manager],
        totals or [from_cents(0)] * width,
    )


@dataclass(frozen=True, slots=True)
class OverduePayment:
    sale_id: int
    deal_id: int | None
    deal_title: str | None  # None: an imported sale
    company_id: int
    company_name: str
    amount: Decimal
    due_on: date
    days: int  # days overdue (at least 1)


@dataclass(frozen=True)
class Overdue:
    count: int
    total: Decimal
    worst: list[OverduePayment]  # the longest overdue first, then the largest


async def overdue(
    uow: UnitOfWork, whose: ColumnElement[bool], today: date, top: int = 5
) -> Overdue:
    """Overdue payments of the companies `whose` selects (a clause on `Company`): their count
    and sum, and the `top` worst, read in SQL."""
    where = (Sale.paid_on.is_(None), Sale.due_on < today, whose)
    async with uow.read_only():
        count, total = (
            await uow.session.execute(
                select(func.count(), func.coalesce(func.sum(Sale.amount), 0))
                .join(Company, _their_company())
                .where(*where)
            )
        ).one()
        rows = await uow.session.execute(
            select(
                Sale.id,
                Sale.deal_id,
                Deal.title,
                Company.id,
                Company.name,
                Sale.amount,
                Sale.due_on,
            )
            .join(Company, _their_company())
            .outerjoin(Deal, Deal.id == Sale.deal_id)
            .where(*where)
            .order_by(Sale.due_on, Sale.amount.desc(), Sale.id)
            .limit(top)
        )
        worst = []
        for sid, deal_id, title, cid, cname, amount, due in rows:
            assert due is not None  # the WHERE clause compared it
            worst.append(
                OverduePayment(
                    sale_id=sid,
                    deal_id=deal_id,
                    deal_title=title,
                    company_id=cid,
                    company_name=cname,
                    amount=Decimal(str(amount)),
                    due_on=due,
                    days=(today - due).days,
                )
            )
    return Overdue(int(count or 0), Decimal(str(total or 0)).quantize(Decimal("0.01")), worst)


async def curators_overdue(uow: UnitOfWork, actor: Actor, today: date, top: int = 5) -> Overdue:
    """/today: the overdue payments of the companies the actor curates."""
    return await overdue(uow, Company.curator_id == actor.id, today, top)
