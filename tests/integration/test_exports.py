"""/export's workbook (crm/services/exports.py): what each role sees, in the actor's timezone."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select

from crm.access import Actor
from crm.models import AuditEntry, Claim, Contact, Deal, Interaction, Task
from crm.models.enums import Role
from crm.services import exports
from crm.storage import Database
from tests.fixtures import factories

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # 12:30 in Moscow


async def book_of(db: Database, actor: Actor, owner: Actor, name: str) -> None:
    """A company with one record of every kind, all `owner`'s."""
    company = await factories.raw_company(db, owner, name)
    async with db.uow() as uow:
        contact = Contact(name=f"{name} contact", curator_id=owner.id, company_id=company.id)
        deal = Deal(
            company_id=company.id,
            curator_id=owner.id,
            title=f"{name} deal",
            amount=Decimal("1234.50"),
        )
        uow.session.add_all([contact, deal])
        await uow.flush()
        uow.session.add_all(
            [
                Interaction(
                    kind="call",
                    direction="out",
                    occurred_at=T0,
                    summary=f"{name} call",
                    company_id=company.id,
                    contact_id=contact.id,
                    manager_id=owner.id,
                ),
                Task(title=f"{name} task", due_at=T0, assignee_id=owner.id),
                Claim(
                    company_id=company.id,
                    text="=HYPERLINK(1)" if name == "Romashka" else f"{name} claim",
                    due_at=T0,
                    responsible_id=owner.id,
                    compensation=Decimal("10.00"),
                ),
            ]
        )
        await uow.commit()


def sheet_rows(content: bytes) -> dict[str, list[tuple[object, ...]]]:
    workbook = load_workbook(io.BytesIO(content))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in workbook.worksheets}


async def test_each_role_exports_what_it_sees(db: Database) -> None:
    sales = await factories.department(db)
    anna = await factories.staff(db, department_id=sales.id, name="Anna")
    boris = await factories.staff(db, name="Boris")
    director = await factories.staff(db, Role.DIRECTOR, name="Dina")
    await book_of(db, anna, anna, "Romashka")
    await book_of(db, boris, boris, "Tulip")

    mine = await exports.export_xlsx(db.uow(), anna)
    assert mine.counts == {
        "Companies": 1,
        "Contacts": 1,
        "Deals": 1,
        "Interactions": 1,
        "Tasks": 1,
        "Claims": 1,
    }
    rows = sheet_rows(mine.content)
    assert list(rows) == ["Companies", "Contacts", "Deals", "Interactions", "Tasks", "Claims"]
    assert rows["Companies"][0][:3] == ("ID", "Name", "INN")
    assert rows["Companies"][1][1] == "Romashka"
    assert rows["Companies"][1][9] == "Anna"  # the curator's name, joined
    assert rows["Contacts"][1][1:3] == ("Romashka contact", "Romashka")
    assert rows["Deals"][1][4] == 1234.5  # a number, not text
    when = rows["Interactions"][1][1]
    assert when == datetime(2026, 3, 2, 12, 30)  # Moscow time
    assert rows["Claims"][1][2] == "=HYPERLINK(1)"  # kept as text, not made a formula
    assert all("Tulip" not in str(r) for sheet in rows.values() for r in sheet)

    workbook = load_workbook(io.BytesIO(mine.content))
    sheet = workbook["Interactions"]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b
    assert sheet["B2"].number_format == exports.DATETIME_FORMAT
    assert workbook["Claims"]["C2"].data_type == "s"

    everything = await exports.export_xlsx(db.uow(), director)
    assert set(everything.counts.values()) == {2}
    names = [r[1] for r in sheet_rows(everything.content)["Companies"][1:]]
    assert names == ["Romashka", "Tulip"]

    async with db.uow() as uow:
        entries = (
            await uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "export"))
        ).all()
    assert [(e.entity, e.entity_id, e.actor_id) for e in entries] == [
        ("export", anna.id, anna.id),
        ("export", director.id, director.id),
    ]


async def test_headers_in_the_users_language(db: Database) -> None:
    anna = await factories.staff(db)
    words = {"Companies": "Компании", "Name": "Название"}
    result = await exports.export_xlsx(db.uow(), anna, lambda s: words.get(s, s))
    rows = sheet_rows(result.content)
    assert rows["Компании"][0][1] == "Название"
    assert result.counts["Companies"] == 0 and result.total == 0


async def test_names_of_records_out_of_reach_stay_blank(db: Database) -> None:
    anna = await factories.staff(db, name="Anna")
    boris = await factories.staff(db, name="Boris")
    director = await factories.staff(db, Role.DIRECTOR, name="Dina")
    holding = await factories.raw_company(db, boris, "Boris Holding")
    await factories.add_company(db, anna.id, "Romashka", parent_id=holding.id)
    await factories.raw_contact(db, anna, "Ivan", company_id=holding.id)
    secret = await factories.raw_contact(db, boris, "Secret Person", company_id=holding.id)
    async with db.uow() as uow:
        uow.session.add(
            Interaction(
                kind="call",
                direction="out",
                occurred_at=T0,
                summary="Asked about pumps",
                company_id=holding.id,
                contact_id=secret.id,
                manager_id=anna.id,
            )
        )
        await uow.commit()

    rows = sheet_rows((await exports.export_xlsx(db.uow(), anna)).content)
    assert rows["Companies"][1][1:11:9] == ("Romashka", None)  # the parent company's name
    assert rows["Contacts"][1][1:3] == ("Ivan", None)  # the contact's company
    assert rows["Interactions"][1][5:8] == (None, None, "Asked about pumps")  # company, contact
    assert all("Boris Holding" not in str(r) and "Secret" not in str(r) for r in rows.values())

    rows = sheet_rows((await exports.export_xlsx(db.uow(), director)).content)
    assert ("Romashka", "Boris Holding") in [(r[1], r[10]) for r in rows["Companies"]]
    assert ("Ivan", "Boris Holding") in [r[1:3] for r in rows["Contacts"]]
    assert rows["Interactions"][1][6] == "Secret Person"
