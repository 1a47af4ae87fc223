from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from crm.access import Actor
from crm.errors import AccessDenied, InvalidInput
from crm.models import AuditEntry, Company, Contact, Deal, Manager, SearchEntry, Task
from crm.models.enums import Role
from crm.services import companies, deals, reassign
from crm.services.companies import CompanyInput
from crm.services.deals import DealInput
from crm.storage import Database
from tests.fixtures import factories


async def _company(db: Database, actor: Actor, company_id: int) -> Company:
    async with db.uow() as uow:
        return await companies.get(uow, actor, company_id)


async def _deal(db: Database, actor: Actor, deal_id: int) -> Deal:
    async with db.uow() as uow:
        return await deals.get(uow, actor, deal_id)


async def _task(db: Database, assignee: Actor, **links: int | None) -> Task:
    async with db.uow() as uow:
        task = Task(
            title="Call", due_at=datetime.now(UTC) + timedelta(days=1), assignee_id=assignee.id
        )
        for key, value in links.items():
            setattr(task, key, value)
        uow.session.add(task)
        await uow.commit()
    return task


async def _owners(db: Database) -> dict[tuple[str, int], int]:
    async with db.uow() as uow:
        rows = await uow.session.execute(
            select(SearchEntry.kind, SearchEntry.entity_id, SearchEntry.owner_id)
        )
        return {(kind, entity_id): owner for kind, entity_id, owner in rows}


async def test_reassign_moves_everything_in_one_go(db: Database) -> None:
    dept = await factories.department(db)
    anna = await factories.staff(db, department_id=dept.id)
    boris = await factories.staff(db, department_id=dept.id, name="Boris")
    clara = await factories.staff(db, department_id=dept.id, name="Clara")
    head = await factories.staff(db, Role.HEAD, department_id=dept.id, name="Head")
    romashka = await companies.create(db.uow(), anna, CompanyInput(name="Romashka"))
    lyutik = await companies.create(db.uow(), anna, CompanyInput(name="Lyutik"))
    claras = await companies.create(db.uow(), clara, CompanyInput(name="Clara's"))
    at_company = await factories.raw_contact(db, anna, "Ivan", company_id=romashka.id)
    await factories.raw_contact(db, anna, "Loose")
    open_deal = await deals.open(db.uow(), anna, DealInput(romashka.id, "Open", amount=1))
    won_deal = await deals.open(db.uow(), anna, DealInput(lyutik.id, "Won", amount=2))
    await deals.move(db.uow(), anna, won_deal.id, "won")
    claras_deal = await deals.open(db.uow(), clara, DealInput(claras.id, "Hers", amount=3))
    moving_tasks = [
        await _task(db, anna, company_id=romashka.id),
        await _task(db, anna, deal_id=open_deal.id),
        await _task(db, anna, contact_id=at_company.id),
    ]
    done = await _task(db, anna, company_id=romashka.id, status="done")
    personal = await _task(db, anna)
    claras_task = await _task(db, clara, company_id=romashka.id)

    with pytest.raises(AccessDenied):
        await _company(db, boris, romashka.id)
    assert await reassign.clients_of(db.uow(), head, [anna.id, boris.id, clara.id]) == {
        anna.id: 2,
        clara.id: 1,
    }
    before = await _owners(db)
    # the confirmation's counts: what would move, nothing moved yet
    moving = await reassign.handover(db.uow(), head, anna.id, boris.id)
    assert moving == reassign.Handover(companies=2, contacts=2, deals=1, tasks=3)
    assert await _owners(db) == before
    with pytest.raises(AccessDenied):
        await reassign.handover(db.uow(), anna, anna.id, boris.id)
    result = await reassign.reassign_clients(db.uow(), head, anna.id, boris.id)
    assert result == reassign.Reassigned(companies=2, contacts=2, deals=1, tasks=3, search_rows=3)

    assert (await _company(db, boris, romashka.id)).curator_id == boris.id
    assert (await _deal(db, boris, open_deal.id)).curator_id == boris.id
    with pytest.raises(AccessDenied):
        await _company(db, anna, lyutik.id)
    with pytest.raises(AccessDenied):
        await _deal(db, anna, open_deal.id)
    with pytest.raises(AccessDenied):
        await deals.move(db.uow(), anna, open_deal.id, "qualified")
    assert (await deals.open_by_stage(db.uow(), anna)).total == 0
    assert [d.title for d in (await deals.open_by_stage(db.uow(), boris)).deals] == ["Open"]
    # The closed deal keeps its curator (revenue history); the new curator sees it via the company.
    assert (await _deal(db, boris, won_deal.id)).curator_id == anna.id

    async with db.uow() as uow:
        contacts = dict((await uow.session.execute(select(Contact.name, Contact.curator_id))).all())
        tasks = dict((await uow.session.execute(select(Task.id, Task.assignee_id))).all())
        claras_after = await uow.session.get(Deal, claras_deal.id)
    assert contacts == {"Ivan": boris.id, "Loose": boris.id}
    assert [tasks[t.id] for t in moving_tasks] == [boris.id] * 3
    assert (tasks[done.id], tasks[personal.id], tasks[claras_task.id]) == (
        anna.id,
        anna.id,
        clara.id,
    )
    assert claras_after is not None and claras_after.curator_id == clara.id
    owners = await _owners(db)
    assert owners[("company", romashka.id)] == owners[("company", lyutik.id)] == boris.id
    assert owners[("deal", open_deal.id)] == boris.id
    assert owners[("deal", won_deal.id)] == anna.id
    assert owners[("company", claras.id)] == owners[("deal", claras_deal.id)] == clara.id

    async with db.uow() as uow:
        audits = list(
            await uow.session.scalars(
                select(AuditEntry).where(AuditEntry.action == "reassign").order_by(AuditEntry.id)
            )
        )
    assert {(a.entity, a.entity_id, a.actor_id) for a in audits} == {("managers", anna.id, head.id)}
    assert sorted(next(iter(a.changes.items())) for a in audits) == [
        ("companies", [2, boris.id]),
        ("contacts", [2, boris.id]),
        ("deals", [1, boris.id]),
        ("search_index", [3, boris.id]),
        ("tasks", [3, boris.id]),
    ]


