"""Duplicate control: the check at the door, asking for a client, /duplicates' services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.errors import AccessDenied, AlreadyServed, Conflict
from crm.models import AuditEntry, ClientRequest, Company, Contact, Deal, SearchEntry, Task, utcnow
from crm.services import companies, contacts, deals, tasks
from crm.services.companies import CompanyInput
from crm.services.contacts import ContactInput
from crm.services.deals import DealInput
from crm.services.duplicates import door, requests
from crm.services.tasks import TaskInput
from crm.storage import Database
from tests.fixtures.queries import count
from tests.fixtures.worlds import two_departments

# ------------------------------------------------------------------ the check at the door


@pytest.mark.parametrize(
    "spelling", ["АО «Ромашка»", "Romashka LLC", "ROMASHKA", "Ромашкa", "Romashla", "Ро-машка"]
)
async def test_a_company_someone_else_serves_is_refused_in_any_spelling(
    db: Database, spelling: str
) -> None:
    w = await two_departments(db)  # Anna (Sales) serves Romashka
    with pytest.raises(AlreadyServed) as refused:
        await companies.create(db.uow(), w.boris, CompanyInput(name=spelling))
    assert (refused.value.curator, refused.value.department) == ("Anna", "Sales")
    assert (refused.value.kind, refused.value.entity_id) == ("companies", w.company.id)
    assert await count(db, Company) == 1


async def test_a_company_with_the_same_inn_is_refused_whatever_its_name(db: Database) -> None:
    w = await two_departments(db)
    await companies.update(db.uow(), w.anna, w.company.id, inn="7701234567")
    with pytest.raises(AlreadyServed):
        await companies.create(db.uow(), w.boris, CompanyInput(name="Vasilek", inn="7701234567"))
    assert await count(db, Company) == 1


async def test_other_names_pass_the_door(db: Database) -> None:
    w = await two_departments(db)
    for name in ("Romashka Plus", "Lyutik", "Roma"):
        await companies.create(db.uow(), w.boris, CompanyInput(name=name))
    assert await count(db, Company) == 4


async def test_a_client_within_reach_is_offered_not_refused(db: Database) -> None:
    w = await two_departments(db)
    own = await door.check_company(db.uow(), w.anna, "ООО Ромашка")
    by_head = await door.check_company(db.uow(), w.head, "romashka")
    by_director = await door.check_company(db.uow(), w.director, "Romashka")
    assert own is not None and by_head is not None and by_director is not None
    assert (own.visible, by_head.visible, by_director.visible) == (True, True, True)
    assert own.entity_id == w.company.id and own.reason == "name"
    other_head = await door.check_company(db.uow(), w.other_head, "Romashka")
    assert other_head is not None and not other_head.visible


async def test_a_contact_at_a_company_someone_else_serves_is_refused(db: Database) -> None:
    w = await two_departments(db)
    with pytest.raises(AlreadyServed) as refused:
        await contacts.create(
            db.uow(), w.boris, ContactInput(name="Test Person", company_name="АО «Ромашка»")
        )
    assert refused.value.kind == "companies"
    assert (await count(db, Company), await count(db, Contact)) == (1, 0)


@pytest.mark.parametrize(
    ("phone", "email"),
    [("8 (912) 345-67-89", None), ("+7 912 3456789", None), (None, "IVAN@Romashka.ru")],
)
async def test_a_contact_with_the_same_phone_or_email_is_refused(
    db: Database, phone: str | None, email: str | None
) -> None:
    w = await two_departments(db)
    ivan = await contacts.create(
        db.uow(),
        w.anna,
        ContactInput(
            name="Ivan", phone="+79123456789", email="ivan@romashka.ru", company_id=w.company.id
        ),
    )
    with pytest.raises(AlreadyServed) as refused:
        await contacts.create(
            db.uow(), w.boris, ContactInput(name="I. P.", phone=phone, email=email)
        )
    assert (refused.value.kind, refused.value.entity_id) == ("contacts", ivan.id)
    assert await count(db, Contact) == 1


async def test_the_same_person_at_the_same_company_is_a_match(db: Database) -> None:
    w = await two_departments(db)
    ivan = await contacts.create(
        db.uow(), w.anna, ContactInput(name="Иван Петров", company_id=w.company.id)
    )
    match = await door.check_contact(db.uow(), w.anna, "Petrov Ivan", company_id=w.company.id)
    assert match is not None and (match.entity_id, match.reason, match.visible) == (
        ivan.id,
        "name",
        True,
    )
    foreign = await door.check_contact(db.uow(), w.boris, "Ivan Petroff", company_name="Romashka")
    assert foreign is not None and (foreign.kind, foreign.visible) == ("companies", False)
    assert (
        await door.check_contact(db.uow(), w.anna, "Pyotr Ivanov", company_id=w.company.id) is None
    )


# ------------------------------------------------------------------ "Ask for this client"


async def _client_with_work(db: Database, w) -> tuple[Contact, Deal, Task]:  # type: ignore[no-untyped-def]
    ivan = await contacts.create(
        db.uow(), w.anna, ContactInput(name="Ivan", phone="+79123456789", company_id=w.company.id)
    )
    deal = await deals.open(db.uow(), w.anna, DealInput(w.company.id, "Pumps", "1000"))
    task = await tasks.create(
        db.uow(),
        w.anna,
        TaskInput("Call back", utcnow() + timedelta(days=1), company_id=w.company.id),
    )
    return ivan, deal, task


async def test_an_approved_request_transfers_the_client_with_its_people_and_work(
    db: Database,
) -> None:
    w = await two_departments(db)
    ivan, deal, task = await _client_with_work(db, w)
    asked = await requests.ask(db.uow(), w.boris, "companies", w.company.id)
    assert [a.name for a in asked.approvers] == ["Helen"]  # Anna's head, not Boris's
    again = await requests.ask(db.uow(), w.boris, "companies", w.company.id)
    assert again.request.id == asked.request.id and await count(db, ClientRequest) == 1

    with pytest.raises(AccessDenied):
        await requests.decide(db.uow(), w.other_head, asked.request.id, True)
    decided = await requests.decide(db.uow(), w.head, asked.request.id, True)
    assert decided.requester.name == "Boris" and decided.client == "Romashka"

    async with db.uow() as uow:
        s = uow.session
        assert (await s.get(Company, w.company.id)).curator_id == w.boris.id  # type: ignore[union-attr]
        assert (await s.get(Contact, ivan.id)).curator_id == w.boris.id  # type: ignore[union-attr]
        assert (await s.get(Deal, deal.id)).curator_id == w.boris.id  # type: ignore[union-attr]
        assert (await s.get(Task, task.id)).assignee_id == w.boris.id  # type: ignore[union-attr]
        owners = set(await s.scalars(select(SearchEntry.owner_id)))
        assert owners == {w.boris.id}
        audited = await s.scalars(select(AuditEntry.action).where(AuditEntry.entity == "companies"))
        assert "transfer" in set(audited)
    with pytest.raises(Conflict):
        await requests.decide(db.uow(), w.head, asked.request.id, True)


async def test_a_declined_request_moves_nothing(db: Database) -> None:
    w = await two_departments(db)
    ivan, _deal, _task = await _client_with_work(db, w)
    asked = await requests.ask(db.uow(), w.boris, "contacts", ivan.id)
    await requests.decide(db.uow(), w.director, asked.request.id, False)
    async with db.uow() as uow:
        request = await uow.session.get(ClientRequest, asked.request.id)
        assert request is not None and (request.status, request.decided_by_id) == (
            "declined",
            w.director.id,
        )
        assert (await uow.session.get(Company, w.company.id)).curator_id == w.anna.id  # type: ignore[union-attr]


async def test_a_client_within_reach_is_not_asked_for(db: Database) -> None:
    w = await two_departments(db)
    with pytest.raises(Conflict):
        await requests.ask(db.uow(), w.head, "companies", w.company.id)
    with pytest.raises(AccessDenied):
        await requests.ask(db.uow(), w.boris, "companies", 999)
    with pytest.raises(AccessDenied):
        await requests.decide(db.uow(), w.boris, 1, True)  # a manager decides nothing
