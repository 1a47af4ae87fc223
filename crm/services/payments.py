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
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select

from crm.access import Actor, can_see_owner, require_role, visible_owner
from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import AuditEntry, Company, Deal, Manager, Sale, utcnow
from crm.models.enums import ApprovalStatus, DealStage, Role
from crm.services import deal_access, team
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
            raise Conflict("terms_decided", approval=deal.terms_approval)
        if await _requester_id(uow, deal.id) == actor.id:
            raise Conflict("own_terms")  # decided by someone other than who set them
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


# --- what the deal card offers, what a head decides, what is overdue ----------------------


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


@dataclass(frozen=True)
class TermsView:
    """A deal's terms as the Terms dialog shows them, and why they wait for a head."""

    deal_id: int
    title: str
    amount: Decimal
    deferral: int  # in force: the deal's own, else the company's
    own: bool  # the deal has a deferral of its own
    allowed: int  # the company's deferral (its default and the most without a head)
    credit_limit: Decimal | None
    unpaid: Decimal  # the client's won-but-unpaid amount
    approval: str
    risks: list[str]  # "deferral", "credit": why the terms need (or needed) a head


async def terms_view(uow: UnitOfWork, actor: Actor, deal_id: int) -> TermsView:
    async with uow.read_only():
        deal = await _deal(uow, actor, deal_id)
        company = deal.company
        unpaid = await unpaid_amount(uow, company.id)
    deferral = deferral_of(deal, company)
    return TermsView(
        deal_id=deal.id,
        title=deal.title,
        amount=deal.amount,
        deferral=deferral,
        own=deal.deferral_days is not None,
        allowed=company.payment_deferral_days or 0,
        credit_limit=company.credit_limit,
        unpaid=unpaid,
        approval=deal.terms_approval,
        risks=risks(
            deferral, company.payment_deferral_days, unpaid, deal.amount, company.credit_limit
        ),
    )


async def _requester_id(uow: UnitOfWork, deal_id: int) -> int | None:
    """Who last set the deal's terms (its audit trail): who asked for a pending decision."""
    rows = await uow.session.execute(
        select(AuditEntry.actor_id, AuditEntry.changes)
        .where(AuditEntry.entity == Deal.__tablename__, AuditEntry.entity_id == deal_id)
        .order_by(AuditEntry.id.desc())
        .limit(50)
    )
    for actor_id, changes in rows:
        change = (changes or {}).get("terms_approval")
        if "deferral_days" in (changes or {}) or (
            change and change[-1] == ApprovalStatus.PENDING.value
        ):
            return actor_id  # type: ignore[no-any-return]
    return None


async def requester(uow: UnitOfWork, deal: Deal) -> Manager | None:
    """Whom a decision on the deal's terms is told: who asked, else the deal's curator."""
    async with uow.read_only():
        asked = await _requester_id(uow, deal.id)
        return await uow.session.get(Manager, asked if asked is not None else deal.curator_id)


async def approvers_of(uow: UnitOfWork, deal_id: int) -> list[Manager]:
    """Who decides the deal's pending terms: the same heads (or directors) as a discount."""
    async with uow.read_only():
        curator_id = await uow.session.scalar(select(Deal.curator_id).where(Deal.id == deal_id))
    if curator_id is None:
        return []
    return await team.approvers(uow, curator_id)


@dataclass(frozen=True, slots=True)
class PendingTerms:
    """One deal's terms waiting for a decision, with what the approver needs to decide."""

    deal_id: int
    deal_title: str
    company_name: str
    amount: Decimal
    deferral: int
    allowed: int
    credit_limit: Decimal | None
    unpaid: Decimal
    curator: str

    @property
    def risks(self) -> list[str]:
        return risks(self.deferral, self.allowed, self.unpaid, self.amount, self.credit_limit)


def _pending_scope(actor: Actor) -> list[ColumnElement[bool]]:
    return [
        Deal.terms_approval == ApprovalStatus.PENDING.value,
        visible_owner(actor, Deal.curator_id),
        Deal.curator_id != actor.id,
    ]


async def pending_terms_count(uow: UnitOfWork, actor: Actor) -> int:
    """How many deals' terms wait for this head (their department's) or director (all)."""
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity="deal")
    async with uow.read_only():
        total = await uow.session.scalar(
            select(func.count()).select_from(Deal).where(*_pending_scope(actor))
        )
    return int(total or 0)


async def pending_terms(
    uow: UnitOfWork, actor: Actor, offset: int = 0, limit: int = 10, deal_id: int | None = None
) -> list[PendingTerms]:
    """A page of the terms this head or director decides (never on their own deal), oldest
    deal first; the scope of `decide_terms` (`deal_id`: that deal's alone)."""
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity="deal")
    scope = _pending_scope(actor)
    if deal_id is not None:
        scope.append(Deal.id == deal_id)
    unpaid = (
        select(func.coalesce(func.sum(Sale.amount), 0))
        .where(Sale.company_id == Deal.company_id, Sale.paid_on.is_(None), Sale.due_on.is_not(None))
        .correlate(Deal)
        .scalar_subquery()
    )
    async with uow.read_only():
        rows = await uow.session.execute(
            select(
                Deal.id,
                Deal.title,
                Company.name,
                Deal.amount,
                func.coalesce(Deal.deferral_days, Company.payment_deferral_days, 0),
                func.coalesce(Company.payment_deferral_days, 0),
                Company.credit_limit,
                unpaid,
                Manager.name,
            )
            .join(Company, Company.id == Deal.company_id)
            .join(Manager, Manager.id == Deal.curator_id)
            .where(*scope)
            .order_by(Deal.id)
            .offset(max(0, offset))
            .limit(limit)
        )
        return [
            PendingTerms(
                deal_id=row[0],
                deal_title=row[1],
                company_name=row[2],
                amount=Decimal(str(row[3])),
                deferral=int(row[4]),
                allowed=int(row[5]),
                credit_limit=None if row[6] is None else Decimal(str(row[6])),
                unpaid=Decimal(str(row[7] or 0)),
                curator=row[8],
            )
            for row in rows
        ]


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
                .join(Company, Company.id == Sale.company_id)
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
            .join(Company, Company.id == Sale.company_id)
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
