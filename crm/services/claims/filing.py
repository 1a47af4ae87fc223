"""Claims: filing a claim with its attachments and investigation plan."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from crm.access import Actor, can_see_owner
from crm.errors import AccessDenied, InvalidInput
from crm.models import (
    Claim,
    ClaimAttachment,
    ClaimCause,
    Company,
    Contact,
    Deal,
    Manager,
    Task,
    utcnow,
)
from crm.models.enums import ClaimStatus, PlaybookKind, TaskStatus
from crm.services import playbooks
from crm.services.claims.causes import _read_sla, ensure_default_causes
from crm.services.claims.checks import clean, clean_attachment
from crm.services.claims.common import (
    DEFAULT_PLAN,
    MAX_ATTACHMENTS,
    PLAN_KIND,
    AttachmentInput,
    ClaimInput,
    ClaimView,
)
from crm.services.claims.loading import _load, _view
from crm.uow import UnitOfWork


async def _check_links(uow: UnitOfWork, values: dict[str, Any]) -> None:
    company_id = values["company_id"]
    if values["contact_id"] is not None:
        contact = await uow.session.get(Contact, values["contact_id"])
        if contact is None or contact.company_id != company_id:
            raise InvalidInput("contact", "not_of_company")
    if values["deal_id"] is not None:
        deal = await uow.session.get(Deal, values["deal_id"])
        if deal is None or deal.company_id != company_id:
            raise InvalidInput("deal", "not_of_company")
    cause = values["cause"]
    # FOR SHARE on PostgreSQL: a director removing this cause meanwhile waits for this claim
    # and then sees it counted (remove_cause locks the row FOR UPDATE).
    if await uow.session.get(ClaimCause, cause, with_for_update={"read": True}) is None:
        await ensure_default_causes(uow)
        if await uow.session.get(ClaimCause, cause) is None:
            codes = await uow.session.scalars(select(ClaimCause.code).order_by(ClaimCause.code))
            raise InvalidInput("cause", "unknown_value", allowed=list(codes))


async def _responsible_for(
    uow: UnitOfWork, actor: Actor, company: Company, responsible_id: int | None
) -> Manager:
    if responsible_id is None or responsible_id == company.curator_id:
        return company.curator
    manager = await uow.session.get(Manager, responsible_id)
    if manager is None or not manager.active or not can_see_owner(actor, manager):
        raise AccessDenied("manager")
    return manager


def _plan_tasks(
    claim: Claim,
    actor: Actor,
    responsible: Manager,
    steps: Sequence[tuple[str, int]],
    start: datetime,
    *,
    cap: bool,
) -> list[Task]:
    """Tasks of the plan: offset 0 is due at `start`, offset N at 09:00 of the responsible
    manager's N-th local day after it (as playbooks do); with `cap`, never after the
    claim's own due time, so a critical claim's plan fits its one-day SLA."""
    tasks = []
    for title, offset in steps:
        due = playbooks.due_at(start, offset, responsible.timezone)
        tasks.append(
            Task(
                title=title,
                due_at=min(due, claim.due_at) if cap else due,
                assignee_id=claim.responsible_id,
                created_by_id=actor.id,
                status=TaskStatus.OPEN.value,
                kind=PLAN_KIND,
                company_id=claim.company_id,
                contact_id=claim.contact_id,
                claim_id=claim.id,
                reminded_late=False,
                snooze_count=0,
                created_at=start,
            )
        )
    return tasks


def _default_steps(language: str) -> list[tuple[str, int]]:
    return [(ru if language == "ru" else en, offset) for en, ru, offset in DEFAULT_PLAN]


async def file(
    uow: UnitOfWork, actor: Actor, data: ClaimInput, *, now: datetime | None = None
) -> ClaimView:
    """File a claim with its attachments and investigation plan, in one transaction."""
    values = clean(data)
    created = now or utcnow()
    async with uow:
        company = await uow.session.get(Company, values["company_id"])
        if company is None or not can_see_owner(actor, company.curator):
            raise AccessDenied("company")
        await _check_links(uow, values)
        responsible = await _responsible_for(uow, actor, company, data.responsible_id)
        sla = await _read_sla(uow)
        attachments = values.pop("attachments")
        claim = Claim(
            **values,
            status=ClaimStatus.NEW.value,
            responsible_id=responsible.id,
            due_at=created + timedelta(days=sla[values["priority"]]),
            escalation_level=0,
            created_at=created,
        )
        uow.session.add(claim)
        await uow.flush()
        uow.audit_created(actor.id, claim)
        for item in attachments:
            uow.session.add(ClaimAttachment(claim_id=claim.id, created_at=created, **item))
        steps = await playbooks.plan_steps(uow, PlaybookKind.CLAIM.value)
        if steps is None:  # no claims playbook set up by a director: the built-in plan
            steps = _default_steps(actor.language)
        tasks = _plan_tasks(claim, actor, responsible, steps, created, cap=True)
        uow.session.add_all(tasks)
        await uow.flush()
        for item in await uow.session.scalars(
            select(ClaimAttachment).where(ClaimAttachment.claim_id == claim.id)
        ):
            uow.audit_created(actor.id, item)
        for task in tasks:
            uow.audit_created(actor.id, task)
        view = await _view(uow, claim)
        await uow.commit()
    return view


async def add_attachment(
    uow: UnitOfWork, actor: Actor, claim_id: int, data: AttachmentInput
) -> ClaimAttachment:
    values = clean_attachment(data)
    async with uow:
        await _load(uow, actor, claim_id, lock=True)
        count = await uow.session.scalar(
            select(func.count(ClaimAttachment.id)).where(ClaimAttachment.claim_id == claim_id)
        )
        if int(count or 0) >= MAX_ATTACHMENTS:
            raise InvalidInput("attachment", "too_many", max=MAX_ATTACHMENTS)
        attachment = ClaimAttachment(claim_id=claim_id, **values)
        uow.session.add(attachment)
        await uow.flush()
        uow.audit_created(actor.id, attachment)
        await uow.commit()
    return attachment
