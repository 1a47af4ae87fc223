"""A deal's payment terms: set (risky ones wait for a head), decided by a head (never on
their own deal or their own request), checked when the deal is won; what the Terms dialog
and /approvals show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select

from crm.access import Actor, can_see_owner, require_role, visible_owner
from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import AuditEntry, Company, Deal, Manager, Sale
from crm.models.enums import ApprovalStatus, DealStage, Role
from crm.services import team
from crm.services.payments.rules import (
    BLOCKING,
    DEFERRAL_MAX,
    deferral_of,
    locked_deal,
    risks,
    unpaid_amount,
)
from crm.uow import UnitOfWork


async def set_terms(uow: UnitOfWork, actor: Actor, deal_id: int, deferral_days: int | None) -> Deal:
    """The deal's deferral (None: the company's again); risky terms wait for a head."""
    if deferral_days is not None and not 0 <= deferral_days <= DEFERRAL_MAX:
        raise InvalidInput("deferral_days", "out_of_range", min=0, max=DEFERRAL_MAX)
    async with uow:
        deal = await locked_deal(uow, actor, deal_id)
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
        deal = await locked_deal(uow, actor, deal_id)
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
    """Who asked for the deal's terms (else the deal's curator)."""
    async with uow.read_only():
        asked = await _requester_id(uow, deal.id)
        return await uow.session.get(Manager, asked if asked is not None else deal.curator_id)


async def told_of_decision(uow: UnitOfWork, deal: Deal) -> list[Manager]:
    """Whom a decision on the deal's terms is told: who asked, and the deal's curator (who
    cannot win the deal until it is decided) when someone else asked, a head say."""
    async with uow.read_only():
        asked = await _requester_id(uow, deal.id)
        ids = list(dict.fromkeys(i for i in (asked, deal.curator_id) if i is not None))
        people = {
            m.id: m for m in await uow.session.scalars(select(Manager).where(Manager.id.in_(ids)))
        }
    return [people[i] for i in ids if i in people]


async def approvers_of(uow: UnitOfWork, deal_id: int) -> list[Manager]:
    """Who is asked to decide the deal's pending terms: the heads (or directors) who decide
    a discount of its curator, but never who set the terms (`decide_terms` refuses them);
    when that leaves nobody (the only head set terms on a deal of their department), the
    directors, who decide any deal but their own."""
    async with uow.read_only():
        curator_id = await uow.session.scalar(select(Deal.curator_id).where(Deal.id == deal_id))
        asked = await _requester_id(uow, deal_id)
    if curator_id is None:
        return []
    approvers = [m for m in await team.approvers(uow, curator_id) if m.id != asked]
    if approvers:
        return approvers
    return await team.directors(uow, besides=[i for i in (curator_id, asked) if i is not None])


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
