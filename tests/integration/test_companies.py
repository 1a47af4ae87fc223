from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.errors import AccessDenied, InvalidInput
from crm.models import AuditEntry, Company
from crm.models.enums import Role
from crm.services import companies
from crm.services.companies import CompanyInput
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures.queries import count


async def test_create_audits_and_reads_back(db: Database) -> None:
    anna = await factories.staff(db)
    created = await companies.create(
        db.uow(),
        anna,
        CompanyInput(name="  ООО  Ромашка ", industry="Retail", credit_limit="1 000,5"),
    )
    assert created.name == "ООО Ромашка"
    assert created.credit_limit == Decimal("1000.50")
    got = await _get(db, anna, created.id)
    assert got.curator_id == anna.id
    async with db.uow() as uow:
        entry = (await uow.session.scalars(select(AuditEntry))).one()
    assert (entry.entity, entry.entity_id, entry.action, entry.actor_id) == (
        "companies",
        created.id,
        "create",
        anna.id,
    )
    assert entry.changes["name"] == [None, "ООО Ромашка"]


async def _get(db: Database, actor, company_id: int) -> Company:  # type: ignore[no-untyped-def]
    async with db.uow() as uow:
        return await companies.get(uow, actor, company_id)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (CompanyInput(name="   "), "name"),
        (CompanyInput(name="x" * 201), "name"),
        (CompanyInput(name="A", credit_limit="-5"), "credit_limit"),
        (CompanyInput(name="A", stage="bogus"), "stage"),
        (CompanyInput(name="A", notes="n" * 10_000), "notes"),
        (CompanyInput(name="A", inn="12ab"), "inn"),
    ],
)
async def test_bad_input_writes_nothing(db: Database, data: CompanyInput, field: str) -> None:
    anna = await factories.staff(db)
    with pytest.raises(InvalidInput) as err:
        await companies.create(db.uow(), anna, data)
    assert err.value.field == field
    assert await count(db, Company) == 0
    assert await count(db, AuditEntry) == 0


async def test_manager_cannot_reach_another_managers_company(db: Database) -> None:
    dept = await factories.department(db)
    other_dept = await factories.department(db, "Other")
    anna = await factories.staff(db, department_id=dept.id)
    boris = await factories.staff(db, department_id=dept.id, name="Boris")
    head = await factories.staff(db, Role.HEAD, department_id=dept.id)
    outsider_head = await factories.staff(db, Role.HEAD, department_id=other_dept.id)
    director = await factories.staff(db, Role.DIRECTOR)
    company = await companies.create(db.uow(), anna, CompanyInput(name="Romashka"))

    for intruder in (boris, outsider_head):
        with pytest.raises(AccessDenied) as by_id:
            await _get(db, intruder, company.id)
        with pytest.raises(AccessDenied) as missing:
            await _get(db, intruder, company.id + 999)
        assert str(by_id.value) == str(missing.value)
        with pytest.raises(AccessDenied):
            await companies.update(db.uow(), intruder, company.id, name="Hacked")
        assert await companies.find_by_name(db.uow(), intruder, "romashka") is None
    assert (await _get(db, head, company.id)).name == "Romashka"
    assert (await _get(db, director, company.id)).name == "Romashka"
    assert (await companies.find_by_name(db.uow(), anna, "ROMASHKA")).id == company.id


async def test_update_audits_old_and_new(db: Database) -> None:
    anna = await factories.staff(db)
    company = await companies.create(db.uow(), anna, CompanyInput(name="Ромашка"))
    await companies.update(db.uow(), anna, company.id, territory="Москва", name="Ромашка")
    async with db.uow() as uow:
        entries = list(await uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[1].changes == {"territory": [None, "Москва"]}
    assert (await companies.find_by_name(db.uow(), anna, "ромашка")).id == company.id


async def test_rename_refreshes_contact_search_titles(db: Database) -> None:
    from crm.models import SearchEntry
    from crm.services import contacts
    from crm.services.contacts import ContactInput

    anna = await factories.staff(db)
    company = await companies.create(db.uow(), anna, CompanyInput(name="Ромашка"))
    contact = await contacts.create(
        db.uow(), anna, ContactInput(name="Иван Петров", company_id=company.id)
    )
    await companies.update(db.uow(), anna, company.id, name="Лютик")
    async with db.uow() as uow:
        entry = await uow.session.scalar(
            select(SearchEntry).where(
                SearchEntry.kind == "contact", SearchEntry.entity_id == contact.id
            )
        )
    assert entry is not None and entry.title == "Иван Петров, Лютик"
    assert "лютик" in entry.text and "ромашка" not in entry.text
