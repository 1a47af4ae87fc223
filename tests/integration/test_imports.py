"""Import of companies, contacts and sales from CSV and XLSX files (crm/services/imports/)."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from crm import search
from crm.errors import AccessDenied, InvalidInput
from crm.models import AuditEntry, Company, Contact, Sale
from crm.models.enums import Role, SearchKind
from crm.services import imports
from crm.services.imports import Rejected
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures.import_files import inn
from tests.fixtures.queries import count


async def audited(db: Database, entity: str) -> int:
    async with db.uow() as uow:
        return int(
            await uow.session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.entity == entity, AuditEntry.action == "create")
            )
            or 0
        )


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


COMPANIES_CSV = (
    "Название;ИНН;Отрасль;Регион\n"
    "ООО Ромашка;7701234560;Розница;Москва\n"
    ";;;\n"  # an empty row: ignored, but row numbers stay those of the file
    ";7701234568;Опт;Казань\n"  # row 4: no name
    "АО Василёк;12345;Опт;Казань\n"  # row 5: bad INN
    "ЗАО Лютик;;Производство;Тула\n"
    "ооо   ромашка;;;\n"  # row 7: the same company again
).encode("cp1251")


async def test_companies_from_cp1251_csv(db: Database) -> None:
    anna = await factories.staff(db)
    report = await imports.import_file(db.uow(), anna, "clients.csv", COMPANIES_CSV)
    assert report.kind == "companies"
    assert report.created == 2
    assert report.skipped_duplicates == 1
    assert report.rejected == [Rejected(4, "name", "empty"), Rejected(5, "inn", "invalid")]
    async with db.uow() as uow:
        rows = (await uow.session.scalars(select(Company).order_by(Company.id))).all()
        assert [(c.name, c.inn, c.territory, c.curator_id) for c in rows] == [
            ("ООО Ромашка", "7701234560", "Москва", anna.id),
            ("ЗАО Лютик", None, "Тула", anna.id),
        ]
        hits = await search.search(uow.session, anna, "лютик")
        assert [(h.kind, h.entity_id) for h in hits] == [(SearchKind.COMPANY, rows[1].id)]
        assert await search.search(uow.session, anna, "romashka")  # transliterated too
    assert await audited(db, "companies") == 2

    again = await imports.import_file(db.uow(), anna, "clients.csv", COMPANIES_CSV)
    assert (again.created, again.skipped_duplicates) == (0, 3)
    assert await count(db, Company) == 2


async def test_a_client_someone_else_serves_is_refused_with_the_row_number(db: Database) -> None:
    anna = await factories.staff(db, name="Anna")
    boris = await factories.staff(db, name="Boris")
    content = b"name,inn\nRomashka LLC,7701234560\nLyutik,\n"
    assert (await imports.import_file(db.uow(), anna, "a.csv", content)).created == 2
    other = b"name,inn\nVasilek,7701234560\nTulip,\nOOO Ljutik,\n"
    report = await imports.import_file(db.uow(), boris, "b.csv", other)
    assert (report.created, report.skipped_duplicates) == (1, 0)
    served = {"curator": "Anna", "department": "\u2014"}
    assert report.rejected == [
        Rejected(2, "name", "already_served", served),  # the same INN
        Rejected(4, "name", "already_served", served),  # the same name, transliterated
    ]
    people = (
        b"name,phone,company\n"
        b"Ivan,+79123456789,Romashka\n"  # at Anna's company
        b"Olga,+79120000000,\n"
        b"Olga Two,8 912 000-00-00,Tulip\n"  # the same phone as row 3, Boris's own: skipped
    )
    report = await imports.import_file(db.uow(), boris, "p.csv", people)
    assert (report.created, report.skipped_duplicates) == (1, 1)
    assert report.rejected == [Rejected(2, "company", "already_served", served)]
    mine = b"name,phone\nOlga Other,+7 912 000 00 00\n"
    report = await imports.import_file(db.uow(), anna, "q.csv", mine)
    assert report.rejected == [
        Rejected(2, "contact", "already_served", {"curator": "Boris", "department": "\u2014"})
    ]
    assert await count(db, Company) == 3


async def test_companies_with_their_parents_by_name_or_inn(db: Database) -> None:
    anna = await factories.staff(db, name="Anna")
    boris = await factories.staff(db, name="Boris")
    old = await factories.raw_company(db, anna, "Старый Холдинг")
    await factories.raw_company(db, boris, "Чужой Холдинг")
    content = (
        "Название;ИНН;Головная компания\n"
        "Дочка Север;;холдинг  юг\n"  # row 2: its parent comes later in the file
        "Холдинг Юг;7701234560;\n"
        "Внучка;;7701234560\n"  # row 4: by INN
        "Сирота;;Нет такой\n"  # row 5
        "Чья-то дочка;;Чужой Холдинг\n"  # row 6: Boris's, which Anna does not see
        "Сам себе;;Сам себе\n"  # row 7
        "Дочка старого;;Старый холдинг\n"
    ).encode()
    report = await imports.import_file(db.uow(), anna, "holdings.csv", content)
    assert report.created == 4
    assert report.rejected == [
        Rejected(5, "parent", "not_found"),
        Rejected(6, "parent", "not_found"),
        Rejected(7, "parent", "cycle"),
    ]
    async with db.uow() as uow:
        names = dict((await uow.session.execute(select(Company.id, Company.name))).all())
        links = {
            names[cid]: names.get(pid)
            for cid, pid in await uow.session.execute(select(Company.id, Company.parent_id))
        }
        audited_parents = [
            changes["parent_id"][1]
            for changes in await uow.session.scalars(
                select(AuditEntry.changes).where(AuditEntry.entity == "companies")
            )
            if "parent_id" in changes
        ]
    assert links == {
        "Старый Холдинг": None,
        "Чужой Холдинг": None,
        "Холдинг Юг": None,
        "Дочка Север": "Холдинг Юг",
        "Внучка": "Холдинг Юг",
        "Дочка старого": "Старый Холдинг",
    }
    south = next(cid for cid, name in names.items() if name == "Холдинг Юг")
    assert sorted(audited_parents) == sorted([old.id, south, south])
    again = await imports.import_file(db.uow(), anna, "holdings.csv", content)
    assert (again.created, again.skipped_duplicates) == (0, 4)


async def test_contacts_from_xlsx_link_or_create_companies(db: Database) -> None:
    anna = await factories.staff(db)
    romashka = await factories.raw_company(db, anna, "Romashka")
    content = xlsx(
        [
            ["ФИО", "Телефон", "E-mail", "Должность", "Компания"],
            ["Иван Петров", "8 (912) 345-67-89", "ivan@example.com", "Закупки", "romashka"],
            ["Мария Сидорова", "12", None, None, "Romashka"],  # row 3: bad phone
            ["Олег Смирнов", None, "not an email", None, None],  # row 4: bad email
            ["Пётр Иванов", 79123450000, None, "Директор", "Новая Компания"],
            ["Иван Петров", "+79123456789", None, None, None],  # same phone: duplicate
        ]
    )
    report = await imports.import_file(db.uow(), anna, "people.xlsx", content)
    assert report.kind == "contacts"
    assert (report.created, report.skipped_duplicates, report.companies_created) == (2, 1, 1)
    assert report.rejected == [Rejected(3, "phone", "invalid"), Rejected(4, "email", "invalid")]
    async with db.uow() as uow:
        rows = (await uow.session.scalars(select(Contact).order_by(Contact.id))).all()
        assert [(c.name, c.phone, c.company_id is not None) for c in rows] == [
            ("Иван Петров", "+79123456789", True),
            ("Пётр Иванов", "+79123450000", True),
        ]
        assert rows[0].company_id == romashka.id
        new = await uow.session.get(Company, rows[1].company_id)
        assert new is not None and new.name == "Новая Компания" and new.curator_id == anna.id
        hits = await search.search(uow.session, anna, "9123456789", kinds=[SearchKind.CONTACT])
        assert [h.entity_id for h in hits] == [rows[0].id]
    assert await audited(db, "contacts") == 2
    assert await audited(db, "companies") == 1

    again = await imports.import_file(db.uow(), anna, "people.xlsx", content)
    assert (again.created, again.companies_created) == (0, 0)
    assert await count(db, Contact) == 2


async def test_sales_only_for_heads_and_directors(db: Database) -> None:
    anna = await factories.staff(db)
    await factories.raw_company(db, anna, "Romashka")
    content = "Дата;Клиент;Сумма\n01.03.2026;Romashka;1000\n".encode()
    with pytest.raises(AccessDenied):
        await imports.import_file(db.uow(), anna, "sales.csv", content)
    with pytest.raises(AccessDenied):
        await imports.import_file(db.uow(), anna, "sales.csv", content, kind="sales")
    assert await count(db, Sale) == 0


async def test_sales_import_is_idempotent(db: Database) -> None:
    dept = await factories.department(db)
    anna = await factories.staff(db, department_id=dept.id)
    boris = await factories.staff(db, name="Boris")  # another department: not the head's
    head = await factories.staff(db, Role.HEAD, department_id=dept.id, name="Helen")
    romashka = await factories.raw_company(db, anna, "Romashka")
    await factories.raw_company(db, boris, "Tulip")
    widget = await factories.catalogue_product(db, "Widget")
    content = xlsx(
        [
            ["Номер", "Дата", "Компания", "Товар", "Количество", "Сумма", "Себестоимость"],
            ["Д-1", datetime(2026, 3, 1), "Romashka", "widget", 2, 1500.5, 900],
            ["Д-2", "2026-03-02", "Tulip", None, None, 100, None],  # row 3: not visible
            ["Д-3", "31.02.2026", "Romashka", None, None, 100, None],  # row 4: bad date
            ["Д-4", "02.03.2026", "Romashka", None, None, 0, None],  # row 5: not positive
            [None, 46085, "Romashka", None, None, "2 000,00", None],  # Excel day number
            [None, 46085, "Romashka", None, None, "2 000,00", None],  # same again: a 2nd sale
            ["Д-1", "01.03.2026", "Romashka", None, None, 5, None],  # row 8: same number
        ]
    )
    report = await imports.import_file(db.uow(), head, "1c.xlsx", content)
    assert report.kind == "sales"
    assert (report.created, report.skipped_duplicates) == (3, 1)
    assert report.rejected == [
        Rejected(3, "company", "not_found"),
        Rejected(4, "date", "invalid"),
        Rejected(5, "amount", "not_positive"),
    ]
    async with db.uow() as uow:
        sales = (await uow.session.scalars(select(Sale).order_by(Sale.id))).all()
    assert [(s.sold_on, s.amount, s.quantity, s.source) for s in sales] == [
        (date(2026, 3, 1), Decimal("1500.50"), Decimal("2.000"), "import"),
        (date(2026, 3, 4), Decimal("2000.00"), Decimal("1.000"), "import"),
        (date(2026, 3, 4), Decimal("2000.00"), Decimal("1.000"), "import"),
    ]
    assert sales[0].product_id == widget.id and sales[0].cost == Decimal("900.00")
    assert sales[0].external_ref == "Д-1" and sales[0].manager_id == anna.id
    assert {s.company_id for s in sales} == {romashka.id}
    async with db.uow() as uow:
        [entry] = (
            await uow.session.scalars(select(AuditEntry).where(AuditEntry.entity == "sales"))
        ).all()
    assert (entry.action, entry.actor_id) == ("import", head.id)
    assert entry.changes == {
        "file": [None, "1c.xlsx"],
        "sales": [None, 3],
        "ids": [None, [sales[0].id, sales[-1].id]],
    }

    again = await imports.import_file(db.uow(), head, "1c.xlsx", content)
    assert (again.created, again.skipped_duplicates) == (0, 4)
    assert await count(db, Sale) == 3


async def test_sales_by_inn_from_csv_with_commas(db: Database) -> None:
    director = await factories.staff(db, Role.DIRECTOR)
    anna = await factories.staff(db)
    async with db.uow() as uow:
        uow.session.add(
            Company(name="Romashka", name_key="romashka", inn="7701234560", curator_id=anna.id)
        )
        await uow.commit()
    content = 'date,inn,amount,ref\n2026-03-01,7701234560,"1,5",X1\n'.encode("utf-8-sig")
    report = await imports.import_file(db.uow(), director, "s.csv", content)
    assert (report.kind, report.created, report.rejected) == ("sales", 1, [])
    async with db.uow() as uow:
        sale = (await uow.session.scalars(select(Sale))).one()
    assert sale.amount == Decimal("1.50") and sale.manager_id == anna.id


@pytest.mark.parametrize(
    ("filename", "content", "reason"),
    [
        ("a.csv", "Город;Отрасль\nМосква;Опт\n".encode(), "bad_header"),
        ("a.pdf", b"%PDF-1.4", "unsupported_format"),
        ("a.xlsx", b"not a zip", "unreadable"),
        ("a.csv", b"", "empty"),
        ("a.csv", b"name\n" + b"x" * (20 * 1024 * 1024), "too_large"),
    ],
)
async def test_unusable_files_write_nothing(
    db: Database, filename: str, content: bytes, reason: str
) -> None:
    anna = await factories.staff(db)
    with pytest.raises(InvalidInput) as caught:
        await imports.import_file(db.uow(), anna, filename, content)
    assert (caught.value.field, caught.value.reason) == ("file", reason)
    assert await count(db, Company) == 0
    assert await count(db, AuditEntry) == 0


async def test_no_row_limit_and_batches_in_one_transaction(db: Database) -> None:
    anna = await factories.staff(db)
    body = "".join(f"Company {i};{inn(i)};Retail\n" for i in range(12_000))
    body += "Company 5;;Retail\n"  # a duplicate of a row two batches back
    content = ("name;inn;industry\n" + body).encode()
    seen: list[int] = []

    async def progress(rows: int, fraction: float | None) -> None:
        seen.append(rows)

    report = await imports.import_file(db.uow(), anna, "big.csv", content, progress=progress)
    assert (report.rows, report.created, report.skipped_duplicates) == (12_001, 12_000, 1)
    assert report.rejected == []
    assert seen == [5000, 10_000, 12_001]
    assert await count(db, Company) == 12_000
    assert await audited(db, "companies") == 12_000
    async with db.uow() as uow:
        hits = await search.search(uow.session, anna, "company 11999")
    assert hits and hits[0].title == "Company 11999"