async def test_who_may_reassign_and_to_whom(db: Database) -> None:
    dept = await factories.department(db)
    other = await factories.department(db, "Other")
    anna = await factories.staff(db, department_id=dept.id)
    boris = await factories.staff(db, department_id=dept.id, name="Boris")
    stranger = await factories.staff(db, department_id=other.id, name="Stranger")
    gone = await factories.staff(db, department_id=dept.id, name="Gone")
    head = await factories.staff(db, Role.HEAD, department_id=dept.id, name="Head")
    outsider_head = await factories.staff(db, Role.HEAD, department_id=other.id, name="Out")
    director = await factories.staff(db, Role.DIRECTOR, name="Dir")
    async with db.uow() as uow:
        await uow.session.execute(update(Manager).where(Manager.id == gone.id).values(active=False))
        await uow.commit()
    romashka = await companies.create(db.uow(), anna, CompanyInput(name="Romashka"))

    async def audits() -> int:
        async with db.uow() as uow:
            return int(await uow.session.scalar(select(func.count()).select_from(AuditEntry)) or 0)

    before = await audits()
    with pytest.raises(AccessDenied):
        await reassign.reassign_clients(db.uow(), boris, anna.id, boris.id)
    for intruder, to in ((outsider_head, boris), (head, stranger)):
        with pytest.raises(AccessDenied):
            await reassign.reassign_clients(db.uow(), intruder, anna.id, to.id)
    with pytest.raises(AccessDenied):
        await reassign.reassign_clients(db.uow(), head, anna.id, 99_999)
    with pytest.raises(InvalidInput) as same:
        await reassign.reassign_clients(db.uow(), head, anna.id, anna.id)
    assert (same.value.field, same.value.reason) == ("to_manager_id", "same_manager")
    with pytest.raises(InvalidInput) as inactive:
        await reassign.reassign_clients(db.uow(), head, anna.id, gone.id)
    assert inactive.value.reason == "inactive"
    assert await audits() == before
    assert (await _company(db, anna, romashka.id)).curator_id == anna.id

    # A director reaches across departments; an inactive manager can still hand clients over.
    moved = await reassign.reassign_clients(db.uow(), director, anna.id, stranger.id)
    assert moved.companies == 1
    assert (await _company(db, stranger, romashka.id)).curator_id == stranger.id
    empty = await reassign.reassign_clients(db.uow(), director, gone.id, anna.id)
    assert empty == reassign.Reassigned(0, 0, 0, 0, 0)
