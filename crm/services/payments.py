"""Payment terms and receivables: a deal's deferral, the head's approval of risky terms,
the due date of a won deal's sale, "Paid", and what is overdue.

Rules decided here (the issue leaves them open):
- A deal's deferral is its own (`deals.deferral_days`) or else the company's
  (`companies.payment_deferral_days`, none: 0 days, payment on the day of the sale).
- Terms need a head's approval when the deal's deferral is beyond the company's, or when
  the client's unpaid won amount (sales with a due date and no paid date) plus this deal
  would pass the company's credit limit (no limit: no credit check). Setting such terms
  asks for the approval (the deal's `terms_approval` becomes pending), as a discount above
  the limit does; the same heads decide it in /approvals, never on a deal of their own.
  A deal whose terms wait or were rejected cannot be won; a deal that would pass the
  credit limit on winning without approved terms is refused with that reason.
- A won deal's sale is due `sold_on + deferral`. "Paid" marks the sale of a won deal (or
  an imported sale) paid on a day; marking and deciding are audited.
- Overdue: unpaid with a due date before today (the reader's). Ageing by days overdue:
  0–30, 31–60, 61–90, over 90.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from crm.access import Actor, can_see_owner, require_role, visible_owner
from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import Company, Deal, Manager, Sale
from crm.models.enums import ApprovalStatus, DealStage, Role
from crm.services import deal_access
from crm.uow import UnitOfWork

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


async def overdue_amount(uow: UnitOfWork, company_id: int, today: date) -> Decimal:
    """What the company owes past its due dates (inside an open unit of work)."""
    total = await uow.session.scalar(
        select(func.coalesce(func.sum(Sale.amount), 0)).where(
            Sale.company_id == company_id, Sale.paid_on.is_(None), Sale.due_on < today
        )
    )
    return Decimal(str(total or 0))


async def _deal(uow: UnitOfWork, actor: Actor, deal_id: int) -> Deal:
    """The visible deal, locked (its lines are not needed)."""
    return await deal_access.load(uow, actor, deal_id, lock=True, lines=False)


async def set_terms(uow: UnitOfWork, actor: Actor, deal_id: int, deferral_days: int | None) -> Deal:
    """The deal's deferral (None: the company's again); risky terms wait for a head."""
    if deferral_days is not None and not 0 <= deferral_days <= DEFERRAL_MAX:
        raise InvalidInput("deferral_days", "out_of_range", min=0, max=DEFERRAL_MAX)
    async with uow:
        deal = await _deal(uow, actor, deal_id)
        if DealStage(deal.stage).is_closed:
            raise Conflict("deal_closed", stage=deal.stage)
        company = deal.company
        deferral = deferral_days if deferral_days is not None else company.payment_deferral_days
        found = risks(
            deferral or 0,
            company.payment_deferral_days,
            await unpaid_amount(uow, company.id),
            deal.amount,
            company.credit_limit,
        )
        approval = ApprovalStatus.PENDING if found else ApprovalStatus.NOT_NEEDED
        uow.apply(
            actor.id,
            deal,
            deferral_days=deferral_days,
            terms_approval=approval.value,
            terms_approved_by_id=None,
        )
        await uow.commit()
    return deal


async def decide_terms(uow: UnitOfWork, actor: Actor, deal_id: int, approve: bool) -> Deal:
    """A head of the curator's department or a director approves or rejects the terms."""
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity="deal")
    async with uow:
        deal = await uow.session.scalar(
            select(Deal)
            .where(Deal.id == deal_id)
            .with_for_update(of=Deal)
            .execution_options(populate_existing=True)
        )
        curator = await uow.session.get(Manager, deal.curator_id) if deal else None
        if deal is None or curator is None or curator.id == actor.id:
            raise AccessDenied("deal")
        if not can_see_owner(actor, curator):
            raise AccessDenied("deal")
        if deal.terms_approval != ApprovalStatus.PENDING.value:
            raise Conflict("not_pending", approval=deal.terms_approval)
        status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
        uow.apply(actor.id, deal, terms_approval=status.value, terms_approved_by_id=actor.id)
        await uow.commit()
    return deal


async def on_win(uow: UnitOfWork, deal: Deal, sale: Sale) -> None:
    """Inside the win's transaction: refuse terms that wait or need a head; set the due date."""
    if deal.terms_approval in BLOCKING:
        raise Conflict("terms_not_approved")
    company = deal.company
    deferral = deferral_of(deal, company)
    if deal.terms_approval != ApprovalStatus.APPROVED.value and risks(
        deferral,
        company.payment_deferral_days,
        await unpaid_amount(uow, company.id),
        sale.amount,
        company.credit_limit,
    ):
        raise Conflict("terms_need_approval")
    sale.due_on = sale.sold_on + timedelta(days=deferral)


async def mark_paid(uow: UnitOfWork, actor: Actor, deal_id: int, paid_on: date) -> Sale:
    """The won deal's sale is paid on `paid_on` (audited); Conflict if it already is."""
    async with uow:
        deal = await _deal(uow, actor, deal_id)
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
            .join(Company, Company.id == Sale.company_id)
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
