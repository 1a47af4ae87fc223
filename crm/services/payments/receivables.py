"""What clients owe: Paid on a won deal's sale, the receivables report in ageing buckets,
and the overdue payments of /today and the digest (count, sum, the worst first)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Date,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    select,
    union_all,
)

from crm.access import Actor, visible_owner
from crm.analytics.scope import days_before, from_cents, money_cents
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


CLIENTS, MANAGERS, TOTALS = 0, 1, 2  # the parts of the receivables statement


def _overdue(dialect: str, today: ColumnElement[date], where: list[Any]) -> CTE:
    """The overdue sales, one row each: client, manager and the cents in each ageing column
    (BUCKETS, as `bucket_of` reads them: due between `high` and `low` days before today).
    The bounds are constants of the statement: a sale costs comparisons of dates."""
    cents = money_cents(Sale.amount)
    columns = []
    for i, (low, high) in enumerate(BUCKETS):
        within = Sale.due_on <= days_before(dialect, today, low)
        if high is not None:
            within = and_(within, Sale.due_on >= days_before(dialect, today, high))
        columns.append(case((within, cents), else_=0).label(f"b{i}"))
    return (
        select(Sale.company_id, Company.name.label("company"), Sale.manager_id, *columns)
        .join(Company, _their_company())
        .where(*where)
        .cte("overdue")
    )


def _ranked(overdue: CTE, kind: int, key: Any, name: Any) -> Select[Any]:
    """One part: the debts grouped by `key`, numbered from the largest total (then name)."""
    cents = [overdue.c[f"b{i}"] for i in range(len(BUCKETS))]
    owed = func.sum(sum(cents[1:], cents[0]))
    rank = func.row_number().over(order_by=(owed.desc(), func.coalesce(name, ""), key))
    return select(
        literal_column(str(kind)).label("kind"),
        key.label("key"),
        name.label("name"),
        *(func.sum(c) for c in cents),
        rank.label("rank"),
    ).group_by(key, name)


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

    One statement sums, ranks and cuts both: SQLite has no GROUPING SETS, so the overdue
    sales are a CTE (read once: both databases materialise a CTE used more than once) and
    the clients, the managers and the totals a UNION ALL over it. Money is summed in whole
    cents, exact on SQLite too."""
    at = bindparam("today", today, Date)
    where = [
        Sale.paid_on.is_(None),
        Sale.due_on < at,
        visible_owner(actor, Company.curator_id),
    ]
    if company_id is not None:
        where.append(Sale.company_id == company_id)
    async with uow.read_only():
        o = _overdue(uow.session.get_bind().dialect.name, at, where)
        nobody: ColumnElement[int] = literal_column("0")
        parts = union_all(
            _ranked(o, CLIENTS, o.c.company_id, o.c.company),
            _ranked(o, MANAGERS, o.c.manager_id, Manager.name).outerjoin(
                Manager, Manager.id == o.c.manager_id
            ),
            select(
                literal_column(str(TOTALS)),
                nobody,
                literal_column("''"),
                *(func.sum(o.c[f"b{i}"]) for i in range(len(BUCKETS))),
                nobody,
            ),
        ).subquery("parts")
        query = select(parts).order_by(parts.c.kind, parts.c.rank)
        if top is not None:
            query = query.where(parts.c.rank <= top)
        rows = list(await uow.session.execute(query))
    debts: dict[int, list[Debt]] = {CLIENTS: [], MANAGERS: []}
    totals = [from_cents(0)] * len(BUCKETS)
    for kind, key, name, *cents, _rank in rows:
        if kind == TOTALS:
            totals = [from_cents(c) for c in cents]
        else:
            debts[kind].append(Debt(key or 0, name or "", [from_cents(c) for c in cents]))
    return Receivables(today, debts[CLIENTS], debts[MANAGERS], totals)


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
