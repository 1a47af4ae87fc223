from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from crm.access import Actor
from crm.errors import AccessDenied, AlreadyServed, InvalidInput
from crm.models import AuditEntry, Company, Contact, SearchEntry
from crm.models.enums import SearchKind
from crm.services import companies, contacts
from crm.services.companies import CompanyInput
from crm.services.contacts import ContactInput
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures.queries import count
from tests.fixtures.worlds import office


async def audit_rows(db: Database, entity: str | None = None) -> list[AuditEntry]:
    async with db.uow() as uow:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if entity is not None:
            query = query.where(AuditEntry.entity == entity)
        return list(await uow.session.scalars(query))


async def get(db: Database, actor: Actor, contact_id: int) -> Contact:
    async with db.uow() as uow:
        return await contacts.get(uow, actor, contact_id)


async def indexed(db: Database, kind: SearchKind, entity_id: int) -> SearchEntry | None:
    """The search row of a record (what /find matches, whatever the matching engine)."""
    async with db.uow() as uow:
        return await uow.session.scalar(
            select(SearchEntry).where(
                SearchEntry.kind == kind.value, SearchEntry.entity_id == entity_id
            )
        )


async def test_create_links_existing_company_audits_and_indexes(db: Database) -> None:
    anna = await factories.staff(db)
    company = await companies.create(db.uow(), anna, CompanyInput(name="ООО Ромашка"))
    created = await contacts.create(
        db.uow(),
        anna,
        ContactInput(
            name="  Иван   Петров ",
            phone="8 (912) 345-67-89",
            email="Ivan@Example.COM",
            company_name="ооо  ромашка",
            position="Закупщик",
            tg_username="@Ivan_P",
            decision_role="Decision_Maker",
            birthday=date(1980, 5, 17),
        ),
    )
    # the caller gets the company loaded, usable outside any session
    assert created.company is not None and created.company.name == "ООО Ромашка"
    got = await get(db, anna, created.id)
    assert (got.name, got.phone, got.email, got.tg_username, got.decision_role) == (
        "Иван Петров",
        "+79123456789",
        "Ivan@example.com",
        "ivan_p",
        "decision_maker",
    )
    assert (got.company_id, got.curator_id, got.email_opt_out) == (company.id, anna.id, False)
    assert await count(db, Company) == 1
    [entry] = await audit_rows(db, "contacts")
    assert (entry.entity_id, entry.action, entry.actor_id) == (created.id, "create", anna.id)
    assert entry.changes["phone"] == [None, "+79123456789"]
    assert entry.changes["company_id"] == [None, company.id]
    assert entry.changes["birthday"] == [None, "1980-05-17"]
    row = await indexed(db, SearchKind.CONTACT, created.id)
    assert row is not None
    assert (row.title, row.owner_id) == ("Иван Петров, ООО Ромашка", anna.id)
    for word in ("петров", "petrov", "закупщик", "ромашка", "ivan_p", "89123456789"):
        assert word in row.text.split(), word


@pytest.mark.parametrize("spelling", ["8 (912) 345-67-89", "+7 912 345 67 89", "89123456789"])
async def test_phone_spellings_are_stored_in_e164(db: Database, spelling: str) -> None:
    anna = await factories.staff(db)
    created = await contacts.create(db.uow(), anna, ContactInput(name="Ivan", phone=spelling))
    assert (await get(db, anna, created.id)).phone == "+79123456789"


async def test_new_company_is_created_with_the_contact(db: Database) -> None:
    anna = await factories.staff(db)
    created = await contacts.create(
        db.uow(), anna, ContactInput(name="Ivan", company_name="  Новая   Компания ")
    )
    async with db.uow() as uow:
        company = (await uow.session.scalars(select(Company))).one()
    assert (company.name, company.name_key, company.curator_id) == (
        "Новая Компания",
        "новая компания",
        anna.id,
    )
    assert created.company_id == company.id
    entries = await audit_rows(db)
    assert [(e.entity, e.entity_id, e.action) for e in entries] == [
        ("companies", company.id, "create"),
        ("contacts", created.id, "create"),
    ]
    assert entries[0].changes["name"] == [None, "Новая Компания"]
    row = await indexed(db, SearchKind.COMPANY, company.id)
    assert row is not None and (row.title, row.owner_id) == ("Новая Компания", anna.id)


