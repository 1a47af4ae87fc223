"""What clients owe: Paid on a won deal's sale, the receivables report in ageing buckets,
and the overdue payments of /today and the digest (count, sum, the worst first)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select

from crm.access import Actor, visible_owner
from crm.errors import Conflict
from crm.models import Company, Deal, Manager, Sale
from crm.services.payments.rules import BUCKETS, bucket_of, locked_deal
from crm.uow import UnitOfWork


def _their_company() -> ColumnElement[bool]:
    """The join of an unpaid sale past due to its company, for queries that find those
    sales through ix_sales_unpaid_due (paid_on, due_on) first.

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
    by_client: list[Debt]  # largest total first
    by_manager: list[Debt]
    buckets: list[Decimal]

    @property
    def total(self) -> Decimal:
        return sum(self.buckets, Decimal("0.00"))


async def receivables(
    uow: UnitOfWork, actor: Actor, today: date, company_id: int | None = None
) -> Receivables:
    """Overdue payments of the companies in the actor's reach (or one of them), by client
    and by the manager credited with the sale, in ageing buckets."""
    where = [
        Sale.paid_on.is_(None),
        Sale.due_on < today,
        visible_owner(actor, Company.curator_id),
    ]
    if company_id is not None:
        where.append(Sale.company_id == company_id)
    clients: dict[int, Debt] = {}
    managers: dict[int, Debt] = {}
    totals = [Decimal("0.00")] * len(BUCKETS)
    async with uow.read_only():
        rows = await uow.session.execute(
            select(
                Sale.company_id,
                Company.name,
                Sale.manager_id,
                Manager.name,
                Sale.due_on,
                Sale.amount,
            )
            .join(Company, _their_company())
            .outerjoin(Manager, Manager.id == Sale.manager_id)
            .where(*where)
        )
        for cid, cname, mid, mname, due, amount in rows:
            if due is None:  # not tracked: the WHERE clause (due_on < today) left these out
                continue
            at = bucket_of((today - due).days)
            value = Decimal(str(amount))
            clients.setdefault(cid, Debt(cid, cname)).buckets[at] += value
            managers.setdefault(mid or 0, Debt(mid or 0, mname or "")).buckets[at] += value
            totals[at] += value

    def ranked(debts: dict[int, Debt]) -> list[Debt]:
        return sorted(debts.values(), key=lambda d: (-d.total, d.name, d.key))

    return Receivables(today, ranked(clients), ranked(managers), totals)


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
                select(func.count(Sale.id), func.coalesce(func.sum(Sale.amount), 0))
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
