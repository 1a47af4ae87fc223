"""Claims: who sees a claim, loading one, its card and the lists."""

from __future__ import annotations

from sqlalchemy import ColumnElement, ScalarSelect, func, or_, select

from crm import validation
from crm.access import Actor, can_see_owner, visible_owner
from crm.errors import AccessDenied
from crm.models import Claim, ClaimAttachment, ClaimCause, Company, Contact, Manager, Task
from crm.models.enums import ClaimPriority, ClaimStatus
from crm.services.claims.common import OPEN_STATUSES, ClaimRow, ClaimView
from crm.uow import UnitOfWork


def _scope(actor: Actor) -> ColumnElement[bool]:
    """Claims the actor sees: by responsible manager or by the company's curator."""
    return or_(visible_owner(actor, Claim.responsible_id), visible_owner(actor, Company.curator_id))


async def _load(uow: UnitOfWork, actor: Actor, claim_id: int, *, lock: bool = False) -> Claim:
    claim = await uow.session.get(Claim, claim_id, with_for_update=lock or None)
    if claim is None:
        raise AccessDenied("claim")
    company = await uow.session.get(Company, claim.company_id)
    responsible = await uow.session.get(Manager, claim.responsible_id)
    assert company is not None and responsible is not None
    if not (can_see_owner(actor, responsible) or can_see_owner(actor, company.curator)):
        raise AccessDenied("claim")
    return claim


async def _plan(uow: UnitOfWork, claim_id: int) -> list[Task]:
    rows = await uow.session.scalars(
        select(Task).where(Task.claim_id == claim_id).order_by(Task.due_at, Task.id)
    )
    return list(rows)


async def _view(uow: UnitOfWork, claim: Claim) -> ClaimView:
    company = await uow.session.get(Company, claim.company_id)
    responsible = await uow.session.get(Manager, claim.responsible_id)
    contact = await uow.session.get(Contact, claim.contact_id) if claim.contact_id else None
    attachments = await uow.session.scalars(
        select(ClaimAttachment)
        .where(ClaimAttachment.claim_id == claim.id)
        .order_by(ClaimAttachment.id)
    )
    assert company is not None and responsible is not None
    cause = await uow.session.get(ClaimCause, claim.cause)
    return ClaimView(
        claim=claim,
        company=company,
        responsible=responsible,
        contact=contact,
        attachments=list(attachments),
        plan=await _plan(uow, claim.id),
        cause_title=cause.title if cause is not None else None,
    )


async def get(uow: UnitOfWork, actor: Actor, claim_id: int) -> ClaimView:
    """The claim card; AccessDenied alike if it is absent or out of the actor's reach."""
    async with uow.read_only():
        return await _view(uow, await _load(uow, actor, claim_id))


async def list_claims(
    uow: UnitOfWork,
    actor: Actor,
    status: str | None = None,
    priority: str | None = None,
    offset: int = 0,
    limit: int = 10,
) -> tuple[list[ClaimRow], int]:
    """A page of the claims the actor sees, most urgent first; status "open" = not closed."""
    conditions: list[ColumnElement[bool]] = [_scope(actor)]
    if status == "open":
        conditions.append(Claim.status.in_(OPEN_STATUSES))
    elif status is not None:
        conditions.append(Claim.status == validation.choice("status", status, ClaimStatus).value)
    if priority is not None:
        conditions.append(
            Claim.priority == validation.choice("priority", priority, ClaimPriority).value
        )
    async with uow.read_only():
        total = await uow.session.scalar(
            select(func.count(Claim.id))
            .join(Company, Company.id == Claim.company_id)
            .where(*conditions)
        )
        rows = await uow.session.execute(
            select(Claim, Company.name, Manager.name)
            .join(Company, Company.id == Claim.company_id)
            .join(Manager, Manager.id == Claim.responsible_id)
            .where(*conditions)
            .order_by(Claim.due_at, Claim.id)
            .offset(max(offset, 0))
            .limit(max(min(limit, 100), 1))
        )
        items = [ClaimRow(claim=c, company_name=cn, responsible_name=rn) for c, cn, rn in rows]
    return items, int(total or 0)


def open_count(actor: Actor, company_id: int) -> ScalarSelect[int]:
    """How many of the company's open claims the actor sees: a column for a query that
    reads several figures at once (the company card's)."""
    return (
        select(func.count())
        .select_from(Claim)
        .join(Company, Company.id == Claim.company_id)
        .where(Claim.company_id == company_id, Claim.status.in_(OPEN_STATUSES), _scope(actor))
    ).scalar_subquery()


async def open_for_company(
    uow: UnitOfWork, actor: Actor, company_id: int, limit: int = 5
) -> list[Claim]:
    """The company's open claims this actor may see, the most urgent first; runs inside the
    caller's read (the company card's)."""
    rows = await uow.session.scalars(
        select(Claim)
        .join(Company, Company.id == Claim.company_id)
        .where(Claim.company_id == company_id, Claim.status.in_(OPEN_STATUSES), _scope(actor))
        .order_by(Claim.due_at, Claim.id)
        .limit(max(min(limit, 100), 1))
    )
    return list(rows)
