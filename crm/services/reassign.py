"""Hand all clients of one manager to another, in one transaction of bulk UPDATEs.

What moves: every company curated by the old manager; the contacts of those companies
and every contact the old manager curates; the open deals of those companies; the old
manager's open tasks linked to those companies (directly or through their contacts or
deals); and the search rows of all of these. Closed deals stay with the manager who
closed them (their revenue and commission); the new curator still sees them through
the company.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.sql import Update

from crm.access import Actor, can_see_owner, require_staff_manager
from crm.db import rowcount
from crm.errors import AccessDenied, InvalidInput
from crm.models import Company, Contact, Deal, Interaction, Manager, SearchEntry, Task
from crm.models.enums import OPEN_STAGES, SearchKind, TaskStatus
from crm.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Reassigned:
    companies: int
    contacts: int
    deals: int
    tasks: int
    search_rows: int


async def _manager(uow: UnitOfWork, actor: Actor, manager_id: int) -> Manager:
    manager = await uow.session.get(Manager, manager_id)
    if manager is None or not can_see_owner(actor, manager):
        raise AccessDenied("manager")
    return manager


async def _run(uow: UnitOfWork, stmt: Update) -> int:
    result = await uow.session.execute(stmt.execution_options(synchronize_session=False))
    return rowcount(result)


async def reassign_clients(
    uow: UnitOfWork, actor: Actor, from_manager_id: int, to_manager_id: int
) -> Reassigned:
    require_staff_manager(actor)
    if from_manager_id == to_manager_id:
        raise InvalidInput("to_manager_id", "same_manager")
    async with uow:
        await _manager(uow, actor, from_manager_id)
        target = await _manager(uow, actor, to_manager_id)
        if not target.active:
            raise InvalidInput("to_manager_id", "inactive")
        old, new = from_manager_id, to_manager_id

        # Order matters: the subqueries name the old curator's companies, so companies move last.
        their_companies = select(Company.id).where(Company.curator_id == old)
        their_contacts = select(Contact.id).where(Contact.company_id.in_(their_companies))
        their_deals = select(Deal.id).where(Deal.company_id.in_(their_companies))
        tasks = await _run(
            uow,
            update(Task)
            .where(
                Task.assignee_id == old,
                Task.status == TaskStatus.OPEN.value,
                or_(
                    Task.company_id.in_(their_companies),
                    Task.contact_id.in_(their_contacts),
                    Task.deal_id.in_(their_deals),
                ),
            )
            .values(assignee_id=new),
        )
        deals = await _run(
            uow,
            update(Deal)
            .where(
                Deal.company_id.in_(their_companies),
                Deal.stage.in_([s.value for s in OPEN_STAGES]),
                Deal.curator_id != new,
            )
            .values(curator_id=new),
        )
        contacts = await _run(
            uow,
            update(Contact)
            .where(
                or_(Contact.curator_id == old, Contact.company_id.in_(their_companies)),
                Contact.curator_id != new,
            )
            .values(curator_id=new),
        )
        companies = await _run(
            uow, update(Company).where(Company.curator_id == old).values(curator_id=new)
        )

        def moved(kind: SearchKind, ids: ColumnElement[bool]) -> ColumnElement[bool]:
            return and_(SearchEntry.kind == kind.value, ids)

        search_rows = await _run(
            uow,
            update(SearchEntry)
            .where(
                SearchEntry.owner_id == old,
                or_(
                    moved(
                        SearchKind.COMPANY,
                        SearchEntry.entity_id.in_(
                            select(Company.id).where(Company.curator_id == new)
                        ),
                    ),
                    moved(
                        SearchKind.CONTACT,
                        SearchEntry.entity_id.in_(
                            select(Contact.id).where(Contact.curator_id == new)
                        ),
                    ),
                    moved(
                        SearchKind.DEAL,
                        SearchEntry.entity_id.in_(select(Deal.id).where(Deal.curator_id == new)),
                    ),
                    moved(  # a logged Telegram conversation follows its contact
                        SearchKind.CONVERSATION,
                        SearchEntry.entity_id.in_(
                            select(Interaction.id)
                            .join(Contact, Contact.id == Interaction.contact_id)
                            .where(Contact.curator_id == new)
                        ),
                    ),
                ),
            )
            .values(owner_id=new),
        )
        counts = {"companies": companies, "contacts": contacts, "deals": deals, "tasks": tasks}
        for table, count in {**counts, "search_index": search_rows}.items():
            if count:
                uow.audit(actor.id, ("managers", old), "reassign", {table: [count, new]})
        await uow.commit()
    return Reassigned(search_rows=search_rows, **counts)