async def test_failure_after_company_creation_rolls_both_back(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna = await factories.staff(db)

    async def broken(*_args: object) -> None:
        raise RuntimeError("index down")

    monkeypatch.setattr(contacts, "reindex", broken)
    with pytest.raises(RuntimeError):
        await contacts.create(db.uow(), anna, ContactInput(name="Ivan", company_name="Новая"))
    for model in (Company, Contact, AuditEntry, SearchEntry):
        assert await count(db, model) == 0, model


async def test_company_name_of_someone_elses_company_is_refused(db: Database) -> None:
    w = await office(db)
    await companies.create(db.uow(), w.boris, CompanyInput(name="Romashka"))
    with pytest.raises(AlreadyServed) as refused:
        await contacts.create(db.uow(), w.anna, ContactInput(name="Ivan", company_name="romashka"))
    assert refused.value.curator == "Boris"
    assert (await count(db, Company), await count(db, Contact)) == (1, 0)


async def test_contact_takes_the_curator_of_its_company(db: Database) -> None:
    w = await office(db)
    company = await companies.create(db.uow(), w.anna, CompanyInput(name="Romashka"))
    by_head = await contacts.create(
        db.uow(), w.head, ContactInput(name="Ivan", company_id=company.id)
    )
    assert by_head.curator_id == w.anna.id
    loose = await contacts.create(db.uow(), w.head, ContactInput(name="Pyotr"))
    assert (loose.curator_id, loose.company_id) == (w.head.id, None)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (ContactInput(name="   ", company_name="Новая"), "name"),
        (ContactInput(name="x" * 201, company_name="Новая"), "name"),
        (ContactInput(name="Ivan", phone="12345", company_name="Новая"), "phone"),
        (ContactInput(name="Ivan", phone="call me maybe", company_name="Новая"), "phone"),
        (ContactInput(name="Ivan", email="ivan@", company_name="Новая"), "email"),
        (ContactInput(name="Ivan", email="not an email", company_name="Новая"), "email"),
        (ContactInput(name="Ivan", notes="n" * 10_000, company_name="Новая"), "notes"),
        (ContactInput(name="Ivan", decision_role="boss", company_name="Новая"), "decision_role"),
        (ContactInput(name="Ivan", tg_username="@a b", company_name="Новая"), "tg_username"),
        (ContactInput(name="Ivan", tg_user_id=-5, company_name="Новая"), "tg_user_id"),
        (ContactInput(name="Ivan", birthday=date(1800, 1, 1), company_name="Н"), "birthday"),
        (ContactInput(name="Ivan", company_name="c" * 201), "company_name"),
        (ContactInput(name="Ivan", company_id=1, company_name="Новая"), "company_name"),
    ],
)
async def test_bad_input_writes_nothing(db: Database, data: ContactInput, field: str) -> None:
    anna = await factories.staff(db)
    with pytest.raises(InvalidInput) as err:
        await contacts.create(db.uow(), anna, data)
    assert err.value.field == field
    for model in (Contact, Company, AuditEntry, SearchEntry):
        assert await count(db, model) == 0, model


async def test_manager_reaches_only_own_contacts_head_the_department_director_all(
    db: Database,
) -> None:
    w = await office(db)
    company = await companies.create(db.uow(), w.anna, CompanyInput(name="Romashka"))
    contact = await contacts.create(
        db.uow(),
        w.anna,
        ContactInput(name="Ivan", company_id=company.id, tg_user_id=777, phone="89123456789"),
    )
    before = await count(db, AuditEntry)

    for intruder in (w.boris, w.outsider_head):
        with pytest.raises(AccessDenied) as by_id:
            await get(db, intruder, contact.id)
        with pytest.raises(AccessDenied) as missing:
            await get(db, intruder, contact.id + 999)
        assert str(by_id.value) == str(missing.value)
        with pytest.raises(AccessDenied):
            await contacts.update(db.uow(), intruder, contact.id, name="Hacked")
        with pytest.raises(AccessDenied):
            await contacts.set_email_opt_out(db.uow(), intruder, contact.id)
        with pytest.raises(AccessDenied):
            await contacts.list_for_company(db.uow(), intruder, company.id)
        with pytest.raises(AccessDenied):
            await contacts.create(
                db.uow(), intruder, ContactInput(name="Spy", company_id=company.id)
            )
        assert await contacts.find_by_telegram(db.uow(), intruder, tg_user_id=777) == []
    assert await count(db, AuditEntry) == before
    assert await count(db, Contact) == 1
    assert (await get(db, w.anna, contact.id)).name == "Ivan"

    for boss in (w.head, w.director):
        assert (await get(db, boss, contact.id)).name == "Ivan"
        rows, total = await contacts.list_for_company(db.uow(), boss, company.id)
        assert ([r.id for r in rows], total) == ([contact.id], 1)
        updated = await contacts.update(db.uow(), boss, contact.id, position=f"by {boss.name}")
        assert updated.position == f"by {boss.name}"
    assert [c.id for c in await contacts.find_by_telegram(db.uow(), w.head, tg_user_id=777)] == [
        contact.id
    ]


