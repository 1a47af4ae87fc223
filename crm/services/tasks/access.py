"""Who sees a task (its assignee or any record it is linked to), its links and
assignee checked before a write."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select, true
from sqlalchemy.orm import aliased

from crm.access import Actor, can_see_owner, visible_owner
from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import Claim, Company, Contact, Deal, Event, Manager, Task
from crm.models.enums import Role, TaskStatus
from crm.uow import UnitOfWork

# Aliases keep the subqueries from correlating with a query that joins the same tables;
# made once (a fresh alias costs about 1 ms of CPU in the first statement built on it).
_COMPANY = aliased(Company, name="linked_company")
_CONTACT = aliased(Contact, name="linked_contact")
_DEAL = aliased(Deal, name="linked_deal")
_CLAIM = aliased(Claim, name="linked_claim")
_EVENT = aliased(Event, name="linked_event")


def _linked_visible(actor: Actor) -> list[ColumnElement[bool]]:
    """Task is linked to a record the actor may see (one EXISTS per kind of link)."""
    company, contact, deal, claim, event = _COMPANY, _CONTACT, _DEAL, _CLAIM, _EVENT
    return [
        exists().where(company.id == Task.company_id, visible_owner(actor, company.curator_id)),
        exists().where(contact.id == Task.contact_id, visible_owner(actor, contact.curator_id)),
        exists().where(deal.id == Task.deal_id, visible_owner(actor, deal.curator_id)),
        exists().where(claim.id == Task.claim_id, visible_owner(actor, claim.responsible_id)),
        exists().where(event.id == Task.event_id, visible_owner(actor, event.responsible_id)),
    ]


def visible(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause: the tasks the actor may see and act on."""
    if actor.role is Role.DIRECTOR:
        return true()
    return or_(visible_owner(actor, Task.assignee_id), *_linked_visible(actor))


async def get(uow: UnitOfWork, actor: Actor, task_id: int, *, lock: bool = False) -> Task:
    """The task if the actor may see it; AccessDenied alike if absent or someone else's."""
    stmt = (
        select(Task)
        .where(Task.id == task_id, visible(actor))
        .execution_options(populate_existing=True)
    )
    if lock:
        stmt = stmt.with_for_update(of=Task)
    task = (await uow.session.scalars(stmt)).first()
    if task is None:
        raise AccessDenied("task")
    return task


async def _check_links(uow: UnitOfWork, actor: Actor, values: dict[str, Any]) -> None:
    """Every linked record exists and is visible to the actor; fills in the company."""
    s = uow.session
    checks: list[tuple[str, Any, Any]] = [
        ("company", Company, Company.curator_id),
        ("contact", Contact, Contact.curator_id),
        ("deal", Deal, Deal.curator_id),
        ("claim", Claim, Claim.responsible_id),
        ("event", Event, Event.responsible_id),
    ]
    for name, model, owner in checks:
        record_id = values.get(f"{name}_id")
        if record_id is None:
            continue
        if not isinstance(record_id, int):
            raise InvalidInput(f"{name}_id", "invalid")
        found = await s.scalar(
            select(model.id).where(model.id == record_id, visible_owner(actor, owner))
        )
        if found is None and name in ("deal", "claim"):
            # a deal or claim is also visible through its company's curator
            found = await s.scalar(
                select(model.id)
                .join(Company, Company.id == model.company_id)
                .where(model.id == record_id, visible_owner(actor, Company.curator_id))
            )
        if found is None:
            raise AccessDenied(name)
    if values.get("company_id") is None:
        for model, key in ((Deal, "deal_id"), (Claim, "claim_id"), (Contact, "contact_id")):
            if values.get(key) is not None:
                company_id = await s.scalar(select(model.company_id).where(model.id == values[key]))
                if company_id is not None:
                    values["company_id"] = company_id
                    break


async def _assignee(uow: UnitOfWork, actor: Actor, assignee_id: int | None) -> Manager:
    if assignee_id is None:
        assignee_id = actor.id
    manager = await uow.session.get(Manager, assignee_id)
    if manager is None or not manager.active or not can_see_owner(actor, manager):
        raise AccessDenied("manager")
    return manager


def _require_open(task: Task) -> None:
    if task.status != TaskStatus.OPEN.value:
        raise Conflict("task_closed", status=task.status)
