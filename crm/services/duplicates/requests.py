""" "Ask for this client": a manager asks for a client someone out of their reach serves.

The request goes to the curator's head (or the directors, as discount approvals do:
`team.approvers`); who decides must see the curator. Approved, the client moves to the
one who asked as `/reassign` moves a manager's clients: the company, its contacts, its
open deals, the curator's open tasks about it and their search rows; a contact without a
company moves alone. Every step is audited, in one transaction with the decision.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.sql import Update

from crm.access import Actor, can_see_owner, require_role
from crm.db import rowcount
from crm.errors import AccessDenied, Conflict
from crm.models import ClientRequest, Company, Contact, Deal, Manager, SearchEntry, Task, utcnow
from crm.models.enums import OPEN_STAGES, Role, SearchKind, TaskStatus
from crm.services import team
from crm.services.duplicates import door
from crm.services.duplicates.door import COMPANIES, CONTACTS
from crm.uow import UnitOfWork

PENDING, APPROVED, DECLINED = "pending", "approved", "declined"


@dataclass(frozen=True, slots=True)
class Asked:
    request: ClientRequest
    client: str  # the client's name, for the approvers (who see it)
    curator: Manager
    approvers: list[Manager]


@dataclass(frozen=True, slots=True)
class Decided:
    request: ClientRequest
    client: str
    requester: Manager


async def _client(uow: UnitOfWork, kind: str, entity_id: int) -> Company | Contact:
    record = await door.load(uow.session, kind, entity_id)
    if record is None:
        raise AccessDenied("client")
    return record


async def ask(uow: UnitOfWork, actor: Actor, kind: str, entity_id: int) -> Asked:
    """File (or find the pending) request of this actor for this client."""
    async with uow:
        record = await _client(uow, kind, entity_id)
        curator = await uow.session.get(Manager, record.curator_id)
        assert curator is not None
        if can_see_owner(actor, curator):
            raise Conflict("within_reach")
        request = await uow.session.scalar(
            select(ClientRequest).where(
                ClientRequest.kind == kind,
                ClientRequest.entity_id == entity_id,
                ClientRequest.requester_id == actor.id,
                ClientRequest.status == PENDING,
            )
        )
        if request is None:
            request = ClientRequest(
                kind=kind,
                entity_id=entity_id,
                requester_id=actor.id,
                curator_id=curator.id,
                status=PENDING,
            )
            uow.session.add(request)
            await uow.flush()
            uow.audit_created(actor.id, request)
        client = record.name
        await uow.commit()
    return Asked(request, client, curator, await team.approvers(uow, curator.id))


async def _run(uow: UnitOfWork, stmt: Update) -> int:
    result = await uow.session.execute(stmt.execution_options(synchronize_session=False))
    return rowcount(result)


async def transfer(uow: UnitOfWork, actor: Actor, record: Company | Contact, to_id: int) -> None:
    """Move one client to another curator inside the caller's transaction, audited."""
    old = record.curator_id
    if isinstance(record, Contact) and record.company_id is not None:
        company = await uow.session.get(Company, record.company_id)
        assert company is not None
        record, old = company, company.curator_id
    if isinstance(record, Company):
        company_ids = select(Company.id).where(Company.id == record.id)
        contact_ids = select(Contact.id).where(Contact.company_id == record.id)
        deal_ids = select(Deal.id).where(Deal.company_id == record.id)
        about = or_(
            Task.company_id.in_(company_ids),
            Task.contact_id.in_(contact_ids),
            Task.deal_id.in_(deal_ids),
        )
        contacts_of: ColumnElement[bool] = Contact.company_id == record.id
    else:
        about = Task.contact_id == record.id
        contacts_of = Contact.id == record.id
    open_task = and_(Task.assignee_id == old, Task.status == TaskStatus.OPEN.value)
    counts = {
        "tasks": await _run(uow, update(Task).where(open_task, about).values(assignee_id=to_id))
    }
    moved_contacts = list(await uow.session.scalars(select(Contact.id).where(contacts_of)))
    counts["contacts"] = await _run(
        uow, update(Contact).where(contacts_of).values(curator_id=to_id)
    )
    moved_deals: list[int] = []
    if isinstance(record, Company):
        open_deal = and_(
            Deal.company_id == record.id, Deal.stage.in_([s.value for s in OPEN_STAGES])
        )
        moved_deals = list(await uow.session.scalars(select(Deal.id).where(open_deal)))
        counts["deals"] = await _run(uow, update(Deal).where(open_deal).values(curator_id=to_id))
        uow.apply(actor.id, record, curator_id=to_id)
    search_rows = [(SearchKind.CONTACT, moved_contacts), (SearchKind.DEAL, moved_deals)]
    if isinstance(record, Company):
        search_rows.append((SearchKind.COMPANY, [record.id]))
    for kind, ids in search_rows:
        if ids:
            await _run(
                uow,
                update(SearchEntry)
                .where(SearchEntry.kind == kind.value, SearchEntry.entity_id.in_(ids))
                .values(owner_id=to_id),
            )
    entity = (COMPANIES if isinstance(record, Company) else CONTACTS, record.id)
    uow.audit(actor.id, entity, "transfer", {"curator_id": [old, to_id]})
    for table, count in counts.items():
        if count:
            uow.audit(actor.id, entity, "transfer", {table: [count, to_id]})


async def decide(uow: UnitOfWork, actor: Actor, request_id: int, approve: bool) -> Decided:
    """The curator's head (or a director) transfers the client to who asked, or declines."""
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity="request")
    async with uow:
        request = await uow.session.get(ClientRequest, request_id)
        curator = await uow.session.get(Manager, request.curator_id) if request else None
        if request is None or curator is None or not can_see_owner(actor, curator):
            raise AccessDenied("request")
        if request.status != PENDING:
            raise Conflict("request_decided")
        record = await _client(uow, request.kind, request.entity_id)
        requester = await uow.session.get(Manager, request.requester_id)
        assert requester is not None
        if approve:
            if record.curator_id != request.curator_id or not requester.active:
                raise Conflict("request_stale")
            await transfer(uow, actor, record, requester.id)
        uow.apply(
            actor.id,
            request,
            status=APPROVED if approve else DECLINED,
            decided_by_id=actor.id,
            decided_at=utcnow(),
        )
        client = record.name
        await uow.commit()
    return Decided(request, client, requester)