async def test_update_audits_old_and_new_and_reindexes(db: Database) -> None:
    anna = await factories.staff(db)
    contact = await contacts.create(
        db.uow(), anna, ContactInput(name="Ivan", phone="+79123456789", company_name="Romashka")
    )
    updated = await contacts.update(
        db.uow(), anna, contact.id, phone="8 916 000-11-22", position="CEO", name="Ivan"
    )
    assert updated.phone == "+79160001122"
    entries = await audit_rows(db, "contacts")
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[1].changes == {
        "phone": ["+79123456789", "+79160001122"],
        "position": [None, "CEO"],
    }
    row = await indexed(db, SearchKind.CONTACT, contact.id)
    assert row is not None
    assert "89160001122" in row.text.split() and "89123456789" not in row.text.split()
    assert "ceo" in row.text.split()

    with pytest.raises(InvalidInput) as err:
        await contacts.update(db.uow(), anna, contact.id, email="bad@")
    assert err.value.field == "email"
    with pytest.raises(InvalidInput) as err:
        await contacts.update(db.uow(), anna, contact.id, curator_id=99)
    assert err.value.field == "curator_id"
    assert len(await audit_rows(db, "contacts")) == 2


async def test_moving_to_another_company_follows_its_curator(db: Database) -> None:
    w = await office(db)
    annas = await companies.create(db.uow(), w.anna, CompanyInput(name="Romashka"))
    boris = await companies.create(db.uow(), w.boris, CompanyInput(name="Vasilek"))
    contact = await contacts.create(
        db.uow(), w.anna, ContactInput(name="Ivan", company_id=annas.id)
    )
    # anna cannot move her contact into a company she does not see
    with pytest.raises(AccessDenied):
        await contacts.update(db.uow(), w.anna, contact.id, company_id=boris.id)
    moved = await contacts.update(db.uow(), w.head, contact.id, company_id=boris.id)
    assert (moved.company_id, moved.curator_id) == (boris.id, w.boris.id)
    assert moved.company is not None and moved.company.name == "Vasilek"
    assert (await get(db, w.boris, contact.id)).id == contact.id
    with pytest.raises(AccessDenied):
        await get(db, w.anna, contact.id)
    last = (await audit_rows(db, "contacts"))[-1]
    assert last.changes == {
        "company_id": [annas.id, boris.id],
        "curator_id": [w.anna.id, w.boris.id],
    }
    row = await indexed(db, SearchKind.CONTACT, contact.id)
    assert row is not None and (row.owner_id, row.title) == (w.boris.id, "Ivan, Vasilek")

    renamed = await contacts.update(db.uow(), w.boris, contact.id, company_name="Лютик")
    assert renamed.company is not None and renamed.company.name == "Лютик"
    assert renamed.company.curator_id == w.boris.id
    assert await count(db, Company) == 3


async def test_list_for_company_pages_by_name(db: Database) -> None:
    anna = await factories.staff(db)
    company = await companies.create(db.uow(), anna, CompanyInput(name="Romashka"))
    for name in ("Vera", "Anton", "Boris"):
        await contacts.create(db.uow(), anna, ContactInput(name=name, company_id=company.id))
    await contacts.create(db.uow(), anna, ContactInput(name="Elsewhere"))
    rows, total = await contacts.list_for_company(db.uow(), anna, company.id, 0, 2)
    assert ([r.name for r in rows], total) == (["Anton", "Boris"], 3)
    rows, total = await contacts.list_for_company(db.uow(), anna, company.id, 2, 2)
    assert ([r.name for r in rows], total) == (["Vera"], 3)
    assert rows[0].company is not None and rows[0].company.name == "Romashka"


async def test_find_by_telegram(db: Database) -> None:
    w = await office(db)
    by_id = await contacts.create(db.uow(), w.anna, ContactInput(name="Ivan", tg_user_id=42))
    by_name = await contacts.create(
        db.uow(), w.anna, ContactInput(name="Pyotr", tg_username="t.me/Pyotr_K")
    )
    by_phone = await contacts.create(
        db.uow(), w.anna, ContactInput(name="Vera", phone="+7 912 345 67 89")
    )
    await contacts.create(db.uow(), w.boris, ContactInput(name="Theirs", tg_user_id=42))

    async def ids(actor: Actor, **criteria: object) -> list[int]:
        rows = await contacts.find_by_telegram(db.uow(), actor, **criteria)  # type: ignore[arg-type]
        return [r.id for r in rows]

    assert await ids(w.anna, tg_user_id=42) == [by_id.id]
    assert await ids(w.anna, username="@PYOTR_k") == [by_name.id]
    assert await ids(w.anna, phone="89123456789") == [by_phone.id]
    assert await ids(w.anna, phone="79123456789") == [by_phone.id]
    assert await ids(w.anna, phone="8912", username="no such user!") == []
    assert await ids(w.anna) == []
    # strongest criterion first
    assert await ids(w.anna, phone="+79123456789", tg_user_id=42) == [by_id.id, by_phone.id]
    assert len(await ids(w.director, tg_user_id=42)) == 2


async def test_email_opt_out_is_audited(db: Database) -> None:
    anna = await factories.staff(db)
    contact = await contacts.create(db.uow(), anna, ContactInput(name="Ivan", email="i@ex.com"))
    changed = await contacts.set_email_opt_out(db.uow(), anna, contact.id)
    assert changed.email_opt_out is True
    assert (await get(db, anna, contact.id)).email_opt_out is True
    last = (await audit_rows(db, "contacts"))[-1]
    assert last.changes == {"email_opt_out": [False, True]}
