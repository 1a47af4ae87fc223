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
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.sql import Update

from crm.access import Actor, can_see_owner, require_staff_manager, visible_owner
from crm.db import rowcount
from crm.errors import AccessDenied, InvalidInput
from crm.models import Company, Contact, Deal, Interaction, Manager, SearchEntry, Task
from crm.models.enums import OPEN_STAGES, SearchKind, TaskStatus
from crm.uow import UnitOfWork

# the column that names the owner, per table a handover moves
_OWNER = {
    "tasks": "assignee_id",
    "deals": "curator_id",
    "contacts": "curator_id",
    "companies": "curator_id",
}


@dataclass(frozen=True, slots=True)
class Handover:
    """What a handover would move (nothing is moved yet)."""

    companies: int
    contacts: int
    deals: int
    tasks: int


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


def _moving(old: int, new: int) -> dict[str, tuple[Any, ColumnElement[bool]]]:
    """What a handover from `old` to `new` moves: per table, its model and the rows' condition.

    In the order the updates must run: the subqueries name the old curator's companies, so
    companies move last."""
    their_companies = select(Company.id).where(Company.curator_id == old)
    their_contacts = select(Contact.id).where(Contact.company_id.in_(their_companies))
    their_deals = select(Deal.id).where(Deal.company_id.in_(their_companies))
    return {
        "tasks": (
            Task,
            and_(
                Task.assignee_id == old,
                Task.status == TaskStatus.OPEN.value,
                or_(
                    Task.company_id.in_(their_companies),
                    Task.contact_id.in_(their_contacts),
                    Task.deal_id.in_(their_deals),
                ),
            ),
        ),
        "deals": (
            Deal,
            and_(
                Deal.company_id.in_(their_companies),
                Deal.stage.in_([s.value for s in OPEN_STAGES]),
                Deal.curator_id != new,
            ),
        ),
        "contacts": (
            Contact,
            and_(
                or_(Contact.curator_id == old, Contact.company_id.in_(their_companies)),
                Contact.curator_id != new,
            ),
        ),
        "companies": (Company, Company.curator_id == old),
    }


async def _check(uow: UnitOfWork, actor: Actor, from_manager_id: int, to_manager_id: int) -> None:
    if from_manager_id == to_manager_id:
        raise InvalidInput("to_manager_id", "same_manager")
    await _manager(uow, actor, from_manager_id)
    target = await _manager(uow, actor, to_manager_id)
    if not target.active:
        raise InvalidInput("to_manager_id", "inactive")


async def handover(
    uow: UnitOfWork, actor: Actor, from_manager_id: int, to_manager_id: int
) -> Handover:
    """What `reassign_clients` would move now, counted in SQL: the confirmation shows it."""
    require_staff_manager(actor)
    async with uow.read_only():
        await _check(uow, actor, from_manager_id, to_manager_id)
        counts = {
            name: int(
                await uow.session.scalar(select(func.count()).select_from(model).where(rows)) or 0
            )
            for name, (model, rows) in _moving(from_manager_id, to_manager_id).items()
        }
    return Handover(**counts)


async def clients_of(uow: UnitOfWork, actor: Actor, manager_ids: list[int]) -> dict[int, int]:
    """How many companies each of these members of staff curates (the /reassign picker)."""
    require_staff_manager(actor)
    if not manager_ids:
        return {}
    async with uow.read_only():
        rows = await uow.session.execute(
            select(Company.curator_id, func.count())
            .where(Company.curator_id.in_(manager_ids), visible_owner(actor, Company.curator_id))
            .group_by(Company.curator_id)
        )
        return {int(manager_id): int(count) for manager_id, count in rows}


async def reassign_clients(
    uow: UnitOfWork, actor: Actor, from_manager_id: int, to_manager_id: int
) -> Reassigned:
    require_staff_manager(actor)
    async with uow:
        await _check(uow, actor, from_manager_id, to_manager_id)
        old, new = from_manager_id, to_manager_id
        done = {
            name: await _run(uow, update(model).where(rows).values(**{_OWNER[name]: new}))
            for name, (model, rows) in _moving(old, new).items()
        }
        tasks, deals = done["tasks"], done["deals"]
        contacts, companies = done["contacts"], done["companies"]

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
